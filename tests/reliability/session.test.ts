/**
 * Sessions that expire during long waits: the parent's readiness and a container's IP. vCenter
 * drops the objects a session made (property collectors, views) with it; the provider logs in
 * again and goes on waiting instead of failing the create.
 */
import { base, container, eventually, Lab } from "./support";

let lab: Lab;

beforeAll(async () => {
  // Slow guests: the parent signals ready 5 s after power-on, a clone reports running 5 s after the fork;
  // with 10 s timeouts the waits poll every 2 s, so polls follow the expiry.
  lab = await Lab.start({ BONNEVILLE_SIM_READY_MS: "5000", BONNEVILLE_SIM_CLONE_BOOT_MS: "5000" });
});

afterAll(async () => {
  await lab?.stop();
});

/** Expires every session once `method` has been called, while the command is still waiting. */
async function expireAfter(method: string): Promise<number> {
  await eventually(`${method} reaching vSphere`, async () =>
    ((await lab.sim.stats()).calls[method] ?? 0) > 0 ? true : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  return (await lab.sim.expireSessions()).expired;
}

describe("a session that expires during a wait", () => {
  const { host, parent: slow } = base("session");
  const parent = { ...slow, inputs: { ...slow.inputs, readyTimeoutSeconds: 10 } };
  const web = container("web", parent, { waitForIp: true, waitTimeoutSeconds: 10 });

  it("is renewed while the parent's readiness is awaited, and the parent becomes ready", async () => {
    const stack = lab.stack();
    await lab.sim.resetStats();
    const [, expired] = await Promise.all([stack.up([host, parent]), expireAfter("PowerOnVM_Task")]);
    expect(expired).toBeGreaterThan(0);
    expect(stack.outputs("session-parent").powerState).toBe("poweredOn");
    expect((await lab.sim.stats()).calls.Login).toBeGreaterThanOrEqual(2);
  });

  it("is renewed while a container's IP is awaited, and the container runs", async () => {
    const stack = lab.stacks[0]!;
    await lab.sim.resetStats();
    const [, expired] = await Promise.all([stack.up([host, parent, web]), expireAfter("InstantClone_Task")]);
    expect(expired).toBeGreaterThan(0);
    expect(stack.outputs("web").containerStatus).toBe("running");
    expect(stack.outputs("web").ipAddress).not.toBe("");
    await stack.destroy();
    expect((await lab.sim.stats()).sessions).toBe(0);
  });
});
