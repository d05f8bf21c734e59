/**
 * The product under real vSphere's rules (as the embedded vSphere models them by default, see
 * sim/overlay/bonneville_{freeze,chain,guestinfo,identity}.go): parents frozen by default, a
 * running parent's delta-disk chain refused clearly before vSphere's own fault, a fork that never
 * reports its parent's address, status/labels/IP that survive a power cycle, and a failed start that
 * fails `up` by default.
 */
import { Sim, type SimInventory } from "../support/sim";
import {
  FakeEngine,
  simConfig,
  startPlugin,
  output,
  ProviderRpcError,
  resource,
  reveal,
  Stack,
  type ResourceDeclaration,
  HOST,
  PARENT,
  VM,
  simStack,
} from "../harness";
import { parentChainLimits } from "../../provider/src/resources/clone-chain";
import { containerVm, parentTemplate } from "../../provider/src/resources";

let sim: Sim;

beforeAll(async () => {
  // Tools polls guest networks every 30 s by default, as VMware Tools does: a fork shows its
  // parent's address that long, which the tests below rely on.
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "100" });
});

afterAll(async () => {
  await sim?.stop();
});

function base(name: string, parentInputs: Record<string, unknown> = {}) {
  const host = resource(HOST, `${name}-host`, { name, cluster: "DC0_C0", bridgeSwitch: "dvs-9" });
  const parent = resource(PARENT, `${name}-parent`, {
    source: "bonneville-source",
    resourcePoolId: output(host, "resourcePoolId"),
    folderId: output(host, "folderId"),
    ...parentInputs,
  });
  return { host, parent };
}

function container(parent: ResourceDeclaration, name: string, inputs: Record<string, unknown> = {}) {
  return resource(VM, name, { parentId: output(parent, "vmId"), image: "nginx:1.27", ...inputs });
}

function vmOf(inv: SimInventory, id: string) {
  const vm = inv.virtualMachines.find((v) => v.id === id);
  if (!vm) throw new Error(`${id} is not in the simulator's inventory`);
  return vm;
}

async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("frozen parents (the default)", () => {
  let stack: Stack;
  const { host, parent } = base("frozen");
  beforeAll(() => {
    stack = simStack(sim);
  });
  afterAll(async () => {
    await stack.destroy();
  });

  it("a ParentTemplate is ready once its agent froze it: frozen, no delta disks", async () => {
    await stack.up([host, parent]);
    const out = stack.outputs<Record<string, unknown>>("frozen-parent");
    expect(out).toMatchObject({ freeze: true, frozen: true, chainDepth: 0, containersForked: 0 });
    const vm = vmOf(await sim.inventory(), String(out.vmId));
    expect(vm.extraConfig).toMatchObject({
      "guestinfo.bonneville.freeze": "true",
      "guestinfo.bonneville.ready": "true",
      "guestinfo.bonneville.frozen": "true",
    });
  });

  it("a fork never reports its parent's address: empty until its agent reports its own", async () => {
    const parentVm = vmOf(await sim.inventory(), String(stack.outputs("frozen-parent").vmId));
    expect(parentVm.ipAddress).toMatch(/^198\.1[89]\./);
    await stack.up([host, parent, container(parent, "quick", { waitForRunning: false })]);
    const quick = stack.outputs<Record<string, unknown>>("quick");
    // VMware Tools still shows the parent's address for the fresh fork…
    expect(vmOf(await sim.inventory(), String(quick.vmId)).ipAddress).toBe(parentVm.ipAddress);
    // …which the provider never reports.
    expect(quick.ipAddress).toBe("");
    await until("the agent's report", async () => {
      const vm = vmOf(await sim.inventory(), String(quick.vmId));
      return vm.extraConfig["guestinfo.bonneville.ipGeneration"] ===
        vm.extraConfig["guestinfo.bonneville.generation"]
        ? vm
        : undefined;
    });
    await stack.refresh();
    const refreshed = stack.outputs<Record<string, unknown>>("quick");
    expect(refreshed.ipAddress).toMatch(/^198\.1[89]\./);
    expect(refreshed.ipAddress).not.toBe(parentVm.ipAddress);

    await stack.up([
      host,
      parent,
      container(parent, "quick", { waitForRunning: false }),
      container(parent, "waited"),
    ]);
    const waited = stack.outputs<Record<string, unknown>>("waited");
    expect(waited.containerStatus).toBe("running");
    expect(waited.ipAddress).toMatch(/^198\.1[89]\./);
    expect([parentVm.ipAddress, refreshed.ipAddress]).not.toContain(waited.ipAddress);
    await stack.refresh();
    expect(stack.outputs("frozen-parent")).toMatchObject({
      frozen: true,
      chainDepth: 0,
      containersForked: 2,
    });
  });

  it("a container powered off and on keeps its status, labels and IP report", async () => {
    const program = (labels: Record<string, string>, powerState: string) => [
      host,
      parent,
      container(parent, "cycled", { labels, powerState }),
    ];
    await stack.up(program({ tier: "bronze" }, "poweredOn"));
    const first = stack.outputs<Record<string, unknown>>("cycled");
    expect(first.containerStatus).toBe("running");
    await stack.up(program({ tier: "gold" }, "poweredOn"));
    await stack.up(program({ tier: "gold" }, "poweredOff"));
    await stack.refresh();
    const off = stack.outputs<Record<string, unknown>>("cycled");
    expect(off).toMatchObject({
      powerState: "poweredOff",
      containerStatus: "running",
      labels: { tier: "gold" },
      ipAddress: first.ipAddress,
    });
    await stack.up(program({ tier: "gold" }, "poweredOn"));
    const id = String(first.vmId);
    await until("the agent to report again", async () => {
      const vm = vmOf(await sim.inventory(), id);
      return vm.powerState === "poweredOn" && vm.extraConfig["guestinfo.bonneville.status"] === "running"
        ? vm
        : undefined;
    });
    await stack.refresh();
    expect(stack.outputs("cycled")).toMatchObject({
      powerState: "poweredOn",
      containerStatus: "running",
      labels: { tier: "gold" },
      ipAddress: first.ipAddress,
    });
  });

  it("a failing image fails up by default, quoting the agent's error, and the VM stays in the state", async () => {
    const error = await stack
      .up([host, parent, container(parent, "broken", { image: "bonneville-sim/fail:2" })])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ProviderRpcError);
    const failure = (error as ProviderRpcError).initFailure!;
    expect(failure.reasons.join(" ")).toMatch(
      /the container in broken-\w+ \(vm-\d+\) failed to start: pull bonneville-sim\/fail:2: not found/,
    );
    const entry = stack.get("broken")!;
    expect(entry.id).toBe(failure.id);
    expect(reveal<Record<string, unknown>>(entry.outputs)).toMatchObject({
      containerStatus: "error",
      containerError: "pull bonneville-sim/fail:2: not found",
    });
    expect((await sim.inventory()).virtualMachines.some((v) => v.id === failure.id)).toBe(true);
  });
});

describe("a running parent (freeze: false)", () => {
  it("keeps vSphere's limits as its defaults: warn from 100 forks, refuse past 250, vSphere fails at 255", () => {
    expect(parentChainLimits).toEqual({ warnAt: 100, refuseAt: 250, vsphereMax: 255 });
  });

  it("300 containers from one running parent end in Bonneville's clear refusal, not vSphere's fault", async () => {
    const engine = await FakeEngine.start();
    const stack = new Stack({ plugin: () => startPlugin({ engine }), config: simConfig(sim) });
    const { host, parent } = base("running", { freeze: false });
    try {
      await stack.up([host, parent]);
      expect(stack.outputs("running-parent")).toMatchObject({ freeze: false, frozen: false, chainDepth: 0 });
      const containers = Array.from({ length: 300 }, (_, i) =>
        container(parent, `r${i}`, { waitForRunning: false }),
      );
      const error = await stack.up([host, parent, ...containers]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const message = String((error as Error).message);
      expect(message).toMatch(
        /cannot fork parent running-parent-\w+ \(vm-\d+\): it runs unfrozen and its disk already has 250 delta-disk levels; .*vSphere fails instant clones at 255 \(VMware KB 67186\)\. Set freeze: true/,
      );
      expect(message).not.toMatch(/SystemError|Unable to prepare migration/);
      const made = containers.filter((c) => stack.get(c.name)?.id);
      expect(made).toHaveLength(250);
      // Warned well before: from the 100th fork on, each fork says how deep the chain is.
      const warnings = engine.messages
        .map((m) => m.message)
        .filter((m) =>
          /^warning: parent running-parent-\w+ \(vm-\d+\) runs unfrozen and now has \d+ delta-disk levels/.test(
            m,
          ),
        );
      expect(warnings).toHaveLength(151);
      expect(warnings[0]).toMatch(
        /now has 100 delta-disk levels; Bonneville refuses forks past 250 \(vSphere fails at 255\): freeze it or add another parent/,
      );
      await stack.refresh();
      expect(stack.outputs("running-parent")).toMatchObject({ frozen: false, chainDepth: 250 });
    } finally {
      await stack.destroy();
      await engine.stop();
    }
  });
});

describe("check: what one guest message carries", () => {
  const good = { parentId: "vm-60", image: "nginx:1.27" };
  const info = { name: "c" };
  // base64 grows 4/3: 48,000 characters of JSON are 64,000 bytes encoded, with the key, about 64 KiB.
  const big = "x".repeat(49_200);

  it.each([
    ["command", { command: [big] }, "guestinfo.bonneville.command"],
    ["env", { env: { BIG: big } }, "guestinfo.bonneville.env"],
    ["labels", { labels: { big } }, "guestinfo.bonneville.labels"],
  ])(
    "rejects a %s whose encoded value exceeds 64 KiB, naming the property and the size",
    (property, inputs, key) => {
      const failures = containerVm.check({ ...good, ...inputs }, undefined, info).failures;
      const failure = failures.find((f) => f.property === property);
      expect(failure?.reason).toMatch(
        new RegExp(
          `encoded as ${key.replace(/\./g, "\\.")} \\(base64 JSON\\) it needs a 6\\d{4}-byte guest RPC message, and one message carries at most 65536 bytes \\(64 KiB\\)`,
        ),
      );
    },
  );

  it("accepts values just under the limit, and never quotes an env value", () => {
    expect(containerVm.check({ ...good, env: { OK: "y".repeat(40_000) } }, undefined, info).failures).toEqual(
      [],
    );
    const failures = containerVm.check({ ...good, env: { SECRET: big } }, undefined, info).failures;
    expect(JSON.stringify(failures)).not.toContain("xxxx");
  });

  it("defaults: a ContainerVM waits for its container to run; a ParentTemplate freezes", () => {
    expect(containerVm.check(good, undefined, info).inputs).toMatchObject({
      waitForRunning: true,
      waitForIp: false,
    });
    expect(
      parentTemplate.check({ source: "bonneville-source", resourcePoolId: "resgroup-1" }, undefined, info)
        .inputs,
    ).toMatchObject({ freeze: true });
  });
});
