/**
 * The engine's paths through the plugin, each replayed by the harness as pulumi/pulumi's engine
 * source does it (the file is named in each test), against the real provider service over gRPC
 * with in-memory resource types.
 */
import type * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import { structToObject } from "../../provider/src/server/protocol";
import { ResourceInitError } from "../../provider/src/resources/errors";
import type { ResourceType } from "../../provider/src/resources/resource";
import { createMemoryResourceTypes, MEMORY_TOKEN } from "../harness/fixtures/memory-resource-types";
import { createNamedResourceType, NAMED_TOKEN } from "../harness/fixtures/named-resource-type";
import {
  CheckFailedError,
  FakeEngine,
  Stack,
  isSecret,
  output,
  resource,
  reveal,
  secret,
  startInProcessPlugin,
  unknown,
  type AutonamingConfig,
  type CommandResult,
  type StackOptions,
} from "../harness";

const config = { vsphereServer: "vc.example.com", user: "admin", password: secret("vc-password-1") };

function setup(options: Partial<StackOptions> & { engine?: FakeEngine } = {}) {
  const memory = createMemoryResourceTypes({ ResourceInitError });
  const named = createNamedResourceType();
  const resourceTypes: ResourceType[] = [...memory.resourceTypes, named.resourceType];
  const stack = new Stack({
    config,
    ...options,
    plugin: () =>
      startInProcessPlugin({
        resourceTypes,
        ...(options.engine && !options.attach ? { engine: options.engine } : {}),
      }),
  });
  return { stack, store: memory.store, named: named.store };
}

/** The decoded `field` of each request of `method` in a command, in order. */
function sent(result: CommandResult, method: string, field: "news" | "olds"): Record<string, unknown>[] {
  return result.requests
    .filter((r) => r.method === method)
    .map((r) => {
      const request = r.request as providerPb.CheckRequest;
      return structToObject(field === "news" ? request.getNews() : request.getOlds());
    });
}

/** The Check requests of one resource, as `olds ⇒ news` summaries. */
function checksOf(result: CommandResult, name: string): { olds: number; news: Record<string, unknown> }[] {
  return result.requests
    .filter((r) => r.method === "Check")
    .map((r) => r.request as providerPb.CheckRequest)
    .filter((request) => request.getUrn().endsWith(`::${name}`))
    .map((request) => ({
      olds: Object.keys(structToObject(request.getOlds())).length,
      news: structToObject(request.getNews()),
    }));
}

describe("loading the plugin (provider_plugin.go NewProvider, host.go)", () => {
  it("sends Handshake first, with the plugin's directory, then GetPluginInfo", async () => {
    const { stack } = setup();
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(result.calls.slice(0, 3)).toEqual(["Handshake", "GetPluginInfo", "CheckConfig"]);
    const handshake = result.requests[0]!.request as providerPb.ProviderHandshakeRequest;
    expect(handshake.getRootDirectory()).toMatch(/provider\/bin$/);
    expect(handshake.getProgramDirectory()).toBe(handshake.getRootDirectory());
    expect(handshake.getConfigureWithUrn()).toBe(true);
  });

  it("attaches to a running plugin: Handshake without directories, Attach with the engine's address; progress reaches that engine", async () => {
    const engine = await FakeEngine.start();
    try {
      const { stack } = setup({ engine, attach: true, engineAddress: engine.address });
      const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", progress: "made alpha" })]);
      expect(result.calls.slice(0, 3)).toEqual(["Handshake", "Attach", "GetPluginInfo"]);
      const handshake = result.requests[0]!.request as providerPb.ProviderHandshakeRequest;
      expect(handshake.hasRootDirectory()).toBe(false);
      expect(await engine.waitFor((m) => m.message === "made alpha")).toMatchObject({ severity: "info" });
    } finally {
      await engine.stop();
    }
  });
});

describe("provider configuration (provider_plugin.go CheckConfig, DiffConfig, Configure)", () => {
  it("sends CheckConfig and DiffConfig the config with secrets stripped, and Configure the checked inputs with secrets kept", async () => {
    const { stack } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    stack.setConfig({ ...config, user: "operator" });
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    expect(sent(result, "CheckConfig", "news")[0]).toEqual({
      vsphereServer: "vc.example.com",
      user: "operator",
      password: "vc-password-1",
    });
    expect(sent(result, "CheckConfig", "olds")[0]!.password).toBe("vc-password-1");
    const diffConfig = result.requests.find((r) => r.method === "DiffConfig")!
      .request as providerPb.DiffRequest;
    expect(structToObject(diffConfig.getNews()).password).toBe("vc-password-1");
    expect(structToObject(diffConfig.getOlds()).password).toBe("vc-password-1");
    const configure = result.requests.find((r) => r.method === "Configure")!
      .request as providerPb.ConfigureRequest;
    const args = structToObject(configure.getArgs());
    expect(isSecret(args.password)).toBe(true);
    expect(reveal(args.password)).toBe("vc-password-1");
  });

  it("skips Configure while a config input is unknown, and answers Check, Diff and the preview's Create itself", async () => {
    const { stack, store } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    stack.setConfig({ ...config, user: unknown }); // a user change replaces nothing (DiffConfig)
    const result = await stack.preview([
      resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2 }),
      resource(MEMORY_TOKEN, "b", { name: "beta" }),
    ]);
    expect(result.calls).toEqual(["Handshake", "GetPluginInfo", "CheckConfig", "DiffConfig"]);
    expect(result.steps.map((s) => `${s.name}:${s.op}`)).toEqual(["a:update", "b:create"]);
    expect(result.warnings).toEqual([expect.stringContaining("not known during preview")]);
    expect(store.size).toBe(1);
  });
});

describe("per resource (step_generator.go)", () => {
  it("applies ignoreChanges to the inputs before Check, nested paths included", async () => {
    const { stack } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", labels: { team: "blue", tier: "web" } })]);
    const result = await stack.up([
      resource(
        MEMORY_TOKEN,
        "a",
        { name: "alpha", labels: { team: "red", tier: "db" }, size: 3 },
        { ignoreChanges: ["labels.team", "size"] },
      ),
    ]);
    expect(checksOf(result, "a")).toEqual([
      { olds: 3, news: { name: "alpha", labels: { team: "blue", tier: "db" }, size: 1 } },
    ]);
    expect(result.steps.map((s) => s.op)).toEqual(["update"]);
    expect(stack.outputs("a")).toMatchObject({ labels: { team: "blue", tier: "db" }, size: 1 });
  });

  it("checks a replacement again without olds before creating it", async () => {
    const { stack } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha" })]);
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2 })]);
    expect(checksOf(result, "a")).toEqual([
      { olds: 2, news: { name: "alpha", size: 2 } },
      { olds: 0, news: { name: "alpha", size: 2 } },
    ]);
    expect(result.calls.slice(5)).toEqual(["Check", "Diff", "Check", "Create", "Delete"]);
  });

  it("replaces a --replace target without asking Diff, checked without olds, create-before-delete although its Diff would delete first", async () => {
    const { stack, store } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", fixedName: true })]);
    const result = await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", fixedName: true })], {
      replace: ["a"],
    });
    expect(result.calls.slice(5)).toEqual(["Check", "Create", "Delete"]);
    expect(checksOf(result, "a")).toEqual([{ olds: 0, news: { name: "alpha", fixedName: true } }]);
    expect(result.steps[0]).toMatchObject({
      op: "replace",
      replacedBecause: "replace",
      deleteBeforeReplace: false,
    });
    expect([...store.keys()]).toEqual(["mem-2"]);
  });

  it("replaces a resource with its replaceWith target, without asking its Diff", async () => {
    const { stack } = setup();
    const a = resource(MEMORY_TOKEN, "a", { name: "alpha" });
    const b = resource(MEMORY_TOKEN, "b", { name: "beta" }, { replaceWith: [a] });
    await stack.up([a, b]);
    const a2 = resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2 });
    const b2 = resource(MEMORY_TOKEN, "b", { name: "beta" }, { replaceWith: [a2] });
    const result = await stack.up([a2, b2]);
    expect(
      result.steps.filter((s) => s.op === "replace").map((s) => `${s.name}:${s.replacedBecause}`),
    ).toEqual(["a:diff", "b:replaceWith"]);
    const diffs = result.requests.filter((r) => r.method === "Diff");
    expect(diffs.map((r) => (r.request as providerPb.DiffRequest).getUrn().split("::")[3])).toEqual(["a"]);
    expect(checksOf(result, "b").map((c) => c.olds)).toEqual([2, 0]);
  });

  it("replaces a resource with its deletedWith target, and leaves its deletion to the target's", async () => {
    const { stack, store } = setup();
    const a = resource(MEMORY_TOKEN, "a", { name: "alpha" });
    const b = resource(MEMORY_TOKEN, "b", { name: "beta" }, { deletedWith: a });
    await stack.up([a, b]);
    const a2 = resource(MEMORY_TOKEN, "a", { name: "alpha", size: 2 });
    const b2 = resource(MEMORY_TOKEN, "b", { name: "beta" }, { deletedWith: a2 });
    const replaced = await stack.up([a2, b2]);
    expect(replaced.steps.find((s) => s.name === "b")).toMatchObject({
      op: "replace",
      replacedBecause: "deletedWith",
    });
    const destroyed = await stack.destroy();
    const deletes = destroyed.requests.filter((r) => r.method === "Delete");
    expect(deletes.map((r) => (r.request as providerPb.DeleteRequest).getUrn().split("::")[3])).toEqual([
      "a",
    ]);
    expect(stack.state.size).toBe(0);
    expect([...store.values()].map((e) => e.outputs.name)).toEqual(["beta"]); // gone with its target in vSphere
  });

  it("lets the user's deleteBeforeReplace override the provider's answer, both ways", async () => {
    const { stack, store } = setup();
    await stack.up([resource(MEMORY_TOKEN, "a", { name: "alpha", fixedName: true })]);
    // Diff asks to delete first (a fixed name); deleteBeforeReplace: false makes the engine create
    // first, which the plugin refuses before touching anything, naming the option.
    const createFirst = await stack
      .up([
        resource(
          MEMORY_TOKEN,
          "a",
          { name: "alpha", fixedName: true, size: 2 },
          { deleteBeforeReplace: false },
        ),
      ])
      .catch((e: unknown) => e);
    expect(createFirst).toMatchObject({ method: "Create", code: 3 }); // INVALID_ARGUMENT
    expect((createFirst as Error).message).toContain(
      '"alpha" is this resource\'s fixed name, which the object it replaces (because of size) still holds: the engine creates the replacement before deleting the old object because the resource option deleteBeforeReplace is false',
    );
    expect([...store.keys()]).toEqual(["mem-1"]);
    const deleteFirst = await stack.up([
      resource(MEMORY_TOKEN, "a", { name: "alpha", size: 3 }, { deleteBeforeReplace: true }),
    ]);
    expect(deleteFirst.steps[0]!.diff).toMatchObject({ deleteBeforeReplace: false });
    expect(deleteFirst.calls.slice(-2)).toEqual(["Delete", "Create"]);
    expect([...store.keys()]).toEqual(["mem-2"]);
  });

  it("deletes first the dependents a delete-before-replace would replace, found by Diff with unknowns", async () => {
    const { stack, store } = setup();
    const parent = resource(MEMORY_TOKEN, "parent", { name: "p", fixedName: true });
    const child = resource(MEMORY_TOKEN, "child", { name: "c", parentId: output(parent, "objectId") });
    const labelled = resource(MEMORY_TOKEN, "labelled", {
      name: "l",
      labels: { parent: output(parent, "objectId") },
    });
    await stack.up([parent, child, labelled]);
    const parent2 = resource(MEMORY_TOKEN, "parent", { name: "p", fixedName: true, size: 2 });
    const result = await stack.up([
      parent2,
      resource(MEMORY_TOKEN, "child", { name: "c", parentId: output(parent2, "objectId") }),
      resource(MEMORY_TOKEN, "labelled", { name: "l", labels: { parent: output(parent2, "objectId") } }),
    ]);
    // The cascade's Diffs: the inputs that came from the parent are unknown.
    const cascade = result.requests
      .filter((r) => r.method === "Diff")
      .map((r) => r.request as providerPb.DiffRequest)
      .filter((r) => !r.getUrn().endsWith("::parent"))
      .slice(0, 2)
      .map((r) => ({ urn: r.getUrn().split("::")[3], news: structToObject(r.getNews()) }));
    expect(cascade).toEqual([
      { urn: "child", news: expect.objectContaining({ parentId: unknown }) as unknown },
      { urn: "labelled", news: expect.objectContaining({ labels: unknown }) as unknown },
    ]);
    expect(result.steps.map((s) => `${s.name}:${s.op}`)).toEqual([
      "parent:replace",
      "child:delete-replaced",
      "child:replace",
      "labelled:update",
    ]);
    expect(result.calls.filter((c) => c === "Delete" || c === "Create")).toEqual([
      "Delete",
      "Delete",
      "Create",
      "Create",
    ]);
    expect(stack.outputs("child").parentId).toBe(stack.get("parent")!.id);
    expect(store.size).toBe(3);
  });

  it("runs independent steps in parallel and each dependent after its dependencies", async () => {
    const { stack } = setup();
    const a = resource(MEMORY_TOKEN, "a", { name: "a", createDelayMs: 150 });
    const b = resource(MEMORY_TOKEN, "b", { name: "b", createDelayMs: 150 });
    const c = resource(MEMORY_TOKEN, "c", { name: "c", createDelayMs: 150 });
    const child = resource(MEMORY_TOKEN, "child", { name: "d", parentId: output(a, "objectId") });
    const result = await stack.up([child, a, b, c]);
    const { timeline } = result;
    const firstEnd = timeline.findIndex((e) => e.startsWith("end:"));
    expect(timeline.slice(0, firstEnd).sort()).toEqual(["start:a", "start:b", "start:c"]);
    expect(timeline.indexOf("start:child")).toBeGreaterThan(timeline.indexOf("end:a"));
    const destroyed = await stack.destroy();
    const order = destroyed.steps.map((s) => s.name);
    expect(order.indexOf("child")).toBeLessThan(order.indexOf("a"));
  });

  it("sends one Check at a time (the event loop's step generation) and runs at most --parallel steps at once, deletes included (deployment_executor.go, step_executor.go)", async () => {
    const memory = createMemoryResourceTypes({ ResourceInitError });
    const concurrency = { check: 0, maxCheck: 0, step: 0, maxStep: 0 };
    const events: string[] = [];
    const counted = <T>(kind: "check" | "step", call: () => Promise<T>): Promise<T> => {
      const max = kind === "check" ? "maxCheck" : "maxStep";
      concurrency[kind]++;
      concurrency[max] = Math.max(concurrency[max], concurrency[kind]);
      events.push(`${kind}-start`);
      return call().finally(() => {
        concurrency[kind]--;
        events.push(`${kind}-end`);
      });
    };
    const stack = new Stack({
      config,
      parallel: 2,
      plugin: async () => {
        const plugin = await startInProcessPlugin({ resourceTypes: memory.resourceTypes });
        const rpc = new Proxy(plugin.rpc, {
          get(target, key) {
            const value = Reflect.get(target, key) as unknown;
            if (typeof value !== "function") return value;
            const method = (value as (...args: unknown[]) => Promise<unknown>).bind(target);
            if (key === "check") return (...args: unknown[]) => counted("check", () => method(...args));
            if (key === "create" || key === "delete") {
              return (...args: unknown[]) => counted("step", () => method(...args));
            }
            return method;
          },
        });
        return { ...plugin, rpc };
      },
    });
    const names = ["a", "b", "c", "d", "e"];
    const result = await stack.up(
      names.map((n) => resource(MEMORY_TOKEN, n, { name: n, createDelayMs: 60 })),
    );
    expect(result.calls.filter((c) => c === "Check")).toHaveLength(5);
    expect(concurrency.maxCheck).toBe(1);
    expect(concurrency.maxStep).toBe(2);
    // Checks do not wait for a worker: all five were sent before the first Create answered.
    const checksBeforeFirstStepEnd = events
      .slice(0, events.indexOf("step-end"))
      .filter((e) => e === "check-start");
    expect(checksBeforeFirstStepEnd).toHaveLength(5);
    await stack.destroy();
    expect(memory.store.size).toBe(0);
    expect(concurrency.maxStep).toBe(2);
  });

  it("lets steps already running finish after one fails, reports each failed step, and starts no dependent (step_executor.go executeChain)", async () => {
    const { stack } = setup();
    const a = resource(MEMORY_TOKEN, "a", { name: "a", failInit: true });
    const b = resource(MEMORY_TOKEN, "b", { name: "b", createDelayMs: 150, failInit: true });
    const c = resource(MEMORY_TOKEN, "c", { name: "c", createDelayMs: 150 });
    const child = resource(MEMORY_TOKEN, "child", { name: "d", parentId: output(a, "objectId") });
    const error = await stack.up([child, a, b, c]).catch((e: unknown) => e);
    expect(stack.failedSteps.map((f) => f.name)).toEqual(["a", "b"]);
    expect(stack.failedSteps.map((f) => (f.error as Error).message)).toEqual([
      expect.stringMatching(/did not become ready: readiness probe failed/),
      expect.stringMatching(/did not become ready: readiness probe failed/),
    ]);
    expect(error).toBe(stack.failedSteps[0]!.error);
    expect([...stack.state.values()].map((e) => [e.name, e.initErrors?.length ?? 0])).toEqual([
      ["a", 1],
      ["b", 1],
      ["c", 0],
    ]);
    await stack.up([a, b, c].map((r) => resource(MEMORY_TOKEN, r.name, { name: r.name })));
    expect(stack.failedSteps).toEqual([]);
  });
});

describe("names (resources/common.ts, over the engine's paths)", () => {
  it("promises delete-before-replace in a preview with an unknown replacing input only when the update does it", async () => {
    for (const name of [undefined, "fixed"]) {
      const { stack } = setup();
      const inputs = name ? { name } : {};
      await stack.up([resource(NAMED_TOKEN, "n", inputs)]);
      const size = ({ preview }: { preview: boolean }) => (preview ? unknown : 2);
      const preview = await stack.preview([resource(NAMED_TOKEN, "n", { ...inputs, size })]);
      const up = await stack.up([resource(NAMED_TOKEN, "n", { ...inputs, size })]);
      const promised = preview.steps[0]!;
      const done = up.steps[0]!;
      expect({ name, preview: promised.op, up: done.op }).toEqual({
        name,
        preview: "replace",
        up: "replace",
      });
      expect({ name, preview: promised.deleteBeforeReplace }).toEqual({
        name,
        preview: done.deleteBeforeReplace,
      });
      expect({ name, deleteFirst: done.deleteBeforeReplace }).toEqual({
        name,
        deleteFirst: name !== undefined,
      });
    }
  });

  it("names a replacement afresh (second Check without olds), so it can exist beside the old object", async () => {
    const { stack, named } = setup();
    await stack.up([resource(NAMED_TOKEN, "n", {})]);
    const before = stack.outputs<{ name: string }>("n").name;
    expect(before).toMatch(/^n-[0-9a-f]{7}$/);
    const result = await stack.up([resource(NAMED_TOKEN, "n", { size: 2 })]);
    expect(result.steps[0]).toMatchObject({ op: "replace", deleteBeforeReplace: false });
    expect(stack.outputs<{ name: string }>("n").name).not.toBe(before);
    expect(named.size).toBe(1);
  });
});

describe("autonaming (proto CheckRequest.autonaming; step_generator.go AutonamingForResource)", () => {
  function autonamed(autonaming: AutonamingConfig) {
    return setup({ autonaming });
  }

  it("uses exactly the proposed name in enforce mode", async () => {
    const { stack } = autonamed({ mode: "enforce", pattern: "web-${name}-${hex(4)}" });
    const result = await stack.up([resource(NAMED_TOKEN, "n", {})]);
    const check = result.requests.find((r) => r.method === "Check")!.request as providerPb.CheckRequest;
    const proposed = check.getAutonaming()!.getProposedName();
    expect(proposed).toMatch(/^web-n-[0-9a-f]{4}$/);
    expect(stack.outputs("n").name).toBe(proposed);
  });

  it("fails Check in enforce mode when the proposed name breaks the naming rules, and fits it in propose mode", async () => {
    const enforce = autonamed({ mode: "enforce", pattern: "My App ${name}" });
    const error = await enforce.stack.up([resource(NAMED_TOKEN, "n", {})]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckFailedError);
    expect((error as CheckFailedError).failures).toEqual([
      { property: "name", reason: '"My App n" is not a valid name' },
    ]);
    const propose = autonamed({ mode: "propose", pattern: "My App ${name} with a long tail ${hex(6)}" });
    await propose.stack.up([resource(NAMED_TOKEN, "n", {})]);
    expect(propose.stack.outputs("n").name).toMatch(/^My-App-n-with-a-long$/);
  });

  it("refuses a resource without a name in disable mode, and keeps a given name in every mode", async () => {
    const disabled = autonamed({ mode: "disable" });
    const error = await disabled.stack.up([resource(NAMED_TOKEN, "n", {})]).catch((e: unknown) => e);
    expect((error as CheckFailedError).failures).toEqual([
      {
        property: "name",
        reason:
          'is required: automatic naming is disabled for this stack (autonaming mode "disable"), so give the resource a name',
      },
    ]);
    await disabled.stack.up([resource(NAMED_TOKEN, "n", { name: "given" })]);
    expect(disabled.stack.outputs("n").name).toBe("given");
  });

  it("deletes before replacing when the pattern has no randomness, as the engine decides", async () => {
    const { stack } = autonamed({ mode: "enforce", pattern: "${name}" });
    await stack.up([resource(NAMED_TOKEN, "n", {})]);
    const result = await stack.up([resource(NAMED_TOKEN, "n", { size: 2 })]);
    expect(result.steps[0]!.diff).toMatchObject({ deleteBeforeReplace: false });
    expect(result.steps[0]).toMatchObject({ op: "replace", deleteBeforeReplace: true });
    expect(stack.outputs("n").name).toBe("n");
  });
});
