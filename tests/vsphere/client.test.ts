/**
 * The vSphere client against the embedded vSphere: session, TLS, faults, the
 * shared task waiter and every object wrapper.
 */
import {
  CertificateError,
  ClusterComputeResource,
  Datacenter,
  Datastore,
  HostSystem,
  Network,
  DistributedVirtualPortgroup,
  DistributedVirtualSwitch,
  Folder,
  NotFoundError,
  ResourcePool,
  TaskError,
  TransportError,
  VSphereClient,
  VirtualMachine,
  isVimFault,
  networkTarget,
  objectKinds,
  type MoRef,
} from "../../provider/src/vsphere";
import { Sim } from "../support/sim";

let sim: Sim;
let client: VSphereClient;
let vmFolder: MoRef;
let rootPool: MoRef;
let hosts: readonly MoRef[];
let template: VirtualMachine;
let parent: VirtualMachine;

function connect(extra: Partial<ConstructorParameters<typeof VSphereClient>[0]> = {}): VSphereClient {
  return new VSphereClient({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
    ...extra,
  });
}

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "50" });
  client = connect();
  const dc = await client.find.datacenter();
  vmFolder = dc.vmFolder;
  const cluster = await new ClusterComputeResource(
    client,
    await client.find.resolve("DC0_C0", objectKinds.cluster, "host"),
  ).info();
  rootPool = cluster!.rootPool;
  hosts = cluster!.hosts;
  template = new VirtualMachine(
    client,
    await client.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm"),
  );
  parent = await template.clone(vmFolder, "client-test-parent", {
    location: { pool: rootPool, host: hosts[2]! },
    powerOn: true,
  });
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe("session", () => {
  it("a caller that gives up during the shared login does not fail the others waiting on it", async () => {
    const s = await Sim.start();
    const c = new VSphereClient({ url: s.url, user: s.user, password: s.password, thumbprint: s.thumbprint });
    try {
      await s.resetStats();
      await s.addFault({ method: "Login", latencyMs: 400, count: 1 });
      const content = await c.serviceContent();
      const impatient = new AbortController();
      const first = c.properties.retrieve([content.rootFolder], ["name"], { signal: impatient.signal });
      const second = c.properties.retrieve([content.rootFolder], ["name"]);
      setTimeout(() => impatient.abort(new Error("this operation's timeout")), 100);
      await expect(first).rejects.toThrow("this operation's timeout");
      const found = await second;
      expect(found.get(content.rootFolder.value)?.props.name).toBe("Datacenters");
      expect((await s.stats()).calls.Login).toBe(1);
    } finally {
      await c.close();
      await s.stop();
    }
  });

  it("logs in lazily once and reuses the session for every call", async () => {
    const c = connect();
    expect(c.calls.count("Login")).toBe(0);
    await Promise.all([c.find.datacenter(), c.find.resolve("DC0_C0", objectKinds.cluster, "host")]);
    expect(c.calls.count("Login")).toBe(1);
    await c.close();
    expect(c.calls.count("Logout")).toBe(1);
  });

  it("says which user could not log in when the password is wrong, without the password", async () => {
    const c = connect({ password: "not-the-password-42" });
    const err = await c.find.datacenter().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `cannot log in to ${new URL(sim.url).host} as "${sim.user}": the user name or password is wrong`,
    );
    expect((err as Error).message).not.toContain("not-the-password-42");
    await c.close();
  });

  it("renews an expired session once and replays the call", async () => {
    const c = connect();
    await c.find.datacenter();
    await sim.expireSessions();
    const info = await new VirtualMachine(c, parent.ref).info();
    expect(info?.name).toBe("client-test-parent");
    expect(c.calls.count("Login")).toBe(2);
    await c.close();
  });

  it("logs out on close, so no session is left on the server", async () => {
    const before = (await sim.stats()).sessions;
    const c = connect();
    await c.find.datacenter();
    expect((await sim.stats()).sessions).toBe(before + 1);
    await c.close();
    expect((await sim.stats()).sessions).toBe(before);
  });
});

describe("TLS", () => {
  it("refuses the simulator's self-signed certificate by default and names its thumbprint", async () => {
    const c = new VSphereClient({ url: sim.url, user: sim.user, password: sim.password });
    const err = await c.find.datacenter().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).presentedThumbprint).toBe(sim.thumbprint);
    expect((err as Error).message).toContain(sim.thumbprint);
    await c.close();
  });

  it("accepts the certificate whose thumbprint is pinned, with or without colons and in any case", async () => {
    const c = connect({ thumbprint: sim.thumbprint.replace(/:/g, "").toLowerCase() });
    expect((await c.find.datacenter()).name).toBe("DC0");
    await c.close();
  });

  it("refuses a certificate whose thumbprint differs from the pinned one", async () => {
    // Another first byte: the simulator's certificate is new at each start, and 1 in 256 begins with AA.
    const wrong = (sim.thumbprint.startsWith("AA:") ? "BB:" : "AA:") + sim.thumbprint.slice(3);
    const c = connect({ thumbprint: wrong });
    const err = await c.find.datacenter().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as Error).message).toBe(
      `the server's certificate (SHA-256 ${sim.thumbprint}) does not match the pinned thumbprint ${wrong}`,
    );
    await c.close();
  });

  it("accepts any certificate when allowUnverifiedSsl is set", async () => {
    const c = new VSphereClient({
      url: sim.url,
      user: sim.user,
      password: sim.password,
      allowUnverifiedSsl: true,
    });
    expect((await c.find.datacenter()).name).toBe("DC0");
    await c.close();
  });
});

describe("faults", () => {
  it("reports an instant clone of a template as a task error with an InvalidState fault", async () => {
    const err = await template.instantClone("never", {}, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect(isVimFault(err, "InvalidState")).toBe(true);
    expect((err as TaskError).operation).toBe("InstantClone_Task");
    expect((err as Error).message).toBe(
      `InstantClone_Task on ${template.id} failed: InvalidState: the operation is not allowed in the object's current state`,
    );
  });

  it("reports a duplicate name as DuplicateName naming the name", async () => {
    const err = await parent.instantClone("client-test-parent", {}, {}).catch((e: unknown) => e);
    expect(isVimFault(err, "DuplicateName")).toBe(true);
    expect((err as Error).message).toContain('name "client-test-parent"');
  });

  it("reports a call on a vanished object as ManagedObjectNotFound", async () => {
    const clone = await parent.instantClone("client-test-vanish", {}, {});
    await clone.powerOff();
    await clone.destroy();
    const err = await clone.powerOn().catch((e: unknown) => e);
    expect(isVimFault(err, "ManagedObjectNotFound")).toBe(true);
    expect(await clone.info()).toBeUndefined();
  });

  it("surfaces an injected task fault with its type", async () => {
    const s = await Sim.start();
    const c = new VSphereClient({ url: s.url, user: s.user, password: s.password, thumbprint: s.thumbprint });
    try {
      const dc = await c.find.datacenter();
      const pool = (await new ClusterComputeResource(
        c,
        await c.find.resolve("DC0_C0", objectKinds.cluster, "host"),
      ).info())!.rootPool;
      await s.addFault({ method: "CreateFolder", fault: "DuplicateName" });
      const err = await new Folder(c, dc.vmFolder).createFolder("x").catch((e: unknown) => e);
      expect(isVimFault(err, "DuplicateName")).toBe(true);
      await s.addFault({ method: "CloneVM_Task", fault: "InsufficientMemoryResourcesFault" });
      const tmpl = new VirtualMachine(
        c,
        await c.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm"),
      );
      const cloneErr = await tmpl.clone(dc.vmFolder, "p", { location: { pool } }).catch((e: unknown) => e);
      expect(cloneErr).toBeInstanceOf(TaskError);
      expect(isVimFault(cloneErr, "InsufficientResourcesFault")).toBe(true);
    } finally {
      await c.close();
      await s.stop();
    }
  });
});

describe("dropped connections", () => {
  it("sends a read once more when its connection drops, but surfaces a dropped write", async () => {
    const s = await Sim.start();
    const c = new VSphereClient({ url: s.url, user: s.user, password: s.password, thumbprint: s.thumbprint });
    try {
      const dc = await c.find.datacenter();
      await s.resetStats();
      await s.addFault({ method: "RetrievePropertiesEx", drop: true, count: 1 });
      const info = await new Folder(c, dc.vmFolder).info();
      expect(info?.name).toBe("vm");
      let stats = await s.stats();
      expect(stats.injected.RetrievePropertiesEx).toBe(1);
      expect(stats.calls.RetrievePropertiesEx).toBe(2);

      await s.addFault({ method: "CreateFolder", drop: true, count: 1 });
      const err = await new Folder(c, dc.vmFolder).createFolder("dropped").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as Error).message).toMatch(/^CreateFolder: cannot reach 127\.0\.0\.1:\d+: socket hang up/);
      stats = await s.stats();
      expect(stats.calls.CreateFolder).toBe(1);
    } finally {
      await c.close();
      await s.stop();
    }
  });
});

describe("a server that does not answer", () => {
  it("gives up on a call after the request timeout, naming the call and the server", async () => {
    const s = await Sim.start();
    const c = new VSphereClient({
      url: s.url,
      user: s.user,
      password: s.password,
      thumbprint: s.thumbprint,
      requestTimeoutSeconds: 1,
    });
    try {
      const dc = await c.find.datacenter();
      await s.addFault({ method: "CreateFolder", latencyMs: 3000, count: 1 });
      const err = await new Folder(c, dc.vmFolder).createFolder("slow").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as Error).message).toMatch(
        /^CreateFolder: cannot reach 127\.0\.0\.1:\d+: no answer within 1 s$/,
      );
    } finally {
      await c.close();
      await s.stop();
    }
  });
});

describe("finder", () => {
  it("resolves relative and absolute inventory paths and IDs to the same object", async () => {
    const byPath = await client.find.resolve("DC0_DVPG1", objectKinds.portGroup, "network");
    const byAbsolute = await client.find.resolve("/DC0/network/DC0_DVPG1", objectKinds.portGroup, "network");
    const byId = await client.find.resolve(byPath.value, objectKinds.portGroup, "network");
    expect(byAbsolute).toEqual(byPath);
    expect(byId).toEqual(byPath);
  });

  it("names the missing path, and the kind, when nothing is there", async () => {
    await expect(client.find.resolve("no-such-cluster", objectKinds.cluster, "host")).rejects.toThrow(
      new NotFoundError('no object at inventory path "/DC0/host/no-such-cluster"', "no-such-cluster"),
    );
    await expect(client.find.resolve("vm-99999", objectKinds.virtualMachine, "vm")).rejects.toThrow(
      'no VirtualMachine with ID "vm-99999" exists',
    );
    await expect(client.find.resolve("DC0_C0", objectKinds.host, "host")).rejects.toThrow(
      '"DC0_C0" is a ClusterComputeResource, not a HostSystem',
    );
  });
});

describe("object wrappers", () => {
  it("creates, reads, updates and destroys a folder and a resource pool", async () => {
    const folder = await new Folder(client, vmFolder).createFolder("client-test-folder");
    expect((await folder.info())?.name).toBe("client-test-folder");
    expect((await folder.info())?.parent?.value).toBe(vmFolder.value);
    const pool = await new ResourcePool(client, rootPool).createChild(
      "client-test-pool",
      { limit: 2000 },
      { limit: 1024 },
    );
    let info = await pool.info();
    expect(info?.cpu.limit).toBe(2000);
    expect(info?.memory.limit).toBe(1024);
    // Shares an administrator set are kept by a later limit change.
    await client.invoke("UpdateConfig", pool.ref, {
      config: {
        $type: "ResourceConfigSpec",
        cpuAllocation: {
          $type: "ResourceAllocationInfo",
          reservation: 0,
          expandableReservation: true,
          limit: 2000,
          shares: { $type: "SharesInfo", shares: 8000, level: "high" },
        },
        memoryAllocation: {
          $type: "ResourceAllocationInfo",
          reservation: 0,
          expandableReservation: true,
          limit: 1024,
          shares: { $type: "SharesInfo", shares: 163840, level: "normal" },
        },
      },
    });
    await pool.updateAllocation({ limit: 3000, reservation: 100 }, { limit: -1 });
    info = await pool.info();
    expect(info?.cpu).toEqual({ limit: 3000, reservation: 100, expandableReservation: true });
    expect(info?.memory).toEqual({ limit: -1, reservation: 0, expandableReservation: true });
    const raw = await client.properties.retrieveOne(pool.ref, ["config.cpuAllocation"]);
    const shares = (raw!.props["config.cpuAllocation"] as { shares: { level: string } }).shares;
    expect(shares.level).toBe("high");
    await pool.destroy();
    await folder.destroy();
    expect(await pool.info()).toBeUndefined();
    expect(await folder.info()).toBeUndefined();
  });

  it("creates a port group with a VLAN on the switch, changes the VLAN and destroys it", async () => {
    const pg1 = await client.find.resolve("DC0_DVPG1", objectKinds.portGroup, "network");
    const switchRef = (await new DistributedVirtualPortgroup(client, pg1).info())!.switchRef!;
    const dvs = new DistributedVirtualSwitch(client, switchRef);
    const pg = await dvs.createPortGroup({ name: "client-test-bridge", vlanId: 42 });
    expect(await pg.info()).toMatchObject({ name: "client-test-bridge", vlanId: 42, switchRef });
    await pg.setVlan(43);
    expect((await pg.info())?.vlanId).toBe(43);
    // A trunk set behind Bonneville's back reads as -1 (not one VLAN ID), so a refresh shows drift.
    await client.runTask("ReconfigureDVPortgroup_Task", pg.ref, {
      spec: {
        $type: "DVPortgroupConfigSpec",
        configVersion: (await pg.info())!.configVersion,
        defaultPortConfig: {
          $type: "VMwareDVSPortSetting",
          vlan: {
            $type: "VmwareDistributedVirtualSwitchTrunkVlanSpec",
            inherited: false,
            vlanId: [{ $type: "NumericRange", start: 100, end: 200 }],
          },
        },
      },
    });
    expect((await pg.info())?.vlanId).toBe(-1);
    await pg.setVlan(44);
    expect((await pg.info())?.vlanId).toBe(44);
    expect((await dvs.info())?.portGroups.map((p) => p.value)).toContain(pg.id);
    await pg.destroy();
    expect(await pg.info()).toBeUndefined();
  });

  it("clones a parent onto the requested host, powers it and reads its guest readiness", async () => {
    const info = await parent.info();
    expect(info).toMatchObject({ name: "client-test-parent", powerState: "poweredOn", template: false });
    expect(info?.host?.value).toBe(hosts[2]!.value);
    expect(info?.nics).toHaveLength(1);
    expect(info?.extraConfig.get("guestinfo.bonneville.agentVersion")).toBe("2");
  });

  it("instant-clones with option values and a NIC moved to another port group", async () => {
    const pi = (await parent.info())!;
    const pg1 = await client.find.resolve("DC0_DVPG1", objectKinds.portGroup, "network");
    const target = await networkTarget(client, pg1);
    const clone = await parent.instantClone(
      "client-test-clone",
      { nicNetworks: new Map([[pi.nics[0]!.key, { nic: pi.nics[0]!, target }]]) },
      { "guestinfo.bonneville.image": "nginx:1.27", "bonneville.managed": "true" },
    );
    const ci = (await clone.info())!;
    expect(ci.powerState).toBe("poweredOn");
    expect(ci.host?.value).toBe(pi.host?.value);
    expect(ci.nics[0]!.network?.value).toBe(pg1.value);
    expect(ci.nics[0]!.macAddress).not.toBe(pi.nics[0]!.macAddress);
    expect(ci.extraConfig.get("guestinfo.bonneville.image")).toBe("nginx:1.27");
    await clone.setExtraConfig({ "guestinfo.bonneville.labels": "e30=", "bonneville.managed": "" });
    const after = (await clone.info())!;
    expect(after.extraConfig.get("guestinfo.bonneville.labels")).toBe("e30=");
    expect(after.extraConfig.has("bonneville.managed")).toBe(false);
    await clone.powerOff();
    expect((await clone.info())?.powerState).toBe("poweredOff");
    await clone.destroy();
  });

  it("reads datacenter, host, datastore and network properties", async () => {
    const dc = await client.find.datacenter();
    expect(await new Datacenter(client, dc.ref).info()).toEqual({
      name: "DC0",
      vmFolder: dc.vmFolder,
      hostFolder: dc.hostFolder,
      networkFolder: dc.networkFolder,
      datastoreFolder: dc.datastoreFolder,
    });
    const host = await new HostSystem(client, hosts[0]!).info();
    expect(host).toMatchObject({ name: "DC0_C0_H0", connectionState: "connected", inMaintenanceMode: false });
    const ds = await new Datastore(
      client,
      await client.find.resolve("LocalDS_0", objectKinds.datastore, "datastore"),
    ).info();
    expect(ds?.name).toBe("LocalDS_0");
    expect(ds?.accessible).toBe(true);
    expect(ds!.capacity).toBeGreaterThan(0);
    const vmNetwork = await client.find.resolve("VM Network", objectKinds.portGroup, "network");
    expect(vmNetwork.type).toBe("Network");
    expect(await new Network(client, vmNetwork).info()).toEqual({ name: "VM Network" });
  });

  it("renames a VM and marks it as a template", async () => {
    const pool = rootPool;
    const vm = await template.clone(vmFolder, "client-test-rename", { location: { pool } });
    await vm.rename("client-test-renamed");
    expect((await vm.info())?.name).toBe("client-test-renamed");
    await vm.markAsTemplate();
    expect((await vm.info())?.template).toBe(true);
    await vm.destroy();
    expect(await vm.info()).toBeUndefined();
  });

  it("stops waiting when the caller's signal aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("user pressed ctrl-c"));
    const err = await parent
      .instantClone("client-test-abort", {}, {}, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("InstantClone_Task was not sent: user pressed ctrl-c");
  });
});

describe("the shared task waiter", () => {
  it("answers a wait for a task already pushed off the 200 recent tasks from its view: one change, one poll", async () => {
    // vCenter keeps the latest 200 tasks in TaskManager.recentTask; the waiter follows its own ListView.
    const own = connect();
    try {
      const target = template.ref;
      const tasks: MoRef[] = [];
      // Powering off a template fails at once: a finished task, cheap to make by the hundred.
      for (let i = 0; i < 300; i++) tasks.push(await own.startTask("PowerOffVM_Task", target));
      own.calls.reset();
      const outcome = await own.waitForTask(tasks[0]!, { operation: "PowerOffVM_Task", target }).then(
        () => "success",
        (error: unknown) => (error instanceof TaskError ? error.fault.faultType : String(error)),
      );
      expect(outcome).not.toBe("success");
      const calls = own.calls.snapshot();
      expect(calls.ModifyListView).toBe(1);
      expect(calls.WaitForUpdatesEx).toBe(1);
      expect(calls.RetrievePropertiesEx).toBeUndefined();
    } finally {
      await own.close();
    }
  });

  it("completes 200 concurrent instant clones at no more than 2.2 SOAP calls per clone", async () => {
    const c = connect();
    const p = new VirtualMachine(c, parent.ref);
    await p.info();
    c.calls.reset();
    const clones = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        p.instantClone(`client-test-fleet-${i}`, {}, { "guestinfo.bonneville.image": "app" }),
      ),
    );
    const perClone = c.calls.total / clones.length;
    expect(new Set(clones.map((v) => v.id)).size).toBe(200);
    expect(c.calls.count("InstantClone_Task")).toBe(200);
    expect(perClone).toBeLessThanOrEqual(2.2);
    const inventory = await sim.inventory();
    const fleet = inventory.virtualMachines.filter((vm) => vm.name.startsWith("client-test-fleet-"));
    expect(fleet).toHaveLength(200);
    expect(
      fleet.every(
        (vm) => vm.powerState === "poweredOn" && vm.extraConfig["guestinfo.bonneville.image"] === "app",
      ),
    ).toBe(true);
    await Promise.all(
      clones.map(async (v) => {
        await v.powerOff();
        await v.destroy();
      }),
    );
    expect(
      (await sim.inventory()).virtualMachines.filter((vm) => vm.name.startsWith("client-test-fleet-")),
    ).toHaveLength(0);
    await c.close();
  });
});
