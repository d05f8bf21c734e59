/**
 * Identities of what the endpoint serves. A container made through the endpoint
 * carries the URN `urn:bonneville:docker-api::<hostId>::<name>` in its VM's
 * `bonneville.urn` extra config, as a Pulumi-made ContainerVM carries its Pulumi
 * URN. A container's Docker ID is the SHA-256 of its URN, so it is the same for
 * every endpoint process and survives restarts (and a container re-created under
 * the same name gets the same ID again). Network and image IDs are digests too.
 */
import { createHash } from "node:crypto";

/** The prefix of every URN the endpoint gives a container. */
export const DOCKER_API_URN_PREFIX = "urn:bonneville:docker-api::";

/** The URN of the container named `name` made through the endpoint of ContainerHost `hostId`. */
export function dockerApiUrn(hostId: string, name: string): string {
  return `${DOCKER_API_URN_PREFIX}${hostId}::${name}`;
}

/** True when the URN is one the endpoint gives (not a Pulumi URN). */
export function isDockerApiUrn(urn: string): boolean {
  return urn.startsWith(DOCKER_API_URN_PREFIX);
}

/** A container's Docker ID: 64 hexadecimal digits, the SHA-256 of its URN. */
export function containerIdOf(urn: string): string {
  return sha256(urn);
}

/** A network's Docker ID: the SHA-256 of the host and the port group it stands for. */
export function networkIdOf(hostId: string, portGroupId: string): string {
  return sha256(`bonneville-network::${hostId}::${portGroupId}`);
}

/**
 * An image's Docker ID, `sha256:<hex>`: the digest of its normalised reference. It names the
 * reference, not the image's content, which only the guest that pulls it ever sees.
 */
export function imageIdOf(normalisedReference: string): string {
  return `sha256:${sha256(`bonneville-image::${normalisedReference}`)}`;
}

/** The first 12 digits of an ID, as `docker ps` shows it. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
