/**
 * A replacement that fails halfway: the new VM was forked but did not finish (an injected fault on
 * its power-off), so the `up` fails. The engine keeps both: the new VM with its initialisation
 * error, the old one marked for deletion. Nothing is orphaned in between, and the next `up`
 * finishes the new VM in place and deletes the old one.
 *
 * An input rewritten from an inventory path or name to the ID of the same object is not a change
 * of object: Diff asks vSphere, and it is an in-place update that records the new form.
 *
 * When the provider is replaced (another server URL), every resource is replaced without its Diff
 * saying so; the replacement must be made anew, never take over the VM it replaces.
 */
import { output, resource, type ResourceDeclaration } from "../harness";
import { account, base, container, eventually, failureOf, HOST, Lab, networkOf, PARENT, VM } from "./support";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
});

afterAll(async () => {
  await lab?.stop();
});

it("a replacement whose new VM did not finish is finished, and the old VM deleted, by the next up", async () => {
  const stack = lab.stack();
  const { host, parent } = base("swap");
  const web = (image: string) => container("web", parent, { image, powerState: "poweredOff" });
  await stack.up([host, parent, web("nginx:1.27")]);
  const oldId = stack.get("web")!.id;

  await lab.sim.addFault({ method: "PowerOffVM_Task", fault: "TaskInProgress", count: 1 });
  const error = await failureOf(() => stack.up([host, parent, web("nginx:1.28")]));
  expect(error.message).toMatch(/PowerOffVM_Task on vm-\d+ failed: PowerOffVM_Task failed: TaskInProgress/);
  const newId = stack.get("web")!.id;
  expect(newId).not.toBe(oldId);
  expect(stack.get("web")!.initErrors).toHaveLength(1);
  expect(stack.pendingDeletes.map((e) => e.id)).toEqual([oldId]);
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

  await lab.sim.clearFaults();
  const result = await stack.up([host, parent, web("nginx:1.28")]);
  expect(result.steps.find((s) => s.name === "web" && s.op === "update")).toBeDefined();
  expect(result.steps.filter((s) => s.op === "delete").map((s) => s.name)).toEqual(["web"]);
  expect(stack.pendingDeletes).toEqual([]);
  expect(stack.get("web")!.id).toBe(newId);
  expect(stack.get("web")!.initErrors).toBeUndefined();
  const vms = (await lab.sim.inventory()).virtualMachines;
  expect(vms.some((v) => v.id === oldId)).toBe(false);
  const now = vms.find((v) => v.id === newId)!;
  expect(now.powerState).toBe("poweredOff");
  expect(now.extraConfig["guestinfo.bonneville.image"]).toBe("nginx:1.28");
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  expect([...stack.state.values()].filter((e) => e.type === VM)).toHaveLength(1);

  await stack.destroy();
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
});

it("an input rewritten from a name to the ID of the same object updates in place; another object still replaces", async () => {
  const inventory = await lab.sim.inventory();
  const esx = inventory.hosts.find((h) => h.name === "DC0_C0_H0")!;
  const source = inventory.virtualMachines.find((v) => v.name === "bonneville-source")!;
  const frontend = inventory.portGroups.find((p) => p.name === "DC0_DVPG1")!;
  /** The program with each reference written as a name, or as its ID; `webNetwork` overrides the VM's network. */
  const program = (ids: boolean, webNetwork?: string): ResourceDeclaration[] => {
    const host = resource(HOST, "form-host", {
      name: "form-pool",
      cluster: ids ? esx.parent : "DC0_C0",
      bridgeSwitch: "DVS0",
    });
    const parent = resource(PARENT, "form-parent", {
      source: ids ? source.id : "bonneville-source",
      resourcePoolId: output(host, "resourcePoolId"),
      folderId: output(host, "folderId"),
      host: ids ? esx.id : "DC0_C0/DC0_C0_H0",
      networks: [networkOf(host, "bridge")],
    });
    const web = resource(VM, "web", {
      parentId: output(parent, "vmId"),
      image: "nginx:1.27",
      networks: [webNetwork ?? (ids ? frontend.id : "DC0_DVPG1")],
    });
    return [host, parent, web];
  };
  const stack = lab.stack();
  await stack.up(program(false));
  const before = Object.fromEntries(
    ["form-host", "form-parent", "web"].map((n) => [
      n,
      { id: stack.get(n)!.id, name: stack.outputs(n).name },
    ]),
  );

  const rewritten = await stack.up(program(true));
  expect(rewritten.steps.map((s) => [s.name, s.op])).toEqual([
    ["form-host", "update"],
    ["form-parent", "update"],
    ["web", "update"],
  ]);
  for (const [n, was] of Object.entries(before)) {
    expect({ n, id: stack.get(n)!.id, name: stack.outputs(n).name }).toEqual({ n, ...was });
  }
  expect(stack.outputs("form-host").cluster).toBe(esx.parent);
  expect(stack.outputs("form-parent").source).toBe(source.id);
  expect(stack.outputs("web").networks).toEqual([frontend.id]);
  const settled = await stack.up(program(true));
  expect(settled.steps.every((s) => s.op === "same")).toBe(true);

  // An ID of another object is a real change: the container is replaced.
  const bridge = stack.outputs<{ bridgePortGroupId: string }>("form-host").bridgePortGroupId;
  const moved = await stack.up(program(true, bridge));
  expect(moved.steps.filter((s) => s.op !== "same").map((s) => [s.name, s.op])).toEqual([
    ["web", "replace"],
    ["web", "delete"],
  ]);
  expect(stack.get("web")!.id).not.toBe(before.web!.id);
  const vm = (await lab.sim.inventory()).virtualMachines.find((v) => v.id === stack.get("web")!.id)!;
  expect(vm.networks).toEqual([bridge]);

  await stack.destroy();
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
});

it("a parent replaced because its provider was replaced is never taken over from the VM it replaces", async () => {
  // Pool and folder are fixed paths, so the replacement is made where the old parent lives, from the same spec.
  const parent = (name?: string) =>
    resource(PARENT, "shared-parent", {
      source: "bonneville-source",
      resourcePoolId: "DC0_C0/Resources",
      folderId: "/DC0/vm",
      ...(name ? { name } : {}),
    });
  const stack = lab.stack();
  await stack.up([parent()]);
  const old = { id: stack.get("shared-parent")!.id, name: String(stack.outputs("shared-parent").name) };

  // The same vCenter by another name: DiffConfig replaces every resource of the provider. The
  // engine checks the replacement again without olds (pulumi/pulumi step_generator.go), so it gets
  // a fresh auto-name and is cloned anew beside the old parent, which it never takes over; the old
  // parent is then deleted.
  const url = new URL(lab.sim.url);
  url.hostname = "localhost";
  stack.setConfig(lab.config({ vsphereServer: url.toString() }));
  const byProvider = await stack.up([parent()]);
  expect(byProvider.steps.map((s) => [s.name, s.op, s.replacedBecause])).toEqual([
    ["shared-parent", "replace", "provider"],
    ["shared-parent", "delete", undefined],
  ]);
  const fresh = { id: stack.get("shared-parent")!.id, name: String(stack.outputs("shared-parent").name) };
  expect(fresh.id).not.toBe(old.id);
  expect(fresh.name).not.toBe(old.name);
  expect((await lab.sim.inventory()).virtualMachines.some((v) => v.id === old.id)).toBe(false);
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

  // A name of its own renames the parent in place: no replacement, no clone.
  const renamed = await stack.up([parent("shared-parent-2")]);
  expect(renamed.steps.map((s) => [s.name, s.op])).toEqual([["shared-parent", "update"]]);
  expect(stack.get("shared-parent")!.id).toBe(fresh.id);
  const vms = (await lab.sim.inventory()).virtualMachines;
  expect(vms.find((v) => v.id === fresh.id)).toMatchObject({
    name: "shared-parent-2",
    powerState: "poweredOn",
  });
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

  await stack.destroy();
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
});

describe("a replacement that keeps its fixed name, run create-before-delete (deleteBeforeReplace: false)", () => {
  const fixed = (parent: ResourceDeclaration, image: string) =>
    resource(
      VM,
      "kept",
      { name: "kept-0", parentId: output(parent, "vmId"), image },
      { deleteBeforeReplace: false },
    );

  it("is made under a temporary name beside the old VM, and takes the fixed name once the old VM is deleted", async () => {
    const stack = lab.stack();
    const { host, parent } = base("keep");
    await stack.up([host, parent, fixed(parent, "nginx:1.27")]);
    const oldId = stack.get("kept")!.id;

    const result = await stack.up([host, parent, fixed(parent, "nginx:1.28")]);
    const step = result.steps.find((s) => s.name === "kept")!;
    expect(step).toMatchObject({ op: "replace", deleteBeforeReplace: false });
    expect(step.diff).toMatchObject({ deleteBeforeReplace: true });
    const newId = stack.get("kept")!.id;
    expect(newId).not.toBe(oldId);
    expect(stack.outputs("kept")).toMatchObject({ name: "kept-0" });
    const urn = stack.urn(VM, "kept");
    const vms = (await lab.sim.inventory()).virtualMachines.filter(
      (v) => v.extraConfig["bonneville.urn"] === urn,
    );
    expect(vms.map((v) => ({ id: v.id, name: v.name }))).toEqual([{ id: newId, name: "kept-0" }]);
    expect(vms[0]!.extraConfig["guestinfo.bonneville.image"]).toBe("nginx:1.28");
    await lab.engine.waitFor(
      (m) =>
        m.urn === urn &&
        /^kept-0-r[0-9a-f]{7} \(vm-\d+\) replaces vm-\d+, which holds the name kept-0/.test(m.message),
    );
    await lab.engine.waitFor(
      (m) => m.urn === urn && m.message.startsWith(`${oldId} is deleted: renaming its replacement kept-0-r`),
    );
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    const again = await stack.up([host, parent, fixed(parent, "nginx:1.28")]);
    expect(again.steps.map((s) => s.op)).toEqual(["same", "same", "same"]);
    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });

  it("takes the fixed name at the next up when the plugin died between the create and the delete of the old VM", async () => {
    const stack = lab.stack();
    const { host, parent } = base("keepkill");
    await stack.up([host, parent, fixed(parent, "nginx:1.27")]);
    const oldId = stack.get("kept")!.id;
    const urn = stack.urn(VM, "kept");

    // The delete of the old VM starts by powering it off: the plugin is killed there, after the
    // replacement's Create answered.
    await lab.sim.resetStats();
    await lab.sim.addFault({ method: "PowerOffVM_Task", latencyMs: 1500 });
    const up = failureOf(() => stack.up([host, parent, fixed(parent, "nginx:1.28")]));
    await eventually("the delete of the old VM reaching the simulator", async () =>
      ((await lab.sim.stats()).calls["PowerOffVM_Task"] ?? 0) > 0 ? true : undefined,
    );
    await lab.lastPlugin!.kill("SIGKILL");
    await up;
    await lab.sim.clearFaults();
    const newId = stack.get("kept")!.id;
    expect(newId).not.toBe(oldId);
    expect(stack.pendingDeletes.map((e) => e.id)).toEqual([oldId]);
    const between = (await lab.sim.inventory()).virtualMachines.find((v) => v.id === newId)!;
    expect(between.name).toMatch(/^kept-0-r[0-9a-f]{7}$/);

    // A refresh shows the name vSphere has now.
    await stack.refresh();
    expect(stack.outputs("kept")).toMatchObject({ name: between.name });

    // The next up deletes the old VM first (a pending delete), which renames the replacement;
    // its Diff then sees the name the state holds against the fixed one, and the update settles it.
    await stack.up([host, parent, fixed(parent, "nginx:1.28")]);
    expect(stack.pendingDeletes).toEqual([]);
    expect(stack.get("kept")!.id).toBe(newId);
    expect(stack.outputs("kept")).toMatchObject({ name: "kept-0" });
    const vms = (await lab.sim.inventory()).virtualMachines.filter(
      (v) => v.extraConfig["bonneville.urn"] === urn,
    );
    expect(vms.map((v) => ({ id: v.id, name: v.name }))).toEqual([{ id: newId, name: "kept-0" }]);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });

  it("takes the fixed name at the next up when the rename failed after the old VM was deleted", async () => {
    const stack = lab.stack();
    const { host, parent } = base("keepren");
    await stack.up([host, parent, fixed(parent, "nginx:1.27")]);
    const oldId = stack.get("kept")!.id;
    const urn = stack.urn(VM, "kept");

    await lab.sim.addFault({ method: "Rename_Task", fault: "TaskInProgress", count: 1 });
    const error = await failureOf(() => stack.up([host, parent, fixed(parent, "nginx:1.28")]));
    expect(error.message).toMatch(/Rename_Task on vm-\d+ failed: Rename_Task failed: TaskInProgress/);
    await lab.sim.clearFaults();
    const newId = stack.get("kept")!.id;
    expect(stack.pendingDeletes.map((e) => e.id)).toEqual([oldId]);
    const between = (await lab.sim.inventory()).virtualMachines.filter(
      (v) => v.extraConfig["bonneville.urn"] === urn,
    );
    expect(between.map((v) => v.id)).toEqual([newId]);
    expect(between[0]!.name).toMatch(/^kept-0-r[0-9a-f]{7}$/);

    // The old VM is gone; its pending delete finds the replacement through the parent's folder.
    const result = await stack.up([host, parent, fixed(parent, "nginx:1.28")]);
    expect(result.steps.filter((s) => s.op === "delete").map((s) => s.name)).toEqual(["kept"]);
    expect(stack.pendingDeletes).toEqual([]);
    const vms = (await lab.sim.inventory()).virtualMachines.filter(
      (v) => v.extraConfig["bonneville.urn"] === urn,
    );
    expect(vms.map((v) => ({ id: v.id, name: v.name }))).toEqual([{ id: newId, name: "kept-0" }]);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});

it("a ParentTemplate replacement that keeps its fixed name, run create-before-delete, is renamed to it once the old parent is deleted", async () => {
  const stack = lab.stack();
  const { host } = base("pkeep");
  const parent = (numCpus: number) =>
    resource(
      PARENT,
      "pkeep-parent",
      {
        name: "pkeep-parent-0",
        source: "bonneville-source",
        resourcePoolId: output(host, "resourcePoolId"),
        folderId: output(host, "folderId"),
        host: "DC0_C0/DC0_C0_H0",
        networks: [networkOf(host, "bridge")],
        numCpus,
      },
      { deleteBeforeReplace: false },
    );
  await stack.up([host, parent(1)]);
  const oldId = stack.get("pkeep-parent")!.id;
  const urn = stack.urn(PARENT, "pkeep-parent");

  const result = await stack.up([host, parent(2)]);
  expect(result.steps.find((s) => s.name === "pkeep-parent")).toMatchObject({
    op: "replace",
    deleteBeforeReplace: false,
  });
  const newId = stack.get("pkeep-parent")!.id;
  expect(newId).not.toBe(oldId);
  expect(stack.outputs("pkeep-parent")).toMatchObject({ name: "pkeep-parent-0" });
  const vms = (await lab.sim.inventory()).virtualMachines.filter(
    (v) => v.extraConfig["bonneville.urn"] === urn,
  );
  expect(vms.map((v) => ({ id: v.id, name: v.name }))).toEqual([{ id: newId, name: "pkeep-parent-0" }]);
  await lab.engine.waitFor(
    (m) =>
      m.urn === urn && m.message.startsWith(`${oldId} is deleted: renaming its replacement pkeep-parent-0-r`),
  );
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

  // Nothing is left to settle.
  const again = await stack.up([host, parent(2)]);
  expect(again.steps.map((s) => s.op)).toEqual(["same", "same"]);
  await stack.destroy();
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
});
