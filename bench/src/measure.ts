/**
 * Measuring: latency summaries, and a process's CPU time and memory read from
 * /proc (Linux). Nothing here knows about vSphere or Pulumi.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

/** A latency distribution in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Rounds to two decimals (figures are reported in ms; more digits are noise). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Rounds to three decimals (calls per create, where 1 call in 500 is 0.002). */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The median of some numbers (the mean of the middle two for an even count; 0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Summarises samples (negative samples, marking failures, are left out). */
export function summarize(samples: readonly number[]): LatencySummary {
  const ok = samples.filter((s) => s >= 0).sort((a, b) => a - b);
  const sum = ok.reduce((a, b) => a + b, 0);
  return {
    count: ok.length,
    min: round2(ok[0] ?? 0),
    p50: round2(quantile(ok, 0.5)),
    p90: round2(quantile(ok, 0.9)),
    p99: round2(quantile(ok, 0.99)),
    max: round2(ok[ok.length - 1] ?? 0),
    mean: round2(ok.length ? sum / ok.length : 0),
  };
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux when that is unavailable). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from
 * fields 14 and 15 of /proc/<pid>/stat. Resolution is one clock tick (10 ms).
 */
export function cpuMillis(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot read CPU time from /proc/${pid}/stat: ${stat}`);
  return (ticks * 1000) / clockTicksPerSecond();
}

/** Resident memory of a process now and at its peak, in MB (VmRSS and VmHWM of /proc/<pid>/status). */
export function memoryMb(pid: number): { readonly rssMb: number; readonly peakRssMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(m[1]);
  };
  return { rssMb: round2(kb("VmRSS") / 1024), peakRssMb: round2(kb("VmHWM") / 1024) };
}

/** Per-method call counts divided by `per`, and their total. */
export function perItem(
  calls: Readonly<Record<string, number>>,
  per: number,
): { readonly byMethod: Record<string, number>; readonly total: number } {
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (const [method, count] of Object.entries(calls).sort(([a], [b]) => a.localeCompare(b))) {
    byMethod[method] = round3(count / per);
    total += count;
  }
  return { byMethod, total: round3(total / per) };
}

/** IDs of this process's children whose command name (/proc/<pid>/comm) is `name`. */
export function childProcessIds(name: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === name.slice(0, 15) && ppid === process.pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
