/**
 * The SDK as users get it: `npm pack` of sdk/nodejs (and of the provider package its dynamic face
 * needs), installed into a fresh project outside the repository with `npm ci --offline` (every other
 * package at the version this repository's lock pins, from npm's cache), then the TypeScript example
 * type-checked with that project's own compiler and run under Pulumi's mock runtime.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { mkdtempOutsideRepo } from "../support/outside-repo";
import { npmPack, offlineLock } from "../support/offline-project";

const repoRoot = path.resolve(__dirname, "..", "..");
const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8")) as {
  version: string;
  pluginDownloadURL: string;
};

/** Runs the compiled example under Pulumi's mock runtime and prints what it registered and exported. */
const runner = `"use strict";
const pulumi = require("@pulumi/pulumi");
const registered = [];
let vm = 100;
const mocks = {
  newResource(args) {
    const state = { ...args.inputs };
    const id = \`vm-\${++vm}\`;
    if (args.type === "bonneville:index:ContainerHost") {
      Object.assign(state, {
        resourcePoolId: "resgroup-48",
        folderId: "group-v49",
        bridgePortGroupId: "dvportgroup-50",
        networks: { bridge: "dvportgroup-50", frontend: "dvportgroup-17" },
      });
      return Promise.resolve({ id: "resgroup-48", state });
    }
    if (args.type === "bonneville:index:ParentTemplate") Object.assign(state, { vmId: id });
    if (args.type === "bonneville:index:ContainerVM") {
      Object.assign(state, {
        name: args.name + "-0000000",
        vmId: id,
        hostId: "host-25",
        macAddresses: ["00:50:56:80:00:03"],
        cloneSeconds: 0.25,
        containerStatus: "running",
        containerError: "",
        ipAddress: "198.18.0.4",
      });
    }
    return Promise.resolve({ id, state });
  },
  call(args) {
    return Promise.resolve(args.inputs);
  },
};
(async () => {
  await pulumi.runtime.setMocks(mocks, "container-pool", "test", false);
  const monitor = pulumi.runtime.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    registered.push({
      type: request.getType(),
      name: request.getName(),
      version: request.getVersion(),
      pluginDownloadURL: request.getPlugindownloadurl(),
    });
    return register(request, callback);
  };
  const program = require("./bin/index.js");
  const value = (output) => new Promise((resolve) => pulumi.output(output).apply(resolve));
  const containerTable = await value(program.containerTable);
  const parentVmIds = await value(program.parentVmIds);
  process.stdout.write(JSON.stringify({ registered, containerTable, parentVmIds }));
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
`;

let workDir: string;
let project: string;

beforeAll(() => {
  workDir = mkdtempOutsideRepo("bonneville-sdk-package-");
  project = path.join(workDir, "project");
  const packs = path.join(workDir, "packs");
  fs.mkdirSync(project);
  fs.mkdirSync(packs);
  // `npm pack` packs what is built: the SDK's bin/ (make sdk-build) and the provider's dist/.
  execFileSync("make", ["--no-print-directory", "sdk-build"], { cwd: repoRoot, stdio: "pipe" });
  const local = [npmPack("sdk/nodejs", packs), npmPack("provider", packs)];
  const { packageJson, lock } = offlineLock("fresh-project", local, [
    "@pulumi/pulumi",
    "typescript",
    "@types/node",
  ]);
  fs.writeFileSync(path.join(project, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
  fs.writeFileSync(path.join(project, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  execFileSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: project,
    stdio: "pipe",
  });
  for (const file of ["index.ts", "tsconfig.json"]) {
    fs.copyFileSync(path.join(repoRoot, "examples", "container-pool", file), path.join(project, file));
  }
  fs.writeFileSync(path.join(project, "run-with-mocks.js"), runner);
}, 240000);

afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe("the packed SDK in a fresh project outside the repository", () => {
  it("installs from the npm pack tarball, with nothing linked back into the repository", () => {
    const installed = path.join(project, "node_modules", "@bonneville", "pulumi");
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as {
      version: string;
      pulumi: Record<string, unknown>;
    };
    expect(pkg.version).toBe(schema.version);
    expect(pkg.pulumi).toEqual({
      resource: true,
      name: "bonneville",
      version: schema.version,
      server: schema.pluginDownloadURL,
    });
    expect(fs.readdirSync(installed).sort()).toEqual(["bin", "package.json"]);
    expect(fs.existsSync(path.join(installed, "bin", ".built"))).toBe(false);
    expect(require.resolve("@pulumi/pulumi", { paths: [project] }).startsWith(project)).toBe(true);
  });

  it("type-checks the TypeScript example with the project's own compiler", () => {
    const tsc = path.join(project, "node_modules", "typescript", "bin", "tsc");
    const result = execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: project,
      encoding: "utf8",
    });
    expect(result).toBe("");
    expect(fs.existsSync(path.join(project, "bin", "index.js"))).toBe(true);
  });

  it("runs the example under Pulumi's mock runtime, each resource asking for this plugin version and download URL", () => {
    const out = execFileSync(process.execPath, ["run-with-mocks.js"], { cwd: project, encoding: "utf8" });
    const { registered, containerTable, parentVmIds } = JSON.parse(out) as {
      registered: { type: string; name: string; version: string; pluginDownloadURL: string }[];
      containerTable: Record<string, unknown>[];
      parentVmIds: string[];
    };
    const ours = registered.filter((r) => r.type.startsWith("bonneville:"));
    expect(ours.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "bonneville:index:ContainerHost pool",
        ...[0, 1, 2].map((i) => `bonneville:index:ParentTemplate parent-${i}`),
        ...[0, 1, 2, 3, 4, 5].map((i) => `bonneville:index:ContainerVM web-${i}`),
      ].sort(),
    );
    for (const r of ours) {
      expect(r.version).toBe(schema.version);
      expect(r.pluginDownloadURL).toBe(schema.pluginDownloadURL);
    }
    expect(parentVmIds).toHaveLength(3);
    expect(containerTable).toHaveLength(6);
    expect(containerTable[1]).toMatchObject({
      name: "web-1-0000000",
      host: "DC0_C0_H1",
      hostId: "host-25",
      network: "frontend",
      mac: "00:50:56:80:00:03",
      status: "running",
      ipAddress: "198.18.0.4",
      image: "nginx:1.27",
    });
  });
});
