/**
 * `make demo`'s program path, as a subprocess: examples/container-pool under Pulumi's mock runtime,
 * its resources created and deleted by the real plugin on an embedded vSphere of the demo's own.
 * Needs the builds `make build` makes (the SDK in sdk/nodejs/bin, the plugin, the simulator).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

function demo(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, "node_modules", "ts-node", "dist", "bin.js"),
        "--transpile-only",
        path.join(repoRoot, "scripts", "demo.ts"),
        ...args,
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
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

    const header = lines.findIndex((l) => l.startsWith("CONTAINER "));
    expect(lines[header]).toMatch(/^CONTAINER\s+VM ID\s+HOST\s+NETWORK\s+MAC\s+CLONE$/);
    const rows = lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r[3])).toEqual(["bridge", "frontend", "bridge", "frontend"]);
    expect(rows.map((r) => r[2])).toEqual([
      "DC0_C0_H0 (host-25)",
      "DC0_C0_H1 (host-33)",
      "DC0_C0_H2 (host-41)",
      "DC0_C0_H0 (host-25)",
    ]);
    for (const [i, row] of rows.entries()) {
      expect(row[0]).toMatch(new RegExp(`^web-${i}-[0-9a-f]{7}$`));
      expect(row[1]).toMatch(/^vm-\d+$/);
      expect(row[4]).toMatch(/^00:50:56:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      expect(row[5]).toMatch(/^(\d+ ms|\d+\.\d\d s)$/);
    }
    expect(result.stdout).toContain("4 container VMs on 3 ESXi hosts, deployed in ");
    expect(result.stdout).toContain("; 8 resources deleted again, inventory as it started\n");
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
