/**
 * What Docker shows for a container: its state, mapped from the VM's power state
 * and the guest agent's `guestinfo.bonneville.status`, and the JSON of `docker ps`
 * (list entries) and `docker inspect`.
 *
 * | VM | agent reports | Docker state |
 * | --- | --- | --- |
 * | (no VM yet: created, not started) | | `created` |
 * | poweredOn | `starting` or `running` | `running` |
 * | poweredOn | `exited` | `exited`, its exit code |
 * | poweredOn | `error` | `exited`, exit code 128, `Error` = the agent's message |
 * | poweredOff | `exited` | `exited`, its exit code |
 * | poweredOff | anything else | `exited`, exit code 137: its processes ended with the VM |
 * | suspended | | `paused` |
 */
import type { ContainerVmView, HostNetwork } from "./container-host-view";
import { portGroupIdsOf } from "./container-host-view";
import type { CreatedContainer } from "./created-containers";
import { imageName } from "./images";
import { imageIdOf, networkIdOf } from "./identity";
import type { ContainerStatus } from "../resources/guest-contract";

/** Exit code shown for a container VM powered off without its agent reporting an exit. */
export const POWERED_OFF_EXIT_CODE = 137;
/** Exit code shown when the agent could not start the container. */
export const AGENT_ERROR_EXIT_CODE = 128;

/** A container of the host: a VM, or a spec that `docker start` has not forked yet. */
export type Container =
  | { readonly kind: "vm"; readonly vm: ContainerVmView }
  | { readonly kind: "created"; readonly spec: CreatedContainer };

export type DockerStatus = "created" | "running" | "paused" | "exited";

/** A container's state in Docker's terms. */
export interface DockerState {
  readonly status: DockerStatus;
  readonly exitCode: number;
  readonly error: string;
  /** The agent's own word (`starting`, `running`, `exited`, `error`), or `` for a created container. */
  readonly agentStatus: string;
  readonly startedAt: Date | undefined;
}

export function containerId(c: Container): string {
  return c.kind === "vm" ? c.vm.id : c.spec.id;
}

export function containerName(c: Container): string {
  return c.kind === "vm" ? c.vm.name : c.spec.name;
}

export function containerUrn(c: Container): string {
  return c.kind === "vm" ? c.vm.urn : c.spec.urn;
}

export function containerCreated(c: Container): Date {
  return c.kind === "vm" ? c.vm.created : c.spec.created;
}

function inputsOf(c: Container): Readonly<Record<string, unknown>> {
  return c.kind === "vm" ? c.vm.inputs : c.spec.inputs;
}

export function labelsOf(c: Container): Record<string, string> {
  const labels = inputsOf(c).labels;
  return labels && typeof labels === "object" ? { ...(labels as Record<string, string>) } : {};
}

export function imageOf(c: Container): string {
  return String(inputsOf(c).image ?? "");
}

function commandOf(c: Container): string[] | undefined {
  const command = inputsOf(c).command;
  return Array.isArray(command) ? command.map(String) : undefined;
}

/** Maps the VM's power state and the agent's status onto Docker's state (see the table above). */
export function stateOf(c: Container): DockerState {
  if (c.kind === "created") {
    return { status: "created", exitCode: 0, error: "", agentStatus: "", startedAt: undefined };
  }
  const out = c.vm.outputs;
  return stateOfVm(
    String(out.powerState ?? ""),
    {
      status: String(out.containerStatus ?? "starting"),
      ...(typeof out.containerExitCode === "number" ? { exitCode: out.containerExitCode } : {}),
      error: String(out.containerError ?? ""),
    },
    c.vm.bootTime,
  );
}

/** The Docker state of a VM in `power` whose agent reports `agent`. */
export function stateOfVm(power: string, agent: ContainerStatus, startedAt: Date | undefined): DockerState {
  const agentStatus = agent.status;
  if (power === "suspended") return { status: "paused", exitCode: 0, error: "", agentStatus, startedAt };
  if (power === "poweredOn") {
    if (agentStatus === "error") {
      return {
        status: "exited",
        exitCode: agent.exitCode ?? AGENT_ERROR_EXIT_CODE,
        error: agent.error || "the guest agent reported an error without a message",
        agentStatus,
        startedAt,
      };
    }
    if (agentStatus === "exited") {
      return { status: "exited", exitCode: agent.exitCode ?? 0, error: "", agentStatus, startedAt };
    }
    return { status: "running", exitCode: 0, error: "", agentStatus, startedAt };
  }
  const exitCode =
    agentStatus === "exited" && agent.exitCode !== undefined ? agent.exitCode : POWERED_OFF_EXIT_CODE;
  return {
    status: "exited",
    exitCode,
    error: agentStatus === "error" ? agent.error : "",
    agentStatus,
    startedAt: undefined,
  };
}

/** `docker ps`'s STATUS column: `Up 5 seconds`, `Exited (137)`, `Created`. */
export function statusText(state: DockerState, now: Date): string {
  switch (state.status) {
    case "created":
      return "Created";
    case "paused":
      return "Up (Paused)";
    case "running": {
      const up = state.startedAt ? `Up ${humanDuration(now.getTime() - state.startedAt.getTime())}` : "Up";
      return state.agentStatus === "running" ? up : `${up} (agent: ${state.agentStatus})`;
    }
    case "exited":
      return `Exited (${state.exitCode})`;
  }
}

/** A duration as Docker words it: `Less than a second`, `5 seconds`, `About a minute`, `3 hours`. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  const d = Math.round(h / 24);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.round(d / 7)} weeks`;
  if (d < 730) return `${Math.round(d / 30)} months`;
  return `${Math.round(d / 365)} years`;
}

/** The network of each network card: Docker name, network ID, MAC and IP (first card only). */
function endpointsOf(
  c: Container,
  networks: readonly HostNetwork[],
  hostId: string,
): { name: string; networkId: string; mac: string; ip: string }[] {
  if (c.kind === "created") {
    return c.spec.networkNames.map((name) => {
      const n = networks.find((x) => x.name === name);
      return { name, networkId: n ? networkIdOf(hostId, n.portGroupId) : "", mac: "", ip: "" };
    });
  }
  const macs = Array.isArray(c.vm.outputs.macAddresses) ? c.vm.outputs.macAddresses.map(String) : [];
  const ip = stateOf(c).status === "running" ? String(c.vm.outputs.ipAddress ?? "") : "";
  return portGroupIdsOf(c.vm).map((pg, i) => {
    const n = networks.find((x) => x.portGroupId === pg);
    return {
      name: n?.name ?? pg,
      networkId: networkIdOf(hostId, pg),
      mac: macs[i] ?? "",
      ip: i === 0 ? ip : "",
    };
  });
}

function endpointSettings(e: { networkId: string; mac: string; ip: string }): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: e.mac,
    DriverOpts: null,
    NetworkID: e.networkId,
    EndpointID: "",
    Gateway: "",
    IPAddress: e.ip,
    IPPrefixLen: 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** An entry of `GET /containers/json` (`docker ps`). */
export function listEntry(
  c: Container,
  networks: readonly HostNetwork[],
  hostId: string,
  now: Date,
): Record<string, unknown> {
  const state = stateOf(c);
  const image = imageOf(c);
  const endpoints = endpointsOf(c, networks, hostId);
  return {
    Id: containerId(c),
    Names: [`/${containerName(c)}`],
    Image: image,
    ImageID: imageIdOf(imageName(image).full),
    Command: (commandOf(c) ?? []).join(" "),
    Created: Math.floor(containerCreated(c).getTime() / 1000),
    Ports: [],
    Labels: labelsOf(c),
    State: state.status,
    Status: statusText(state, now),
    HostConfig: { NetworkMode: endpoints[0]?.name ?? "none" },
    NetworkSettings: { Networks: Object.fromEntries(endpoints.map((e) => [e.name, endpointSettings(e)])) },
    Mounts: [],
  };
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * `GET /containers/{id}/json` (`docker inspect`). Besides Docker's fields it carries `Bonneville`:
 * the URN, the VM, who owns it and the agent's own status. Environment values of containers that
 * Pulumi owns are not shown (they may be Pulumi secrets); their names are.
 */
export function inspectJson(
  c: Container,
  networks: readonly HostNetwork[],
  hostId: string,
  parentId: string,
): Record<string, unknown> {
  const state = stateOf(c);
  const image = imageOf(c);
  const command = commandOf(c);
  const endpoints = endpointsOf(c, networks, hostId);
  const env = (inputsOf(c).env ?? {}) as Record<string, string>;
  const pulumiOwned = c.kind === "vm" && !c.vm.madeByEndpoint;
  const name = containerName(c);
  const first = endpoints[0];
  return {
    Id: containerId(c),
    Created: containerCreated(c).toISOString(),
    Path: command?.[0] ?? "",
    Args: command?.slice(1) ?? [],
    State: {
      Status: state.status,
      Running: state.status === "running" || state.status === "paused",
      Paused: state.status === "paused",
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt?.toISOString() ?? ZERO_TIME,
      FinishedAt: ZERO_TIME,
    },
    Image: imageIdOf(imageName(image).full),
    ResolvConfPath: "",
    HostnamePath: "",
    HostsPath: "",
    LogPath: "",
    Name: `/${name}`,
    RestartCount: 0,
    Driver: "vsphere-instant-clone",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: {
      NetworkMode: first?.name ?? "none",
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      AutoRemove: false,
      Binds: null,
      PortBindings: {},
      Privileged: false,
      PublishAllPorts: false,
    },
    GraphDriver: { Name: "vsphere-instant-clone", Data: null },
    Mounts: [],
    Config: {
      Hostname: name,
      Domainname: "",
      User: "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: Object.entries(env).map(([k, v]) =>
        pulumiOwned ? `${k}=(set by Pulumi; not shown)` : `${k}=${v}`,
      ),
      Cmd: command ?? null,
      Image: image,
      Volumes: null,
      WorkingDir: "",
      Entrypoint: null,
      OnBuild: null,
      Labels: labelsOf(c),
    },
    NetworkSettings: {
      Bridge: "",
      SandboxID: "",
      SandboxKey: "",
      Ports: {},
      HairpinMode: false,
      LinkLocalIPv6Address: "",
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: "",
      Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      IPAddress: first?.ip ?? "",
      IPPrefixLen: 0,
      IPv6Gateway: "",
      MacAddress: first?.mac ?? "",
      Networks: Object.fromEntries(endpoints.map((e) => [e.name, endpointSettings(e)])),
    },
    Bonneville: {
      Urn: containerUrn(c),
      VmId: c.kind === "vm" ? c.vm.vmId : "",
      ManagedBy: pulumiOwned ? "pulumi" : "docker-api",
      ContainerHostId: hostId,
      ParentId: c.kind === "vm" ? String(c.vm.inputs.parentId ?? "") : parentId,
      EsxiHostId: c.kind === "vm" ? String(c.vm.outputs.hostId ?? "") : "",
      PowerState: c.kind === "vm" ? String(c.vm.outputs.powerState ?? "") : "",
      AgentStatus: state.agentStatus,
      Note:
        c.kind === "created"
          ? "created, not started: the VM is forked by docker start"
          : pulumiOwned
            ? "made by a Pulumi program: change it with pulumi up"
            : "made by Bonneville's Docker API",
    },
  };
}
