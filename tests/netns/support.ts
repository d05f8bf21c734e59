/**
 * What the network-namespace tests share: whether this machine can run namespace-backed VMs
 * (root, iproute2, dnsmasq, dhclient — sim/netns/setup installs the packages), and the
 * simulator's report of those VMs and of dnsmasq's lease tables (GET /bonneville/netns).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot, type Sim } from "../support/sim";

export interface NetnsVM {
  id: string;
  netns: string;
  macs: string[];
  addresses: string[];
  hostname: string;
  machineId: string;
  /** runtime.instantCloneFrozen */
  frozen: boolean;
}

export interface NetnsLease {
  bridge: string;
  expiry: string;
  mac: string;
  ip: string;
  hostname: string;
  clientId: string;
}

export interface NetnsReport {
  simPid: number;
  switchNetns: string;
  stateDir: string;
  vms: NetnsVM[];
  leases: NetnsLease[];
}

/** GET /bonneville/netns of `sim`. */
export async function netnsReport(sim: Sim): Promise<NetnsReport> {
  const url = sim.url.replace(/\/sdk$/, "/bonneville/netns");
  const https = await import("node:https");
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url}: ${res.statusCode} ${text}`)),
        );
      })
      .on("error", reject);
  });
  const report = JSON.parse(body) as NetnsReport;
  return { ...report, vms: report.vms ?? [], leases: report.leases ?? [] };
}

/** The network namespaces whose names start with `prefix`. */
export function namespaces(prefix: string): string[] {
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(prefix));
}

/** Processes whose command line mentions `text`. */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(text) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Why namespace-backed VMs cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not running as root";
  const setup = spawnSync(path.join(repoRoot, "sim/netns/setup"), [], { encoding: "utf8" });
  if (setup.status !== 0) return `sim/netns/setup failed: ${(setup.stderr || setup.stdout).trim()}`;
  const probe = `bnv-probe-${process.pid}`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  spawnSync("ip", ["netns", "delete", probe]);
  return undefined;
}

/** Whether the provider implements guest contract v2's parent side (ParentTemplate input `freeze`). */
export function providerHasFreeze(): boolean {
  const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8")) as {
    resources: Record<string, { inputProperties?: Record<string, unknown> }>;
  };
  return "freeze" in (schema.resources["bonneville:index:ParentTemplate"]?.inputProperties ?? {});
}
