/**
 * How the plugin process keeps its V8 heap small (issue 18: RSS after 1,000 VMs created and read).
 *
 * A burst of creates holds 1,000 requests for seconds, so much of what they allocate survives the
 * young generation and dies in the old one; V8 then lets the old generation grow to up to four
 * times what was live at its last full collection before it collects again, and keeps that memory
 * after the burst. Three measures, all taken by the plugin executable only (`main.ts`; servers that
 * tests start in their own process do without):
 *
 * - {@link limitHeapGrowth}: the next full collection starts once the old generation has grown by
 *   {@link HEAP_GROWING_PERCENT} % over what the last one left live (V8 adds the young generation's
 *   semi-space capacity and at least 8 MB), instead of V8's dynamic factor (up to 300 %). V8 reads this
 *   flag whenever it sets its next limit, so it can be set at run time, where the launcher
 *   (`#!/usr/bin/env node`) cannot pass flags.
 * - {@link YoungGenerationCap}: the young generation stops growing at {@link YOUNG_GENERATION_MB}
 *   (two 4 MB semi-spaces) instead of V8's 32 MB; that also takes 12 MB off the old generation's limit.
 * - {@link IdleCollector}: once no RPC has been in flight for {@link IDLE_COLLECT_MS}, one full
 *   collection. Waiting that long matters: V8 shrinks its young generation (32 MB after a burst)
 *   only in a collection that finds the allocation rate of about the last 5 s low.
 */
import { PerformanceObserver } from "node:perf_hooks";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { InternalError } from "../resources/errors";

/** Old-generation growth allowed between full collections, percent of what the last left live. */
export const HEAP_GROWING_PERCENT = 25;

/** Young generation (both semi-spaces) the plugin lets V8 grow to, MB. V8's own maximum: 32. */
export const YOUNG_GENERATION_MB = 8;

/** V8's default `--semi-space-growth-factor`. */
const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

/** Quiet time, with no RPC in flight, after which {@link IdleCollector} collects. */
export const IDLE_COLLECT_MS = 6000;

/** Sets V8's old-generation growth factor to 1 + `percent` / 100 (0: V8's dynamic factor). */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  if (!Number.isInteger(percent) || percent < 0) {
    throw new InternalError(`heap growth must be a whole number of percent, 0 or more; got ${percent}`);
  }
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * V8's full garbage collection as a function, without starting node with `--expose-gc`: the flag
 * is set only while one new context is made (V8 installs `gc` into contexts made while it is set),
 * and cleared again, so no other context sees `gc`.
 */
export function fullCollection(): () => void {
  v8.setFlagsFromString("--expose-gc");
  let gc: unknown;
  try {
    gc = vm.runInNewContext("gc");
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
  if (typeof gc !== "function") {
    throw new InternalError(`V8 gave no gc function with --expose-gc; got ${typeof gc}`);
  }
  return () => {
    (gc as () => void)();
  };
}

/**
 * Keeps V8's young generation at `capMb` or under. V8 fixes the young generation's maximum when the
 * process starts (`--max-semi-space-size`, which the launcher cannot pass), but grows it up to that
 * maximum step by step, by `--semi-space-growth-factor`, which it reads each time: after each garbage
 * collection (seen by a `gc` performance observer, shortly after it ends) the factor is set to 1,
 * no growth, once the young generation has reached the cap, and back to V8's 2 when it is under
 * it (a memory-reducing collection, as the idle one, shrinks it to 1 MB).
 */
export class YoungGenerationCap {
  private observer: PerformanceObserver | undefined;
  private growing = true;

  constructor(private readonly capMb: number = YOUNG_GENERATION_MB) {
    if (!Number.isInteger(capMb) || capMb < 1) {
      throw new InternalError(
        `the young generation cap must be a whole number of MB, 1 or more; got ${capMb}`,
      );
    }
  }

  /** True while V8 may grow the young generation. */
  get mayGrow(): boolean {
    return this.growing;
  }

  /** Starts watching collections (and applies the cap to the young generation's present size). */
  start(): this {
    if (this.observer) return this;
    this.observer = new PerformanceObserver(() => this.check());
    this.observer.observe({ entryTypes: ["gc"] });
    this.check();
    return this;
  }

  /** Stops watching and gives V8 its own growth back. */
  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
    if (!this.growing) v8.setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
    this.growing = true;
  }

  private check(): void {
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
    if (!young) return;
    const grow = young.space_size < this.capMb * 1048576;
    if (grow === this.growing) return;
    this.growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? V8_SEMI_SPACE_GROWTH_FACTOR : 1}`);
  }
}

/** What {@link IdleCollector} needs to know about RPCs. */
export interface RpcActivity {
  /** An RPC arrived. */
  begin(): void;
  /** An RPC was answered (each `begin` has one `end`). */
  end(): void;
}

/**
 * Runs `collect` once per quiet period: when no RPC has been in flight for `idleMs` after at least
 * one was. An RPC arriving earlier cancels the wait, so it never runs while RPCs are in flight or
 * between the RPCs of a burst less than `idleMs` apart. The timer does not keep the process alive.
 */
export class IdleCollector implements RpcActivity {
  private inFlight = 0;
  /** An RPC ran since the last collection. */
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private collected = 0;

  constructor(
    private readonly collect: () => void,
    private readonly idleMs: number = IDLE_COLLECT_MS,
  ) {}

  /** Collections run so far. */
  get collections(): number {
    return this.collected;
  }

  begin(): void {
    this.inFlight++;
    this.active = true;
    this.cancel();
  }

  end(): void {
    if (this.inFlight === 0) throw new InternalError("an RPC ended that had not begun");
    this.inFlight--;
    if (this.inFlight > 0) return;
    this.cancel();
    this.timer = setTimeout(() => this.quiet(), this.idleMs);
    this.timer.unref();
  }

  /** Stops waiting (at shutdown). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private quiet(): void {
    this.timer = undefined;
    if (this.inFlight > 0 || !this.active) return;
    this.active = false;
    this.collected++;
    this.collect();
  }
}
