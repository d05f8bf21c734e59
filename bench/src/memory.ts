/**
 * Memory: the plugin's resident set after it has managed a large fleet —
 * every VM created (the Checks one at a time, as the engine sends them, the
 * Creates concurrently), then every VM read back (concurrently, as
 * `pulumi refresh` does) — from /proc/<pid>/status.
 */
import {
  checkAndCreate,
  containerInputs,
  startWorld,
  StepGeneration,
  timedPhase,
  VM_TOKEN,
  type Created,
  type FleetWorld,
} from "./fleet";
import { median, memoryMb, round2 } from "./measure";
import type { PluginRunOptions } from "./plugin-env";

/** Memory figures of one run, or the medians of several (then `rssMbRuns` lists each run's RSS). */
export interface MemoryFigures {
  readonly vms: number;
  /** VmRSS of each run, MB (one entry for a single run). */
  readonly rssMbRuns: readonly number[];
  /** VmRSS after the creates and the reads, MB (the target's figure). */
  readonly rssMb: number;
  /** VmHWM: the most the process held at any moment, MB. */
  readonly peakRssMb: number;
  /** VmRSS after a further {@link IDLE_MS} with no work (V8 returns memory when idle), MB. */
  readonly rssAfterIdleMb: number;
  /** VmRSS once the host and parents existed, before any container, MB. */
  readonly baselineRssMb: number;
  readonly createWallMs: number;
  readonly readWallMs: number;
  /** SOAP calls per Read (what a refresh costs). */
  readonly soapPerRead: number;
  readonly errors: readonly string[];
}

/** How long the memory figure waits, idle, for its second RSS reading. */
const IDLE_MS = 10_000;

/** A refresh of a large fleet: the Read phase's time and the plugin's memory around it. */
export interface RefreshFigures {
  readonly vms: number;
  /** All Reads issued at once, until the last answered, ms. */
  readonly readWallMs: number;
  readonly soapPerRead: number;
  /** Plugin CPU per Read, ms. */
  readonly cpuMsPerRead: number;
  /** VmRSS just before the Reads and just after, MB; VmHWM (peak over the process's life) after. */
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly peakRssMb: number;
  readonly errors: readonly string[];
}

/**
 * Creates `count` container VMs through the plugin (in bursts of `batch`, as a series of `pulumi up`s
 * would grow a fleet; not timed), then reads them all at once as `pulumi refresh` does.
 */
export async function measureRefresh(
  count: number,
  batch = 1000,
  run: PluginRunOptions = {},
): Promise<RefreshFigures> {
  const world = await startWorld(run);
  try {
    const made: Created[] = [];
    const errors: string[] = [];
    for (let from = 0; from < count; from += batch) {
      const size = Math.min(batch, count - from);
      const generation = new StepGeneration();
      const phase = await timedPhase(world, size, async (k) => {
        const i = from + k;
        made[i] = await checkAndCreate(
          world.plugin,
          VM_TOKEN,
          `c${i}`,
          containerInputs(world, i),
          generation,
        );
      });
      errors.push(...phase.errors.map((e) => `create ${e}`));
    }
    const before = memoryMb(world.plugin.pid);
    const read = await readAll(world, made, count);
    const after = memoryMb(world.plugin.pid);
    return {
      vms: count,
      readWallMs: read.wallMs,
      soapPerRead: read.soap.perItem,
      cpuMsPerRead: read.clientCpuMsPerItem,
      rssBeforeMb: before.rssMb,
      rssAfterMb: after.rssMb,
      peakRssMb: after.peakRssMb,
      errors: [...errors, ...read.errors.map((e) => `read ${e}`)],
    };
  } finally {
    await world.close();
  }
}

/** Reads every made VM at once through the plugin (a refresh). */
function readAll(world: FleetWorld, made: readonly (Created | undefined)[], count: number) {
  return timedPhase(world, count, async (i) => {
    const c = made[i];
    if (!c) throw new Error("was not created");
    const got = await world.plugin.rpc.read({
      urn: c.urn,
      id: c.id,
      properties: c.outputs,
      inputs: c.inputs,
    });
    if (got.id !== c.id) throw new Error(`Read returned ID "${got.id}", not ${c.id}`);
  });
}

/** Creates `count` container VMs through the plugin, reads them all, and reads the plugin's memory. */
export async function measureMemory(count: number, run: PluginRunOptions = {}): Promise<MemoryFigures> {
  const world = await startWorld(run);
  try {
    const baseline = memoryMb(world.plugin.pid);
    const made: Created[] = [];
    const generation = new StepGeneration();
    const create = await timedPhase(world, count, async (i) => {
      made[i] = await checkAndCreate(world.plugin, VM_TOKEN, `c${i}`, containerInputs(world, i), generation);
    });
    const read = await readAll(world, made, count);
    const after = memoryMb(world.plugin.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const idle = memoryMb(world.plugin.pid);
    return {
      vms: count,
      rssMbRuns: [after.rssMb],
      rssMb: after.rssMb,
      peakRssMb: after.peakRssMb,
      rssAfterIdleMb: idle.rssMb,
      baselineRssMb: baseline.rssMb,
      createWallMs: create.wallMs,
      readWallMs: read.wallMs,
      soapPerRead: read.soap.perItem,
      errors: [...create.errors.map((e) => `create ${e}`), ...read.errors.map((e) => `read ${e}`)],
    };
  } finally {
    await world.close();
  }
}

/** Medians over runs (RSS depends on when V8 last collected, so one run is not enough). */
export function summarizeMemory(runs: readonly MemoryFigures[]): MemoryFigures {
  const med = (pick: (m: MemoryFigures) => number) => round2(median(runs.map(pick)));
  return {
    vms: runs[0]!.vms,
    rssMbRuns: runs.map((m) => m.rssMb),
    rssMb: med((m) => m.rssMb),
    peakRssMb: med((m) => m.peakRssMb),
    rssAfterIdleMb: med((m) => m.rssAfterIdleMb),
    baselineRssMb: med((m) => m.baselineRssMb),
    createWallMs: med((m) => m.createWallMs),
    readWallMs: med((m) => m.readWallMs),
    soapPerRead: med((m) => m.soapPerRead),
    errors: runs.flatMap((m) => m.errors),
  };
}
