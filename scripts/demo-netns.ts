/**
 * `make demo DEMO_ARGS=--netns`: the demo's pool on namespace-backed VMs (sim/netns/README.md),
 * where every VM runs the real guest agent and gets its address from dnsmasq. While the demo
 * deploys, this watches the simulator's report of those VMs, and afterwards prints the addresses
 * each container VM really held, with dnsmasq's lease for its MAC.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { Sim } from "../tests/support/sim";
import { netnsReport, type NetnsLease, type NetnsVM } from "../tests/netns/support";

/** The simulator environment of namespace-backed VMs (Tools pushes guest.net every 2 s). */
export const NETNS_SIM_ENV = { BONNEVILLE_SIM_NETNS: "all", BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS: "2000" };

/** This machine cannot run namespace-backed VMs. */
export class NetnsSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetnsSetupError";
  }
}

/** Installs what namespace-backed VMs need (sim/netns/setup); they need root. */
export function prepareNetns(repoRoot: string): void {
  if (process.getuid?.() !== 0) throw new NetnsSetupError("--netns needs root (network namespaces)");
  const setup = spawnSync(path.join(repoRoot, "sim", "netns", "setup"), [], { stdio: "inherit" });
  if (setup.status !== 0)
    throw new NetnsSetupError("--netns: sim/netns/setup could not install its packages");
}

/** Polls GET /bonneville/netns while the demo runs and keeps what each VM last held. */
export class NetnsWatch {
  private readonly vms = new Map<string, NetnsVM>();
  private leases: NetnsLease[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sim: Sim) {}

  start(): void {
    const poll = async (): Promise<void> => {
      try {
        const report = await netnsReport(this.sim);
        for (const vm of report.vms) if (vm.addresses.length > 0) this.vms.set(vm.id, vm);
        if (report.leases.length > 0) this.leases = report.leases;
      } catch {
        // the simulator is stopping
      }
      if (this.timer) this.timer = setTimeout(() => void poll(), 250);
    };
    this.timer = setTimeout(() => void poll(), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The table of the given container VMs (by VM ID): name, address, host name, MAC, lease. */
  table(containers: readonly { name: string; vmId: string }[]): string {
    const rows = [
      ["CONTAINER", "VM ID", "ADDRESS (namespace)", "HOST NAME", "MAC", "DNSMASQ LEASE", "MACHINE-ID"],
    ];
    for (const c of containers) {
      const vm = this.vms.get(c.vmId);
      const lease = vm ? this.leases.find((l) => l.mac === vm.macs[0]) : undefined;
      rows.push([
        c.name,
        c.vmId,
        vm?.addresses.join(",") ?? "(none seen)",
        vm?.hostname ?? "",
        vm?.macs[0] ?? "",
        lease ? `${lease.ip} ${lease.hostname}` : "(none)",
        vm?.machineId.slice(0, 12) ?? "",
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const table = rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n");
    const seen = containers.filter((c) => this.vms.has(c.vmId)).length;
    return seen === containers.length
      ? table
      : `${table}\n(${containers.length - seen} container VMs were deleted before their agent had an address: ` +
          "a create returns before the agent reports unless the provider waits for the container to run)";
  }
}
