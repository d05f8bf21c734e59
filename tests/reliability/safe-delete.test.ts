/**
 * Safe delete: a ContainerHost holding a VM that Bonneville did not create (an operator cloned it
 * into the host's pool and folder, without the `bonneville.managed` tag) refuses deletion and
 * names it. With `forceDestroy: true` it deletes the VMs Bonneville made but still never touches
 * the other one, and still refuses, naming it. Once the operator moves that VM away, destroy ends.
 */
import { MoRef, VirtualMachine } from "../../provider/src/vsphere";
import { resource } from "../harness";
import { insecureFetch } from "../support/sim";
import { account, base, container, failureOf, HOST, Lab } from "./support";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
});

afterAll(async () => {
  await lab?.stop();
});

describe("deleting a ContainerHost that holds a VM Bonneville did not create", () => {
  const { host, parent } = base("safe");
  const forced = resource(HOST, host.name, { ...host.inputs, forceDestroy: true });
  const program = (h = host) => [h, parent, container("web", parent), container("worker", parent)];
  const stack = () => lab.stacks[0]!;
  let intruder: { id: string; name: string };

  beforeAll(async () => {
    await lab.stack().up(program());
    const pool = stack().get("safe-host")!.id;
    const folder = stack().outputs("safe-host").folderId as string;
    // An operator clones a VM of their own into the host's pool and folder.
    intruder = await lab.operator(async (client) => {
      const source = await client.find.resolve("bonneville-source", ["VirtualMachine"], "vm");
      const vm = await new VirtualMachine(client, source).clone(new MoRef("Folder", folder), "ops-debug", {
        location: { pool: new MoRef("ResourcePool", pool) },
        powerOn: true,
      });
      return { id: vm.id, name: "ops-debug" };
    });
  });

  /** The operator's VM as vSphere has it now. */
  const intruderNow = async () =>
    (await lab.sim.inventory()).virtualMachines.find((v) => v.id === intruder.id);

  it("refuses and names it; the containers and parent, deleted first, are gone", async () => {
    const hostId = stack().get("safe-host")!.id;
    const error = await failureOf(() => stack().destroy());
    expect(error.message).toContain(
      `ContainerHost safe-pool (${hostId}) holds 1 VM(s) that Bonneville did not create: ops-debug (${intruder.id}). Bonneville never deletes them`,
    );
    expect([...stack().state.values()].map((e) => e.name)).toEqual(["safe-host"]);
    const vm = await intruderNow();
    expect(vm?.powerState).toBe("poweredOn");
    expect(vm?.extraConfig["bonneville.managed"]).toBeUndefined();
    const inventory = await lab.sim.inventory();
    expect(inventory.resourcePools.some((p) => p.id === hostId)).toBe(true);
  });

  it("with forceDestroy, deletes Bonneville's VMs in it but never the operator's, and still refuses naming it", async () => {
    // The containers come back; then the state loses track of one (as after `pulumi state delete`).
    await stack().up(program(forced));
    expect(stack().outputs("safe-host").forceDestroy).toBe(true);
    const forgotten = stack().get("worker")!;
    stack().state.delete(forgotten.urn);
    const kept = stack().get("web")!.id;
    const hostId = stack().get("safe-host")!.id;

    const error = await failureOf(() => stack().destroy());
    expect(error.message).toContain(
      `holds 1 VM(s) that Bonneville did not create: ops-debug (${intruder.id})`,
    );
    expect(error.message).toContain("(forceDestroy deleted the 1 VM(s) Bonneville made)");
    expect(error.message).not.toContain(forgotten.id);
    const inventory = await lab.sim.inventory();
    expect(inventory.virtualMachines.some((v) => v.id === forgotten.id)).toBe(false);
    expect(inventory.virtualMachines.some((v) => v.id === kept)).toBe(false);
    expect(inventory.resourcePools.some((p) => p.id === hostId)).toBe(true);
    const vm = await intruderNow();
    expect(vm?.powerState).toBe("poweredOn");
    expect(vm?.pool).toBe(hostId);
    await lab.engine.waitFor((m) => m.message.includes(`forceDestroy: deleting 1 VM(s)`));
  });

  it("once the operator deletes their VM, destroy deletes the host", async () => {
    await lab.sim.destroyVm(intruder.id);
    await stack().destroy();
    expect(stack().state.size).toBe(0);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});

describe("forceDestroy of a ContainerHost whose parent and containers the state no longer knows", () => {
  it("destroys the containers before the parent they were forked from", async () => {
    const { host, parent } = base("order");
    const forced = resource(HOST, host.name, { ...host.inputs, forceDestroy: true });
    const stack = lab.stack();
    const containers = [container("a", parent), container("b", parent), container("c", parent)];
    await stack.up([host, parent, ...containers]);
    await stack.up([forced, parent, ...containers]);
    const parentId = stack.get("order-parent")!.id;
    const children = ["a", "b", "c"].map((n) => stack.get(n)!.id);
    // As after `pulumi state delete` of all three and the parent: only the host's delete remains.
    for (const name of ["a", "b", "c", "order-parent"]) stack.state.delete(stack.get(name)!.urn);

    expect((await insecureFetch(`${lab.sim.controlUrl}/requests/record`, "POST")).status).toBe(200);
    let requests: string[];
    try {
      await stack.destroy();
      const recorded = await insecureFetch(`${lab.sim.controlUrl}/requests`, "GET");
      requests = (JSON.parse(recorded.body) as { requests: string[] }).requests;
    } finally {
      await insecureFetch(`${lab.sim.controlUrl}/requests`, "DELETE");
    }
    const destroyed = requests.flatMap((body) => {
      const m = /<Destroy_Task[^>]*>\s*<_this[^>]*>([^<]+)<\/_this>/.exec(body);
      return m ? [m[1]!] : [];
    });
    // A fork's disks link to its parent's: vSphere deletes children first (and so does Bonneville).
    expect(destroyed.filter((id) => id.startsWith("vm-")).sort()).toEqual([...children, parentId].sort());
    const parentAt = destroyed.indexOf(parentId);
    for (const child of children) expect(destroyed.indexOf(child)).toBeLessThan(parentAt);
    expect(stack.state.size).toBe(0);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});
