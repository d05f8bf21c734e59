/**
 * The vCenter API as documented, through the plugin binary against an embedded vSphere of its own:
 * NIC edits that carry the whole card, placement checked and corrected when vCenter ignores the
 * clone's location, an ESXi host or a vCenter before 6.7 refused with a clear message, and a user
 * missing one privilege told which privilege, on which object, for which resource.
 */
import { insecureFetch, Sim, type SimInventory } from "../support/sim";
import {
  networkOf,
  output,
  resource,
  simStack,
  HOST,
  PARENT,
  VM,
  type ResourceDeclaration,
  type Stack,
} from "../harness";

let sim: Sim;
let before: SimInventory;

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "100" });
  before = await sim.inventory();
});

afterAll(async () => {
  await sim?.stop();
});

/** Sets the simulator's vCenter modes (sim/overlay/bonneville_vcenter.go) until the test ends. */
async function setModes(modes: Record<string, unknown>): Promise<void> {
  const res = await insecureFetch(`${sim.controlUrl}/modes`, "POST", modes);
  if (res.status !== 200) throw new Error(`POST /bonneville/modes: ${res.status} ${res.body}`);
}

afterEach(async () => {
  await insecureFetch(`${sim.controlUrl}/modes`, "DELETE");
});

function base(name: string) {
  const host = resource(HOST, `${name}-host`, {
    name,
    cluster: "DC0_C0",
    bridgeSwitch: "DVS0",
    containerNetworks: { frontend: "DC0_DVPG1" },
  });
  const parent = resource(PARENT, `${name}-parent`, {
    source: "bonneville-source",
    resourcePoolId: output(host, "resourcePoolId"),
    folderId: output(host, "folderId"),
  });
  return { host, parent };
}

function container(parent: ResourceDeclaration, name: string, inputs: Record<string, unknown> = {}) {
  return resource(VM, name, { parentId: output(parent, "vmId"), image: "nginx:1.27", ...inputs });
}

async function destroyAndCheck(stack: Stack): Promise<void> {
  await stack.destroy();
  const after = await sim.inventory();
  expect(after.virtualMachines.map((v) => v.id)).toEqual(before.virtualMachines.map((v) => v.id));
  expect(after.resourcePools.map((p) => p.id)).toEqual(before.resourcePools.map((p) => p.id));
  expect(after.folders.map((f) => f.id)).toEqual(before.folders.map((f) => f.id));
}

describe("NIC edits", () => {
  it("move a container's card to another port group with the parent's whole card, which the simulator checks", async () => {
    const stack = simStack(sim);
    const { host, parent } = base("nics");
    const vm = container(parent, "front", { networks: [networkOf(host, "frontend")] });
    await stack.up([host, parent, vm]);
    const out = stack.outputs<{ vmId: string; portGroupIds: string[]; macAddresses: string[] }>("front");
    const pg1 = (await sim.inventory()).portGroups.find((p) => p.name === "DC0_DVPG1")!;
    expect(out.portGroupIds).toEqual([pg1.id]);
    expect(out.macAddresses).toHaveLength(1);
    await destroyAndCheck(stack);
  });
});

describe("placement", () => {
  it("moves a clone that vCenter left outside the asked folder and pool before create returns", async () => {
    const stack = simStack(sim);
    const { host, parent } = base("placed");
    await stack.up([host, parent]);
    await setModes({ ignoreLocation: true });
    await sim.resetStats();
    // The container asks for the cluster's root pool, its parent is in the host's pool.
    const vm = container(parent, "placed-c", { resourcePoolId: "DC0_C0/Resources" });
    await stack.up([host, parent, vm]);
    const folderId = stack.outputs<{ folderId: string }>("placed-host").folderId;
    const inventory = await sim.inventory();
    const rootPool = inventory.resourcePools.find((p) => p.name === "Resources")!.id;
    const id = stack.outputs<{ vmId: string }>("placed-c").vmId;
    const made = inventory.virtualMachines.find((v) => v.id === id)!;
    expect({ folder: made.folder, pool: made.pool }).toEqual({ folder: folderId, pool: rootPool });
    const stats = await sim.stats();
    expect(stats.calls.MoveIntoFolder_Task).toBe(1);
    expect(stats.calls.MoveIntoResourcePool).toBe(1);
    await destroyAndCheck(stack);
  });
});

describe("vCenter only", () => {
  it("refuses an ESXi host at the first contact, saying vCenter 6.7 or later is needed, without a stack trace", async () => {
    await setModes({ apiType: "HostAgent" });
    const stack = simStack(sim);
    const { host } = base("esx");
    await expect(stack.up([host])).rejects.toThrow(
      /create of ContainerHost "esx-host": 127\.0\.0\.1:\d+ is an ESXi host \(VMware ESXi 6\.5\.0 build-5969303\), not vCenter: Bonneville needs vCenter Server 6\.7 or later, because Instant Clone is a vCenter operation\. Set vsphereServer to the vCenter that manages this host/,
    );
    expect(stack.pluginStderr.join("")).not.toMatch(/unexpected error|\n\s+at /);
    const after = await sim.inventory();
    expect(after.resourcePools.map((p) => p.id)).toEqual(before.resourcePools.map((p) => p.id));
  });

  it('says a vCenter without InstantClone_Task "needs vSphere 6.7 or later", without a stack trace', async () => {
    const stack = simStack(sim);
    const { host, parent } = base("old");
    await stack.up([host, parent]);
    await setModes({ instantClone: "absent" });
    await expect(stack.up([host, parent, container(parent, "old-c")])).rejects.toThrow(
      'create of ContainerVM "old-c": this vCenter has no InstantClone_Task (MethodNotFound): Instant Clone needs vSphere 6.7 or later; upgrade vCenter to 6.7 or later, or set vsphereServer to one that is',
    );
    expect(stack.pluginStderr.join("")).not.toMatch(/unexpected error|\n\s+at /);
    await setModes({});
    await destroyAndCheck(stack);
  });
});

describe("privileges", () => {
  it("names the missing privilege, the object and the resource when vCenter answers NoPermission", async () => {
    const stack = simStack(sim);
    const { host, parent } = base("denied");
    await stack.up([host, parent]);
    await setModes({ missingPrivilege: "VirtualMachine.Provisioning.Clone" });
    const parentId = stack.outputs<{ vmId: string }>("denied-parent").vmId;
    await expect(stack.up([host, parent, container(parent, "denied-c")])).rejects.toThrow(
      `create of ContainerVM "denied-c": the vCenter user lacks the privilege VirtualMachine.Provisioning.Clone on VirtualMachine ${parentId}, which InstantClone_Task needs (NoPermission); add it to the user's role on that object or a parent of it (README, "vCenter privileges", lists what each resource needs)`,
    );
    expect(stack.pluginStderr.join("")).not.toMatch(/unexpected error/);
    await setModes({});
    await destroyAndCheck(stack);
  });
});
