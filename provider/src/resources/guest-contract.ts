/**
 * The guest contract (docs/guest-contract.md): the `guestinfo.bonneville.*`
 * option values the provider writes into each instant clone, and the status
 * the guest agent writes back.
 */
import { createHash } from "node:crypto";

export const CONTRACT_VERSION = "1";
const prefix = "guestinfo.bonneville.";

export const contractKeys = {
  version: `${prefix}version`,
  name: `${prefix}name`,
  image: `${prefix}image`,
  command: `${prefix}command`,
  env: `${prefix}env`,
  labels: `${prefix}labels`,
  networks: `${prefix}networks`,
  generation: `${prefix}generation`,
  ipConfig: `${prefix}ipConfig`,
  status: `${prefix}status`,
  statusGeneration: `${prefix}statusGeneration`,
  exitCode: `${prefix}exitCode`,
  error: `${prefix}error`,
} as const;

/** What a container VM is to run. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** NICs in device order. */
  readonly networks: readonly { readonly name: string; readonly portGroupId: string }[];
  /** A fresh UUID per clone (fork detection). */
  readonly generation: string;
}

/** Base64 of UTF-8 JSON: survives the VMX file's quoting unchanged. */
export function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

export function decodeJson(value: string | undefined): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(Buffer.from(value, "base64").toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** The option values of a container spec. Absent command/env/labels are written empty (deleting inherited ones). */
export function contractValues(spec: ContainerSpec): Record<string, string> {
  return {
    [contractKeys.version]: CONTRACT_VERSION,
    [contractKeys.name]: spec.name,
    [contractKeys.image]: spec.image,
    [contractKeys.command]: spec.command ? encodeJson(spec.command) : "",
    [contractKeys.env]: spec.env && Object.keys(spec.env).length ? encodeJson(spec.env) : "",
    [contractKeys.labels]: spec.labels && Object.keys(spec.labels).length ? encodeJson(spec.labels) : "",
    [contractKeys.networks]: encodeJson(spec.networks),
    [contractKeys.generation]: spec.generation,
    // A status the parent may carry must not be read as the clone's.
    [contractKeys.status]: "",
    [contractKeys.statusGeneration]: "",
    [contractKeys.exitCode]: "",
    [contractKeys.error]: "",
  };
}

/** The container's state as the guest agent reports it. */
export interface ContainerStatus {
  /** `starting` (nothing reported for this clone yet), `running`, `exited` or `error`. */
  readonly status: string;
  readonly exitCode?: number;
  readonly error: string;
}

/** Reads the agent's status; a status for another generation (the parent's, an older fork) counts as `starting`. */
export function containerStatusOf(extraConfig: ReadonlyMap<string, string>): ContainerStatus {
  const generation = extraConfig.get(contractKeys.generation) ?? "";
  const reported = extraConfig.get(contractKeys.statusGeneration) ?? "";
  const status = extraConfig.get(contractKeys.status) ?? "";
  if (!status || reported !== generation) return { status: "starting", error: "" };
  const code = extraConfig.get(contractKeys.exitCode);
  return {
    status,
    ...(code !== undefined && code !== "" && Number.isFinite(Number(code)) ? { exitCode: Number(code) } : {}),
    error: extraConfig.get(contractKeys.error) ?? "",
  };
}

/** A digest of the immutable part of a spec, salted with the URN (so env secrets are not guessable from it). */
export function specDigest(urn: string, immutable: Readonly<Record<string, unknown>>): string {
  return createHash("sha256")
    .update(urn)
    .update("\0")
    .update(canonicalJson(immutable))
    .digest("hex")
    .slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
