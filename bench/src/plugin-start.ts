/**
 * Plugin start: from spawning `pulumi-resource-bonneville` (as the engine
 * does) to the port line on its stdout, repeated. A bare `node -e 0` run is
 * timed too, as the floor any Node plugin starts from.
 */
import { spawnSync } from "node:child_process";
import { ensurePluginBuilt, startPlugin } from "../../tests/harness";
import { pluginEnv, type PluginRunOptions } from "./plugin-env";
import { quantile, round2 } from "./measure";

/** Plugin start figures, ms. */
export interface PluginStartFigures {
  readonly samples: readonly number[];
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Median time for `node -e 0` to run and exit on this machine (context, not a target). */
  readonly nodeBaselineMs: number;
}

/** Starts and stops the plugin `count` times (one at a time) and times each launch to its port line. */
export async function measurePluginStart(
  count: number,
  run: PluginRunOptions = {},
): Promise<PluginStartFigures> {
  ensurePluginBuilt();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const plugin = await startPlugin({ env: pluginEnv(run) });
    samples.push(plugin.startupMs);
    await plugin.close();
  }
  const baseline: number[] = [];
  for (let i = 0; i < Math.min(count, 5); i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ["-e", "0"], { env: { ...process.env, NODE_OPTIONS: "" } });
    baseline.push(performance.now() - t0);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: samples.map(round2),
    medianMs: round2(quantile(sorted, 0.5)),
    p90Ms: round2(quantile(sorted, 0.9)),
    nodeBaselineMs: round2(
      quantile(
        [...baseline].sort((a, b) => a - b),
        0.5,
      ),
    ),
  };
}
