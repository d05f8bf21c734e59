/**
 * Behaviour users rely on beyond the happy path, through the plugin binary on an
 * embedded vSphere of its own: the guest agent's status surfaced as outputs and
 * errors, initialisation failures that keep the VM's ID, a host that refuses to
 * be deleted while it holds VMs, and import from an ID alone.
 */
import { insecureFetch, Sim, type SimInventory } from "../support/sim";
import {
  FakeEngine,
  output,
  ProviderRpcError,
  resource,
  reveal,
  secret,
  Stack,
  startPlugin,
  type ResourceDeclaration,
  HOST,
  PARENT,
  VM,
  simStack,
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

function newStack(): Stack {
  return simStack(sim);
}

function base(name: string, hostInputs: Record<string, unknown> = {}) {
  const host = resource(HOST, `${name}-host`, {
    name,
    cluster: "DC0_C0",
    bridgeSwitch: "dvs-9",
    ...hostInputs,
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

async function expectCleanInventory(): Promise<void> {
  const after = await sim.inventory();
  expect(after.virtualMachines.map((v) => v.id).sort()).toEqual(
    before.virtualMachines.map((v) => v.id).sort(),
  );
  expect(after.resourcePools.map((p) => p.id).sort()).toEqual(before.resourcePools.map((p) => p.id).sort());
  expect(after.folders.map((p) => p.id).sort()).toEqual(before.folders.map((p) => p.id).sort());
  expect(after.portGroups.map((p) => p.id).sort()).toEqual(before.portGroups.map((p) => p.id).sort());
}

/** Waits until the simulated guest agent has reported a status for a VM. */
async function agentReported(vmId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const vm = (await sim.inventory()).virtualMachines.find((v) => v.id === vmId);
    const ec = vm?.extraConfig ?? {};
    if (ec["guestinfo.bonneville.status"] && ec["guestinfo.bonneville.statusGeneration"]) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the guest agent of ${vmId} reported no status`);
}

describe("the guest agent's status", () => {
  const { host, parent } = base("status");
  let stack: Stack;
  beforeAll(() => {
    stack = newStack();
  });
  afterAll(async () => {
    await stack.destroy();
    await expectCleanInventory();
  });

  it("waitForIp returns a running container with its IP address", async () => {
    await stack.up([host, parent, container(parent, "ok", { waitForIp: true })]);
    const out = stack.outputs<Record<string, unknown>>("ok");
    expect(out.containerStatus).toBe("running");
    expect(out.containerError).toBe("");
    expect(out.ipAddress).toMatch(/^198\.18\./);
  });

  it("a container that fails to start is an initialisation failure naming the agent's error, keeping the VM", async () => {
    const failing = container(parent, "bad", { image: "bonneville-sim/fail:1", waitForIp: true });
    const error = await stack.up([host, parent, container(parent, "ok", { waitForIp: true }), failing]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderRpcError);
    const failure = (error as ProviderRpcError).initFailure!;
    expect(failure.id).toMatch(/^vm-/);
    expect(failure.reasons.join(" ")).toMatch(/failed to start: pull bonneville-sim\/fail:1: not found/);
    const entry = stack.get("bad")!;
    expect(entry.id).toBe(failure.id);
    expect(reveal<Record<string, unknown>>(entry.outputs).containerStatus).toBe("error");
    const inv = await sim.inventory();
    expect(inv.virtualMachines.some((v) => v.id === failure.id)).toBe(true);
  });

  it("refresh reads the status the agent reported after a create that opted out of waiting returned", async () => {
    const failing = container(parent, "bad", { image: "bonneville-sim/fail:1", waitForIp: true });
    await stack.up([
      host,
      parent,
      container(parent, "ok", { waitForIp: true }),
      failing,
      container(parent, "later", { waitForRunning: false }),
    ]);
    const id = stack.get("later")!.id;
    await agentReported(id);
    await stack.refresh();
    const out = stack.outputs<Record<string, unknown>>("later");
    expect(out.containerStatus).toBe("running");
    expect(stack.outputs<Record<string, unknown>>("bad").containerError).toBe(
      "pull bonneville-sim/fail:1: not found",
    );
  });
});

describe("initialisation failures", () => {
  it("a parent whose agent reports why it cannot get ready fails with the agent's words", async () => {
    const slow = await Sim.start({ BONNEVILLE_SIM_READY_MS: "600000" });
    try {
      const stack = simStack(slow);
      const host = resource(HOST, "h", { name: "refusing", cluster: "DC0_C0", bridgeSwitch: "DVS0" });
      const parent = resource(PARENT, "p", {
        name: "refusing-parent",
        source: "bonneville-source",
        resourcePoolId: output(host, "resourcePoolId"),
        readyTimeoutSeconds: 5,
      });
      const up = stack.up([host, parent]).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The parent's guest says why it cannot warm up, as the agent does (guest contract: error).
      let said = false;
      for (let i = 0; i < 100 && !said; i++) {
        const vm = (await slow.inventory()).virtualMachines.find((v) => v.name === "refusing-parent");
        if (vm?.powerState === "poweredOn") {
          const reply = await insecureFetch(`${slow.controlUrl}/guest/rpc`, "POST", {
            vm: vm.id,
            command:
              "info-set guestinfo.bonneville.error no container runtime found (nerdctl, podman, docker)",
          });
          said = reply.status === 200 && (JSON.parse(reply.body) as { ok: boolean }).ok;
        }
        if (!said) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(said).toBe(true);
      const failure = ((await up) as ProviderRpcError).initFailure!;
      expect(failure.reasons.join(" ")).toContain(
        "did not signal guestinfo.bonneville.ready=true within readyTimeoutSeconds (5 s)",
      );
      expect(failure.reasons.join(" ")).toContain(
        "; its agent reports: no container runtime found (nerdctl, podman, docker)",
      );
      await stack.destroy();
    } finally {
      await slow.stop();
    }
  });

  it("a parent that never signals ready fails after readyTimeoutSeconds with its ID, and destroy removes it", async () => {
    const slow = await Sim.start({ BONNEVILLE_SIM_READY_MS: "600000" });
    try {
      const slowBefore = await slow.inventory();
      const stack = simStack(slow);
      const host = resource(HOST, "h", { name: "slow", cluster: "DC0_C0", bridgeSwitch: "DVS0" });
      const parent = resource(PARENT, "p", {
        source: "bonneville-source",
        resourcePoolId: output(host, "resourcePoolId"),
        readyTimeoutSeconds: 1,
      });
      const error = await stack.up([host, parent]).then(
        () => undefined,
        (e: unknown) => e,
      );
      const failure = (error as ProviderRpcError).initFailure!;
      expect(failure.reasons.join(" ")).toMatch(
        /did not signal guestinfo\.bonneville\.ready=true within readyTimeoutSeconds \(1 s\)/,
      );
      expect(stack.get("p")!.id).toBe(failure.id);
      await stack.destroy();
      const after = await slow.inventory();
      expect(after.virtualMachines.map((v) => v.id).sort()).toEqual(
        slowBefore.virtualMachines.map((v) => v.id).sort(),
      );
      expect(after.resourcePools.length).toBe(slowBefore.resourcePools.length);

      // Progress while waiting, and the operation's own timeout (customTimeouts) cutting the wait short.
      const engine = await FakeEngine.start();
      try {
        const watched = new Stack({
          plugin: () => startPlugin({ engine }),
          config: {
            vsphereServer: slow.url,
            user: slow.user,
            password: secret(slow.password),
            thumbprint: slow.thumbprint,
          },
        });
        const waited = resource(PARENT, "waited", {
          source: "bonneville-source",
          resourcePoolId: "DC0_C0/Resources",
          readyTimeoutSeconds: 3,
        });
        const timedOut = resource(
          PARENT,
          "timed-out",
          { source: "bonneville-source", resourcePoolId: "DC0_C0/Resources" },
          { timeouts: { create: 2 } },
        );
        await expect(watched.up([waited])).rejects.toThrow(/readyTimeoutSeconds \(3 s\)/);
        const progress = engine.messages.filter((m) =>
          /waiting for parent waited-\w+ \(vm-\d+\)/.test(m.message),
        );
        expect(progress.length).toBeGreaterThanOrEqual(1);
        expect(progress[0]!.message).toMatch(
          /ready to fork and freeze: \d s of 3 s \(power: poweredOn, ready: not yet, frozen: no\)/,
        );
        expect(progress[0]!.urn).toBe(watched.get("waited")!.urn);
        const error = await watched.up([timedOut]).then(
          () => undefined,
          (e: unknown) => e as ProviderRpcError,
        );
        expect(error!.initFailure!.reasons.join(" ")).toMatch(/did not finish within its timeout of 2s/);
        expect(watched.get("timed-out")!.id).toBe(error!.initFailure!.id);
        await watched.destroy();
      } finally {
        await engine.stop();
      }

      // Cancel during the readiness wait: the wait ends at once, as an init failure that keeps the VM.
      const args = {
        vsphereServer: slow.url,
        user: slow.user,
        password: secret(slow.password),
        thumbprint: slow.thumbprint,
      };
      const urn = "urn:pulumi:test::bonneville::bonneville:index:ParentTemplate::cancelled";
      const plugin = await startPlugin();
      let id: string;
      try {
        await plugin.rpc.configure({ variables: {}, args });
        const checked = await plugin.rpc.check({
          urn,
          news: { name: "cancelled-parent", source: "bonneville-source", resourcePoolId: "DC0_C0/Resources" },
        });
        expect(checked.failures).toEqual([]);
        const pending = plugin.rpc.create({ urn, properties: checked.inputs }).then(
          () => undefined,
          (e: unknown) => e as ProviderRpcError,
        );
        for (let i = 0; i < 400; i++) {
          const vm = (await slow.inventory()).virtualMachines.find((v) => v.name === "cancelled-parent");
          if (vm?.powerState === "poweredOn") break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await plugin.rpc.cancel();
        const cancelled = await pending;
        expect(cancelled).toBeInstanceOf(ProviderRpcError);
        expect(cancelled!.initFailure!.reasons.join(" ")).toMatch(/cancel/i);
        id = cancelled!.initFailure!.id;
        expect((await slow.inventory()).virtualMachines.some((v) => v.id === id)).toBe(true);
      } finally {
        await plugin.close();
      }
      const cleanup = await startPlugin();
      try {
        await cleanup.rpc.configure({ variables: {}, args });
        await cleanup.rpc.delete({ urn, id, properties: { name: "cancelled-parent" } });
      } finally {
        await cleanup.close();
      }
      expect((await slow.inventory()).virtualMachines.some((v) => v.id === id)).toBe(false);
    } finally {
      await slow.stop();
    }
  });
});

describe("retrying an initialisation failure", () => {
  it("the next up gives a ContainerHost the bridge port group its create could not make", async () => {
    const stack = newStack();
    const host = resource(HOST, "half-host", {
      name: "half",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      bridgeVlanId: 7,
    });
    await sim.addFault({ method: "CreateDVPortgroup_Task", fault: "DvsFault", count: 1 });
    await expect(stack.up([host])).rejects.toThrow(/setting up ContainerHost half failed: .*DvsFault/);
    const entry = stack.get("half-host")!;
    expect(entry.initErrors).toHaveLength(1);
    expect(reveal<Record<string, unknown>>(entry.outputs).bridgePortGroupId).toBe("");
    await sim.clearFaults();
    const retried = await stack.up([host]);
    expect(retried.steps.find((s) => s.name === "half-host")!.op).toBe("update");
    const out = stack.outputs<Record<string, unknown>>("half-host");
    expect(out.bridgePortGroupId).toMatch(/^dvportgroup-/);
    expect(out.networks).toEqual({ bridge: out.bridgePortGroupId });
    const inventory = await sim.inventory();
    expect(inventory.portGroups.find((p) => p.id === out.bridgePortGroupId)!.name).toBe("half-bridge");
    expect(inventory.folders.filter((f) => f.name === "half")).toHaveLength(1);
    expect((await stack.up([host])).steps.every((s) => s.op === "same")).toBe(true);
    await stack.destroy();
    expect((await sim.inventory()).portGroups.some((p) => p.name === "half-bridge")).toBe(false);
  });

  it("the next up finishes a parent that was not ready in time, without cloning again", async () => {
    const later = await Sim.start({ BONNEVILLE_SIM_READY_MS: "2500" });
    try {
      const stack = simStack(later);
      const parent = (timeout: number) =>
        resource(PARENT, "p", {
          source: "bonneville-source",
          resourcePoolId: "DC0_C0/Resources",
          readyTimeoutSeconds: timeout,
        });
      await expect(stack.up([parent(1)])).rejects.toThrow(/readyTimeoutSeconds \(1 s\)/);
      const id = stack.get("p")!.id;
      expect(stack.get("p")!.initErrors).toHaveLength(1);
      const retried = await stack.up([parent(60)]);
      expect(retried.steps.find((s) => s.name === "p")!.op).toBe("update");
      expect(stack.get("p")!.id).toBe(id);
      expect(stack.get("p")!.initErrors).toBeUndefined();
      const out = stack.outputs<Record<string, unknown>>("p");
      expect(out.powerState).toBe("poweredOn");
      const vm = (await later.inventory()).virtualMachines.find((v) => v.id === id)!;
      expect(vm.extraConfig["guestinfo.bonneville.ready"]).toBe("true");
      expect((await later.inventory()).virtualMachines.filter((v) => v.name === out.name)).toHaveLength(1);
      await stack.destroy();
    } finally {
      await later.stop();
    }
  });
});

describe("drift of a parent", () => {
  it("a parent powered off behind Bonneville's back is found by refresh and brought back by the next up", async () => {
    const stack = newStack();
    const { host, parent } = base("drifted");
    await stack.up([host, parent]);
    const id = stack.get("drifted-parent")!.id;
    const { VirtualMachine, MoRef } = await import("../../provider/src/vsphere");
    await sim.operator((operator) =>
      new VirtualMachine(operator, new MoRef("VirtualMachine", id)).powerOff(),
    );
    await stack.refresh();
    expect(stack.outputs<Record<string, unknown>>("drifted-parent").powerState).toBe("poweredOff");
    const repaired = await stack.up([host, parent]);
    const step = repaired.steps.find((s) => s.name === "drifted-parent")!;
    expect(step.op).toBe("update");
    expect(step.diff!.detailedDiff).toEqual({ powerState: { kind: "update", inputDiff: true } });
    const out = stack.outputs<Record<string, unknown>>("drifted-parent");
    expect(out.powerState).toBe("poweredOn");
    expect(stack.get("drifted-parent")!.id).toBe(id);
    const vm = (await sim.inventory()).virtualMachines.find((v) => v.id === id)!;
    expect(vm.powerState).toBe("poweredOn");
    expect(vm.extraConfig["guestinfo.bonneville.ready"]).toBe("true");
    const again = await stack.up([host, parent]);
    expect(again.steps.every((s) => s.op === "same")).toBe(true);
    await stack.destroy();
  });
});

describe("names already taken", () => {
  it("a ContainerHost or ParentTemplate whose fixed name is taken fails on `name`, leaving nothing behind", async () => {
    const first = newStack();
    const { host, parent } = base("taken");
    await first.up([host, parent]);
    const inventory = await sim.inventory();
    const parentName = first.outputs<Record<string, unknown>>("taken-parent").name as string;

    const second = newStack();
    const twin = resource(HOST, "twin", { name: "taken", cluster: "DC0_C0", bridgeSwitch: "dvs-9" });
    await expect(second.up([twin])).rejects.toThrow(
      /name: a resource pool named "taken" already exists in resgroup-\d+: choose another name/,
    );
    const twinParent = resource(PARENT, "twin-parent", {
      name: parentName,
      source: "bonneville-source",
      resourcePoolId: first.get("taken-host")!.id,
      folderId: first.outputs<Record<string, unknown>>("taken-host").folderId as string,
    });
    await expect(second.up([twinParent])).rejects.toThrow(
      new RegExp(
        `name: a VM named "${parentName}" already exists in folder folder-\\d+: choose another name`,
      ),
    );
    expect(second.state.size).toBe(0);
    const after = await sim.inventory();
    expect(after.virtualMachines.map((v) => v.id).sort()).toEqual(
      inventory.virtualMachines.map((v) => v.id).sort(),
    );
    expect(after.resourcePools.map((p) => p.id).sort()).toEqual(
      inventory.resourcePools.map((p) => p.id).sort(),
    );
    await first.destroy();
  });
});

describe("deleting a ContainerHost", () => {
  it("refuses while it holds VMs, naming them; forceDestroy deletes Bonneville's VMs", async () => {
    const stack = newStack();
    const { host, parent } = base("guarded");
    await stack.up([host, parent, container(parent, "c1", { name: "guarded-c1" })]);
    // Dropping the host and parent from the program while the VM stays would be refused by the engine's
    // dependency order; delete the host directly, as a state that lost track of the VMs would.
    const entry = stack.get("guarded-host")!;
    const plugin = await startPlugin();
    try {
      await plugin.rpc.configure({
        variables: {},
        args: {
          vsphereServer: sim.url,
          user: sim.user,
          password: secret(sim.password),
          thumbprint: sim.thumbprint,
        },
      });
      const refused = await plugin.rpc
        .delete({ urn: entry.urn, id: entry.id, properties: entry.outputs, oldInputs: entry.inputs })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(refused?.message).toMatch(
        /still holds 2 VM\(s\):.*guarded-c1 \(vm-\d+\).*set forceDestroy: true/,
      );
      expect((await sim.inventory()).resourcePools.some((p) => p.id === entry.id)).toBe(true);
    } finally {
      await plugin.close();
    }
    await stack.up([
      resource(HOST, "guarded-host", {
        name: "guarded",
        cluster: "DC0_C0",
        bridgeSwitch: "dvs-9",
        forceDestroy: true,
      }),
      parent,
      container(parent, "c1", { name: "guarded-c1" }),
    ]);
    expect(stack.outputs<Record<string, unknown>>("guarded-host").forceDestroy).toBe(true);
    const forced = await startPlugin();
    try {
      await forced.rpc.configure({
        variables: {},
        args: {
          vsphereServer: sim.url,
          user: sim.user,
          password: secret(sim.password),
          thumbprint: sim.thumbprint,
        },
      });
      const e = stack.get("guarded-host")!;
      await forced.rpc.delete({ urn: e.urn, id: e.id, properties: e.outputs, oldInputs: e.inputs });
    } finally {
      await forced.close();
    }
    await expectCleanInventory();
  });
});

describe("import", () => {
  it("imports a host, a parent and a container from their IDs, and the program then shows no replacement", async () => {
    const made = newStack();
    const { host, parent } = base("imported", { containerNetworks: { front: "dvportgroup-15" } });
    const vm = container(parent, "web", { name: "imported-web", labels: { team: "a" } });
    await made.up([host, parent, vm]);
    const ids = {
      host: made.get("imported-host")!.id,
      parent: made.get("imported-parent")!.id,
      vm: made.get("web")!.id,
    };

    const adopted = newStack();
    await adopted.import(HOST, "imported-host", ids.host);
    await adopted.import(PARENT, "imported-parent", ids.parent);
    await adopted.import(VM, "web", ids.vm);
    const hostOut = adopted.outputs<Record<string, unknown>>("imported-host");
    expect(hostOut).toMatchObject({
      name: "imported",
      cluster: "clustercomputeresource-18",
      resourcePoolId: ids.host,
      bridgeSwitch: "dvs-9",
    });
    expect(hostOut.folderId).toBe(made.outputs<Record<string, unknown>>("imported-host").folderId);
    expect(hostOut.bridgePortGroupId).toBe(
      made.outputs<Record<string, unknown>>("imported-host").bridgePortGroupId,
    );
    const vmOut = adopted.outputs<Record<string, unknown>>("web");
    expect(vmOut).toMatchObject({
      name: "imported-web",
      image: "nginx:1.27",
      parentId: ids.parent,
      labels: { team: "a" },
    });

    // The same program against the imported state replaces nothing.
    const preview = await adopted.preview([
      resource(HOST, "imported-host", {
        name: "imported",
        cluster: "clustercomputeresource-18",
        bridgeSwitch: "dvs-9",
        containerNetworks: { front: "dvportgroup-15" },
      }),
      resource(PARENT, "imported-parent", {
        name: made.outputs<Record<string, unknown>>("imported-parent").name as string,
        source: "vm-47",
        resourcePoolId: ids.host,
        folderId: hostOut.folderId as string,
      }),
      resource(VM, "web", {
        name: "imported-web",
        parentId: ids.parent,
        image: "nginx:1.27",
        labels: { team: "a" },
      }),
    ]);
    const ops = Object.fromEntries(preview.steps.map((s) => [s.name, s.op]));
    expect(ops["imported-parent"]).not.toBe("replace");
    expect(ops.web).not.toBe("replace");
    expect(ops["imported-host"]).not.toBe("replace");
    await made.destroy();
    await expectCleanInventory();
  });
});
