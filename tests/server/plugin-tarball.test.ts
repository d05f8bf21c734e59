/**
 * The plugin as `pulumi plugin install` lays it out: `make plugin`'s linux tarball, unpacked into an
 * empty directory outside the repository and started with nothing but `node` on PATH and no other
 * environment, then driven as the engine drives a preview: Handshake, GetSchema, CheckConfig,
 * Configure, Check and a preview Create, against the shared embedded vSphere.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  FakeEngine,
  HOST,
  connectProvider,
  isUnknown,
  repoRoot,
  reveal,
  simConfig,
  spawnProvider,
  type PluginProcess,
  type WireProperties,
} from "../harness";
import { mkdtempOutsideRepo } from "../support/outside-repo";
import { sharedSim } from "../support/sim";

const providerPackage = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "provider", "package.json"), "utf8"),
) as { version: string; bonneville: { pluginDownloadURL: string } };
const version = providerPackage.version;
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const outDir = path.join(repoRoot, "build", "test-plugin");
const tarball = (platform: string, cpu: string): string =>
  path.join(outDir, `pulumi-resource-bonneville-v${version}-${platform}-${cpu}.tar.gz`);
const providerUrn = "urn:pulumi:test::bonneville::pulumi:providers:bonneville::default";

let installDir: string;
let nodeOnlyPath: string;

/** Runs a command with no environment but PATH = a directory that holds only `node`. */
function bare(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: "/usr/bin/env", args: ["-i", `PATH=${nodeOnlyPath}`, command, ...args] };
}

beforeAll(() => {
  // What `make plugin` runs, into a directory of this test's own.
  execFileSync(path.join(repoRoot, "scripts", "package-plugin.sh"), [outDir], { stdio: "pipe" });
  installDir = mkdtempOutsideRepo("bonneville-plugin-");
  const plugin = path.join(installDir, "plugin");
  nodeOnlyPath = path.join(installDir, "node-only");
  fs.mkdirSync(plugin);
  fs.mkdirSync(nodeOnlyPath);
  fs.symlinkSync(process.execPath, path.join(nodeOnlyPath, "node"));
  execFileSync("tar", ["-xzf", tarball("linux", arch), "-C", plugin]);
}, 60000);

afterAll(() => {
  fs.rmSync(installDir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

describe("make plugin's tarballs", () => {
  it("exist for linux, darwin and windows on amd64 and arm64, windows with .cmd launchers", () => {
    const listing = (file: string): string[] =>
      execFileSync("tar", ["-tzf", file], { encoding: "utf8" })
        .split("\n")
        .filter((entry) => entry && !entry.endsWith("/"))
        .sort();
    const unix = [
      "./bonneville",
      "./dist/bundle/bonneville.js",
      "./package.json",
      "./pulumi-resource-bonneville",
    ];
    for (const platform of ["linux", "darwin", "windows"]) {
      for (const cpu of ["amd64", "arm64"]) {
        const expected =
          platform === "windows"
            ? [...unix, "./bonneville.cmd", "./pulumi-resource-bonneville.cmd"].sort()
            : unix;
        expect(listing(tarball(platform, cpu))).toEqual(expected);
      }
    }
    const cmd = execFileSync(
      "tar",
      ["-xzOf", tarball("windows", "amd64"), "./pulumi-resource-bonneville.cmd"],
      {
        encoding: "utf8",
      },
    );
    expect(cmd).toBe('@echo off\r\nnode "%~dp0pulumi-resource-bonneville" %*\r\n');
  });

  it("hold nothing but the launchers, one bundle and package.json: no node_modules", () => {
    const plugin = path.join(installDir, "plugin");
    expect(fs.readdirSync(plugin).sort()).toEqual([
      "bonneville",
      "dist",
      "package.json",
      "pulumi-resource-bonneville",
    ]);
    const pkg = JSON.parse(fs.readFileSync(path.join(plugin, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg).toEqual({
      name: "@bonneville/provider",
      version,
      description: expect.any(String),
      license: "Apache-2.0",
      engines: { node: ">=18" },
      bonneville: { pluginDownloadURL: providerPackage.bonneville.pluginDownloadURL },
    });
  });
});

describe("the plugin unpacked from the linux tarball, with only node on PATH", () => {
  let plugin: PluginProcess | undefined;
  let engine: FakeEngine | undefined;
  afterEach(async () => {
    await plugin?.close();
    await engine?.stop();
    plugin = undefined;
    engine = undefined;
  });

  it("serves Handshake, GetSchema, CheckConfig, Configure, Check and a preview Create", async () => {
    engine = await FakeEngine.start();
    plugin = await spawnProvider(
      {
        what: "unpacked plugin",
        ...bare(path.join(installDir, "plugin", "pulumi-resource-bonneville"), [engine.address]),
        cwd: installDir,
        portTimeoutMs: 10000,
        engine,
      },
      connectProvider,
    );
    process.stdout.write(
      `plugin from the unpacked tarball printed its port in ${plugin.startupMs.toFixed(0)} ms\n`,
    );
    await plugin.rpc.handshake(engine.address);

    const { schema, text } = await plugin.rpc.getSchema();
    expect(text).toBe(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8"));
    expect(schema.pluginDownloadURL).toBe(providerPackage.bonneville.pluginDownloadURL);

    const sim = sharedSim();
    const config = simConfig(sim) as WireProperties;
    const checkedConfig = await plugin.rpc.checkConfig({ urn: providerUrn, news: config });
    expect(checkedConfig.failures).toEqual([]);
    const variables: Record<string, string> = {};
    for (const [key, value] of Object.entries(config))
      variables[`bonneville:config:${key}`] = String(reveal(value));
    expect(await plugin.rpc.configure({ variables, args: checkedConfig.inputs })).toMatchObject({
      acceptSecrets: true,
      supportsPreview: true,
    });

    const urn = `urn:pulumi:test::bonneville::${HOST}::pool`;
    const checked = await plugin.rpc.check({
      urn,
      news: { cluster: "DC0_C0", bridgeSwitch: "DVS0", containerNetworks: { frontend: "DC0_DVPG1" } },
      randomSeed: new Uint8Array(32),
    });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.name).toMatch(/^pool-[0-9a-f]{7}$/);

    const preview = await plugin.rpc.create({ urn, properties: checked.inputs, preview: true });
    expect(preview.id).toBe("");
    expect(preview.properties.cluster).toBe("DC0_C0");
    expect(isUnknown(preview.properties.resourcePoolId)).toBe(true);
    expect(plugin.stdout()).toBe(`${plugin.port}\n`);
  });

  it("refuses a Check with the property and what is allowed, as the repository's build does", async () => {
    plugin = await spawnProvider(
      {
        what: "unpacked plugin",
        ...bare(path.join(installDir, "plugin", "pulumi-resource-bonneville"), []),
        portTimeoutMs: 10000,
      },
      connectProvider,
    );
    const reply = await plugin.rpc.checkConfig({
      urn: providerUrn,
      news: { vsphereServer: "vc", thumbprint: "zz" },
    });
    expect(reply.failures.find((f) => f.property === "thumbprint")?.reason).toBe(
      '"thumbprint" is "zz"; expected a SHA-256 certificate fingerprint: 32 hexadecimal bytes, optionally separated by colons',
    );
  });

  it("ships the bonneville command, which runs with only node on PATH", () => {
    const { command, args } = bare(path.join(installDir, "plugin", "bonneville"), ["docker-api", "--help"]);
    const help = execFileSync(command, args, { encoding: "utf8" });
    expect(help).toContain("--host-id");
    expect(help).toContain("--parent-id");
  });
});
