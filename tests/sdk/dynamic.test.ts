/**
 * The SDK's dynamic face end to end: the providers serialized as a dynamic Resource serializes them, run by
 * Pulumi's own dynamic-provider host (started as the engine starts `pulumi-resource-pulumi-nodejs`) and driven
 * by the engine harness against an embedded vSphere of their own: check failures, a ContainerHost, a
 * ParentTemplate and container VMs created, labels updated in place, one VM replaced on an image change,
 * refresh after an out-of-band delete, an init failure kept in the state and cleaned up, connection from the
 * stack configuration and the environment, and a destroy that leaves the inventory as it was.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { dynamicProvider, dynamicResourceType, type ResourceKind } from "../../sdk/nodejs/src/dynamic";
import { Sim, type SimInventory } from "../support/sim";
import {
  FakeEngine,
  output,
  ProviderRpcError,
  resource,
  reveal,
  secret,
  isUnknown,
  Stack,
  type InputValue,
  type ResourceDeclaration,
  type ResolveContext,
  type ResourceOptions,
  type WireProperties,
} from "../harness";
import { startDynamicHost } from "../harness/dynamic-host";
import { mkdtempOutsideRepo } from "../support/outside-repo";

const KINDS: readonly ResourceKind[] = ["ContainerHost", "ParentTemplate", "ContainerVM"];
const HOST_TYPE = dynamicResourceType("ContainerHost");
const PARENT_TYPE = dynamicResourceType("ParentTemplate");

let sim: Sim;
let before: SimInventory;
let baselineSessions: number;
let engine: FakeEngine;
/** Each kind's provider, serialized as `pulumi.dynamic.Resource` serializes it into `__provider`. */
const serialized = {} as Record<ResourceKind, string>;

beforeAll(async () => {
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "200" });
  before = await sim.inventory();
  baselineSessions = (await sim.stats()).sessions;
  engine = await FakeEngine.start();
  for (const kind of KINDS) {
    const provider = dynamicProvider(kind);
    serialized[kind] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
});

afterAll(async () => {
  await engine?.stop();
  await sim?.stop();
});

/** The connection the SDK classes send: the whole value secret. */
function connection(overrides: Record<string, unknown> = {}): InputValue {
  return secret({
    vsphereServer: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
    ...overrides,
  });
}

/** A dynamic resource as the SDK class registers it: its inputs plus `__urn` and `__provider`. */
function dynamicResource(
  stack: Stack,
  kind: ResourceKind,
  name: string,
  inputs: Readonly<Record<string, InputValue>>,
  options: ResourceOptions = {},
): ResourceDeclaration {
  const type = dynamicResourceType(kind);
  return resource(
    type,
    name,
    { ...inputs, __urn: stack.urn(type, name), __provider: serialized[kind] },
    options,
  );
}

function newStack(
  options: { config?: Record<string, InputValue>; env?: Record<string, string> } = {},
): Stack {
  return new Stack({
    plugin: () => startDynamicHost({ engine, env: options.env ?? {} }),
    config: options.config ?? {},
    project: "bonneville-dynamic",
  });
}

/** The port group ID of one of the host's networks (unknown in a preview before the host exists). */
function networkOf(host: ResourceDeclaration, network: string): InputValue {
  return ({ output: out }: ResolveContext) => {
    const networks = out(host, "networks");
    return isUnknown(networks) ? networks : (networks as Record<string, string>)[network]!;
  };
}

function ids(entities: readonly { id: string }[]): string[] {
  return entities.map((e) => e.id).sort();
}

describe("the dynamic provider's check and diff, through Pulumi's dynamic-provider host", () => {
  let stack: Stack;
  let host: Awaited<ReturnType<typeof startDynamicHost>>;
  beforeAll(async () => {
    stack = newStack();
    host = await startDynamicHost({ engine });
    await host.rpc.configure({ variables: {}, args: {} });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("reports bad input and a bad connection as failures naming each property", async () => {
    const urn = stack.urn(HOST_TYPE, "bad");
    const checked = await host.rpc.check({
      urn,
      news: {
        __provider: serialized.ContainerHost,
        __urn: urn,
        cluster: "DC0_C0",
        bridgeSwitch: "DVS0",
        bridgeVlanId: 5000,
        connection: { vsphereServer: "https://", user: "someone" },
      },
    });
    const byProperty = Object.fromEntries(checked.failures.map((f) => [f.property, f.reason]));
    expect(Object.keys(byProperty).sort()).toEqual([
      "bridgeVlanId",
      "connection.password",
      "connection.vsphereServer",
    ]);
    expect(byProperty["connection.vsphereServer"]).toBe(
      '"vsphereServer" is "https://"; expected a host name (vcenter.example.com), host:port (vcenter.example.com:8443) or an https URL (https://vcenter.example.com/sdk)',
    );
    expect(byProperty["connection.password"]).toBe(
      'missing required configuration "password": set it with `pulumi config set bonneville:password --secret <value>` or the VSPHERE_PASSWORD environment variable',
    );
    expect(byProperty.bridgeVlanId).toMatch(/5000/);
    // The host hands the serialized provider back with the checked inputs.
    expect(checked.inputs.__provider).toBe(serialized.ContainerHost);
  });

  it("names the missing configuration when neither connection, stack configuration nor environment has it", async () => {
    const urn = stack.urn(HOST_TYPE, "unconfigured");
    const checked = await host.rpc.check({
      urn,
      news: { __provider: serialized.ContainerHost, __urn: urn, cluster: "DC0_C0", bridgeSwitch: "DVS0" },
    });
    expect(checked.failures).toEqual(
      ["vsphereServer", "user", "password"].map((key) => ({
        property: `connection.${key}`,
        reason:
          `missing required configuration "${key}": set it with \`pulumi config set bonneville:${key}` +
          `${key === "password" ? " --secret" : ""} <value>\` or the VSPHERE_${key === "vsphereServer" ? "SERVER" : key.toUpperCase()} ` +
          `environment variable, or set connection.${key} on the resource`,
      })),
    );
  });

  it("refuses a resource registered without its URN", async () => {
    const checked = await host.rpc.check({
      urn: stack.urn(HOST_TYPE, "no-urn"),
      news: {
        __provider: serialized.ContainerHost,
        cluster: "DC0_C0",
        bridgeSwitch: "DVS0",
        connection: reveal(connection()),
      },
    });
    expect(checked.failures).toEqual([
      {
        property: "__urn",
        reason: "is missing: create ContainerHost with the class of the SDK's dynamic module, which sets it",
      },
    ]);
  });

  it("auto-names the same way in every process for a URN, and afresh for a replacement", async () => {
    const urn = stack.urn(PARENT_TYPE, "named");
    const news: WireProperties = {
      __provider: serialized.ParentTemplate,
      __urn: urn,
      source: "bonneville-source",
      resourcePoolId: "resgroup-1",
      connection: reveal(connection()),
    };
    const first = await host.rpc.check({ urn, news });
    const other = await startDynamicHost({ engine });
    try {
      await other.rpc.configure({ variables: {}, args: {} });
      const again = await other.rpc.check({ urn, news });
      expect(again.inputs.name).toBe(first.inputs.name);
      const replaced = await other.rpc.check({
        urn,
        olds: first.inputs,
        news: { ...news, source: "other-template" },
      });
      expect(replaced.inputs.name).toMatch(/^named-[0-9a-f]{7}$/);
      expect(replaced.inputs.name).not.toBe(first.inputs.name);
      // A name rewritten as an ID may be the same object (Diff asks vSphere): the name is kept.
      const rewritten = await other.rpc.check({
        urn,
        olds: first.inputs,
        news: { ...news, source: "vm-47" },
      });
      expect(rewritten.inputs.name).toBe(first.inputs.name);
    } finally {
      await other.close();
    }
    expect(first.inputs.name).toMatch(/^named-[0-9a-f]{7}$/);
  });

  it("diffs the connection: a new password updates, another vCenter replaces", async () => {
    const urn = stack.urn(HOST_TYPE, "pool");
    const state: WireProperties = {
      __provider: serialized.ContainerHost,
      __urn: urn,
      name: "dyn-pool",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      bridgeVlanId: 0,
      forceDestroy: false,
      resourcePoolId: "resgroup-99",
      connection: reveal(connection()),
    };
    const same = await host.rpc.diff({ urn, id: "resgroup-99", olds: state, news: state });
    expect(same.changes).toBe("none");
    const password = await host.rpc.diff({
      urn,
      id: "resgroup-99",
      olds: state,
      news: { ...state, connection: reveal(connection({ password: "another-password" })) },
    });
    expect(password).toMatchObject({ changes: "some", replaces: [] });
    const server = await host.rpc.diff({
      urn,
      id: "resgroup-99",
      olds: state,
      news: { ...state, connection: reveal(connection({ vsphereServer: "vcenter.example.com" })) },
    });
    expect(server).toMatchObject({ changes: "some", replaces: ["connection"] });
    const vlan = await host.rpc.diff({
      urn,
      id: "resgroup-99",
      olds: state,
      news: { ...state, bridgeVlanId: 7 },
    });
    expect(vlan).toMatchObject({ changes: "some", replaces: [] });
    const moved = await host.rpc.diff({
      urn,
      id: "resgroup-99",
      olds: state,
      news: { ...state, name: "moved" },
    });
    expect(moved).toMatchObject({ changes: "some", replaces: ["name"] });
  });
});

describe("ContainerHost, ParentTemplate and ContainerVM as dynamic resources against the embedded vSphere", () => {
  let stack: Stack;
  beforeAll(() => {
    stack = newStack();
  });

  /** The program: a host with one extra network, a parent, and `count` containers alternating networks. */
  function program(options: {
    count: number;
    labels?: Record<string, string>;
    imageOf?: (i: number) => string;
    extra?: (parent: ResourceDeclaration, host: ResourceDeclaration) => ResourceDeclaration[];
  }) {
    const host = dynamicResource(stack, "ContainerHost", "pool", {
      name: "dyn-pool",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      bridgeVlanId: 100,
      containerNetworks: { frontend: "DC0_DVPG1" },
      cpuLimitMhz: 8000,
      connection: connection(),
    });
    const parent = dynamicResource(stack, "ParentTemplate", "parent", {
      source: "bonneville-source",
      resourcePoolId: output(host, "resourcePoolId"),
      folderId: output(host, "folderId"),
      host: "DC0_C0/DC0_C0_H1",
      networks: [networkOf(host, "bridge")],
      connection: connection(),
    });
    const vms: ResourceDeclaration[] = [];
    for (let i = 0; i < options.count; i++) {
      vms.push(
        dynamicResource(stack, "ContainerVM", `c${i}`, {
          parentId: output(parent, "vmId"),
          image: options.imageOf?.(i) ?? "nginx:1.27",
          command: ["nginx", "-g", "daemon off;"],
          env: { MODE: "dynamic", API_TOKEN: secret(`token-${i}-s3cr3t`) },
          labels: { app: "web", index: String(i), ...options.labels },
          networks: [networkOf(host, i % 2 === 0 ? "bridge" : "frontend")],
          connection: connection(),
        }),
      );
    }
    return [host, parent, ...vms, ...(options.extra?.(parent, host) ?? [])];
  }

  let previewNames: Record<string, string>;

  it("previews without writing to vSphere", async () => {
    await sim.resetStats();
    const result = await stack.preview(program({ count: 4 }));
    expect(result.steps.map((s) => `${s.op} ${s.name}`)).toEqual([
      "create pool",
      "create parent",
      "create c0",
      "create c1",
      "create c2",
      "create c3",
    ]);
    const stats = await sim.stats();
    expect(Object.keys(stats.calls).filter((m) => /_Task$|^Create(ResourcePool|Folder)$/.test(m))).toEqual(
      [],
    );
    expect(isUnknown(result.outputs("c0").parentId)).toBe(true);
    // The engine never sends Create to a provider without preview support: nothing reached the host.
    expect(result.calls.filter((c) => c === "Create")).toEqual([]);
    previewNames = Object.fromEntries(
      ["parent", "c0", "c1", "c2", "c3"].map((name) => [name, result.outputs(name).name as string]),
    );
  });

  it("creates the host, the parent and four container VMs, with the names the preview showed", async () => {
    const result = await stack.up(program({ count: 4 }));
    expect(result.steps.filter((s) => s.op === "create")).toHaveLength(6);
    const inv = await sim.inventory();

    const host = stack.outputs<Record<string, unknown>>("pool");
    const networks = host.networks as Record<string, string>;
    expect(networks.frontend).toBe("dvportgroup-15");
    const pool = inv.resourcePools.find((p) => p.id === stack.get("pool")!.id)!;
    expect(pool.name).toBe("dyn-pool");
    expect(inv.portGroups.find((p) => p.id === networks.bridge)!.name).toBe("dyn-pool-bridge");
    expect(host.__provider).toBe(serialized.ContainerHost);

    const parent = stack.outputs<Record<string, unknown>>("parent");
    expect(parent.name).toBe(previewNames.parent);
    expect(parent.powerState).toBe("poweredOn");
    expect(parent.hostId).toBe("host-33");
    const parentVm = inv.virtualMachines.find((v) => v.id === parent.vmId)!;
    expect(parentVm.extraConfig["bonneville.urn"]).toBe(stack.urn(PARENT_TYPE, "parent"));

    for (let i = 0; i < 4; i++) {
      const entry = stack.get(`c${i}`)!;
      const out = reveal<Record<string, unknown>>(entry.outputs);
      const vm = inv.virtualMachines.find((v) => v.id === entry.id)!;
      expect(vm.name).toBe(previewNames[`c${i}`]);
      expect(vm.networks).toEqual([i % 2 === 0 ? networks.bridge : networks.frontend]);
      expect(vm.host).toBe("host-33");
      expect(vm.pool).toBe(stack.get("pool")!.id);
      expect(vm.extraConfig["bonneville.managed"]).toBe("true");
      expect(vm.extraConfig["bonneville.urn"]).toBe(entry.urn);
      expect(vm.extraConfig["guestinfo.bonneville.image"]).toBe("nginx:1.27");
      const env = JSON.parse(Buffer.from(vm.extraConfig["guestinfo.bonneville.env"]!, "base64").toString());
      expect(env).toEqual({ MODE: "dynamic", API_TOKEN: `token-${i}-s3cr3t` });
      expect(out.vmId).toBe(entry.id);
      expect(out.macAddresses).toEqual([expect.stringMatching(/^00:50:56:/)]);
      expect(out.__urn).toBe(entry.urn);
      expect(out.connection).toEqual(reveal(connection()));
    }
    // Progress went to the engine's log, with the resource's URN.
    expect(engine.messages).toContainEqual(
      expect.objectContaining({
        urn: stack.urn(HOST_TYPE, "pool"),
        message: "creating resource pool dyn-pool",
      }),
    );
  });

  it("updates labels in place", async () => {
    const idsBefore = [0, 1, 2, 3].map((i) => stack.get(`c${i}`)!.id);
    const result = await stack.up(program({ count: 4, labels: { tier: "gold" } }));
    expect(
      result.steps
        .filter((s) => s.op !== "same")
        .map((s) => `${s.op} ${s.name}`)
        .sort(),
    ).toEqual(["update c0", "update c1", "update c2", "update c3"]);
    expect([0, 1, 2, 3].map((i) => stack.get(`c${i}`)!.id)).toEqual(idsBefore);
    const inv = await sim.inventory();
    const vm = inv.virtualMachines.find((v) => v.id === stack.get("c3")!.id)!;
    const labels = JSON.parse(Buffer.from(vm.extraConfig["bonneville.labels"]!, "base64").toString());
    expect(labels).toEqual({ app: "web", index: "3", tier: "gold" });
    expect(stack.outputs("c3").labels).toEqual({ app: "web", index: "3", tier: "gold" });
  });

  it("replaces one container VM when its image changes", async () => {
    const oldId = stack.get("c1")!.id;
    const result = await stack.up(
      program({
        count: 4,
        labels: { tier: "gold" },
        imageOf: (i) => (i === 1 ? "nginx:1.28" : "nginx:1.27"),
      }),
    );
    const replaced = result.steps.filter((s) => s.op === "replace");
    expect(replaced.map((s) => s.name)).toEqual(["c1"]);
    expect(replaced[0]!.diff!.replaces).toEqual(["image"]);
    const newId = stack.get("c1")!.id;
    expect(newId).not.toBe(oldId);
    const inv = await sim.inventory();
    expect(inv.virtualMachines.some((v) => v.id === oldId)).toBe(false);
    expect(inv.virtualMachines.find((v) => v.id === newId)!.extraConfig["guestinfo.bonneville.image"]).toBe(
      "nginx:1.28",
    );
  });

  it("refresh notices a VM deleted out of band, and the next up recreates it", async () => {
    const gone = stack.get("c2")!.id;
    await sim.destroyVm(gone); // behind Bonneville's back, as an operator would
    const refreshed = await stack.refresh();
    expect(refreshed.steps.map((s) => `${s.op} ${s.name}`)).toEqual([
      "refresh pool",
      "refresh parent",
      "refresh c0",
      "refresh c1",
      "read-gone c2",
      "refresh c3",
    ]);
    expect(stack.get("c2")).toBeUndefined();
    expect(stack.outputs("c0").image).toBe("nginx:1.27");
    const result = await stack.up(
      program({
        count: 4,
        labels: { tier: "gold" },
        imageOf: (i) => (i === 1 ? "nginx:1.28" : "nginx:1.27"),
      }),
    );
    expect(result.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual([
      "create c2",
    ]);
    expect(stack.get("c2")!.id).not.toBe(gone);
  });

  it("keeps a container VM that failed to start in the state, and deletes it on the next up", async () => {
    const failing = (parent: ResourceDeclaration) => [
      dynamicResource(stack, "ContainerVM", "broken", {
        parentId: output(parent, "vmId"),
        image: "bonneville-sim/fail:1",
        waitForIp: true,
        waitTimeoutSeconds: 60,
        connection: connection(),
      }),
    ];
    const base = {
      count: 4,
      labels: { tier: "gold" },
      imageOf: (i: number) => (i === 1 ? "nginx:1.28" : "nginx:1.27"),
    };
    const error = await stack.up(program({ ...base, extra: failing })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderRpcError);
    const failure = (error as ProviderRpcError).initFailure!;
    expect(failure.id).toMatch(/^vm-\d+$/);
    expect(failure.reasons).toEqual([expect.stringMatching(/failed to start/)]);
    // The host records __provider with the partial outputs, so later operations can load the provider.
    expect(failure.properties.__provider).toBe(serialized.ContainerVM);
    expect(stack.get("broken")!.initErrors).toEqual(failure.reasons);
    expect((await sim.inventory()).virtualMachines.some((v) => v.id === failure.id)).toBe(true);

    const result = await stack.up(program(base));
    expect(result.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual([
      "delete broken",
    ]);
    expect((await sim.inventory()).virtualMachines.some((v) => v.id === failure.id)).toBe(false);
  });

  it("destroys everything, leaving the inventory as it was and no session open", async () => {
    await stack.destroy();
    expect(stack.state.size).toBe(0);
    const after = await sim.inventory();
    expect(ids(after.virtualMachines)).toEqual(ids(before.virtualMachines));
    expect(ids(after.portGroups)).toEqual(ids(before.portGroups));
    expect(ids(after.resourcePools)).toEqual(ids(before.resourcePools));
    expect(ids(after.folders)).toEqual(ids(before.folders));
    for (const vm of before.virtualMachines) {
      expect(after.virtualMachines.find((v) => v.id === vm.id)).toEqual(vm);
    }
    // Each command's host logged out when the harness stopped it, as the engine stops plugins.
    expect((await sim.stats()).sessions).toBe(baselineSessions);
  });

  it("never wrote the password or a secret env value to a log", () => {
    const written = [...stack.pluginStderr, ...engine.messages.map((m) => m.message)].join("\n");
    expect(written).not.toContain(sim.password);
    expect(written).not.toContain("s3cr3t");
  });
});

describe("a dynamic resource without a connection", () => {
  it("connects with the stack configuration, and the environment for what it lacks", async () => {
    const stack = newStack({
      config: {
        "bonneville:vsphereServer": sim.url,
        "bonneville:user": sim.user,
        "bonneville:thumbprint": sim.thumbprint,
      },
      env: { VSPHERE_PASSWORD: sim.password },
    });
    const program = [
      dynamicResource(stack, "ContainerHost", "configured", {
        name: "dyn-configured",
        cluster: "DC0_C0",
        bridgeSwitch: "DVS0",
      }),
    ];
    await stack.up(program);
    const entry = stack.get("configured")!;
    expect((await sim.inventory()).resourcePools.find((p) => p.id === entry.id)!.name).toBe("dyn-configured");
    expect(entry.outputs.connection).toBeUndefined();
    await stack.destroy();
    expect((await sim.inventory()).resourcePools.some((p) => p.id === entry.id)).toBe(false);
    expect((await sim.stats()).sessions).toBe(baselineSessions);
  });
});

describe("a project without @bonneville/provider", () => {
  it("is told to install it", async () => {
    // Outside the repository: from inside it (make test's TMPDIR is build/tmp) Node's resolution walks
    // up to the repository's node_modules, where the workspace links @bonneville/provider.
    const project = mkdtempOutsideRepo("bonneville-project-");
    const host = await startDynamicHost({ engine, cwd: project });
    try {
      await host.rpc.configure({ variables: {}, args: {} });
      const urn = `urn:pulumi:dev::project::${HOST_TYPE}::pool`;
      const error = await host.rpc
        .check({ urn, news: { __provider: serialized.ContainerHost, __urn: urn, bridgeSwitch: "DVS0" } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ProviderRpcError);
      expect((error as ProviderRpcError).details).toBe(
        "Bonneville's dynamic provider needs the @bonneville/provider package, which Pulumi's dynamic-provider " +
          `host could not find from ${fs.realpathSync(project)}: install it in the Pulumi project (npm install @bonneville/provider)`,
      );
    } finally {
      await host.close();
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
