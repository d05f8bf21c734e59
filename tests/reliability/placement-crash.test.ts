/**
 * A vCenter that ignores an instant clone's location, and a plugin killed (SIGKILL) right after it
 * sent InstantClone_Task: the clone lands in the datacenter's root VM folder, not the host's. The
 * next up meets the name there, recognises the VM by its URN tag, adopts it and moves it where it
 * belongs, so the host's folder holds it and its deletion finds it: no duplicate, no orphan.
 */
import { insecureFetch } from "../support/sim";
import { account, base, container, eventually, failureOf, Lab, VM } from "./support";
import { ProviderRpcError } from "../harness";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
  const res = await insecureFetch(`${lab.sim.controlUrl}/modes`, "POST", { ignoreLocation: true });
  if (res.status !== 200) throw new Error(`POST /bonneville/modes: ${res.status} ${res.body}`);
});

afterAll(async () => {
  await lab?.stop();
});

it("the next up adopts the clone from the root VM folder and moves it into the host's folder", async () => {
  const stack = lab.stack();
  const { host, parent } = base("ignored");
  const vm = container("web", parent, { name: "web-0" });
  await stack.up([host, parent]);
  const urn = stack.urn(VM, "web");
  const folderId = stack.outputs<{ folderId: string }>("ignored-host").folderId;

  await lab.sim.resetStats();
  await lab.sim.addFault({ method: "InstantClone_Task", latencyMs: 1500 });
  const up = failureOf(() => stack.up([host, parent, vm]));
  await eventually("InstantClone_Task reaching the simulator", async () =>
    ((await lab.sim.stats()).calls.InstantClone_Task ?? 0) > 0 ? true : undefined,
  );
  await lab.lastPlugin!.kill("SIGKILL");
  expect(await up).toBeInstanceOf(ProviderRpcError);
  await lab.sim.clearFaults();
  const [orphan] = await eventually("the clone the killed plugin asked for", async () => {
    const found = (await lab.sim.inventory()).virtualMachines.filter(
      (v) => v.extraConfig["bonneville.urn"] === urn,
    );
    return found.length > 0 ? found : undefined;
  });
  expect(orphan!.folder).not.toBe(folderId);

  await stack.up([host, parent, vm]);
  expect(stack.get("web")!.id).toBe(orphan!.id);
  const after = (await lab.sim.inventory()).virtualMachines.filter(
    (v) => v.extraConfig["bonneville.urn"] === urn,
  );
  expect(after.map((v) => [v.id, v.folder])).toEqual([[orphan!.id, folderId]]);
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

  await stack.destroy();
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
});
