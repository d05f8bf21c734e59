/** The provider service end to end over gRPC, in process, with an in-memory resource type and no vSphere. */
import { ResourceInitError } from "../../provider/src/resources/errors";
import type { VSphereClient, VSphereConnectionOptions } from "../../provider/src/vsphere";
import {
  createMemoryResourceTypes,
  MEMORY_TOKEN,
  type MemoryEntry,
} from "../harness/fixtures/memory-resource-types";
import {
  FakeEngine,
  ProviderRpcError,
  Stack,
  isSecret,
  output,
  resource,
  reveal,
  secret,
  startInProcessPlugin,
  unknown,
  type PluginConnection,
} from "../harness";

const config = { vsphereServer: "vc.example.com", user: "admin", password: secret("vc-password-1") };

/** A VSphereClient stand-in that records what the provider does with it. */
class RecordingClient {
  static made: { options: VSphereConnectionOptions; client: RecordingClient }[] = [];
  aborted: string[] = [];
  closed = 0;
  abortAll(reason?: string): void {
    this.aborted.push(reason ?? "");
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

function setup(options: { engine?: FakeEngine } = {}) {
  const { resourceTypes, store } = createMemoryResourceTypes({ ResourceInitError });
  const plugins: PluginConnection[] = [];
  const start = async () => {
    const plugin = await startInProcessPlugin({
      resourceTypes,
      createClient: (opts) => {
        const client = new RecordingClient();
        RecordingClient.made.push({ options: opts, client });
        return client as unknown as VSphereClient;
      },
      ...(options.engine ? { engine: options.engine } : {}),
    });
    plugins.push(plugin);
    return plugin;
  };
  const stack = new Stack({ plugin: start, config });
  return { stack, store, start, plugins };
}

const urn = "urn:pulumi:test::bonneville::bonneville:testing:Memory::a";

async function configured(start: () => Promise<PluginConnection>): Promise<PluginConnection> {
  const plugin = await start();
  await plugin.rpc.configure({
    variables: {},
    args: { vsphereServer: "vc", user: "u", password: secret("vc-password-1") },
  });
  return plugin;
}

beforeEach(() => {
  RecordingClient.made = [];
});

describe("the provider over gRPC (in process)", () => {
  it("runs up as the engine does: Handshake, GetPluginInfo, CheckConfig, Configure, Check, Create", async () => {
    const { stack } = setup();
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(result.calls).toEqual([
      "Handshake",
      "GetPluginInfo",
      "CheckConfig",
      "Configure",
      "Check",
      "Create",
    ]);
    expect(stack.outputs("a")).toEqual({ name: "alpha", size: 1, objectId: "mem-1", generation: 1 });
    expect(stack.get("a")!.id).toBe("mem-1");
  });

  it("returns Check failures with property paths instead of failing the call", async () => {
    const { start } = setup();
    const plugin = await configured(start);
    const reply = await plugin.rpc.check({ urn, news: { size: -1, labels: { ok: "x", bad: 3 } } });
    expect(reply.failures).toEqual([
      { property: "name", reason: 'missing required property "name"' },
      { property: "size", reason: "expected an integer of 0 or more; got -1" },
      { property: "labels.bad", reason: "expected a string; got 3" },
    ]);
    await plugin.close();
  });

  it("previews a create with unknown computed outputs and creates nothing", async () => {
    const { stack, store } = setup();
    const result = await stack.preview([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(result.calls).toEqual([
      "Handshake",
      "GetPluginInfo",
      "CheckConfig",
      "Configure",
      "Check",
      "Create",
    ]);
    expect(result.outputs("a")).toEqual({ name: "alpha", size: 1, objectId: unknown, generation: unknown });
    expect(store.size).toBe(0);
    expect(stack.state.size).toBe(0);
  });

  it("resolves references to other resources: unknown in preview, the real output in up", async () => {
    const { stack } = setup();
    const parent = resource(MEMORY_TOKEN, "parent", { name: "p" });
    const child = resource(MEMORY_TOKEN, "child", { name: "c", parentId: output(parent, "objectId") });
    const preview = await stack.preview([child, parent]);
    expect(preview.outputs("child").parentId).toBe(unknown);
    await stack.up([child, parent]);
    expect(stack.outputs("child")).toMatchObject({ parentId: "mem-1" });
  });

  it("keeps secrets secret: secret inputs and schema-secret properties come back wrapped", async () => {
    const { stack } = setup();
    await stack.up([
      resource(MEMORY_TOKEN, "a", { name: "alpha", labels: { team: secret("blue") }, token: "t0k3n-plain" }),
    ]);
    const { outputs, inputs } = stack.get("a")!;
    expect(isSecret(outputs.labels)).toBe(true);
    expect(isSecret(outputs.token)).toBe(true);
    expect(isSecret(inputs.token)).toBe(true);
    expect(isSecret(outputs.name)).toBe(false);
    expect(reveal(outputs.labels)).toEqual({ team: "blue" });
  });

  it("updates in place with a detailed diff, and reports no diff for the same inputs", async () => {
    const { stack } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    const same = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(same.steps.map((s) => s.op)).toEqual(["same"]);
    expect(same.steps[0]!.diff).toMatchObject({ changes: "none", replaces: [], diffs: [] });
    const updated = await stack.up([resource(MEMORY_TOKEN, "a", { name: "beta" })]);
    expect(updated.calls).toEqual([
      "Handshake",
      "GetPluginInfo",
      "CheckConfig",
      "DiffConfig",
      "Configure",
      "Check",
      "Diff",
      "Update",
    ]);
    expect(updated.steps[0]!.diff).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
      diffs: ["name"],
      detailedDiff: { name: { kind: "update", inputDiff: true } },
      hasDetailedDiff: true,
    });
    expect(stack.outputs("a")).toMatchObject({ name: "beta", generation: 2, objectId: "mem-1" });
  });

  // A replacement is checked again without olds (step_generator.go), before the delete of a
  // delete-before-replace.
  it("replaces create-before-delete by default and delete-before-replace when Diff asks", async () => {
    const { stack, store } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    const replaced = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2 })]);
    expect(replaced.calls.slice(5)).toEqual(["Check", "Diff", "Check", "Create", "Delete"]);
    expect([...store.keys()]).toEqual(["mem-2"]);
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2, fixedName: true })]);
    const fixed = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", size: 3, fixedName: true })]);
    expect(fixed.steps[0]!.diff).toMatchObject({ replaces: ["size"], deleteBeforeReplace: true });
    expect(fixed.calls.slice(5)).toEqual(["Check", "Diff", "Check", "Delete", "Create"]);
    expect([...store.keys()]).toEqual(["mem-3"]);
  });

  it("refreshes: a vanished object returns an empty ID and leaves the state", async () => {
    const { stack, store } = setup();
    await stack.up([
      resource(MEMORY_TOKEN, "a", { name: "alpha" }),
      resource(MEMORY_TOKEN, "b", { name: "beta" }),
    ]);
    store.delete("mem-1");
    (store.get("mem-2") as MemoryEntry).outputs.generation = 7;
    const result = await stack.refresh();
    expect(result.steps.map((s) => `${s.name}:${s.op}`)).toEqual(["a:read-gone", "b:refresh"]);
    expect(stack.get("a")).toBeUndefined();
    expect(stack.outputs("b")).toMatchObject({ generation: 7 });
  });

  it("imports from an ID alone: Read, then Check of the inputs it returned", async () => {
    const { stack, store } = setup();
    store.set("mem-42", {
      inputs: { name: "found", size: 4 },
      outputs: { name: "found", size: 4, objectId: "mem-42", generation: 3 },
    });
    const result = await stack.import(MEMORY_TOKEN, "imported", "mem-42");
    expect(result.calls).toEqual(["Handshake", "GetPluginInfo", "CheckConfig", "Configure", "Read", "Check"]);
    expect(stack.get("imported")).toMatchObject({ id: "mem-42", inputs: { name: "found", size: 4 } });
  });

  it("destroys dependents before what they depend on", async () => {
    const { stack, store } = setup();
    const parent = resource(MEMORY_TOKEN, "parent", { name: "p" });
    const child = resource(MEMORY_TOKEN, "child", { name: "c", parentId: output(parent, "objectId") });
    await stack.up([parent, child]);
    const result = await stack.destroy();
    expect(result.steps.map((s) => `${s.name}:${s.op}`)).toEqual(["child:delete", "parent:delete"]);
    expect(store.size).toBe(0);
    expect(stack.state.size).toBe(0);
  });

  it("reports an init failure with the object's ID and partial state, which the harness records", async () => {
    const { stack } = setup();
    const error = await stack
      .up([resource(MEMORY_TOKEN, "a", { name: "alpha", failInit: true, token: "t0k3n-plain" })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRpcError);
    const failure = (error as ProviderRpcError).initFailure!;
    expect(failure.id).toBe("mem-1");
    expect(failure.reasons).toEqual(["mem-1 did not become ready: readiness probe failed"]);
    expect(reveal(failure.properties)).toMatchObject({ objectId: "mem-1", generation: 0 });
    expect(isSecret(failure.properties.token)).toBe(true);
    expect(reveal(failure.inputs)).toMatchObject({ name: "alpha", failInit: true });
    expect(stack.get("a")).toMatchObject({ id: "mem-1", initErrors: failure.reasons });
  });

  it("aborts an operation past its timeout with a message naming the URN and the timeout", async () => {
    const { stack, store } = setup();
    const error = await stack
      .up([resource(MEMORY_TOKEN, "a", { name: "slow", createDelayMs: 5000 }, { timeouts: { create: 0.2 } })])
      .catch((e: unknown) => e as ProviderRpcError);
    expect(error).toMatchObject({
      code: 4, // DEADLINE_EXCEEDED
      details: `create of ${urn} did not finish within its timeout of 0.2s`,
    });
    expect(store.size).toBe(0);
  });

  it("on Cancel aborts operations in flight and aborts and closes the vSphere client", async () => {
    const { start } = setup();
    const plugin = await configured(start);
    await plugin.rpc.create({ urn, properties: { name: "first", useClient: true } });
    const slow = plugin.rpc
      .create({ urn, properties: { name: "slow", createDelayMs: 10000 } })
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await plugin.rpc.cancel();
    expect(await slow).toMatchObject({ code: 1, details: "the engine cancelled the operation" }); // CANCELLED
    expect(RecordingClient.made).toHaveLength(1);
    expect(RecordingClient.made[0]!.client).toMatchObject({
      aborted: ["the engine cancelled the operation"],
      closed: 1,
    });
    await plugin.close();
    expect(RecordingClient.made[0]!.client.closed).toBe(1);
  });

  it("creates one vSphere client per process, lazily, from the configuration", async () => {
    const { start } = setup();
    const plugin = await configured(start);
    await plugin.rpc.create({ urn, properties: { name: "x" }, preview: true });
    expect(RecordingClient.made).toHaveLength(0);
    await plugin.rpc.create({ urn, properties: { name: "x", useClient: true } });
    await plugin.rpc.create({ urn, properties: { name: "y", useClient: true } });
    expect(RecordingClient.made.map((m) => m.options)).toEqual([
      { url: "https://vc/sdk", user: "u", password: "vc-password-1", allowUnverifiedSsl: false },
    ]);
    await plugin.close();
    expect(RecordingClient.made[0]!.client.closed).toBe(1);
  });

  it("sends progress to the engine log with the URN, at info level, ephemeral", async () => {
    const engine = await FakeEngine.start();
    try {
      const { stack } = setup({ engine });
      await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", progress: "waiting for alpha" })]);
      expect(await engine.waitFor((m) => m.message === "waiting for alpha")).toEqual({
        severity: "info",
        message: "waiting for alpha",
        urn,
        ephemeral: true,
      });
    } finally {
      await engine.stop();
    }
  });

  it("replaces every resource when DiffConfig reports a server change", async () => {
    const { stack, store } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    stack.setConfig({ ...config, vsphereServer: "vc2.example.com" });
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(result.steps.map((s) => s.op)).toEqual(["replace", "delete"]);
    expect([...store.keys()]).toEqual(["mem-2"]);
  });

  it("answers DiffConfig with a detailed diff: new credentials update, another datacenter replaces", async () => {
    const { start } = setup();
    const plugin = await start();
    const olds = { vsphereServer: "vc", user: "u", password: secret("p-123456") };
    const diff = await plugin.rpc.diffConfig({
      urn: "urn:pulumi:test::bonneville::pulumi:providers:bonneville::default",
      olds,
      news: { ...olds, user: "v", password: secret("p-654321") },
    });
    expect(diff).toMatchObject({
      changes: "some",
      replaces: [],
      detailedDiff: {
        user: { kind: "update", inputDiff: true },
        password: { kind: "update", inputDiff: true },
      },
    });
    const moved = await plugin.rpc.diffConfig({
      urn: "urn:pulumi:test::bonneville::pulumi:providers:bonneville::default",
      olds,
      news: { ...olds, datacenter: "DC1" },
    });
    expect(moved).toMatchObject({
      changes: "some",
      replaces: ["datacenter"],
      detailedDiff: { datacenter: { kind: "add-replace", inputDiff: true } },
    });
    await plugin.close();
  });

  it("CheckConfig keeps the password secret even when it arrives as plain text", async () => {
    const { start } = setup();
    const plugin = await start();
    const reply = await plugin.rpc.checkConfig({
      urn: "urn:pulumi:test::bonneville::pulumi:providers:bonneville::default",
      news: {
        vsphereServer: "vc",
        user: "u",
        password: "plain-password",
        allowUnverifiedSsl: "true",
        version: "0.1.0",
      },
    });
    expect(reply.failures).toEqual([]);
    expect(reply.inputs).toEqual({
      vsphereServer: "vc",
      user: "u",
      password: secret("plain-password"),
      allowUnverifiedSsl: true,
      version: "0.1.0",
    });
    await plugin.close();
  });

  it("rejects a resource type it does not serve, naming the ones it does", async () => {
    const { start } = setup();
    const plugin = await start();
    const error = await plugin.rpc
      .check({ urn: "urn:pulumi:test::bonneville::bonneville:index:Nope::n", news: {} })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 3,
      details:
        'unknown resource type "bonneville:index:Nope"; this provider serves: bonneville:testing:Memory',
    });
    await plugin.close();
  });
});
