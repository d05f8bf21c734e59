/**
 * `scripts/demo.sh --keep`: the embedded vSphere outlives the demo. It runs detached (its own
 * session, its output in build/demo/sim.log) and build/demo/kept.json records how to reach and stop
 * it; `scripts/demo.sh --stop` stops it, and with it everything the demo made (the simulator keeps
 * its inventory in memory only), and removes what the Pulumi CLI path kept.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Sim, parseReadyLine, simBinary, type SimEndpoint } from "../tests/support/sim";

const repoRoot = path.resolve(__dirname, "..");
/** Where a kept demo is recorded (BONNEVILLE_DEMO_STATE_DIR moves it, for tests). */
export const keptDir = process.env.BONNEVILLE_DEMO_STATE_DIR || path.join(repoRoot, "build", "demo");
const keptFile = path.join(keptDir, "kept.json");
const simLog = path.join(keptDir, "sim.log");

/** What build/demo/kept.json records. */
export interface KeptDemo {
  readonly simPid: number;
  readonly vsphere: SimEndpoint;
  /** The Pulumi CLI path's project copy and state, removed by --stop. */
  readonly workDir?: string;
}

/** A kept demo is in the way, or there is none to stop. */
export class KeptDemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeptDemoError";
  }
}

/** The kept demo, when its simulator still runs. */
export function keptDemo(): KeptDemo | undefined {
  if (!fs.existsSync(keptFile)) return undefined;
  const kept = JSON.parse(fs.readFileSync(keptFile, "utf8")) as KeptDemo;
  return isRunning(kept.simPid) ? kept : undefined;
}

/** Starts the embedded vSphere (with `env` added) detached from this process; it runs until `--stop`. */
export async function startDetachedSim(env: Record<string, string> = {}): Promise<{ sim: Sim; pid: number }> {
  const running = keptDemo();
  if (running) {
    throw new KeptDemoError(
      `a kept demo is still running (embedded vSphere at ${running.vsphere.url}, pid ${running.simPid}); ` +
        `stop it first: scripts/demo.sh --stop`,
    );
  }
  fs.mkdirSync(keptDir, { recursive: true });
  const log = fs.openSync(simLog, "w");
  const child = spawn(simBinary, [], {
    env: { ...process.env, BONNEVILLE_SIM_PORT: "0", ...env },
    stdio: ["ignore", log, log],
    detached: true,
  });
  fs.closeSync(log);
  child.unref();
  const deadline = Date.now() + 30000;
  for (;;) {
    const ready = fs
      .readFileSync(simLog, "utf8")
      .split("\n")
      .find((line) => line.startsWith("BONNEVILLE_SIM_READY "));
    if (ready) return { sim: Sim.attach(parseReadyLine(ready)), pid: child.pid! };
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      throw new KeptDemoError(
        `the embedded vSphere did not start (see ${simLog}): ${fs.readFileSync(simLog, "utf8").slice(-2000)}`,
      );
    }
    // Polls the log file it writes: the simulator's only channel once this process is gone.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Records the kept demo for `--stop`. */
export function recordKeptDemo(kept: KeptDemo): void {
  fs.mkdirSync(keptDir, { recursive: true });
  fs.writeFileSync(keptFile, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
}

/** Stops a detached simulator (SIGTERM) and waits up to 10 s for it to go. */
export async function stopSim(pid: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10000;
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `--stop`: stops the kept demo's simulator and removes what it kept. Resolves with what it did. */
export async function stopKeptDemo(): Promise<string> {
  if (!fs.existsSync(keptFile)) throw new KeptDemoError(`no kept demo to stop (${keptFile} is absent)`);
  const kept = JSON.parse(fs.readFileSync(keptFile, "utf8")) as KeptDemo;
  const wasRunning = isRunning(kept.simPid);
  await stopSim(kept.simPid);
  if (kept.workDir) fs.rmSync(path.dirname(kept.workDir), { recursive: true, force: true });
  fs.rmSync(keptFile, { force: true });
  return wasRunning
    ? `stopped the embedded vSphere at ${kept.vsphere.url} (pid ${kept.simPid}); everything the demo made was in it`
    : `the embedded vSphere (pid ${kept.simPid}) had already stopped; removed the record of it`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
