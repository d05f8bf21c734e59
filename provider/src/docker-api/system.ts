/**
 * `/_ping`, `/version` and `/info`: what the docker CLI asks first. `_ping` carries
 * the API version in its `API-Version` header, which clients negotiate down to.
 */
import type { ContainerHostView } from "./container-host-view";
import { stateOf, type Container } from "./container-json";
import type { DockerEndpoint } from "./endpoint";
import { json } from "./http";
import { imageName } from "./images";
import { NETWORK_DRIVER } from "./networks";
import { API_VERSION, MIN_API_VERSION, type Router } from "./routing";

/** The storage driver `docker info` shows: containers are instant clones. */
export const STORAGE_DRIVER = "vsphere-instant-clone";

/** Registers `_ping`, `version` and `info`. */
export function systemRoutes(router: Router, endpoint: DockerEndpoint): void {
  const host = endpoint.host;

  router.add("GET", "/_ping", async ({ res }) => {
    res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Swarm", "inactive");
    return { status: 200, body: "OK" };
  });

  router.add("GET", "/version", async () => {
    const about = (await host.client.serviceContent()).about;
    return json(200, {
      Platform: { Name: "Bonneville (containers as vSphere VMs forked by Instant Clone)" },
      Components: [
        {
          Name: "Engine",
          Version: endpoint.version,
          Details: {
            ApiVersion: API_VERSION,
            MinAPIVersion: MIN_API_VERSION,
            Os: "linux",
            Arch: "amd64",
            KernelVersion: "",
            Experimental: "false",
          },
        },
        {
          Name: "vCenter",
          Version: about.apiVersion,
          Details: { FullName: about.fullName, Url: host.client.url.toString() },
        },
        {
          Name: "ContainerHost",
          Version: host.hostId,
          Details: { Name: host.hostName, ParentTemplate: `${host.parent.name} (${host.parent.id})` },
        },
      ],
      Version: endpoint.version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: "",
      GoVersion: "",
      Os: "linux",
      Arch: "amd64",
      KernelVersion: "",
      BuildTime: "",
    });
  });

  router.add("GET", "/info", async () => {
    const [about, vms] = await Promise.all([
      host.client.serviceContent().then((c) => c.about),
      host.containers(),
    ]);
    const taken = new Set(vms.map((v) => v.name));
    const containers: Container[] = [
      ...endpoint.created
        .all()
        .filter((c) => !taken.has(c.name))
        .map((spec): Container => ({ kind: "created", spec })),
      ...vms.map((vm): Container => ({ kind: "vm", vm })),
    ];
    const states = containers.map((c) => stateOf(c).status);
    const images = new Set<string>([
      ...endpoint.images.all().map((r) => r.name.full),
      ...vms.map((v) => imageName(String(v.inputs.image ?? "")).full),
    ]);
    return json(200, infoJson(endpoint, host, about.fullName, states, images.size));
  });
}

function infoJson(
  endpoint: DockerEndpoint,
  host: ContainerHostView,
  vcenter: string,
  states: readonly string[],
  imageCount: number,
): Record<string, unknown> {
  const count = (s: string) => states.filter((x) => x === s).length;
  return {
    ID: host.hostId,
    Containers: states.length,
    ContainersRunning: count("running"),
    ContainersPaused: count("paused"),
    ContainersStopped: count("exited") + count("created"),
    Images: imageCount,
    Driver: STORAGE_DRIVER,
    DriverStatus: [
      ["ContainerHost", `${host.hostName} (${host.hostId})`],
      ["ParentTemplate", `${host.parent.name} (${host.parent.id})`],
      ["vCenter", `${vcenter} at ${host.client.url.toString()}`],
    ],
    Plugins: { Volume: [], Network: [NETWORK_DRIVER], Authorization: null, Log: [] },
    MemoryLimit: false,
    SwapLimit: false,
    CpuCfsPeriod: false,
    CpuCfsQuota: false,
    CPUShares: false,
    CPUSet: false,
    PidsLimit: false,
    IPv4Forwarding: false,
    Debug: false,
    OomKillDisable: false,
    NGoroutines: 0,
    NFd: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: "",
    CgroupDriver: "",
    NEventsListener: 0,
    KernelVersion: "",
    OperatingSystem: vcenter,
    OSVersion: "",
    OSType: "linux",
    Architecture: "x86_64",
    IndexServerAddress: "https://index.docker.io/v1/",
    NCPU: host.parent.numCpus,
    MemTotal: host.parent.memoryMb * 1024 * 1024,
    DockerRootDir: "",
    Name: host.hostName,
    Labels: [
      `com.bonneville.container-host-id=${host.hostId}`,
      `com.bonneville.parent-id=${host.parent.id}`,
      `com.bonneville.sizes=each container VM has its parent's ${host.parent.numCpus} CPU(s) and ${host.parent.memoryMb} MB`,
    ],
    ExperimentalBuild: false,
    ServerVersion: endpoint.version,
    Runtimes: {},
    DefaultRuntime: "",
    Swarm: {
      NodeID: "",
      NodeAddr: "",
      LocalNodeState: "inactive",
      ControlAvailable: false,
      Error: "",
      RemoteManagers: null,
    },
    LiveRestoreEnabled: false,
    Isolation: "",
    InitBinary: "",
    ContainerdCommit: { ID: "" },
    RuncCommit: { ID: "" },
    InitCommit: { ID: "" },
    SecurityOptions: [],
    Warnings: [],
  };
}
