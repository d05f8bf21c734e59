/**
 * Fleet time against the platform's limit. With the simulator's vCenter timing model on
 * (sim/overlay/bonneville_timing.go: ~1 s instant clones, 8 provisioning operations per host,
 * 640 tasks per vCenter, guest address and agent start), N containers are forked at once and the
 * benchmark waits until every one reports running. The limit is what vSphere itself allows:
 *
 *   limit = N ÷ (hosts × per-host concurrency) × mean clone time + mean agent start
 *
 * (agent start: Tools publishing the address plus the agent reporting running). The figure is
 * fleet time ÷ limit, for Bonneville (with its admission control, and with it opened wide, to show
 * what the bounds cost) and for the govmomi peer under the same model.
 */
import { randomBytes } from "node:crypto";
import * as cpu from "./measure";
import {
  checkAndCreate,
  containerInputs,
  startWorld,
  StepGeneration,
  urnOf,
  VM_TOKEN,
  type FleetWorld,
} from "./fleet";
import { peerArgs, runProgram } from "./peer";
import type { PluginRunOptions } from "./plugin-env";
import { round2, round3, summarize, type LatencySummary } from "./measure";
import type { SimTimingModel, SimTimingReport } from "../../tests/support/sim";
import { ProviderRpcError } from "../../tests/harness";

/** The clients measured against the limit. */
export type LimitClient = "bonneville" | "bonneville-unbounded" | "govmomi-peer";

/** Provider configuration that opens admission control wide (no bound binds at these sizes). */
const UNBOUNDED = { maxTasksInFlight: "10000", maxTasksInFlightPerHost: "10000" } as const;

/** Longest wait for every container to report running. */
const RUNNING_TIMEOUT_MS = 10 * 60 * 1000;

/** One client's run at one N and cluster size. */
export interface LimitRun {
  readonly client: LimitClient;
  readonly n: number;
  readonly hosts: number;
  /** From the burst's start to the last container reporting running, ms. */
  readonly fleetMs: number;
  /** The platform's limit for this N and cluster, ms. */
  readonly limitMs: number;
  /** fleetMs ÷ limitMs. */
  readonly ratio: number;
  /**
   * What a client without any overhead would have reached with this run's own clone and boot
   * times (see {@link idealScheduleMs}), ms; and fleetMs ÷ that: the client's own share.
   */
  readonly idealMs: number;
  readonly ratioToIdeal: number;
  /**
   * The same schedule with the durations the model drew instead of those that ran, ms. The
   * difference is the simulator's own delay on the shared cores (timers that fire late), which a
   * real vCenter does not add: the limit ÷ this is the run's luck of the draw alone.
   */
  readonly idealDrawnMs: number;
  /** Per container: from the burst's start (every fork is asked for at once) to its running report, ms. */
  readonly forkToRunning: LatencySummary;
  /** Most of the client's tasks in flight (queued or running in vCenter) at once: overall, and on the busiest host. */
  readonly peakInFlight: number;
  readonly peakInFlightPerHost: number;
  /** Most tasks vCenter admitted at once (its limit is 640), and most clones one host ran at once (its limit is 8). */
  readonly peakVCenterTasks: number;
  readonly peakRunningPerHost: number;
  /** When vCenter received the first and the last fork, from the burst's start, ms. */
  readonly firstForkMs: number;
  readonly lastForkMs: number;
  /** CPU time of the client process over the burst, ms per container (Bonneville only; 0 for the peer). */
  readonly cpuMsPerCreate: number;
  /**
   * SOAP calls vCenter received from the client from the burst's start until every container ran,
   * per container (the peer's log-in and look-ups included), in all and by method.
   */
  readonly soapPerCreate: number;
  readonly soapPerCreateByMethod: Record<string, number>;
  /** How the engine's Checks went (Bonneville only): they are what spaces its forks out. */
  readonly checks?: CheckIssuance;
  readonly errors: readonly string[];
  /** The timing model the simulator ran. */
  readonly model: SimTimingModel;
}

/**
 * A Bonneville burst's Checks. The engine's step generator sends them one at a time and waits for
 * each answer (pkg/resource/deploy/step_generator.go; PULUMI_PARALLEL_DIFF makes Diff, not Check,
 * concurrent: pulumi/pulumi#18872), so the last fork cannot leave before the sum of their round trips.
 */
export interface CheckIssuance {
  /** Each Check's round trip during the burst (sent by the engine stand-in → answer received), ms. */
  readonly roundTrip: LatencySummary;
  /** From the burst's start to the last Check's answer, ms. */
  readonly lastAnswerMs: number;
  /**
   * CPU time over that span, ms: the engine stand-in's (this process, every thread) and the plugin's.
   * They share the machine's cores with the simulator.
   */
  readonly standInCpuMs: number;
  readonly pluginCpuMs: number;
  /** The same Checks, one at a time, once every container runs and the simulator is idle, ms. */
  readonly quietRoundTrip: LatencySummary;
}

/** Checks sent again after the fleet runs, to measure a quiet round trip (at most this many). */
const QUIET_CHECKS = 100;

/**
 * A StepGeneration that times each Check it runs and takes the CPU readings when the `n`th answers.
 */
class TimedStepGeneration extends StepGeneration {
  readonly roundTrips: number[] = [];
  lastAnswerAt = 0;
  standInCpuMs = 0;
  pluginCpuMs = 0;

  constructor(
    private readonly n: number,
    private readonly pluginPid: number,
  ) {
    super();
  }

  override run<T>(call: () => Promise<T>): Promise<T> {
    return super.run(async () => {
      const sent = performance.now();
      try {
        return await call();
      } finally {
        this.roundTrips.push(performance.now() - sent);
        if (this.roundTrips.length === this.n) {
          this.lastAnswerAt = Date.now();
          this.standInCpuMs = processCpuMs();
          this.pluginCpuMs = cpu.cpuMillis(this.pluginPid);
        }
      }
    });
  }
}

/** This process's CPU time (user and system, every thread), ms. */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The platform's limit for N containers on `hosts` hosts under `model`, ms. */
export function platformLimitMs(model: SimTimingModel, n: number, hosts: number): number {
  // The model draws log-normal times around medians; their mean is median × e^(σ²/2).
  const mean = (median: number) => median * Math.exp((model.spread * model.spread) / 2);
  return (
    (n / (hosts * model.perHost)) * mean(model.cloneMs) +
    mean(model.toolsAddressMs) +
    mean(model.agentStartMs)
  );
}

/** Runs one client's fleet of N on `hosts` hosts under the timing model (a fresh simulator). */
export async function runAgainstLimit(
  client: LimitClient,
  n: number,
  hosts: number,
  peerBinary: string,
  run: PluginRunOptions = {},
): Promise<LimitRun> {
  const world = await startWorld(run, {
    hosts,
    simEnv: { BONNEVILLE_SIM_TIMING: "vcenter" },
    ...(client === "bonneville-unbounded" ? { config: UNBOUNDED } : {}),
  });
  try {
    const errors: string[] = [];
    let vms: string[];
    let startMs: number;
    let cpuMs = 0;
    let issuance: (() => Promise<CheckIssuance>) | undefined;
    if (client === "govmomi-peer") {
      await world.plugin.close();
      await world.sim.resetStats();
      const stdout = await runProgram(peerBinary, peerArgs(world, n, "limit-peer"));
      const out = JSON.parse(stdout) as { startUnixMs: number; errors: string[] };
      errors.push(...out.errors);
      startMs = out.startUnixMs;
      const report = await world.sim.timing();
      vms = report.ops
        .filter((op) => op.method === "InstantClone_Task" && op.name?.startsWith("limit-peer-") && op.vm)
        .map((op) => op.vm!);
    } else {
      const ids: (string | undefined)[] = new Array(n);
      const generation = new TimedStepGeneration(n, world.plugin.pid);
      const cpuBefore = cpu.cpuMillis(world.plugin.pid);
      const standInBefore = processCpuMs();
      await world.sim.resetStats();
      startMs = Date.now();
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          try {
            ids[i] = (
              await checkAndCreate(world.plugin, VM_TOKEN, `c${i}`, containerInputs(world, i), generation)
            ).id;
          } catch (error) {
            errors.push(`#${i}: ${error instanceof ProviderRpcError ? error.details : String(error)}`);
          }
        }),
      );
      cpuMs = cpu.cpuMillis(world.plugin.pid) - cpuBefore;
      vms = ids.filter((id): id is string => id !== undefined);
      const burstStart = startMs;
      issuance = async () => ({
        roundTrip: summarize(generation.roundTrips),
        lastAnswerMs: round2(generation.lastAnswerAt - burstStart),
        standInCpuMs: round2(generation.standInCpuMs - standInBefore),
        pluginCpuMs: round2(generation.pluginCpuMs - cpuBefore),
        quietRoundTrip: await quietChecks(world, Math.min(n, QUIET_CHECKS)),
      });
    }
    const report = await waitRunning(world, vms, errors);
    const soap = cpu.perItem((await world.sim.stats()).calls, n);
    const checks = issuance ? await issuance() : undefined;
    const model = report.model!;
    const running = vms.map((vm) => report.running[vm]).filter((t): t is number => t !== undefined);
    const fleetMs = running.length > 0 ? Math.max(...running) - startMs : 0;
    const limitMs = platformLimitMs(model, n, hosts);
    const idealMs = idealScheduleMs(report, new Set(vms), model.perHost);
    const idealDrawnMs = idealScheduleMs(report, new Set(vms), model.perHost, "drawn");
    const flight = inFlight(report, new Set(vms));
    return {
      client,
      n,
      hosts,
      fleetMs: round2(fleetMs),
      limitMs: round2(limitMs),
      ratio: round3(fleetMs / limitMs),
      idealMs: round2(idealMs),
      ratioToIdeal: idealMs > 0 ? round3(fleetMs / idealMs) : 0,
      idealDrawnMs: round2(idealDrawnMs),
      forkToRunning: summarize(running.map((t) => t - startMs)),
      peakInFlight: flight.overall,
      peakInFlightPerHost: flight.perHost,
      peakVCenterTasks: report.peakVCenter,
      peakRunningPerHost: Math.max(0, ...Object.values(report.peakHost)),
      firstForkMs: round2(flight.firstQueuedAt - startMs),
      lastForkMs: round2(flight.lastQueuedAt - startMs),
      cpuMsPerCreate: round2(cpuMs / n),
      soapPerCreate: soap.total,
      soapPerCreateByMethod: soap.byMethod,
      ...(checks ? { checks } : {}),
      errors,
      model,
    };
  } finally {
    await world.close();
  }
}

/**
 * `count` Checks of the burst's inputs under new names, one at a time, timed: the round trip
 * without the burst's load. Check reads nothing from vCenter, so the simulator only idles.
 */
async function quietChecks(world: FleetWorld, count: number): Promise<LatencySummary> {
  const generation = new TimedStepGeneration(count, world.plugin.pid);
  for (let i = 0; i < count; i++) {
    const urn = urnOf(VM_TOKEN, `quiet-c${i}`);
    const checked = await generation.run(() =>
      world.plugin.rpc.check({ urn, news: containerInputs(world, i), randomSeed: randomBytes(32) }),
    );
    if (checked.failures.length > 0)
      throw new Error(`Check of quiet-c${i} failed: ${JSON.stringify(checked.failures)}`);
  }
  return summarize(generation.roundTrips);
}

/** Polls the timing report until every VM's guest reported running (or gives up, noting an error). */
async function waitRunning(
  world: FleetWorld,
  vms: readonly string[],
  errors: string[],
): Promise<SimTimingReport> {
  const deadline = Date.now() + RUNNING_TIMEOUT_MS;
  for (;;) {
    const report = await world.sim.timing();
    const missing = vms.filter((vm) => report.running[vm] === undefined);
    if (missing.length === 0) return report;
    if (Date.now() > deadline) {
      errors.push(`${missing.length} containers never reported running (${missing.slice(0, 5).join(", ")}…)`);
      return report;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The fleet time of a perfect client, with the durations this run drew: every clone asked for at
 * once, each host running its clones in the order they arrived on its `perHost` slots back to back,
 * and each fork then taking its own measured time from clone end to running (Tools' address and the
 * agent's start). The limit's formula is a fluid bound; this keeps the last wave and the spread of
 * the clones that happened, so fleet time ÷ this is what the client itself added.
 */
export function idealScheduleMs(
  report: SimTimingReport,
  vms: ReadonlySet<string>,
  perHost: number,
  durations: "as run" | "drawn" = "as run",
): number {
  const clones = report.ops
    .filter((op) => op.method === "InstantClone_Task" && op.vm && vms.has(op.vm))
    .filter(
      (op) => op.startedAt !== undefined && op.endedAt !== undefined && report.running[op.vm!] !== undefined,
    )
    .sort((a, b) => a.queuedAt - b.queuedAt);
  const slots = new Map<string, number[]>();
  let worst = 0;
  for (const op of clones) {
    let free = slots.get(op.host ?? "");
    if (!free) slots.set(op.host ?? "", (free = new Array<number>(perHost).fill(0)));
    const slot = free.indexOf(Math.min(...free));
    const clone = durations === "drawn" ? (op.drawnMs ?? 0) : op.endedAt! - op.startedAt!;
    const boot =
      durations === "drawn" ? (report.bootDrawn[op.vm!] ?? 0) : report.running[op.vm!]! - op.endedAt!;
    const end = free[slot]! + clone;
    free[slot] = end;
    worst = Math.max(worst, end + boot);
  }
  return worst;
}

/** Most of the given VMs' clone tasks in flight (asked for and not ended) at once, overall and per host. */
function inFlight(
  report: SimTimingReport,
  vms: ReadonlySet<string>,
): { overall: number; perHost: number; firstQueuedAt: number; lastQueuedAt: number } {
  const ops = report.ops.filter((op) => op.method === "InstantClone_Task" && op.vm && vms.has(op.vm));
  const peak = (list: typeof ops) => {
    const events = list.flatMap((op) => [
      { at: op.queuedAt, d: 1 },
      { at: op.endedAt ?? Infinity, d: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (now += e.d));
    return max;
  };
  const byHost = new Map<string, typeof ops>();
  for (const op of ops) byHost.set(op.host ?? "", [...(byHost.get(op.host ?? "") ?? []), op]);
  const queued = ops.map((op) => op.queuedAt);
  return {
    overall: peak(ops),
    perHost: Math.max(0, ...[...byHost.values()].map(peak)),
    firstQueuedAt: Math.min(...queued),
    lastQueuedAt: Math.max(...queued),
  };
}
