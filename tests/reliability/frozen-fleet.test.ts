/**
 * A fleet from frozen parents: more containers per parent than a running parent's delta-disk chain
 * allows (vSphere fails the 256th clone of a running source, VMware KB 67186), all running, each
 * with an address of its own, and no parent's chain deeper than it started.
 *
 * BONNEVILLE_FLEET_COUNT containers (default 300) from BONNEVILLE_FLEET_PARENTS frozen parents
 * (default 1, so one parent forks more than 255); `make soak` runs 1,000 from three.
 */
import { Sim } from "../support/sim";
import { output, resource, simStack, HOST, PARENT, VM } from "../harness";

const COUNT = Number(process.env.BONNEVILLE_FLEET_COUNT ?? 300);
const PARENTS = Number(process.env.BONNEVILLE_FLEET_PARENTS ?? 1);

let sim: Sim;

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "100" });
});

afterAll(async () => {
  await sim?.stop();
});

it(
  `${COUNT} containers from ${PARENTS} frozen parent(s) all run, each with its own address`,
  async () => {
    const stack = simStack(sim);
    const host = resource(HOST, "fleet-host", { name: "fleet", cluster: "DC0_C0", bridgeSwitch: "dvs-9" });
    const parents = Array.from({ length: PARENTS }, (_, p) =>
      resource(PARENT, `fleet-parent-${p}`, {
        source: "bonneville-source",
        resourcePoolId: output(host, "resourcePoolId"),
        folderId: output(host, "folderId"),
        host: `DC0_C0/DC0_C0_H${p % 3}`,
      }),
    );
    const containers = Array.from({ length: COUNT }, (_, i) =>
      resource(VM, `f${i}`, { parentId: output(parents[i % PARENTS]!, "vmId"), image: "nginx:1.27" }),
    );
    try {
      await stack.up([host, ...parents, ...containers]);
      const ips = new Set<string>();
      for (const c of containers) {
        const out = stack.outputs<Record<string, unknown>>(c.name);
        expect(out.containerStatus).toBe("running");
        expect(out.ipAddress).toMatch(/^198\.1[89]\./);
        ips.add(String(out.ipAddress));
      }
      expect(ips.size).toBe(COUNT);
      await stack.refresh();
      for (const p of parents) {
        expect(stack.outputs(p.name)).toMatchObject({
          frozen: true,
          chainDepth: 0,
          containersForked: containers.filter((_, i) => i % PARENTS === parents.indexOf(p)).length,
        });
      }
    } finally {
      await stack.destroy();
    }
    const left = (await sim.inventory()).virtualMachines.filter((v) => v.name !== "bonneville-source");
    expect(left).toEqual([]);
    // Jest's default 120 s is for the default count; the soak's 1,000 need longer.
  },
  120_000 + COUNT * 300,
);
