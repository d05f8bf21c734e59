/**
 * The three resources end to end, through the plugin binary driven as the engine
 * drives it, against an embedded vSphere of their own: a ContainerHost, a
 * ParentTemplate and 20 ContainerVMs over two networks; labels updated in place,
 * an image change replacing one VM, refresh after an out-of-band delete, and a
 * destroy that leaves the inventory exactly as it was.
 */
import { Sim, type SimInventory } from "../support/sim";
import {
  output,
  resource,
  reveal,
  secret,
  isSecret,
  Stack,
  isUnknown,
  type ResourceDeclaration,
  HOST,
  PARENT,
  VM,
  simStack,
  networkOf,
} from "../harness";

let sim: Sim;
let before: SimInventory;

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "200" });
  before = await sim.inventory();
});

afterAll(async () => {
  await sim?.stop();
});

function newStack(): Stack {
  return simStack(sim);
}

/** The program: a host with one extra network, a parent, and `count` containers alternating networks. */
function program(options: {
  count: number;
  labels?: Record<string, string>;
  imageOf?: (i: number) => string;
}) {
  const host = resource(HOST, "pool", {
    name: "e2e-pool",
    cluster: "DC0_C0",
    bridgeSwitch: "DVS0",
    bridgeVlanId: 100,
    containerNetworks: { frontend: "DC0_DVPG1" },
    cpuLimitMhz: 8000,
  });
  const parent = resource(PARENT, "parent", {
    source: "bonneville-source",
    resourcePoolId: output(host, "resourcePoolId"),
    folderId: output(host, "folderId"),
    host: "DC0_C0_H1",
    networks: [networkOf(host, "bridge")],
  });
  const vms: ResourceDeclaration[] = [];
  for (let i = 0; i < options.count; i++) {
    const network = i % 2 === 0 ? "bridge" : "frontend";
    vms.push(
      resource(VM, `c${i}`, {
        parentId: output(parent, "vmId"),
        image: options.imageOf?.(i) ?? "nginx:1.27",
        command: ["nginx", "-g", "daemon off;"],
        env: { MODE: "e2e", API_TOKEN: secret(`token-${i}`) },
        labels: { app: "web", index: String(i), ...options.labels },
        networks: [networkOf(host, network)],
      }),
    );
  }
  return { host, parent, vms, all: [host, parent, ...vms] };
}

/** SOAP methods that change the inventory. */
function isWrite(method: string): boolean {
  return /_Task$|^Create(ResourcePool|Folder)$|^UpdateConfig$|^Destroy|^MarkAs|^Rename/.test(method);
}

function vmsIn(inventory: SimInventory) {
  return inventory.virtualMachines.map((v) => v.id).sort();
}

describe("ContainerHost, ParentTemplate and ContainerVM against the embedded vSphere", () => {
  let stack: Stack;
  beforeAll(() => {
    stack = newStack();
  });

  it("previews without writing to vSphere", async () => {
    await sim.resetStats();
    const result = await stack.preview(program({ count: 20 }).all);
    expect(result.steps.filter((s) => s.op === "create")).toHaveLength(22);
    const stats = await sim.stats();
    expect(Object.keys(stats.calls).filter(isWrite)).toEqual([]);
    const vm = result.outputs("c0");
    expect(isUnknown(vm.vmId)).toBe(true);
    expect(vm.image).toBe("nginx:1.27");
  });

  it("creates the host, the parent and 20 container VMs over two networks", async () => {
    const result = await stack.up(program({ count: 20 }).all);
    expect(result.steps.filter((s) => s.op === "create")).toHaveLength(22);

    const host = stack.outputs<Record<string, unknown>>("pool");
    const networks = host.networks as Record<string, string>;
    expect(networks.frontend).toBe("dvportgroup-15");
    expect(networks.bridge).toMatch(/^dvportgroup-/);
    const inv = await sim.inventory();
    const pool = inv.resourcePools.find((p) => p.id === stack.get("pool")!.id)!;
    expect(pool.name).toBe("e2e-pool");
    expect(inv.folders.find((f) => f.id === host.folderId)!.name).toBe("e2e-pool");
    expect(inv.portGroups.find((p) => p.id === networks.bridge)!.name).toBe("e2e-pool-bridge");

    const parent = stack.outputs<Record<string, unknown>>("parent");
    expect(parent.powerState).toBe("poweredOn");
    expect(parent.hostId).toBe("host-33");
    expect(parent.readySeconds).toBeGreaterThan(0);
    const parentVm = inv.virtualMachines.find((v) => v.id === parent.vmId)!;
    expect(parentVm.extraConfig["guestinfo.bonneville.ready"]).toBe("true");
    expect(parentVm.networks).toEqual([networks.bridge]);

    for (let i = 0; i < 20; i++) {
      const entry = stack.get(`c${i}`)!;
      const out = reveal<Record<string, unknown>>(entry.outputs);
      const vm = inv.virtualMachines.find((v) => v.id === entry.id)!;
      const want = i % 2 === 0 ? networks.bridge : networks.frontend;
      expect(vm.networks).toEqual([want]);
      expect(out.portGroupIds).toEqual([want]);
      expect(vm.host).toBe("host-33");
      expect(vm.pool).toBe(stack.get("pool")!.id);
      expect(vm.folder).toBe(host.folderId);
      expect(vm.powerState).toBe("poweredOn");
      expect(vm.extraConfig["bonneville.managed"]).toBe("true");
      expect(vm.extraConfig["bonneville.urn"]).toBe(entry.urn);
      expect(vm.extraConfig["guestinfo.bonneville.image"]).toBe("nginx:1.27");
      const env = JSON.parse(Buffer.from(vm.extraConfig["guestinfo.bonneville.env"]!, "base64").toString());
      expect(env).toEqual({ MODE: "e2e", API_TOKEN: `token-${i}` });
      expect(out.macAddresses).toEqual([expect.stringMatching(/^00:50:56:/)]);
      expect(typeof out.cloneSeconds).toBe("number");
      // A secret env value keeps the whole env secret in the outputs.
      expect(isSecret(entry.outputs.env)).toBe(true);
    }
  });

  it("previews the label change as in-place updates, writing nothing", async () => {
    await sim.resetStats();
    const result = await stack.preview(program({ count: 20, labels: { tier: "gold" } }).all);
    expect(result.steps.filter((s) => s.op === "update")).toHaveLength(20);
    expect(result.steps.filter((s) => s.op === "replace")).toHaveLength(0);
    const stats = await sim.stats();
    expect(Object.keys(stats.calls).filter(isWrite)).toEqual([]);
  });

  it("updates labels in place", async () => {
    const result = await stack.up(program({ count: 20, labels: { tier: "gold" } }).all);
    const updated = result.steps.filter((s) => s.op === "update").map((s) => s.name);
    expect(updated.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
    expect(result.steps.filter((s) => s.op === "replace")).toHaveLength(0);
    const inv = await sim.inventory();
    const vm = inv.virtualMachines.find((v) => v.id === stack.get("c3")!.id)!;
    const decode = (key: string): unknown =>
      JSON.parse(Buffer.from(vm.extraConfig[key]!, "base64").toString());
    // Changed after the fork: outside guestinfo (a guestinfo change while running is lost at power-off).
    expect(decode("bonneville.labels")).toEqual({ app: "web", index: "3", tier: "gold" });
    // The fork-time copy the agent read stays as it was.
    expect(decode("guestinfo.bonneville.labels")).toEqual({ app: "web", index: "3" });
  });

  it("replaces one container VM when its image changes", async () => {
    const oldId = stack.get("c5")!.id;
    const result = await stack.up(
      program({
        count: 20,
        labels: { tier: "gold" },
        imageOf: (i) => (i === 5 ? "nginx:1.28" : "nginx:1.27"),
      }).all,
    );
    const replaced = result.steps.filter((s) => s.op === "replace");
    expect(replaced.map((s) => s.name)).toEqual(["c5"]);
    expect(replaced[0]!.diff!.replaces).toEqual(["image"]);
    const newId = stack.get("c5")!.id;
    expect(newId).not.toBe(oldId);
    const inv = await sim.inventory();
    expect(inv.virtualMachines.some((v) => v.id === oldId)).toBe(false);
    expect(inv.virtualMachines.find((v) => v.id === newId)!.extraConfig["guestinfo.bonneville.image"]).toBe(
      "nginx:1.28",
    );
  });

  it("refresh notices a VM deleted out of band, and the next up recreates it", async () => {
    const gone = stack.get("c7")!.id;
    await sim.destroyVm(gone); // behind Bonneville's back, as an operator would
    const refreshed = await stack.refresh();
    expect(refreshed.steps.find((s) => s.name === "c7")!.op).toBe("read-gone");
    expect(stack.get("c7")).toBeUndefined();
    const result = await stack.up(
      program({
        count: 20,
        labels: { tier: "gold" },
        imageOf: (i) => (i === 5 ? "nginx:1.28" : "nginx:1.27"),
      }).all,
    );
    expect(result.steps.filter((s) => s.op === "create").map((s) => s.name)).toEqual(["c7"]);
    expect(stack.get("c7")!.id).not.toBe(gone);
  });

  it("destroys everything, leaving the inventory as it was", async () => {
    await stack.destroy();
    expect(stack.state.size).toBe(0);
    const after = await sim.inventory();
    expect(vmsIn(after)).toEqual(vmsIn(before));
    expect(after.portGroups.map((p) => p.id).sort()).toEqual(before.portGroups.map((p) => p.id).sort());
    expect(after.resourcePools.map((p) => p.id).sort()).toEqual(before.resourcePools.map((p) => p.id).sort());
    expect(after.folders.map((p) => p.id).sort()).toEqual(before.folders.map((p) => p.id).sort());
    for (const vm of before.virtualMachines) {
      const now = after.virtualMachines.find((v) => v.id === vm.id)!;
      expect(now).toEqual(vm);
    }
  });
});
