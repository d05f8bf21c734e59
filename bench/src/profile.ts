/**
 * Where the plugin's CPU goes: one fleet create phase with the plugin under
 * `node --cpu-prof`, and the profile's self time grouped by where the code
 * lives (a package, a provider module, Node's HTTP/TLS internals, the garbage
 * collector). The raw .cpuprofile is kept for Chrome DevTools or speedscope.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkAndCreate, containerInputs, startWorld, StepGeneration, timedPhase, VM_TOKEN } from "./fleet";
import { round2 } from "./measure";
import type { PluginRunOptions } from "./plugin-env";

/** One group of the profile. */
export interface ProfileGroup {
  readonly group: string;
  readonly selfMs: number;
  /** Share of the profile's busy (non-idle) time, %. */
  readonly percent: number;
}

/** The summary of one profiled create phase. */
export interface ProfileFigures {
  readonly n: number;
  /** Busy (non-idle) time the profile saw over the plugin's life, ms (setup included). */
  readonly busyMs: number;
  readonly groups: readonly ProfileGroup[];
  /** Where the raw profile was written. */
  readonly file: string;
}

interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Profiles the plugin over N concurrent creates; writes the .cpuprofile to `outFile`. */
export async function profileCreates(
  n: number,
  outFile: string,
  run: PluginRunOptions = {},
): Promise<ProfileFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-bench-prof-"));
  const world = await startWorld({
    ...run,
    nodeFlags: [...(run.nodeFlags ?? []), "--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  try {
    const generation = new StepGeneration();
    await timedPhase(world, n, async (i) => {
      await checkAndCreate(world.plugin, VM_TOKEN, `c${i}`, containerInputs(world, i), generation);
    });
  } finally {
    // The profile is written when the plugin exits.
    await world.close();
  }
  const written = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (written.length !== 1) throw new Error(`expected one CPU profile in ${dir}, found ${written.length}`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.copyFileSync(path.join(dir, written[0]!), outFile);
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    n,
    ...summarizeProfile(JSON.parse(fs.readFileSync(outFile, "utf8")) as CpuProfile),
    file: outFile,
  };
}

/** Self time by group, largest first, idle time left out. */
export function summarizeProfile(profile: CpuProfile): { busyMs: number; groups: ProfileGroup[] } {
  const groupOf = new Map<number, string>();
  for (const node of profile.nodes) groupOf.set(node.id, groupFor(node.callFrame));
  const micros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const group = groupOf.get(id) ?? "(unknown)";
    micros.set(group, (micros.get(group) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  micros.delete("(idle)");
  const busy = [...micros.values()].reduce((a, b) => a + b, 0);
  const groups = [...micros.entries()]
    .sort(([, a], [, b]) => b - a)
    .map(([group, us]) => ({
      group,
      selfMs: round2(us / 1000),
      percent: round2(busy ? (100 * us) / busy : 0),
    }));
  return { busyMs: round2(busy / 1000), groups };
}

/** The group a stack frame belongs to. */
function groupFor(frame: { readonly functionName: string; readonly url: string }): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(garbage collector)") return "garbage collection";
    if (functionName === "(idle)" || functionName === "(program)") return functionName;
    return "native (socket writes, regexps…)";
  }
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    const name = parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return `package ${name}`;
  }
  const provider = url.indexOf("/provider/dist/");
  if (provider >= 0) return `provider ${url.slice(provider + "/provider/dist/".length).replace(/\.js$/, "")}`;
  if (url.startsWith("node:")) {
    const name = url.slice("node:".length);
    if (/http|_tls|tls|net|stream|buffer/.test(name)) return "node http/tls/streams";
    if (/modules|vm/.test(name)) return "node module loading";
    return "node other";
  }
  return "other";
}
