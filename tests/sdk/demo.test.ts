/**
 * `make demo`'s program path, as a subprocess: examples/container-pool under Pulumi's mock runtime,
 * its resources created and deleted by the real plugin on an embedded vSphere of the demo's own.
 * Needs the builds `make build` makes (the SDK in sdk/nodejs/bin, the plugin, the simulator).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROGRAM_CONFIG_KEYS, parseArgs, usage } from "../../scripts/demo";
import { stopSim } from "../../scripts/demo-keep";
import {
  ContainerFailedError,
  count,
  failedRows,
  formatContainerTable,
  rowsFromResourceOutputs,
} from "../../scripts/demo-report";
import { Sim } from "../support/sim";

const repoRoot = path.resolve(__dirname, "..", "..");

function demo(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, "node_modules", "ts-node", "dist", "bin.js"),
        "--transpile-only",
        path.join(repoRoot, "scripts", "demo.ts"),
        ...args,
      ],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Interrupted, the demo stops its plugin and simulator before it exits.
    const timer = setTimeout(() => child.kill("SIGTERM"), 90000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("make demo without the Pulumi CLI", () => {
  it("deploys the container pool through the plugin, prints its container VMs and leaves a clean inventory", async () => {
    const result = await demo(["--engine", "mock", "--count", "4"]);
    expect(result.stderr).not.toContain("demo failed");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines).toContain(
      "no Pulumi CLI on PATH: running examples/container-pool under Pulumi's mock runtime, its resources made by the real plugin",
    );
    // The plugin made the host, a parent per ESXi host and four containers, then deleted them.
    const created = lines.filter((l) => l.startsWith("  + "));
    const deleted = lines.filter((l) => l.startsWith("  - "));
    expect(created.map((l) => l.trim().split(" ")[2]).sort()).toEqual(
      ["parent-0", "parent-1", "parent-2", "pool", "web-0", "web-1", "web-2", "web-3"].sort(),
    );
    expect(deleted).toHaveLength(8);
    // Dependents first: every container before any parent, every parent before the host.
    const order = deleted.map((l) => l.trim().split(" ")[2]!);
    expect(order.slice(0, 4).every((n) => n.startsWith("web-"))).toBe(true);
    expect(order.slice(4, 7).every((n) => n.startsWith("parent-"))).toBe(true);
    expect(order[7]).toBe("pool");

    expect(lines[0]).toMatch(/^embedded vSphere at https:\/\/127\.0\.0\.1:\d+\/sdk \(3 ESXi hosts, 1 VM\)$/);
    const header = lines.findIndex((l) => l.startsWith("CONTAINER "));
    expect(lines[header]).toMatch(/^CONTAINER\s+STATUS\s+IP\s+IMAGE\s+VM ID\s+HOST\s+NETWORK\s+MAC\s+CLONE$/);
    // The table comes after the deployment and before the destroy.
    expect(header).toBeGreaterThan(lines.lastIndexOf(created[created.length - 1]!));
    expect(header).toBeLessThan(lines.indexOf(deleted[0]!));
    const rows = lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r[6])).toEqual(["bridge", "frontend", "bridge", "frontend"]);
    expect(rows.map((r) => r[5])).toEqual([
      "DC0_C0_H0 (host-25)",
      "DC0_C0_H1 (host-33)",
      "DC0_C0_H2 (host-41)",
      "DC0_C0_H0 (host-25)",
    ]);
    for (const [i, row] of rows.entries()) {
      expect(row[0]).toMatch(new RegExp(`^web-${i}-[0-9a-f]{7}$`));
      // What the ContainerVM's outputs say: the agent's status and address, the image.
      expect(["starting", "running"]).toContain(row[1]);
      expect(row[2]).toMatch(row[1] === "running" ? /^\d+\.\d+\.\d+\.\d+$/ : /^(-|\d+\.\d+\.\d+\.\d+)$/);
      expect(row[3]).toBe("nginx:1.27");
      expect(row[4]).toMatch(/^vm-\d+$/);
      expect(row[7]).toMatch(/^00:50:56:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      expect(row[8]).toMatch(/^(\d+ ms|\d+\.\d\d s)$/);
    }
    expect(result.stdout).toContain("\n4 container VMs on 3 ESXi hosts, deployed in ");
    expect(lines).toContain("8 resources deleted again, inventory as it started");
    expect(result.stdout).toMatch(/\ntotal \d+\.\ds\n$/);
  });

  it("stops at a failed resource, names it, and still deletes what was made", async () => {
    const result = await demo([
      "--engine=mock",
      "--count=2",
      '--config=hosts=["DC0_C0/DC0_C0_H1","DC0_C0/NO_SUCH_HOST"]',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "demo failed: Create of urn:pulumi:demo::container-pool::bonneville:index:ParentTemplate::parent-1 failed: " +
        'host: no object at inventory path "/DC0/host/DC0_C0/NO_SUCH_HOST"\n',
    );
    const lines = result.stdout.split("\n");
    const created = lines.filter((l) => l.startsWith("  + ")).map((l) => l.trim().split(" ")[2]);
    const deleted = lines.filter((l) => l.startsWith("  - ")).map((l) => l.trim().split(" ")[2]);
    expect(created).toContain("pool");
    expect(deleted.sort()).toEqual([...created].sort());
    expect(lines).toContain("cleaned up: the inventory is as it started");
  });
});

describe("the demo's arguments", () => {
  it("--help prints the usage and exits 0", async () => {
    const result = await demo(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(usage);
    expect(result.stdout).toContain("--keep");
  });

  it("refuses unknown --config keys and the connection settings the demo sets itself, naming what is allowed", () => {
    expect(() => parseArgs(["--config", "colour=blue"])).toThrow(
      '--config colour: examples/container-pool has no config key "colour"; it reads cluster, hosts, bridgeSwitch, frontendNetwork, source, image, count',
    );
    expect(() => parseArgs(["--config=bonneville:vsphereServer=vc.example.com"])).toThrow(
      "--config bonneville:vsphereServer: the demo sets bonneville:vsphereServer itself, to reach its embedded vSphere",
    );
    expect(() => parseArgs(["--config", "bonneville:region=eu"])).toThrow(
      '--config bonneville:region: the provider has no setting "region"; it has bonneville:vsphereServer, ',
    );
    expect(() => parseArgs(["--config", "aws:region=eu"])).toThrow(
      '--config aws:region: "aws" is neither the program (container-pool) nor the provider (bonneville)',
    );
    expect(
      parseArgs(["--config", "container-pool:image=nginx:1.28", "--config", "bonneville:datacenter=DC0"]),
    ).toMatchObject({ config: { image: "nginx:1.28" }, providerSettings: { datacenter: "DC0" } });
  });

  it("knows exactly the config keys examples/container-pool reads", () => {
    const program = fs.readFileSync(path.join(repoRoot, "examples", "container-pool", "index.ts"), "utf8");
    const read = [
      ...program.matchAll(/config\.(?:get|getNumber|getObject|getBoolean|require)\w*(?:<[^>]+>)?\("(\w+)"/g),
    ].map((m) => m[1]);
    expect([...new Set(read)].sort()).toEqual([...PROGRAM_CONFIG_KEYS].sort());
  });
});

describe("the demo's report", () => {
  it("shows a container whose agent reported an error as failed, with the agent's error", () => {
    const rows = rowsFromResourceOutputs([
      {
        name: "web-0-1234567",
        vmId: "vm-67",
        hostId: "host-25",
        macAddresses: ["00:50:56:80:00:03"],
        cloneSeconds: 0.012,
        containerStatus: "error",
        containerError: "pull bonneville-sim/fail:1: not found",
        ipAddress: "",
        image: "bonneville-sim/fail:1",
      },
    ]);
    expect(formatContainerTable(rows).split("\n")).toEqual([
      "CONTAINER      STATUS  IP  IMAGE                  VM ID  HOST     NETWORK  MAC                CLONE",
      "web-0-1234567  failed  -   bonneville-sim/fail:1  vm-67  host-25  -        00:50:56:80:00:03  12 ms",
      "",
      "failed:",
      "  web-0-1234567: pull bonneville-sim/fail:1: not found",
    ]);
    expect(new ContainerFailedError(failedRows(rows)).message).toBe(
      "container web-0-1234567 (vm-67) failed: pull bonneville-sim/fail:1: not found",
    );
  });

  it("counts in the singular for one", () => {
    expect(count(1, "VM")).toBe("1 VM");
    expect(count(2, "VM")).toBe("2 VMs");
    expect(count(1, "ESXi host")).toBe("1 ESXi host");
  });
});

describe("scripts/demo.sh --keep", () => {
  let stateDir: string;
  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-demo-keep-"));
  });
  afterAll(async () => {
    // Whatever happened, the kept simulator must not outlive the test.
    const file = path.join(stateDir, "kept.json");
    if (fs.existsSync(file)) {
      const { simPid } = JSON.parse(fs.readFileSync(file, "utf8")) as { simPid: number };
      await stopSim(simPid);
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("leaves the pool on a running embedded vSphere, prints the docker-api line, and --stop tears it down", async () => {
    const env = { BONNEVILLE_DEMO_STATE_DIR: stateDir };
    const result = await demo(
      ["--engine=mock", "--count=1", "--keep", "--config=bonneville:datacenter=DC0"],
      env,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\n1 container VM on 1 ESXi host, deployed in ");
    expect(result.stdout).not.toContain("  - bonneville:");
    const kept = JSON.parse(fs.readFileSync(path.join(stateDir, "kept.json"), "utf8")) as {
      simPid: number;
      vsphere: { url: string; user: string; password: string; thumbprint: string };
    };
    const sim = Sim.attach(kept.vsphere);
    const inventory = await sim.inventory();
    const exported = new RegExp(
      `^  export VSPHERE_SERVER=(\\S+) VSPHERE_USER=(\\S+) VSPHERE_PASSWORD=(\\S+) VSPHERE_THUMBPRINT=(\\S+)$`,
      "m",
    ).exec(result.stdout);
    expect(exported?.slice(1)).toEqual([
      kept.vsphere.url,
      kept.vsphere.user,
      kept.vsphere.password,
      kept.vsphere.thumbprint,
    ]);
    const line =
      /^ {2}npx bonneville docker-api --host-id (resgroup-\d+) --parent-id (vm-\d+) --network frontend=DC0_DVPG1$/m.exec(
        result.stdout,
      );
    expect(line).not.toBeNull();
    // The IDs it prints are the pool and a parent that exist on the kept vSphere.
    expect(inventory.resourcePools.map((p) => p.id)).toContain(line![1]);
    expect(inventory.virtualMachines.map((vm) => vm.id)).toContain(line![2]);
    expect(inventory.virtualMachines).toHaveLength(1 + 3 + 1);
    expect(result.stdout).toContain("\n  scripts/demo.sh --stop\n");

    // A second --keep refuses while the first runs.
    const again = await demo(["--engine=mock", "--count=1", "--keep"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("a kept demo is still running");

    const stop = await demo(["--stop"], env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toBe(
      `stopped the embedded vSphere at ${kept.vsphere.url} (pid ${kept.simPid}); everything the demo made was in it\n`,
    );
    expect(fs.existsSync(path.join(stateDir, "kept.json"))).toBe(false);
    expect(() => process.kill(kept.simPid, 0)).toThrow();
  });
});
