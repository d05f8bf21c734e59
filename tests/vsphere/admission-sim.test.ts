/**
 * Admission control against the simulator's vCenter timing model (fast figures): the client never
 * has more tasks in flight than its bounds, and starts the rest in the order they were asked for.
 * Counts and orders only; no time is asserted.
 */
import { MoRef, VirtualMachine, VSphereClient } from "../../provider/src/vsphere";
import { Sim, type SimTimingReport } from "../support/sim";

let sim: Sim;

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "50" });
}, 60_000);

afterAll(async () => {
  await sim?.stop();
});

/** Most intervals [queuedAt, endedAt] of these operations that overlap at any moment. */
function peakInFlight(ops: SimTimingReport["ops"]): number {
  const events = ops.flatMap((op) => [
    { at: op.queuedAt, d: 1 },
    { at: op.endedAt ?? Infinity, d: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (now += e.d));
  return peak;
}

it("keeps at most maxTasksInFlightPerHost forks of one host in vCenter and starts the rest first come first served", async () => {
  const inventory = await sim.inventory();
  const template = inventory.virtualMachines.find((v) => v.template)!;
  const host = new MoRef("HostSystem", inventory.hosts[0]!.id);
  const pool = new MoRef("ResourcePool", inventory.resourcePools[0]!.id);
  const folder = new MoRef("Folder", inventory.folders.find((f) => f.name === "vm")!.id);
  const client = new VSphereClient({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
    admission: { perVCenter: 10, perHost: 2 },
  });
  try {
    const parent = await new VirtualMachine(client, new MoRef("VirtualMachine", template.id)).clone(
      folder,
      "admission-parent",
      { location: { pool, host }, powerOn: true },
    );
    // Clones take 300 ms in vCenter and a host runs up to 8: without admission all 6 would be in flight.
    await sim.setTiming({ cloneMs: 300, spread: 0, toolsAddressMs: 10, agentStartMs: 10 });
    const names = [0, 1, 2, 3, 4, 5].map((i) => `admission-fork-${i}`);
    await Promise.all(
      names.map((name) =>
        parent.instantClone(name, { folder, pool }, { "guestinfo.bonneville.image": "nginx:1.27" }, { host }),
      ),
    );
    const forks = (await sim.timing()).ops.filter((op) => op.method === "InstantClone_Task");
    expect(forks.map((op) => op.name).sort()).toEqual(names);
    // First come, first served, as far as vCenter can tell: forks admitted together (two slots freed
    // at once) travel on separate connections and may reach it in either order, so the order is
    // checked through what each fork waited for. With 2 slots, the i-th fork asked (from 0) can only
    // reach vCenter once i - 1 earlier forks have ended; a fork admitted out of turn arrives sooner.
    for (const [i, name] of names.entries()) {
      const fork = forks.find((op) => op.name === name)!;
      const endedBefore = forks.filter((op) => op.endedAt !== undefined && op.endedAt <= fork.queuedAt);
      expect([name, endedBefore.length]).toEqual([name, Math.max(endedBefore.length, i - 1)]);
    }
    expect(forks.every((op) => op.endedAt !== undefined)).toBe(true);
    expect(peakInFlight(forks)).toBe(2);
    expect(client.admission.stats()).toMatchObject({ inFlight: 0, waiting: 0, peakInFlight: 2 });
  } finally {
    await client.close();
  }
}, 60_000);
