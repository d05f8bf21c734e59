/**
 * A pool of containers on vSphere, each container its own VM.
 *
 * - a ContainerHost: a resource pool and VM folder in the cluster, a bridge port group on the
 *   distributed switch, and one more existing port group the containers may join (`frontend`);
 * - one ParentTemplate per ESXi host of the cluster, each pinned to its host, cloned from the source
 *   template, powered on and frozen by its guest agent (the default `freeze: true`), so its forks
 *   do not grow a delta-disk chain and one parent can fork thousands of containers;
 * - `count` ContainerVMs, forked by Instant Clone from the parents in turn (so they spread over the
 *   hosts), alternating between the bridge and the frontend network.
 *
 * Configuration (`pulumi config set <key> <value>`); the defaults fit the embedded vSphere of
 * `sim/run`:
 *   cluster          the cluster (default DC0_C0)
 *   hosts            its ESXi hosts, a JSON list of inventory paths or IDs
 *                    (default ["DC0_C0/DC0_C0_H0","DC0_C0/DC0_C0_H1","DC0_C0/DC0_C0_H2"])
 *   bridgeSwitch     the distributed switch for the bridge port group (default DVS0)
 *   frontendNetwork  an existing port group for the frontend network (default DC0_DVPG1)
 *   source           the template the parents are cloned from (default bonneville-source)
 *   image            the containers' image (default nginx:1.27)
 *   count            how many containers (default 6)
 * The provider's own settings are `bonneville:vsphereServer`, `bonneville:user`,
 * `bonneville:password` (secret) and `bonneville:thumbprint` or `bonneville:allowUnverifiedSsl`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as bonneville from "@bonneville/pulumi";

const config = new pulumi.Config();
const cluster = config.get("cluster") ?? "DC0_C0";
const hosts = config.getObject<string[]>("hosts") ?? [
  "DC0_C0/DC0_C0_H0",
  "DC0_C0/DC0_C0_H1",
  "DC0_C0/DC0_C0_H2",
];
const bridgeSwitch = config.get("bridgeSwitch") ?? "DVS0";
const frontendNetwork = config.get("frontendNetwork") ?? "DC0_DVPG1";
const source = config.get("source") ?? "bonneville-source";
const image = config.get("image") ?? "nginx:1.27";
const count = config.getNumber("count", { min: 0, max: 1000 }) ?? 6;
if (hosts.length === 0) throw new Error('config "hosts" is an empty list; give at least one ESXi host');

const pool = new bonneville.ContainerHost("pool", {
  cluster,
  bridgeSwitch,
  containerNetworks: { frontend: frontendNetwork },
});

/** The port group ID of one of the pool's networks (`bridge` or a container network). */
function network(name: string): pulumi.Output<string> {
  return pool.networks.apply((networks) => {
    const id = networks[name];
    if (id === undefined) {
      throw new Error(`the pool has no network "${name}"; it has ${Object.keys(networks).join(", ")}`);
    }
    return id;
  });
}

const parents = hosts.map(
  (host, i) =>
    new bonneville.ParentTemplate(`parent-${i}`, {
      source,
      host,
      resourcePoolId: pool.resourcePoolId,
      folderId: pool.folderId,
      networks: [network("bridge")],
    }),
);

const networkNames = ["bridge", "frontend"];
const containers = Array.from({ length: count }, (_, i) => {
  const parent = i % parents.length;
  const networkName = networkNames[i % networkNames.length]!;
  const vm = new bonneville.ContainerVM(`web-${i}`, {
    parentId: parents[parent]!.vmId,
    image,
    networks: [network(networkName)],
    labels: { app: "web", index: String(i) },
  });
  // The host's own name, the last part of its path.
  return { vm, host: hosts[parent]!.split("/").pop()!, networkName };
});

/**
 * One row per container: what the guest agent reports (status, error, address), its image, where it
 * runs, on which network, and how long its clone took.
 */
export const containerTable = pulumi.all(
  containers.map(({ vm, host, networkName }) =>
    pulumi
      .output({
        name: vm.name,
        vmId: vm.vmId,
        hostId: vm.hostId,
        macAddresses: vm.macAddresses,
        cloneSeconds: vm.cloneSeconds,
        status: vm.containerStatus,
        error: vm.containerError,
        ipAddress: vm.ipAddress,
        image: vm.image,
      })
      .apply((o) => ({
        name: o.name ?? "",
        vmId: o.vmId,
        host,
        hostId: o.hostId,
        network: networkName,
        mac: o.macAddresses[0] ?? "",
        cloneSeconds: o.cloneSeconds,
        status: o.status,
        error: o.error ?? "",
        ipAddress: o.ipAddress ?? "",
        image: o.image,
      })),
  ),
);
/** The pool's resource pool and its bridge port group (`bonneville docker-api --host-id`). */
export const resourcePoolId = pool.resourcePoolId;
export const bridgePortGroupId = pool.bridgePortGroupId;
/** Each parent's VM ID, in the order of `hosts` (`bonneville docker-api --parent-id`). */
export const parentVmIds = parents.map((parent) => parent.vmId);
