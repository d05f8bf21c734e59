/**
 * A plugin killed (SIGKILL) right after it sent InstantClone_Task: the engine keeps no record
 * of the resource (as after a pending create, the next up checks it afresh with a new random
 * seed, so an auto-named VM gets another name), while vSphere finishes the clone. The next up
 * must find that VM by its URN tag and adopt it: no duplicate, no orphan. When vCenter is still
 * making the clone as the next up starts, that up waits for it first.
 */
import { ProviderRpcError, type Stack } from "../harness";
import type { FaultRule } from "../support/sim";
import { account, base, container, eventually, failureOf, Lab, PARENT, VM } from "./support";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
});

afterAll(async () => {
  await lab?.stop();
});

/** VMs tagged with `urn` in the inventory now. */
async function vmsTagged(urn: string) {
  return (await lab.sim.inventory()).virtualMachines.filter((v) => v.extraConfig["bonneville.urn"] === urn);
}

/**
 * Runs `up` under `rule` (a fault rule for `rule.method`: latency holds the call in the simulator,
 * a task delay answers it queued and clones later), kills its plugin with SIGKILL as soon as the
 * simulator has received that call, and clears the rule. The command fails without an init failure:
 * the engine keeps no record of the resource.
 */
async function upKilledAt(stack: Stack, program: Parameters<Stack["up"]>[0], rule: FaultRule): Promise<void> {
  await lab.sim.resetStats();
  await lab.sim.addFault(rule);
  const up = failureOf(() => stack.up(program));
  await eventually(`${rule.method} reaching the simulator`, async () =>
    ((await lab.sim.stats()).calls[rule.method] ?? 0) > 0 ? true : undefined,
  );
  await lab.lastPlugin!.kill("SIGKILL");
  const error = await up;
  expect(error).toBeInstanceOf(ProviderRpcError);
  expect((error as ProviderRpcError).initFailure).toBeUndefined();
  await lab.sim.clearFaults();
}

/**
 * {@link upKilledAt} on InstantClone_Task (held there by injected latency), then waits until
 * vSphere has made the clone the dead plugin asked for.
 */
async function upKilledMidClone(stack: Stack, program: Parameters<Stack["up"]>[0], urn: string) {
  await upKilledAt(stack, program, { method: "InstantClone_Task", latencyMs: 1500 });
  const [orphan] = await eventually("the clone the killed plugin asked for", async () => {
    const found = await vmsTagged(urn);
    return found.length > 0 ? found : undefined;
  });
  return orphan!;
}

describe("a plugin killed right after InstantClone_Task was sent", () => {
  it("the next up adopts the auto-named VM by its URN tag instead of making a second one", async () => {
    const stack = lab.stack();
    const { host, parent } = base("crash");
    const vm = container("web", parent, { labels: { tier: "front" } });
    await stack.up([host, parent]);
    const urn = stack.urn(VM, "web");

    const orphan = await upKilledMidClone(stack, [host, parent, vm], urn);
    expect(stack.get("web")).toBeUndefined();
    expect(orphan.extraConfig["bonneville.managed"]).toBe("true");

    const result = await stack.up([host, parent, vm]);
    expect(result.steps.find((s) => s.name === "web")!.op).toBe("create");
    expect(stack.get("web")!.id).toBe(orphan.id);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([orphan.id]);
    await lab.engine.waitFor((m) => m.urn === urn && m.message.includes(`adopting`));

    // The adopted VM carries the name this create asked for, so the state is settled.
    const entry = stack.get("web")!;
    expect(entry.outputs.name).toBe(entry.inputs.name);
    const again = await stack.up([host, parent, vm]);
    expect(again.steps.map((s) => s.op)).toEqual(["same", "same", "same"]);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });

  it("the next up adopts an explicitly named VM too", async () => {
    const stack = lab.stack();
    const { host, parent } = base("named");
    const vm = container("api", parent, { name: "api-0" });
    await stack.up([host, parent]);
    const urn = stack.urn(VM, "api");

    const orphan = await upKilledMidClone(stack, [host, parent, vm], urn);
    expect(orphan.name).toBe("api-0");

    await stack.up([host, parent, vm]);
    expect(stack.get("api")!.id).toBe(orphan.id);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([orphan.id]);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
    await stack.destroy();
  });

  it("a VM whose spec differs from the new inputs is not adopted, and is reported instead of duplicated by name", async () => {
    const stack = lab.stack();
    const { host, parent } = base("changed");
    await stack.up([host, parent]);
    const urn = stack.urn(VM, "db");
    const orphan = await upKilledMidClone(
      stack,
      [host, parent, container("db", parent, { name: "db-0", image: "postgres:16" })],
      urn,
    );

    // The program changed meanwhile: the old clone is not this resource's VM any more.
    const error = await failureOf(() =>
      stack.up([host, parent, container("db", parent, { name: "db-0", image: "postgres:17" })]),
    );
    expect(error.message).toContain(`name: a VM named "db-0" already exists in folder`);
    expect(error.message).toContain(orphan.id);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([orphan.id]);
    await lab.sim.destroyVm(orphan.id);
    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});

describe("a plugin killed while vCenter is still making the clone it asked for", () => {
  it("the next up, started before the clone exists, waits for that clone and adopts it instead of cloning again", async () => {
    const stack = lab.stack();
    const { host, parent } = base("inflight");
    const vm = container("job", parent);
    await stack.up([host, parent]);
    const urn = stack.urn(VM, "job");

    // vCenter answers InstantClone_Task with a queued task and makes the clone 8 s later.
    await upKilledAt(stack, [host, parent, vm], { method: "InstantClone_Task", taskDelayMs: 8000 });
    expect(await vmsTagged(urn)).toEqual([]);

    const result = await stack.up([host, parent, vm]);
    expect(result.steps.find((s) => s.name === "job")!.op).toBe("create");
    // One clone in all, the killed plugin's, and it is the container's VM.
    expect((await lab.sim.stats()).calls.InstantClone_Task).toBe(1);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([stack.get("job")!.id]);
    await lab.engine.waitFor(
      (m) => m.urn === urn && m.message.includes("instant clone(s) this account started before this run"),
    );
    await lab.engine.waitFor((m) => m.urn === urn && m.message.includes("adopting"));
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});

describe("a plugin killed right after a ParentTemplate's CloneVM_Task was sent", () => {
  it("the next up adopts the full clone by its URN tag and finishes it, instead of cloning again", async () => {
    const stack = lab.stack();
    const { host, parent } = base("crash-parent");
    await stack.up([host]);
    const urn = stack.urn(PARENT, parent.name);

    await upKilledAt(stack, [host, parent], { method: "CloneVM_Task", latencyMs: 1500 });
    const [orphan] = await eventually("the clone the killed plugin asked for", async () => {
      const found = await vmsTagged(urn);
      return found.length > 0 ? found : undefined;
    });
    expect(stack.get(parent.name)).toBeUndefined();

    const result = await stack.up([host, parent]);
    expect(result.steps.find((s) => s.name === parent.name)!.op).toBe("create");
    expect(stack.get(parent.name)!.id).toBe(orphan!.id);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([orphan!.id]);
    const out = stack.outputs(parent.name);
    expect(out.powerState).toBe("poweredOn");
    expect(out.name).toBe(stack.get(parent.name)!.inputs.name);
    await lab.engine.waitFor((m) => m.urn === urn && m.message.includes("adopting"));
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });

  it("the next up, started while vCenter is still making that full clone, waits for it and adopts it", async () => {
    const stack = lab.stack();
    const { host, parent } = base("slow-parent");
    await stack.up([host]);
    const urn = stack.urn(PARENT, parent.name);

    // vCenter answers CloneVM_Task with a queued task and makes the clone 8 s later.
    await upKilledAt(stack, [host, parent], { method: "CloneVM_Task", taskDelayMs: 8000 });
    expect(await vmsTagged(urn)).toEqual([]);

    const result = await stack.up([host, parent]);
    expect(result.steps.find((s) => s.name === parent.name)!.op).toBe("create");
    // One full clone in all, the killed plugin's, and it is the parent, running.
    expect((await lab.sim.stats()).calls.CloneVM_Task).toBe(1);
    expect((await vmsTagged(urn)).map((v) => v.id)).toEqual([stack.get(parent.name)!.id]);
    expect(stack.outputs(parent.name).powerState).toBe("poweredOn");
    await lab.engine.waitFor(
      (m) => m.urn === urn && m.message.includes("clone(s) this account started before this run"),
    );
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});
