/**
 * The whole benchmark: the fleet at each N for both clients (repeated, in
 * alternating order, each run on a fresh simulator), plugin start, memory at
 * a large fleet, and optionally a CPU profile of the plugin's creates.
 */
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../../tests/harness";
import { runBonnevilleFleet, startWorld, type BonnevilleFleetFigures } from "./fleet";
import { machineInfo } from "./machine";
import {
  measureMemory,
  measureRefresh,
  summarizeMemory,
  type MemoryFigures,
  type RefreshFigures,
} from "./memory";
import { buildPeer, runPeerFleet, type PeerFleetFigures } from "./peer";
import { measurePluginStart } from "./plugin-start";
import { profileCreates, type ProfileFigures } from "./profile";
import { evaluateTargets, ratio, summarizeRuns, type BenchResults, type FleetComparison } from "./results";
import { round2, round3 } from "./measure";
import { runAgainstLimit, type LimitRun } from "./limit";
import type { LimitComparison } from "./results";

/** What to run. */
export interface BenchOptions {
  /** Fleet sizes, ascending. Default [50, 500]. */
  readonly sizes?: readonly number[];
  /** Runs of each client at each size (medians are reported). Default 5. */
  readonly repeats?: number;
  /** Plugin launches timed. Default 20. */
  readonly pluginStarts?: number;
  /** Container VMs for the memory figure. Default 1000. */
  readonly memoryVms?: number;
  /** Runs of the memory measurement (the median is reported). Default 3. */
  readonly memoryRuns?: number;
  /** Where to write a CPU profile of the plugin over creates at the largest N; omitted: no profile. */
  readonly profileFile?: string;
  /** A provider/ tree to benchmark instead of this repository's (A/B runs of a change; see bench/ab). */
  readonly providerDir?: string;
  /** Fleet sizes run against the platform's limit under the vCenter timing model. Default [100, 1000]; [] skips. */
  readonly limitSizes?: readonly number[];
  /** Cluster sizes (ESXi hosts) for those runs. Default [3, 12]. */
  readonly limitHosts?: readonly number[];
  /**
   * Runs of each client against the limit at sizes up to {@link LIMIT_REPEAT_MAX_N} (the median run
   * is reported); larger fleets run once. Default 3.
   */
  readonly limitRepeats?: number;
  /** Container VMs for the refresh figure (all read at once). Default 10000; 0 skips. */
  readonly refreshVms?: number;
  /** Progress lines. Default: none. */
  readonly log?: (line: string) => void;
}

/**
 * Fleets this small are repeated against the limit. A fleet of one or two waves of clones ends
 * with its slowest few random draws, which moved one client's 100-container fleet from 1.00 to
 * 1.18 of the limit between runs; at 1,000 the waves average the draws out, and a run takes
 * minutes.
 */
export const LIMIT_REPEAT_MAX_N = 200;

/** The run whose fleet time ÷ ideal is the median of `runs` (the lower middle one of an even count). */
export function medianRun(runs: readonly LimitRun[]): LimitRun {
  if (runs.length === 0) throw new Error("no runs to take the median of");
  const sorted = [...runs].sort((a, b) => a.ratioToIdeal - b.ratioToIdeal);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The method, as stated in the results. */
const METHOD =
  "Each run starts a fresh embedded vSphere, starts the plugin binary as the engine does and creates a " +
  "ContainerHost and one ParentTemplate per ESXi host (untimed). Bonneville: N concurrent Check+Create " +
  "calls, then N concurrent Deletes. Peer: the same N instant clones of the same parents (same spec " +
  "shape) with govmomi, task.Wait per clone, then power-off+destroy of each; the plugin is stopped " +
  "first. Clients alternate order between repeats; figures are medians over the repeats.";

/** Runs the benchmark and returns its figures (nothing is written here). */
export async function runBench(options: BenchOptions = {}): Promise<BenchResults> {
  const sizes = [...(options.sizes ?? [50, 500])].sort((a, b) => a - b);
  const repeats = options.repeats ?? 5;
  const memoryRuns = options.memoryRuns ?? 3;
  const pluginStarts = options.pluginStarts ?? 20;
  const memoryVms = options.memoryVms ?? 1000;
  const log = options.log ?? (() => undefined);
  const run = options.providerDir ? { providerDir: options.providerDir } : {};
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`fleet sizes must be positive integers, got ${JSON.stringify(options.sizes)}`);
  }
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats must be ≥ 1, got ${repeats}`);
  if (!Number.isInteger(memoryRuns) || memoryRuns < 1) {
    throw new Error(`memoryRuns must be ≥ 1, got ${memoryRuns}`);
  }
  const loadAtStart = os.loadavg()[0] ?? 0;
  const started = performance.now();
  const startedAt = new Date().toISOString();

  const peerBinary = buildPeer();
  const bonnevilleRuns = new Map<number, BonnevilleFleetFigures[]>(sizes.map((n) => [n, []]));
  const peerRuns = new Map<number, PeerFleetFigures[]>(sizes.map((n) => [n, []]));
  for (let r = 0; r < repeats; r++) {
    for (const [k, n] of sizes.entries()) {
      const order = (r + k) % 2 === 0 ? (["bonneville", "peer"] as const) : (["peer", "bonneville"] as const);
      for (const client of order) {
        const world = await startWorld(run);
        try {
          if (client === "bonneville") {
            const f = await runBonnevilleFleet(world, n);
            bonnevilleRuns.get(n)!.push(f);
            log(
              `fleet N=${n} bonneville run ${r + 1}/${repeats}: create ${seconds(f.create.wallMs)}, delete ${seconds(f.delete.wallMs)}` +
                errorNote(f.create.errors.length + f.delete.errors.length),
            );
          } else {
            await world.plugin.close();
            const f = await runPeerFleet(world, n, peerBinary);
            peerRuns.get(n)!.push(f);
            log(
              `fleet N=${n} peer run ${r + 1}/${repeats}: create ${seconds(f.create.wallMs)}, delete ${seconds(f.delete.wallMs)}` +
                errorNote(f.create.errors.length + f.delete.errors.length),
            );
          }
        } finally {
          await world.close();
        }
      }
    }
  }

  const fleet: FleetComparison[] = sizes.map((n) => {
    const b = bonnevilleRuns.get(n)!;
    const p = peerRuns.get(n)!;
    const bonneville = {
      ...summarizeRuns(b),
      errors: b.reduce(
        (sum, f) =>
          sum +
          f.create.errors.length +
          f.delete.errors.length +
          (f.verified.containersRunning === n ? 0 : 1) +
          (f.verified.containersLeftAfterDelete === 0 ? 0 : 1),
        0,
      ),
    };
    const peer = {
      ...summarizeRuns(p),
      errors: p.reduce(
        (sum, f) =>
          sum +
          f.create.errors.length +
          f.delete.errors.length +
          (f.verified.containersLeftAfterDelete === 0 ? 0 : 1),
        0,
      ),
    };
    return {
      n,
      bonneville,
      peer,
      ratios: {
        createWall: ratio(bonneville.createWallMs, peer.createWallMs),
        soapPerCreate: ratio(bonneville.soapPerCreate, peer.soapPerCreate),
        deleteWall: ratio(bonneville.deleteWallMs, peer.deleteWallMs),
        soapPerDelete: ratio(bonneville.soapPerDelete, peer.soapPerDelete),
      },
      bonnevilleRuns: b,
      peerRuns: p,
    };
  });
  const first = fleet[0]!;
  const last = fleet[fleet.length - 1]!;
  const scaling = {
    fromN: first.n,
    toN: last.n,
    bonneville: ratio(last.bonneville.createWallMs, first.bonneville.createWallMs),
    peer: ratio(last.peer.createWallMs, first.peer.createWallMs),
  };

  const limit: LimitComparison[] = [];
  const limitRepeats = options.limitRepeats ?? 3;
  if (!Number.isInteger(limitRepeats) || limitRepeats < 1) {
    throw new Error(`limitRepeats must be ≥ 1, got ${limitRepeats}`);
  }
  for (const n of options.limitSizes ?? [100, 1000]) {
    for (const hosts of options.limitHosts ?? [3, 12]) {
      const runs = { bonneville: [] as LimitRun[], peer: [] as LimitRun[], unbounded: [] as LimitRun[] };
      const repeats = n <= LIMIT_REPEAT_MAX_N ? limitRepeats : 1;
      for (let r = 0; r < repeats; r++) {
        for (const [key, client] of [
          ["bonneville", "bonneville"],
          ["peer", "govmomi-peer"],
          ["unbounded", "bonneville-unbounded"],
        ] as const) {
          const run1 = await runAgainstLimit(client, n, hosts, peerBinary, run);
          runs[key].push(run1);
          log(
            `limit N=${n} on ${hosts} hosts, ${client}${repeats > 1 ? ` (run ${r + 1}/${repeats})` : ""}: every container running after ${seconds(run1.fleetMs)} ` +
              `(limit ${seconds(run1.limitMs)}, ratio ${run1.ratio}, ÷ ideal ${run1.ratioToIdeal}; fork-to-running p50 ${seconds(run1.forkToRunning.p50)}, ` +
              `p99 ${seconds(run1.forkToRunning.p99)})${errorNote(run1.errors.length)}`,
          );
        }
      }
      const bonneville = medianRun(runs.bonneville);
      const unbounded = medianRun(runs.unbounded);
      const peer = medianRun(runs.peer);
      limit.push({
        n,
        hosts,
        repeats,
        bonneville,
        unbounded,
        peer,
        ratiosToIdealRuns: {
          bonneville: runs.bonneville.map((r) => r.ratioToIdeal),
          unbounded: runs.unbounded.map((r) => r.ratioToIdeal),
          peer: runs.peer.map((r) => r.ratioToIdeal),
        },
        ratios: {
          bonnevillePeer: peer.fleetMs > 0 ? round3(bonneville.fleetMs / peer.fleetMs) : 0,
          admissionCost: unbounded.fleetMs > 0 ? round3(bonneville.fleetMs / unbounded.fleetMs) : 0,
          bonnevillePeerOverIdeal:
            peer.ratioToIdeal > 0 ? round3(bonneville.ratioToIdeal / peer.ratioToIdeal) : 0,
          admissionCostOverIdeal:
            unbounded.ratioToIdeal > 0 ? round3(bonneville.ratioToIdeal / unbounded.ratioToIdeal) : 0,
        },
      });
    }
  }

  log(`plugin start: ${pluginStarts} launches`);
  const pluginStart = await measurePluginStart(pluginStarts, run);
  log(`plugin start: median ${pluginStart.medianMs} ms, p90 ${pluginStart.p90Ms} ms`);

  const memoryRunFigures: MemoryFigures[] = [];
  for (let r = 0; r < memoryRuns; r++) {
    const m = await measureMemory(memoryVms, run);
    memoryRunFigures.push(m);
    log(
      `memory run ${r + 1}/${memoryRuns}: ${memoryVms} container VMs created and read, RSS ${m.rssMb} MB (peak ${m.peakRssMb} MB)${errorNote(m.errors.length)}`,
    );
  }
  const memory = summarizeMemory(memoryRunFigures);

  const refreshVms = options.refreshVms ?? 10000;
  let refresh: RefreshFigures | undefined;
  if (refreshVms > 0) {
    log(`refresh: ${refreshVms} container VMs created (in bursts of 1000), then all read at once`);
    refresh = await measureRefresh(refreshVms, 1000, run);
    log(
      `refresh: ${refreshVms} Reads in ${seconds(refresh.readWallMs)}, RSS ${refresh.rssBeforeMb} → ${refresh.rssAfterMb} MB (peak ${refresh.peakRssMb} MB)${errorNote(refresh.errors.length)}`,
    );
  }

  let profile: ProfileFigures | undefined;
  if (options.profileFile) {
    log(`profile: plugin CPU over ${last.n} creates`);
    profile = await profileCreates(last.n, options.profileFile, run);
    log(`profile: written to ${path.relative(repoRoot, profile.file)}`);
  }

  const partial = {
    schema: 1 as const,
    startedAt,
    durationSeconds: round2((performance.now() - started) / 1000),
    machine: machineInfo(loadAtStart),
    settings: {
      sizes,
      repeats,
      pluginStarts,
      memoryVms,
      memoryRuns,
      limitSizes: options.limitSizes ?? [100, 1000],
      limitHosts: options.limitHosts ?? [3, 12],
      limitRepeats,
      refreshVms,
      provider: options.providerDir ? path.resolve(options.providerDir) : "provider/ of this repository",
      method: METHOD,
    },
    fleet,
    scaling,
    limit,
    limitModel: limit[0]?.bonneville.model,
    pluginStart,
    memory,
    refresh,
    profile,
  };
  return { ...partial, targets: evaluateTargets(partial) };
}

/** Failed operations of a run: the figures only count when there are none. */
export function failureCount(results: BenchResults): number {
  return (
    results.fleet.reduce((sum, f) => sum + f.bonneville.errors + f.peer.errors, 0) +
    results.memory.errors.length +
    (results.refresh?.errors.length ?? 0) +
    results.limit.reduce(
      (sum, l) => sum + l.bonneville.errors.length + l.unbounded.errors.length + l.peer.errors.length,
      0,
    )
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function errorNote(count: number): string {
  return count > 0 ? ` (${count} FAILED operations)` : "";
}
