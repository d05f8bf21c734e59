/**
 * Networks: the ContainerHost's port groups under Docker names. `bridge` is the
 * host's own bridge port group; others come from the endpoint's `--network
 * name=portgroup` flags (the host's `containerNetworks`, which vSphere does not
 * record) or are discovered: a port group that a VM of the host is on appears
 * under its vSphere name. Networks are declared with Pulumi, so they are
 * listed and inspected here, never created or removed.
 */
import type { ContainerVmView, HostNetwork } from "./container-host-view";
import { portGroupIdsOf } from "./container-host-view";
import type { DockerEndpoint } from "./endpoint";
import { badRequest, notFound } from "./errors";
import { labelsMatch, parseFilters } from "./filters";
import { json } from "./http";
import { networkIdOf } from "./identity";
import type { Router } from "./routing";

/** The driver name `docker network ls` shows for a port group. */
export const NETWORK_DRIVER = "vsphere-portgroup";

/** Registers the network routes. */
export function networkRoutes(router: Router, endpoint: DockerEndpoint): void {
  const host = endpoint.host;

  router.add("GET", "/networks", async ({ query }) => {
    const filters = parseFilters(query.get("filters"), ["name", "id", "driver", "type", "label", "scope"]);
    for (const type of filters.get("type") ?? []) {
      if (type !== "builtin" && type !== "custom") {
        throw badRequest(`invalid filter 'type=${type}': expected builtin or custom`);
      }
    }
    const vms = await host.containers();
    const networks = await host.networks(vms);
    const shown = networks.filter((n) => {
      const id = networkIdOf(host.hostId, n.portGroupId);
      const names = filters.get("name");
      if (names?.length && !names.some((w) => n.name.includes(w))) return false;
      const ids = filters.get("id");
      if (ids?.length && !ids.some((w) => id.startsWith(w))) return false;
      const drivers = filters.get("driver");
      if (drivers?.length && !drivers.includes(NETWORK_DRIVER)) return false;
      const types = filters.get("type");
      if (types?.length && !types.includes(n.source === "bridge" ? "builtin" : "custom")) return false;
      const labels = filters.get("label");
      if (labels?.length && !labelsMatch(labels, {})) return false;
      const scopes = filters.get("scope");
      if (scopes?.length && !scopes.includes("local")) return false;
      return true;
    });
    return json(
      200,
      shown.map((n) => networkJson(endpoint, n, undefined)),
    );
  });

  router.add("GET", "/networks/:id", async ({ params }) => {
    const vms = await host.containers();
    const networks = await host.networks(vms);
    const ref = params.id!;
    const byName = networks.find((n) => n.name === ref || networkIdOf(host.hostId, n.portGroupId) === ref);
    const byPrefix = /^[0-9a-f]+$/.test(ref)
      ? networks.filter((n) => networkIdOf(host.hostId, n.portGroupId).startsWith(ref))
      : [];
    const found = byName ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
    if (!found) throw notFound(`network ${ref} not found`);
    return json(200, networkJson(endpoint, found, vms));
  });
}

/** A network in Docker's form; with `vms`, its `Containers` are filled in (inspect). */
function networkJson(
  endpoint: DockerEndpoint,
  n: HostNetwork,
  vms: readonly ContainerVmView[] | undefined,
): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const vm of vms ?? []) {
    const cards = portGroupIdsOf(vm);
    const index = cards.indexOf(n.portGroupId);
    if (index < 0) continue;
    const macs = Array.isArray(vm.outputs.macAddresses) ? vm.outputs.macAddresses.map(String) : [];
    const ip = index === 0 && vm.outputs.powerState === "poweredOn" ? String(vm.outputs.ipAddress ?? "") : "";
    containers[vm.id] = {
      Name: vm.name,
      EndpointID: "",
      MacAddress: macs[index] ?? "",
      IPv4Address: ip,
      IPv6Address: "",
    };
  }
  return {
    Name: n.name,
    Id: networkIdOf(endpoint.host.hostId, n.portGroupId),
    Created: "0001-01-01T00:00:00Z",
    Scope: "local",
    Driver: NETWORK_DRIVER,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: "dhcp", Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: {
      "com.bonneville.port-group-id": n.portGroupId,
      "com.bonneville.port-group-name": n.portGroupName,
      "com.bonneville.source": n.source,
    },
    Labels: {},
  };
}
