/**
 * The body of `POST /containers/create` in Bonneville's terms: the image, the
 * command (Cmd), the environment, the labels and the networks, which the guest
 * contract carries, and nothing else. An option that would change what runs or
 * how it is reached and that a container VM cannot honour (ports, volumes,
 * entrypoint, user, limits, restart policies…) is refused with a 400 naming the
 * docker flag, never silently dropped.
 */
import { randomBytes } from "node:crypto";
import type { CheckFailure } from "../resources/resource";
import { BRIDGE } from "./container-host-view";
import { badRequest, unsupportedOption } from "./errors";

/** What a create asks for. */
export interface CreateRequest {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly env?: Record<string, string>;
  readonly labels?: Record<string, string>;
  /** Docker network names, one per network card, in order (`default` is `bridge`). */
  readonly networkNames: string[];
  /** `--rm`: the VM is removed when its container stops. */
  readonly autoRemove: boolean;
  /** Warnings for the client (the docker CLI prints them). */
  readonly warnings: string[];
}

/** Reads a create's JSON body and query (`name`, `platform`); throws a 400 for what cannot be honoured. */
export function parseCreateRequest(body: unknown, query: URLSearchParams): CreateRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("POST /containers/create needs a JSON object body (the container's config)");
  }
  const config = body as Record<string, unknown>;
  const platform = query.get("platform");
  if (platform && !/^linux(\/|$)/.test(platform)) {
    throw badRequest(`platform ${platform} is not available: container VMs run the parent's guest, linux`);
  }
  refuseUnsupportedOptions(config);
  const image = config.Image;
  if (typeof image !== "string" || image === "") {
    throw badRequest("Image is required: name the image to run, e.g. nginx:1.27");
  }
  const rawName = query.get("name");
  const command = commandOf(config.Cmd);
  const env = envOf(config.Env);
  const labels = labelsOf(config.Labels);
  return {
    name: rawName ? rawName.replace(/^\//, "") : generatedName(image),
    image,
    ...(command ? { command } : {}),
    ...(env ? { env } : {}),
    ...(labels ? { labels } : {}),
    networkNames: requestedNetworks(config),
    autoRemove: objectField(config, "HostConfig").AutoRemove === true,
    warnings: [],
  };
}

/** The networks a create asks for, in card order: HostConfig.NetworkMode first, then NetworkingConfig's. */
function requestedNetworks(config: Record<string, unknown>): string[] {
  const hostConfig = objectField(config, "HostConfig");
  const mode = typeof hostConfig.NetworkMode === "string" ? hostConfig.NetworkMode : "";
  if (mode === "host" || mode === "none" || mode.startsWith("container:")) {
    throw unsupportedOption(
      `network mode ${mode}`,
      "each container VM has its own network cards on the ContainerHost's port groups; use bridge or one of the host's networks",
    );
  }
  const networking = objectField(config, "NetworkingConfig");
  const endpoints = objectField(networking, "EndpointsConfig");
  const names: string[] = [];
  const add = (n: string) => {
    const name = n === "" || n === "default" ? BRIDGE : n;
    if (!names.includes(name)) names.push(name);
  };
  if (mode) add(mode);
  for (const [name, settings] of Object.entries(endpoints)) {
    refuseEndpointSettings(name, settings);
    add(name);
  }
  if (names.length === 0) add(BRIDGE);
  return names;
}

function refuseEndpointSettings(network: string, settings: unknown): void {
  if (!settings || typeof settings !== "object") return;
  const s = settings as Record<string, unknown>;
  const ipam = s.IPAMConfig as Record<string, unknown> | null | undefined;
  if (ipam && (ipam.IPv4Address || ipam.IPv6Address || nonEmpty(ipam.LinkLocalIPs))) {
    throw unsupportedOption(
      `a fixed address on network ${network} (--ip)`,
      "container VMs take their address from the port group's DHCP",
    );
  }
  if (typeof s.MacAddress === "string" && s.MacAddress) {
    throw unsupportedOption(
      `a fixed MAC address on network ${network} (--mac-address)`,
      "vSphere assigns each forked network card its MAC address",
    );
  }
  if (nonEmpty(s.Aliases) || nonEmpty(s.Links)) {
    throw unsupportedOption(
      `network aliases and links on network ${network}`,
      "port groups have no container DNS",
    );
  }
}

/** Refuses the create options a container VM cannot honour, naming the flag. */
function refuseUnsupportedOptions(config: Record<string, unknown>): void {
  const refuse = (option: string, reason: string): never => {
    throw unsupportedOption(option, reason);
  };
  const contract =
    "the guest contract carries the image, command (Cmd), environment, labels and networks only";
  const output =
    "a container VM's output leaves it through a read-only serial port file; there is no channel for input or a terminal";
  if (config.Tty === true) refuse("a TTY (-t)", `${output}; run without -t`);
  if (config.OpenStdin === true || config.AttachStdin === true)
    refuse("interactive input (-i)", `${output}; run without -i`);
  if (nonEmpty(config.Entrypoint))
    refuse("Entrypoint (--entrypoint)", `${contract}; give the whole command as Cmd`);
  if (typeof config.WorkingDir === "string" && config.WorkingDir) refuse("WorkingDir (--workdir)", contract);
  if (typeof config.User === "string" && config.User) refuse("User (--user)", contract);
  if (nonEmpty(config.Volumes))
    refuse("volumes (-v)", "container VMs have only the disk they forked from their parent");
  if (config.Healthcheck && nonEmpty((config.Healthcheck as Record<string, unknown>).Test)) {
    refuse("health checks (--health-cmd)", contract);
  }
  const host = objectField(config, "HostConfig");
  if (nonEmpty(host.Binds) || nonEmpty(host.Mounts) || nonEmpty(host.VolumesFrom) || nonEmpty(host.Tmpfs)) {
    refuse(
      "volumes and mounts (-v, --mount, --volumes-from, --tmpfs)",
      "container VMs have only the disk they forked from their parent",
    );
  }
  if (nonEmpty(host.PortBindings) || host.PublishAllPorts === true) {
    refuse(
      "publishing ports (-p, -P)",
      "each container VM has its own address on its port group: reach its ports there",
    );
  }
  const restart = objectField(host, "RestartPolicy").Name;
  if (typeof restart === "string" && restart !== "" && restart !== "no") {
    refuse(`restart policy ${restart} (--restart)`, "nothing watches a container VM to restart it");
  }
  for (const key of [
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "PidsLimit",
  ]) {
    const value = host[key];
    if ((typeof value === "number" && value > 0) || (typeof value === "string" && value !== "")) {
      refuse(
        `resource limit ${key} (--memory, --cpus, …)`,
        "a container VM has its parent's CPUs and memory (the ParentTemplate's numCpus and memoryMb) within the ContainerHost's resource pool limits",
      );
    }
  }
  if (
    host.Privileged === true ||
    nonEmpty(host.CapAdd) ||
    nonEmpty(host.Devices) ||
    nonEmpty(host.SecurityOpt)
  ) {
    refuse(
      "privileges, capabilities, devices and security options",
      "the container runs in its own VM as the guest agent starts it",
    );
  }
  if (nonEmpty(host.Links)) refuse("links (--link)", "port groups have no container DNS");
  if (nonEmpty(host.Dns) || nonEmpty(host.DnsSearch) || nonEmpty(host.ExtraHosts)) {
    refuse(
      "DNS settings and extra hosts (--dns, --add-host)",
      "the guest takes DNS from the port group's DHCP",
    );
  }
  for (const key of ["PidMode", "IpcMode", "UTSMode", "UsernsMode"]) {
    const mode = host[key];
    if (typeof mode === "string" && mode !== "" && mode !== "private" && mode !== "shareable") {
      refuse(`${key} ${mode} (--pid, --ipc, --uts, --userns)`, "each container is its own VM");
    }
  }
}

function commandOf(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") return raw === "" ? undefined : [raw];
  if (Array.isArray(raw) && raw.every((a) => typeof a === "string"))
    return raw.length > 0 ? (raw as string[]) : undefined;
  throw badRequest(`Cmd must be a list of strings; got ${JSON.stringify(raw)}`);
}

/** `["K=V", ...]` as a map; an entry without `=` means "not set" and is dropped. */
function envOf(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || !raw.every((e) => typeof e === "string")) {
    throw badRequest(
      `Env must be a list of "NAME=value" strings; got a ${Array.isArray(raw) ? "list with other values" : typeof raw}`,
    );
  }
  const env: Record<string, string> = {};
  for (const entry of raw as string[]) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    else if (eq === 0) throw badRequest(`Env entry "${entry}" has no variable name before "="`);
  }
  return Object.keys(env).length > 0 ? env : undefined;
}

function labelsOf(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (
    typeof raw !== "object" ||
    Array.isArray(raw) ||
    !Object.values(raw).every((v) => typeof v === "string")
  ) {
    throw badRequest(`Labels must be an object of string to string; got ${JSON.stringify(raw)}`);
  }
  return Object.keys(raw).length > 0 ? (raw as Record<string, string>) : undefined;
}

/** A ContainerVM check failure in Docker's words: the request field, then the reason. */
export function describeFailure(f: CheckFailure): string {
  const fields: Record<string, string> = {
    name: "name",
    image: "Image",
    command: "Cmd",
    env: "Env",
    labels: "Labels",
    networks: "networks",
    parentId: "--parent-id",
    resourcePoolId: "--host-id",
    folderId: "the host's folder",
  };
  const [head, ...rest] = f.property.split(".");
  const field = [fields[head!] ?? head, ...rest].join(".");
  return `${field}: ${f.reason}`;
}

/** A name for a container created without one: the image's last path component and six random hex digits. */
function generatedName(image: string): string {
  const base = image
    .split("/")
    .pop()!
    .replace(/[@:].*$/, "")
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 40);
  return `${base || "container"}-${randomBytes(3).toString("hex")}`;
}

function objectField(from: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = from[key];
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function nonEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}
