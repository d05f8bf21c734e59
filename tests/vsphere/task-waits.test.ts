/**
 * Waiting as vCenter allows: the simulator sends no updates for TaskManager.recentTask (as vCenter
 * may not), resolves ListView changes as the API reference says, can miss notifications, and runs
 * VMware Tools that refresh their own extra-config keys; the shared task waiter follows a ListView of
 * the awaited tasks, and property waits re-read now and then and ignore Tools' keys.
 */
import {
  ClusterComputeResource,
  MoRef,
  PropertyWaiter,
  PropertyWaitTimeoutError,
  TaskError,
  VirtualMachine,
  VSphereClient,
  list,
  objectKinds,
  type DataObject,
} from "../../provider/src/vsphere";
import { Sim } from "../support/sim";

let sim: Sim;
let client: VSphereClient;
let template: VirtualMachine;
let vmFolder: MoRef;
let rootPool: MoRef;

function connect(
  extra: Partial<ConstructorParameters<typeof VSphereClient>[0]> = {},
  on = sim,
): VSphereClient {
  return new VSphereClient({
    url: on.url,
    user: on.user,
    password: on.password,
    thumbprint: on.thumbprint,
    ...extra,
  });
}

/** A CloneVM_Task of the template (not powered on), started but not waited for. */
function startClone(c: VSphereClient, name: string): Promise<MoRef> {
  const spec: DataObject = {
    $type: "VirtualMachineCloneSpec",
    location: { $type: "VirtualMachineRelocateSpec", pool: rootPool },
    template: false,
    powerOn: false,
  };
  return c.startTask("CloneVM_Task", template.ref, { folder: vmFolder, name, spec });
}

/** A task that fails at once: powering off a template. */
function startFailingTask(c: VSphereClient): Promise<MoRef> {
  return c.startTask("PowerOffVM_Task", template.ref);
}

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "50" });
  client = connect();
  vmFolder = (await client.find.datacenter()).vmFolder;
  const cluster = await new ClusterComputeResource(
    client,
    await client.find.resolve("DC0_C0", objectKinds.cluster, "host"),
  ).info();
  rootPool = cluster!.rootPool;
  template = new VirtualMachine(
    client,
    await client.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm"),
  );
});

afterEach(async () => {
  await sim.clearFaults();
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe("the simulator, as vCenter", () => {
  it("sends no update for TaskManager.recentTask: a task started after a filter's first report never enters it", async () => {
    const content = await client.serviceContent();
    const pc = (await client.invoke("CreatePropertyCollector", content.propertyCollector)) as MoRef;
    try {
      await client.invoke("CreateFilter", pc, {
        spec: {
          $type: "PropertyFilterSpec",
          propSet: [{ $type: "PropertySpec", type: "Task", all: false, pathSet: ["info.state"] }],
          objectSet: [
            {
              $type: "ObjectSpec",
              obj: content.taskManager,
              skip: true,
              selectSet: [
                {
                  $type: "TraversalSpec",
                  name: "recent",
                  type: "TaskManager",
                  path: "recentTask",
                  skip: false,
                },
              ],
            },
          ],
        },
        partialUpdates: false,
      });
      const poll = (version: string) =>
        client.invoke("WaitForUpdatesEx", pc, {
          version,
          options: { $type: "WaitOptions", maxWaitSeconds: 1 },
        }) as Promise<Record<string, unknown> | undefined>;
      const first = await poll("");
      const task = await startFailingTask(client);
      const later = await poll(String(first?.version ?? ""));
      expect(JSON.stringify(later ?? {})).not.toContain(task.value);
      // A read gets the live list.
      const manager = await client.properties.retrieve([content.taskManager], ["recentTask"]);
      const recent = list(manager.get(content.taskManager.value)!.props.recentTask as MoRef[]);
      expect(recent.map((t) => t.value)).toContain(task.value);
    } finally {
      await client.invoke("DestroyPropertyCollector", pc).catch(() => undefined);
    }
  });

  it("ModifyListView adds what resolves, once, and returns what does not", async () => {
    const content = await client.serviceContent();
    const view = (await client.invoke("CreateListView", content.viewManager)) as MoRef;
    try {
      const task = await startFailingTask(client);
      const missing = new MoRef("Task", "task-99999999");
      const unresolved = await client.invoke("ModifyListView", view, { add: [task, missing, task] });
      expect(list(unresolved as MoRef | MoRef[]).map((t) => t.value)).toEqual(["task-99999999"]);
      const read = await client.properties.retrieve([view], ["view"]);
      expect(list(read.get(view.value)!.props.view as MoRef | MoRef[]).map((t) => t.value)).toEqual([
        task.value,
      ]);
    } finally {
      await client.invoke("DestroyView", view).catch(() => undefined);
    }
  });
});

describe("the shared task waiter", () => {
  it("follows a task that ends after its wait began through the view's updates, without reading it", async () => {
    const own = connect();
    try {
      await sim.addFault({ method: "CloneVM_Task", taskDelayMs: 400 });
      const task = await startClone(own, "task-waits-delayed");
      own.calls.reset();
      const vm = await own.waitForTask(task, { operation: "CloneVM_Task" });
      expect(vm).toBeInstanceOf(MoRef);
      const calls = own.calls.snapshot();
      expect(calls.ModifyListView).toBe(1);
      expect(calls.RetrievePropertiesEx).toBeUndefined();
      expect(calls.WaitForUpdatesEx).toBeLessThanOrEqual(4);
      await new VirtualMachine(own, vm as MoRef).destroy();
    } finally {
      await own.close();
    }
  });

  it("adds the waits begun in one event-loop turn to the view in one ModifyListView", async () => {
    const own = connect();
    try {
      const tasks: MoRef[] = [];
      for (let i = 0; i < 30; i++) tasks.push(await startFailingTask(own));
      own.calls.reset();
      const outcomes = await Promise.all(
        tasks.map((t) =>
          own.waitForTask(t, { operation: "PowerOffVM_Task" }).then(
            () => "success",
            (e: unknown) => (e instanceof TaskError ? e.fault.faultType : String(e)),
          ),
        ),
      );
      expect(new Set(outcomes)).toEqual(new Set(["InvalidPowerState"]));
      const calls = own.calls.snapshot();
      expect(calls.ModifyListView).toBe(1);
      expect(calls.RetrievePropertiesEx).toBeUndefined();
      expect(calls.WaitForUpdatesEx).toBeLessThanOrEqual(2);
    } finally {
      await own.close();
    }
  });

  it("makes a new collector and view in a renewed session, and leaves the old session's poll at once", async () => {
    const own = connect();
    try {
      // The first wait makes the view; its session then expires while the waiter still polls in it.
      await own
        .waitForTask(await startFailingTask(own), { operation: "PowerOffVM_Task" })
        .catch(() => undefined);
      expect((await sim.expireSessions()).expired).toBeGreaterThanOrEqual(1);
      await sim.addFault({ method: "CloneVM_Task", taskDelayMs: 300 });
      own.calls.reset();
      const tasks = [
        await startClone(own, "task-waits-renewed-0"),
        await startClone(own, "task-waits-renewed-1"),
      ];
      const vms = (await Promise.all(
        tasks.map((t) => own.waitForTask(t, { operation: "CloneVM_Task" })),
      )) as MoRef[];
      expect(vms.every((vm) => vm instanceof MoRef)).toBe(true);
      const calls = own.calls.snapshot();
      expect(calls.Login).toBe(1);
      expect(calls.CreatePropertyCollector).toBe(1);
      expect(calls.CreateListView).toBe(1);
      expect(calls.ModifyListView).toBe(1);
      await Promise.all(vms.map((vm) => new VirtualMachine(own, vm).destroy()));
    } finally {
      await own.close();
    }
  });

  it("reads the awaited tasks directly when a quiet poll follows missed notifications", async () => {
    const own = connect({ maxWaitSeconds: 1, taskRereadSeconds: 1 });
    try {
      await sim.addFault({ method: "CloneVM_Task", taskDelayMs: 200 });
      await sim.addFault({ method: "WaitForUpdatesEx", missUpdates: true });
      const task = await startClone(own, "task-waits-missed");
      own.calls.reset();
      const vm = await own.waitForTask(task, { operation: "CloneVM_Task" });
      expect(vm).toBeInstanceOf(MoRef);
      expect(own.calls.count("RetrievePropertiesEx")).toBeGreaterThanOrEqual(1);
      expect((await sim.stats()).injected.WaitForUpdatesEx).toBeGreaterThanOrEqual(1);
      await sim.clearFaults();
      await new VirtualMachine(own, vm as MoRef).destroy();
    } finally {
      await own.close();
    }
  });
});

describe("property waits", () => {
  it("share one collector: 30 waits at once cost one collector, one view and one filter, not one each", async () => {
    const vms = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const ref = (await client.waitForTask(await startClone(client, `shared-wait-${i}`))) as MoRef;
        return new VirtualMachine(client, ref);
      }),
    );
    const own = connect();
    try {
      const before = await sim.stats();
      // Every wait sees its VM's values as they are (no marker yet), then the change that sets one.
      const waits = vms.map((vm) =>
        own.waits.waitFor(
          vm.ref,
          ["config.extraConfig"],
          (p) => extraValue(p, "guestinfo.shared.test") === "set",
          {
            timeoutMs: 30_000,
          },
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all(vms.map((vm) => vm.setExtraConfig({ "guestinfo.shared.test": "set" })));
      const seen = await Promise.all(waits);
      expect(seen.map((p) => extraValue(p, "guestinfo.shared.test"))).toEqual(vms.map(() => "set"));
      const calls = (await sim.stats()).calls;
      const made = (m: string) => (calls[m] ?? 0) - (before.calls[m] ?? 0);
      expect(made("CreatePropertyCollector")).toBe(1);
      expect(made("CreateListView")).toBe(1);
      expect(made("CreateFilter")).toBe(1);
      expect(made("DestroyPropertyCollector")).toBe(0);
      // Joins are batched: far fewer view changes and polls than waits.
      expect(made("ModifyListView") + made("WaitForUpdatesEx")).toBeLessThan(vms.length);
    } finally {
      await own.close();
      await Promise.all(vms.map((vm) => vm.destroy()));
    }
  });

  it("that end while others go on leave the view together with the last, and a new wait on one is answered from the poll's values", async () => {
    const vms = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const ref = (await client.waitForTask(await startClone(client, `staggered-wait-${i}`))) as MoRef;
        return new VirtualMachine(client, ref);
      }),
    );
    const own = connect();
    try {
      // The waiting client's own calls (the changes go through the shared one).
      const made = async (m: string) => {
        await new Promise((r) => setImmediate(r));
        return own.calls.count(m);
      };
      const marked = (vm: VirtualMachine, value: string) =>
        own.waits.waitFor(
          vm.ref,
          ["config.extraConfig"],
          (p) => extraValue(p, "guestinfo.staggered") === value,
          {
            timeoutMs: 30_000,
          },
        );
      const waits = vms.map((vm) => marked(vm, "set"));
      // The first five end one after another, each in its own turn, while the sixth goes on.
      for (const [i, vm] of vms.slice(0, 5).entries()) {
        await vm.setExtraConfig({ "guestinfo.staggered": "set" });
        expect(extraValue(await waits[i]!, "guestinfo.staggered")).toBe("set");
      }
      expect(await made("ModifyListView")).toBe(1);
      // The first VM is still in the view, its values kept current by the poll: a wait on a later
      // change needs no join.
      const again = marked(vms[0]!, "again");
      await vms[0]!.setExtraConfig({ "guestinfo.staggered": "again" });
      expect(extraValue(await again, "guestinfo.staggered")).toBe("again");
      expect(await made("ModifyListView")).toBe(1);
      await vms[5]!.setExtraConfig({ "guestinfo.staggered": "set" });
      expect(extraValue(await waits[5]!, "guestinfo.staggered")).toBe("set");
      // The last end drops all six in one call.
      await new Promise((r) => setTimeout(r, 200));
      expect(await made("ModifyListView")).toBe(2);
      // Out of the view, a wait joins it again (and, the only one, leaves it when it ends).
      await vms[1]!.setExtraConfig({ "guestinfo.staggered": "later" });
      expect(extraValue(await marked(vms[1]!, "later"), "guestinfo.staggered")).toBe("later");
      await new Promise((r) => setTimeout(r, 200));
      expect(await made("ModifyListView")).toBe(4);
    } finally {
      await own.close();
      await Promise.all(vms.map((vm) => vm.destroy()));
    }
  });

  it("that begin within the batch window of the last view change join the view together, in one ModifyListView", async () => {
    const vms = await Promise.all(
      Array.from({ length: 3 }, async (_, i) => {
        const ref = (await client.waitForTask(await startClone(client, `windowed-wait-${i}`))) as MoRef;
        return new VirtualMachine(client, ref);
      }),
    );
    const own = connect();
    // A window far longer than the 60 ms between the waits below, whatever the machine's load.
    const waiter = new PropertyWaiter(own.session, { batchWindowMs: 1000 });
    try {
      const waits: Promise<Record<string, unknown>>[] = [];
      for (const vm of vms) {
        waits.push(
          waiter.waitFor(
            vm.ref,
            ["config.extraConfig"],
            (p) => extraValue(p, "guestinfo.windowed") === "set",
            {
              timeoutMs: 30_000,
            },
          ),
        );
        await new Promise((r) => setTimeout(r, 60));
      }
      // The first joined at once; the two begun 60 and 120 ms later, together when the window ended.
      await new Promise((r) => setTimeout(r, 1500));
      expect(own.calls.count("ModifyListView")).toBe(2);
      await Promise.all(vms.map((vm) => vm.setExtraConfig({ "guestinfo.windowed": "set" })));
      expect((await Promise.all(waits)).map((p) => extraValue(p, "guestinfo.windowed"))).toEqual([
        "set",
        "set",
        "set",
      ]);
    } finally {
      waiter.close();
      await own.close();
      await Promise.all(vms.map((vm) => vm.destroy()));
    }
  });

  it("re-read now and then, so a missed notification does not stall them", async () => {
    const vm = await template.clone(vmFolder, "task-waits-reread", { location: { pool: rootPool } });
    try {
      await vm.setExtraConfig({ "guestinfo.bonneville.test": "set" });
      await sim.addFault({ method: "WaitForUpdatesEx", missUpdates: true });
      const props = await client.waits.waitFor(
        vm.ref,
        ["config.extraConfig"],
        (p) => hasKey(p, "guestinfo.bonneville.test"),
        { rereadEveryMs: 1000, timeoutMs: 8000 },
      );
      expect(hasKey(props, "guestinfo.bonneville.test")).toBe(true);
      expect((await sim.stats()).injected.WaitForUpdatesEx).toBeGreaterThanOrEqual(1);
    } finally {
      await sim.clearFaults();
      await vm.destroy();
    }
  });
});

describe("VMware Tools' own keys", () => {
  let noisy: Sim;
  let c: VSphereClient;
  let parent: VirtualMachine;

  beforeAll(async () => {
    noisy = await Sim.start({ BONNEVILLE_SIM_READY_MS: "50", BONNEVILLE_SIM_TOOLS_REFRESH_MS: "100" });
    c = connect({}, noisy);
    const folder = (await c.find.datacenter()).vmFolder;
    const cluster = await new ClusterComputeResource(
      c,
      await c.find.resolve("DC0_C0", objectKinds.cluster, "host"),
    ).info();
    const source = new VirtualMachine(
      c,
      await c.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm"),
    );
    parent = await source.clone(folder, "tools-noise-parent", {
      location: { pool: cluster!.rootPool },
      powerOn: true,
    });
    await c.waits.waitFor(
      parent.ref,
      ["config.extraConfig"],
      (p) => extraValue(p, "guestinfo.bonneville.ready") === "true",
      { timeoutMs: 10_000 },
    );
    // Tools publish within a period of the guest's start.
    await new Promise((r) => setTimeout(r, 300));
  });

  afterAll(async () => {
    await c?.close();
    await noisy?.stop();
  });

  it("are published and refreshed by the simulator while Tools run", async () => {
    const first = (await noisy.inventory()).virtualMachines.find((v) => v.id === parent.id)!.extraConfig;
    expect(first["guestinfo.vmtools.versionString"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(first["guestinfo.vmtools.buildNumber"]).toBeDefined();
    expect(first["guestinfo.vmtools.description"]).toContain("open-vm-tools");
    expect(first["guestinfo.vmtools.versionNumber"]).toMatch(/^\d+$/);
    await new Promise((r) => setTimeout(r, 400));
    const later = (await noisy.inventory()).virtualMachines.find((v) => v.id === parent.id)!.extraConfig;
    expect(JSON.parse(later["guestinfo.appInfo"]!).updateCounter).not.toBe(
      JSON.parse(first["guestinfo.appInfo"]!).updateCounter,
    );
  });

  it("are ignored by a wait on config.extraConfig: no new look at the condition, no read per refresh", async () => {
    const own = connect({}, noisy);
    try {
      let asked = 0;
      const waiting = own.waits
        .waitFor(
          parent.ref,
          ["config.extraConfig"],
          (p) => {
            asked++;
            return extraValue(p, "guestinfo.bonneville.test") === "go";
          },
          { timeoutMs: 20_000 },
        )
        .then((p) => ({ p }));
      await new Promise((r) => setTimeout(r, 1200));
      const polledMeanwhile = own.calls.count("WaitForUpdatesEx");
      await parent.setExtraConfig({ "guestinfo.bonneville.test": "go" });
      const { p } = await waiting;
      expect(extraValue(p, "guestinfo.bonneville.test")).toBe("go");
      // The refreshes reached the wait (one poll each or so), yet only the first report and the change counted.
      expect(polledMeanwhile).toBeGreaterThanOrEqual(4);
      expect(asked).toBe(2);
      expect(own.calls.count("RetrievePropertiesEx")).toBe(0);
    } finally {
      await own.close();
    }
  });

  it("still let a wait time out when only they change", async () => {
    const own = connect({}, noisy);
    try {
      let asked = 0;
      const err = await own.waits
        .waitFor(
          parent.ref,
          ["config.extraConfig"],
          () => {
            asked++;
            return false;
          },
          { timeoutMs: 1500 },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PropertyWaitTimeoutError);
      expect(asked).toBe(1);
    } finally {
      await own.close();
    }
  });
});

function extraValue(props: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const entry = list(props["config.extraConfig"] as { key: string; value: unknown }[] | undefined).find(
    (o) => o.key === key,
  );
  return entry === undefined ? undefined : String(entry.value);
}

function hasKey(props: Readonly<Record<string, unknown>>, key: string): boolean {
  return extraValue(props, key) !== undefined;
}
