/** The real `pulumi-resource-bonneville` executable, started as the engine starts it. */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  FakeEngine,
  ProviderRpcError,
  Stack,
  isSecret,
  output,
  resource,
  reveal,
  secret,
  startPlugin,
  unknown,
  repoRoot,
  type PluginProcess,
} from "../harness";
import { MEMORY_TOKEN } from "../harness/fixtures/memory-resource-types";

const PASSWORD = "vc-password-never-logged";
const TOKEN = "memory-token-never-logged";
const providerUrn = "urn:pulumi:test::bonneville::pulumi:providers:bonneville::default";
const config = { vsphereServer: "vc.example.com", user: "admin", password: secret(PASSWORD) };

describe("the plugin executable", () => {
  let plugin: PluginProcess | undefined;
  afterEach(async () => {
    await plugin?.close();
    plugin = undefined;
  });

  // How fast it starts is a benchmark figure (make bench: plugin start, target 400 ms), not a test
  // assertion: tests never assert wall-clock time.
  it("prints only its port on stdout", async () => {
    plugin = await startPlugin();
    expect(plugin.stdout()).toBe(`${plugin.port}\n`);
    await plugin.rpc.getPluginInfo();
    expect(plugin.stdout()).toBe(`${plugin.port}\n`);
  });

  it("takes the engine address after the engine's flags", async () => {
    const engine = await FakeEngine.start();
    try {
      plugin = await startPlugin({ engine, flags: ["-v=9", "--logtostderr", "--tracing", "file:/dev/null"] });
      expect(plugin.stdout()).toBe(`${plugin.port}\n`);
    } finally {
      await engine.stop();
    }
  });

  it("sets its heap policy before it serves (a malformed hook stops it, naming the variable)", async () => {
    await expect(startPlugin({ env: { BONNEVILLE_PLUGIN_IDLE_COLLECT_MS: "soon" } })).rejects.toThrow(
      'BONNEVILLE_PLUGIN_IDLE_COLLECT_MS must be a whole number, 0 or more; got "soon"',
    );
    plugin = await startPlugin({
      env: {
        BONNEVILLE_PLUGIN_HEAP_GROWING_PERCENT: "25",
        BONNEVILLE_PLUGIN_YOUNG_GENERATION_MB: "8",
        BONNEVILLE_PLUGIN_IDLE_COLLECT_MS: "50",
      },
    });
    await plugin.rpc.getPluginInfo();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(plugin.stdout()).toBe(`${plugin.port}\n`);
    await plugin.rpc.getPluginInfo();
  });

  it("reports provider/package.json's version", async () => {
    plugin = await startPlugin();
    const { version } = JSON.parse(
      fs.readFileSync(path.join(repoRoot, "provider", "package.json"), "utf8"),
    ) as {
      version: string;
    };
    expect(await plugin.rpc.getPluginInfo()).toEqual({ version });
  });

  it("serves the committed schema.json", async () => {
    plugin = await startPlugin();
    const { text } = await plugin.rpc.getSchema();
    expect(text).toBe(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8"));
  });

  it("answers CheckConfig with failures naming the property and the allowed form", async () => {
    plugin = await startPlugin();
    const reply = await plugin.rpc.checkConfig({
      urn: providerUrn,
      news: { vsphereServer: "vc", user: "admin", password: secret(PASSWORD), thumbprint: "zz" },
    });
    expect(reply.failures).toEqual([
      {
        property: "thumbprint",
        reason:
          '"thumbprint" is "zz"; expected a SHA-256 certificate fingerprint: 32 hexadecimal bytes, optionally separated by colons',
      },
    ]);
  });

  it("applies VSPHERE_* environment defaults in CheckConfig", async () => {
    plugin = await startPlugin({
      env: { VSPHERE_SERVER: "vc.env", VSPHERE_USER: "env-user", VSPHERE_PASSWORD: PASSWORD },
    });
    expect((await plugin.rpc.checkConfig({ urn: providerUrn, news: {} })).failures).toEqual([]);
    await plugin.close();
    plugin = await startPlugin({ env: { VSPHERE_ALLOW_UNVERIFIED_SSL: "perhaps" } });
    const reply = await plugin.rpc.checkConfig({ urn: providerUrn, news: {} });
    expect(reply.failures.map((f) => f.property)).toEqual([
      "allowUnverifiedSsl",
      "vsphereServer",
      "user",
      "password",
    ]);
    expect(reply.failures[0]!.reason).toContain("VSPHERE_ALLOW_UNVERIFIED_SSL");
  });

  it("round-trips secrets and shows unknowns in a preview", async () => {
    const stack = new Stack({ plugin: () => startPlugin({ memoryTypes: true }), config });
    const parent = resource(MEMORY_TOKEN, "parent", { name: "p", labels: { key: secret("v4lue") } });
    const child = resource(MEMORY_TOKEN, "child", { name: "c", parentId: output(parent, "objectId") });
    const preview = await stack.preview([parent, child]);
    expect(preview.outputs("child").parentId).toBe(unknown);
    expect(preview.outputs("parent").objectId).toBe(unknown);
    expect(isSecret(preview.outputs("parent").labels)).toBe(true);
    await stack.up([parent, child]);
    expect(isSecret(stack.get("parent")!.outputs.labels)).toBe(true);
    expect(reveal(stack.get("parent")!.outputs.labels)).toEqual({ key: "v4lue" });
    expect(stack.outputs("child")).toMatchObject({ parentId: stack.get("parent")!.id });
    await stack.destroy();
  });

  it("returns ResourceInitFailed that the harness decodes into id and properties", async () => {
    const stack = new Stack({ plugin: () => startPlugin({ memoryTypes: true }), config });
    const error = await stack
      .up([resource(MEMORY_TOKEN, "a", { name: "a", failInit: true })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRpcError);
    expect(error).toMatchObject({ code: 2, method: "Create" }); // UNKNOWN
    expect((error as ProviderRpcError).initFailure).toMatchObject({
      id: "mem-1",
      properties: { name: "a", objectId: "mem-1", generation: 0 },
      reasons: ["mem-1 did not become ready: readiness probe failed"],
    });
  });

  it("cancels an operation in flight on Cancel", async () => {
    plugin = await startPlugin({ memoryTypes: true });
    await plugin.rpc.configure({
      variables: {},
      args: { vsphereServer: "vc", user: "u", password: secret(PASSWORD) },
    });
    const slow = plugin.rpc
      .create({
        urn: `urn:pulumi:test::bonneville::${MEMORY_TOKEN}::slow`,
        properties: { name: "slow", createDelayMs: 30000 },
      })
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await plugin.rpc.cancel();
    expect(await slow).toMatchObject({ code: 1, details: "the engine cancelled the operation" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("exits 0 on SIGINT and on SIGTERM", async () => {
    plugin = await startPlugin();
    expect(await plugin.kill("SIGINT")).toBe(0);
    plugin = await startPlugin();
    expect(await plugin.kill("SIGTERM")).toBe(0);
  });

  it("never writes the password or secret values to stderr", async () => {
    const stack = new Stack({
      plugin: () => startPlugin({ memoryTypes: true, flags: ["-v=9", "--logtostderr"] }),
      config,
    });
    // No engine address: progress goes to stderr, and this progress message embeds a secret.
    await stack.up([
      resource(MEMORY_TOKEN, "a", { name: "a", token: TOKEN, progress: `using ${TOKEN} on ${PASSWORD}` }),
    ]);
    await stack
      .up([resource(MEMORY_TOKEN, "a", { name: "a", token: TOKEN, size: "big", progress: PASSWORD })])
      .catch(() => undefined);
    await stack.destroy();
    const stderr = stack.pluginStderr.join("");
    expect(stderr).toContain("using [secret] on [secret]");
    expect(stderr).not.toContain(PASSWORD);
    expect(stderr).not.toContain(TOKEN);
  });
});
