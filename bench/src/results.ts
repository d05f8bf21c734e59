/**
 * The benchmark's figures as one JSON document (bench/results/latest.json,
 * bench/figures.json), the medians that summarise repeated runs, and the
 * targets each figure is held to. A missed target is reported, never fatal.
 */
import type { BonnevilleFleetFigures, PhaseFigures } from "./fleet";
import type { MemoryFigures, RefreshFigures } from "./memory";
import type { MachineInfo } from "./machine";
import { median, round2, round3 } from "./measure";
import type { PeerFleetFigures } from "./peer";
import type { PluginStartFigures } from "./plugin-start";
import type { ProfileFigures } from "./profile";
import type { LimitRun } from "./limit";
import type { SimTimingModel } from "../../tests/support/sim";

/** The clients against the platform's limit at one N and cluster size. */
export interface LimitComparison {
  readonly n: number;
  readonly hosts: number;
  /** Runs of each client; each client's run below is its median one by fleet time ÷ ideal. */
  readonly repeats: number;
  /** Every run's fleet time ÷ ideal, in run order. */
  readonly ratiosToIdealRuns: {
    readonly bonneville: readonly number[];
    readonly unbounded: readonly number[];
    readonly peer: readonly number[];
  };
  /** Bonneville with its default admission bounds. */
  readonly bonneville: LimitRun;
  /** Bonneville with admission control opened wide (what the bounds cost). */
  readonly unbounded: LimitRun;
  readonly peer: LimitRun;
  readonly ratios: {
    /** Bonneville's fleet time ÷ the peer's. */
    readonly bonnevillePeer: number;
    /** Bonneville's fleet time with its bounds ÷ without. */
    readonly admissionCost: number;
    /**
     * The same two with each run's fleet time taken against its own ideal (fleet ÷ ideal): each
     * client runs on its own simulator, whose random clone and boot times differ from run to run
     * by more than the clients do at N=100; against its own ideal, each run's draws cancel out.
     */
    readonly bonnevillePeerOverIdeal: number;
    readonly admissionCostOverIdeal: number;
  };
}

/** One client's fleet figures at one N: medians over the repeated runs. */
export interface FleetSummary {
  readonly runs: number;
  readonly createWallMs: number;
  /** Every run's create wall time, ms, in run order. */
  readonly createWallMsRuns: readonly number[];
  readonly createP50Ms: number;
  readonly createP99Ms: number;
  readonly soapPerCreate: number;
  readonly soapPerCreateByMethod: Record<string, number>;
  readonly cpuMsPerCreate: number;
  readonly deleteWallMs: number;
  readonly deleteWallMsRuns: readonly number[];
  readonly deleteP50Ms: number;
  readonly deleteP99Ms: number;
  readonly soapPerDelete: number;
  readonly soapPerDeleteByMethod: Record<string, number>;
  readonly cpuMsPerDelete: number;
  /** Failed operations over all runs (0 when every create and delete did its work). */
  readonly errors: number;
}

/** Both clients at one N. */
export interface FleetComparison {
  readonly n: number;
  readonly bonneville: FleetSummary;
  readonly peer: FleetSummary;
  /** Bonneville / peer. */
  readonly ratios: {
    readonly createWall: number;
    readonly soapPerCreate: number;
    readonly deleteWall: number;
    readonly soapPerDelete: number;
  };
  readonly bonnevilleRuns: readonly BonnevilleFleetFigures[];
  readonly peerRuns: readonly PeerFleetFigures[];
}

/** A target and how the figure fared. */
export interface TargetResult {
  readonly id: string;
  readonly label: string;
  readonly limit: number;
  readonly value: number;
  readonly unit: string;
  readonly pass: boolean;
}

/** The whole document. */
export interface BenchResults {
  readonly schema: 1;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly settings: {
    readonly sizes: readonly number[];
    readonly repeats: number;
    readonly pluginStarts: number;
    readonly memoryVms: number;
    readonly memoryRuns: number;
    readonly limitSizes: readonly number[];
    readonly limitHosts: readonly number[];
    /** Runs per client against the limit at sizes up to 200 (larger: one). */
    readonly limitRepeats: number;
    readonly refreshVms: number;
    /** The provider tree the plugin ran from. */
    readonly provider: string;
    readonly method: string;
  };
  readonly fleet: readonly FleetComparison[];
  readonly scaling: {
    readonly fromN: number;
    readonly toN: number;
    readonly bonneville: number;
    readonly peer: number;
  };
  /** Fleet time against the platform's limit under the simulator's vCenter timing model (empty when not run). */
  readonly limit: readonly LimitComparison[];
  /** The timing model those runs used. */
  readonly limitModel: SimTimingModel | undefined;
  readonly pluginStart: PluginStartFigures;
  readonly memory: MemoryFigures;
  /** A refresh (Read) of a large fleet; undefined when not run. */
  readonly refresh: RefreshFigures | undefined;
  readonly profile: ProfileFigures | undefined;
  readonly targets: readonly TargetResult[];
}

/** Medians over runs of one client at one N. */
export function summarizeRuns(
  runs: readonly { readonly create: PhaseFigures; readonly delete: PhaseFigures }[],
): FleetSummary {
  const med = (pick: (r: (typeof runs)[number]) => number) => round2(median(runs.map(pick)));
  const methods = (phase: "create" | "delete") => {
    const names = new Set(runs.flatMap((r) => Object.keys(r[phase].soap.perItemByMethod)));
    const out: Record<string, number> = {};
    for (const name of [...names].sort()) {
      out[name] = round3(median(runs.map((r) => r[phase].soap.perItemByMethod[name] ?? 0)));
    }
    return out;
  };
  return {
    runs: runs.length,
    createWallMs: med((r) => r.create.wallMs),
    createWallMsRuns: runs.map((r) => r.create.wallMs),
    createP50Ms: med((r) => r.create.latency.p50),
    createP99Ms: med((r) => r.create.latency.p99),
    soapPerCreate: round3(median(runs.map((r) => r.create.soap.perItem))),
    soapPerCreateByMethod: methods("create"),
    cpuMsPerCreate: med((r) => r.create.clientCpuMsPerItem),
    deleteWallMs: med((r) => r.delete.wallMs),
    deleteWallMsRuns: runs.map((r) => r.delete.wallMs),
    deleteP50Ms: med((r) => r.delete.latency.p50),
    deleteP99Ms: med((r) => r.delete.latency.p99),
    soapPerDelete: round3(median(runs.map((r) => r.delete.soap.perItem))),
    soapPerDeleteByMethod: methods("delete"),
    cpuMsPerDelete: med((r) => r.delete.clientCpuMsPerItem),
    errors: runs.reduce((sum, r) => sum + r.create.errors.length + r.delete.errors.length, 0),
  };
}

/** Bonneville / peer, or 0 when the peer's figure is 0. */
export function ratio(bonneville: number, peer: number): number {
  return peer > 0 ? round3(bonneville / peer) : 0;
}

/** The targets, evaluated. */
export function evaluateTargets(results: Omit<BenchResults, "targets">): TargetResult[] {
  const largest = results.fleet[results.fleet.length - 1];
  const targets: TargetResult[] = [];
  const add = (id: string, label: string, value: number, limit: number, unit: string) =>
    targets.push({ id, label, value: round3(value), limit, unit, pass: value <= limit });
  if (largest) {
    add(
      "wallRatio",
      `create wall time, Bonneville / govmomi peer, at N=${largest.n}`,
      largest.ratios.createWall,
      1.0,
      "×",
    );
  }
  add(
    "soapPerCreate",
    `SOAP calls per create (worst N)`,
    Math.max(...results.fleet.map((f) => f.bonneville.soapPerCreate)),
    2.2,
    "calls",
  );
  add(
    "scaling",
    `time(${results.scaling.toN}) / time(${results.scaling.fromN}), Bonneville`,
    results.scaling.bonneville,
    // 12 for 50 → 500: a tenfold fleet may take at most 1.2 × ten times as long.
    round3((1.2 * results.scaling.toN) / results.scaling.fromN),
    "×",
  );
  for (const l of results.limit) {
    add(
      `limit-${l.n}-${l.hosts}`,
      `fleet time ÷ platform limit, Bonneville, N=${l.n} on ${l.hosts} hosts`,
      l.bonneville.ratio,
      1.1,
      "×",
    );
  }
  if (results.limit.length > 0) {
    add(
      "limitVsPeer",
      "fleet time ÷ ideal under the model, Bonneville / govmomi peer (worst N and cluster; each run against its own draws)",
      Math.max(...results.limit.map((l) => l.ratios.bonnevillePeerOverIdeal)),
      1.0,
      "×",
    );
    add(
      "admissionCost",
      "fleet time ÷ ideal with admission bounds ÷ without (worst N and cluster; each run against its own draws)",
      Math.max(...results.limit.map((l) => l.ratios.admissionCostOverIdeal)),
      1.05,
      "×",
    );
  }
  add("pluginStart", "plugin start, launch to port (median)", results.pluginStart.medianMs, 400, "ms");
  add(
    "cpuPerCreate",
    "plugin CPU per create (worst N)",
    Math.max(...results.fleet.map((f) => f.bonneville.cpuMsPerCreate)),
    5,
    "ms",
  );
  add("rss", `plugin RSS after ${results.memory.vms} VMs created and read`, results.memory.rssMb, 150, "MB");
  return targets;
}
