/** The machine the figures came from. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

export interface MachineInfo {
  readonly cpuModel: string;
  /** Processors available to this process (`nproc`). */
  readonly nproc: number;
  readonly ramGb: number;
  readonly node: string;
  readonly go: string;
  readonly kernel: string;
  /** 1-minute load average when the run started and ended (other work on the machine skews figures). */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

/** Describes this machine; `loadAtStart` is the 1-minute load average taken when the run began. */
export function machineInfo(loadAtStart: number): MachineInfo {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  let go = "unknown";
  try {
    go = execFileSync("go", ["version"], { encoding: "utf8" })
      .trim()
      .replace(/^go version /, "");
  } catch {
    // Go is only needed to build the peer and the simulator; its version is context.
  }
  return {
    cpuModel: model,
    nproc: os.availableParallelism(),
    ramGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    go,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: { start: round1(loadAtStart), end: round1(os.loadavg()[0] ?? 0) },
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
