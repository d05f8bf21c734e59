/**
 * The guest contract (docs/guest-contract.md): the `guestinfo.bonneville.*`
 * option values the provider writes into each instant clone, and the status
 * the guest agent writes back.
 */
import { createHash } from "node:crypto";

export const CONTRACT_VERSION = "2";
const prefix = "guestinfo.bonneville.";

/**
 * The value of a cleared guestinfo key. A guest cannot set a key to "" (cloud-init's
 * guestinfo_set_value), and a key absent from the configuration at power-on does not survive a
 * power-off (vmware/vic #4110, #8148), so cleared keys hold this sentinel, as vic's do.
 */
export const NIL = "<nil>";

/** One guest RPC message carries at most 64 KiB (open-vm-tools `guest_msg_def.h`). */
export const GUEST_MESSAGE_MAX_BYTES = 64 * 1024;

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
  ipAddress: `${prefix}ipAddress`,
  ipGeneration: `${prefix}ipGeneration`,
  freeze: `${prefix}freeze`,
  ready: `${prefix}ready`,
  frozen: `${prefix}frozen`,
} as const;

/**
 * Values the provider changes after the fork, kept outside `guestinfo.` (a guestinfo key changed
 * through the API while the VM runs is lost at power-off: vmware/vic #8637).
 */
export const providerKeys = {
  labels: "bonneville.labels",
  name: "bonneville.name",
} as const;

/** A guestinfo value as readers see it: the sentinel and absence are both empty. */
export function guestValue(extraConfig: ReadonlyMap<string, string>, key: string): string {
  const v = extraConfig.get(key) ?? "";
  return v === NIL ? "" : v;
}

/**
 * Bytes one guest RPC message needs to carry a key's value (`info-set <key> <value>`, the
 * largest message the agent or provider exchanges about it).
 */
export function guestMessageBytes(key: string, value: string): number {
  return Buffer.byteLength(`info-set ${key} ${value}`, "utf8");
}

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

/** The encoded labels value (`bonneville.labels` and the fork-time `guestinfo.bonneville.labels`); "" for none. */
export function encodeLabels(labels: Readonly<Record<string, string>> | undefined): string {
  return labels && Object.keys(labels).length ? encodeJson(labels) : "";
}

/**
 * The option values of a container spec. Absent command/env/labels are written empty (deleting
 * inherited ones). Every key the agent reports is pre-created with the sentinel, so it exists in the
 * configuration at power-on and what the agent writes survives power cycles; a status the parent
 * may carry is not read as the clone's.
 */
export function contractValues(spec: ContainerSpec): Record<string, string> {
  const labels = encodeLabels(spec.labels);
  return {
    [contractKeys.version]: CONTRACT_VERSION,
    [contractKeys.name]: spec.name,
    [contractKeys.image]: spec.image,
    [contractKeys.command]: spec.command ? encodeJson(spec.command) : "",
    [contractKeys.env]: spec.env && Object.keys(spec.env).length ? encodeJson(spec.env) : "",
    [contractKeys.labels]: labels,
    [contractKeys.networks]: encodeJson(spec.networks),
    [contractKeys.generation]: spec.generation,
    [contractKeys.status]: NIL,
    [contractKeys.statusGeneration]: NIL,
    [contractKeys.exitCode]: NIL,
    [contractKeys.error]: NIL,
    [contractKeys.ipAddress]: NIL,
    [contractKeys.ipGeneration]: NIL,
    // The parent's own keys mean nothing in a container.
    [contractKeys.ready]: "",
    [contractKeys.frozen]: "",
    [contractKeys.freeze]: "",
    [providerKeys.name]: spec.name,
    [providerKeys.labels]: labels,
  };
}

/** The address the agent reported for this VM's generation ("" until it has). */
export function reportedIpOf(extraConfig: ReadonlyMap<string, string>): string {
  const generation = guestValue(extraConfig, contractKeys.generation);
  const ip = guestValue(extraConfig, contractKeys.ipAddress);
  return generation && ip && guestValue(extraConfig, contractKeys.ipGeneration) === generation ? ip : "";
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
  const generation = guestValue(extraConfig, contractKeys.generation);
  const reported = guestValue(extraConfig, contractKeys.statusGeneration);
  const status = guestValue(extraConfig, contractKeys.status);
  if (!status || reported !== generation) return { status: "starting", error: "" };
  const code = guestValue(extraConfig, contractKeys.exitCode);
  return {
    status,
    ...(code !== "" && Number.isFinite(Number(code)) ? { exitCode: Number(code) } : {}),
    error: guestValue(extraConfig, contractKeys.error),
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
