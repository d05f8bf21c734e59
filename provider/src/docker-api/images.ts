/**
 * Images. The endpoint never downloads an image: a container VM's guest agent
 * pulls and runs the image named in `guestinfo.bonneville.image` when the VM
 * starts. `docker pull` (POST /images/create) checks the reference and records
 * it, streaming a message that says so; `docker images` lists the recorded
 * references and those the host's container VMs run. Registry credentials sent
 * with a pull are neither stored nor passed on: the guests pull with their own.
 */
import { imageReference } from "../resources/validation";
import type { ContainerVmView } from "./container-host-view";
import type { CreatedContainer } from "./created-containers";
import type { DockerEndpoint } from "./endpoint";
import { imageName, type ImageName } from "./image-name";
import { badRequest, conflict, notFound, notSupported } from "./errors";
import { parseFilters } from "./filters";
import { booleanParam, json, startJsonStream } from "./http";
import { imageIdOf, shortId } from "./identity";
import type { Router } from "./routing";

export { imageName, type ImageName } from "./image-name";
export { ImageRecords } from "./image-records";

/** One image as `docker images` shows it. */
interface ImageEntry {
  readonly name: ImageName;
  readonly created: Date;
  readonly recorded: boolean;
  readonly users: string[];
}

/** Recorded references and the images of the host's containers (VMs and created ones), by full name. */
function imageEntries(
  endpoint: DockerEndpoint,
  vms: readonly ContainerVmView[],
  created: readonly CreatedContainer[],
): Map<string, ImageEntry> {
  const entries = new Map<string, ImageEntry>();
  for (const r of endpoint.images.all()) {
    entries.set(r.name.full, { name: r.name, created: r.recorded, recorded: true, users: [] });
  }
  const use = (image: unknown, user: string, when: Date) => {
    if (typeof image !== "string" || !image) return;
    const name = imageName(image);
    const entry = entries.get(name.full) ?? { name, created: when, recorded: false, users: [] };
    entry.users.push(user);
    entries.set(name.full, entry);
  };
  for (const vm of vms) use(vm.inputs.image, vm.name, vm.created);
  for (const c of created) use(c.inputs.image, c.name, c.created);
  return entries;
}

/** True when `reference` was pulled or is the image of a container of the host. */
export function imageKnown(
  endpoint: DockerEndpoint,
  reference: string,
  vms: readonly ContainerVmView[],
): boolean {
  return imageEntries(endpoint, vms, endpoint.created.all()).has(imageName(reference).full);
}

/** The reference a pull asks for, from `fromImage` and `tag`. */
function pullReference(query: URLSearchParams): string {
  const fromImage = query.get("fromImage") ?? "";
  const tag = query.get("tag") ?? "";
  if (!fromImage) throw badRequest("POST /images/create needs fromImage (the image to pull)");
  if (!tag) return fromImage;
  const hasTagOrDigest = /@/.test(fromImage) || fromImage.lastIndexOf(":") > fromImage.lastIndexOf("/");
  if (hasTagOrDigest)
    throw badRequest(`fromImage ${fromImage} already names a tag or digest; tag=${tag} cannot be added`);
  return tag.startsWith("sha256:") ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
}

function findEntry(entries: Map<string, ImageEntry>, reference: string): ImageEntry | undefined {
  const byName = entries.get(imageName(reference).full);
  if (byName) return byName;
  const hex = reference.replace(/^sha256:/, "");
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const matches = [...entries.values()].filter((e) => imageIdOf(e.name.full).slice(7).startsWith(hex));
    if (matches.length === 1) return matches[0];
  }
  return undefined;
}

/** Registers the image routes. */
export function imageRoutes(router: Router, endpoint: DockerEndpoint): void {
  router.add("POST", "/images/create", async ({ query, res }) => {
    if (query.get("fromSrc")) {
      throw notSupported(
        "image import",
        "images are pulled by the guest agent of each container VM; import is not possible",
      );
    }
    const reference = pullReference(query);
    const invalid = imageReference(reference);
    if (invalid) throw badRequest(`invalid reference format: ${invalid}`);
    const record = endpoint.images.record(reference);
    const send = startJsonStream(res);
    const { familiar } = record.name;
    send({
      status: `Recorded ${familiar} for ContainerHost ${endpoint.host.hostName}: nothing is downloaded here; each container VM's guest agent pulls it when the VM starts (guest contract: guestinfo.bonneville.image)`,
      id: shortId(imageIdOf(record.name.full)),
    });
    send({ status: `Status: Image reference recorded for ${familiar}` });
    res.end();
    return "streamed";
  });

  router.add("GET", "/images/json", async ({ query }) => {
    const filters = parseFilters(query.get("filters"), ["reference", "dangling"]);
    const vms = await endpoint.host.containers();
    const entries = [...imageEntries(endpoint, vms, endpoint.created.all()).values()];
    const references = filters.get("reference") ?? [];
    const dangling = filters.get("dangling") ?? [];
    if (dangling.some((d) => d !== "false" && d !== "0" && d !== "true" && d !== "1")) {
      throw badRequest(`filter dangling=${dangling.join(",")}: expected true or false`);
    }
    const wantDangling = dangling.some((d) => d === "true" || d === "1");
    const shown = entries
      .filter(() => !wantDangling)
      .filter(
        (e) =>
          references.length === 0 ||
          references.some((r) => globMatch(r, e.name.familiar) || globMatch(r, e.name.full)),
      );
    return json(
      200,
      shown
        .sort((a, b) => b.created.getTime() - a.created.getTime())
        .map((e) => ({
          Id: imageIdOf(e.name.full),
          ParentId: "",
          RepoTags: e.name.familiar.includes("@") ? [] : [e.name.familiar],
          RepoDigests: e.name.familiar.includes("@") ? [e.name.familiar] : [],
          Created: Math.floor(e.created.getTime() / 1000),
          Size: 0,
          SharedSize: -1,
          Labels: {},
          Containers: e.users.length,
        })),
    );
  });

  router.add("GET", "/images/*name/json", async ({ params }) => {
    const vms = await endpoint.host.containers();
    const entry = findEntry(imageEntries(endpoint, vms, endpoint.created.all()), params.name!);
    if (!entry) throw notFound(`No such image: ${params.name}`);
    return json(200, {
      Id: imageIdOf(entry.name.full),
      RepoTags: entry.name.familiar.includes("@") ? [] : [entry.name.familiar],
      RepoDigests: entry.name.familiar.includes("@") ? [entry.name.familiar] : [],
      Parent: "",
      Comment:
        "a reference recorded by Bonneville's Docker API; the guest agent of each container VM pulls the image",
      Created: entry.created.toISOString(),
      Author: "",
      Config: { Labels: {} },
      Architecture: "",
      Os: "linux",
      Size: 0,
      RootFS: { Type: "layers", Layers: [] },
      Metadata: { LastTagTime: entry.created.toISOString() },
    });
  });

  router.add("DELETE", "/images/*name", async ({ params, query }) => {
    const force = booleanParam(query, "force");
    const vms = await endpoint.host.containers();
    const entry = findEntry(imageEntries(endpoint, vms, endpoint.created.all()), params.name!);
    if (!entry) throw notFound(`No such image: ${params.name}`);
    if (entry.users.length > 0 && !force) {
      throw conflict(
        `unable to remove ${entry.name.familiar}: container ${entry.users.join(", ")} uses it; remove the container first`,
      );
    }
    if (!entry.recorded) {
      throw conflict(
        `${entry.name.familiar} is listed because container ${entry.users.join(", ")} runs it; it goes when they are removed`,
      );
    }
    endpoint.images.forget(entry.name);
    return json(200, [{ Untagged: entry.name.familiar }, { Deleted: imageIdOf(entry.name.full) }]);
  });
}

/** Docker's reference filter: `*` matches within a path component. */
function globMatch(pattern: string, text: string): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]*");
  return new RegExp(`^${source}(:[^/]*)?$`).test(text) || new RegExp(`^${source}$`).test(text);
}
