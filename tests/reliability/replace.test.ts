/**
 * A replacement that fails halfway: the new VM was forked but did not finish (an injected fault on
 * its power-off), so the `up` fails. The engine keeps both: the new VM with its initialisation
 * error, the old one marked for deletion. Nothing is orphaned in between, and the next `up`
 * finishes the new VM in place and deletes the old one.
 */
import { account, base, container, failureOf, Lab, VM } from "./support";

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
