/**
 * Entry point of `pulumi-resource-bonneville`, started as the engine starts resource plugins:
 * `pulumi-resource-bonneville [-v=N] [--logtostderr] [--logflow] [--tracing <endpoint>] <engine-address>`.
 * Prints the port it listens on as the only line on stdout; everything else goes to stderr.
 * SIGINT/SIGTERM cancel operations in flight, log out of vCenter and exit.
 */
import { serve, type ServeOptions } from "./serve";
import {
  fullCollection,
  HEAP_GROWING_PERCENT,
  IDLE_COLLECT_MS,
  IdleCollector,
  limitHeapGrowth,
  YOUNG_GENERATION_MB,
  YoungGenerationCap,
} from "./heap-policy";
import { delayOptimization, INTERRUPT_BUDGET_BYTES } from "./tiering-policy";
import { BonnevilleError } from "../resources/errors";
import type { ResourceType } from "../resources/resource";

/** Flags the engine may pass that take a value in the next argument. */
const FLAGS_WITH_VALUE = new Set(["--tracing", "--root", "--logflow-dir"]);

/** The engine address among the plugin's arguments: the first positional argument, if any. */
export function engineAddressFromArgs(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (FLAGS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return arg;
  }
  return undefined;
}

/**
 * Test hook: `BONNEVILLE_PLUGIN_EXTRA_TYPES=<path to a CommonJS module exporting resourceTypes>` adds
 * resource types to the served ones (the harness uses it to test the real executable without vSphere).
 */
function extraResourceTypes(): readonly ResourceType[] {
  const modulePath = process.env.BONNEVILLE_PLUGIN_EXTRA_TYPES;
  if (!modulePath) return [];
  return (require(modulePath) as { resourceTypes: readonly ResourceType[] }).resourceTypes;
}

/**
 * A whole number of 0 or more from the environment variable `name`, or `fallback` when it is unset.
 * Test and benchmark hooks: `BONNEVILLE_PLUGIN_HEAP_GROWING_PERCENT` (0: V8's own growth),
 * `BONNEVILLE_PLUGIN_YOUNG_GENERATION_MB` (0: V8's own size), `BONNEVILLE_PLUGIN_IDLE_COLLECT_MS`
 * (0: no idle collection), and `BONNEVILLE_PLUGIN_INTERRUPT_BUDGET` (0: V8's own; see tiering-policy.ts).
 */
export function wholeNumberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new BonnevilleError(`${name} must be a whole number, 0 or more; got "${text}"`);
  }
  return value;
}

/** Runs the plugin until a signal arrives. */
export async function main(args: readonly string[]): Promise<void> {
  const engineAddress = engineAddressFromArgs(args);
  const budget = wholeNumberFromEnv(
    process.env,
    "BONNEVILLE_PLUGIN_INTERRUPT_BUDGET",
    INTERRUPT_BUDGET_BYTES,
  );
  if (budget > 0) delayOptimization(budget);
  limitHeapGrowth(
    wholeNumberFromEnv(process.env, "BONNEVILLE_PLUGIN_HEAP_GROWING_PERCENT", HEAP_GROWING_PERCENT),
  );
  const youngMb = wholeNumberFromEnv(
    process.env,
    "BONNEVILLE_PLUGIN_YOUNG_GENERATION_MB",
    YOUNG_GENERATION_MB,
  );
  if (youngMb > 0) new YoungGenerationCap(youngMb).start();
  const idleMs = wholeNumberFromEnv(process.env, "BONNEVILLE_PLUGIN_IDLE_COLLECT_MS", IDLE_COLLECT_MS);
  const idle = idleMs > 0 ? new IdleCollector(fullCollection(), idleMs) : undefined;
  const options: ServeOptions = {
    ...(engineAddress ? { engineAddress } : {}),
    ...(idle ? { activity: idle } : {}),
    resourceTypes: () => [
      ...(require("../resources") as typeof import("../resources")).resourceTypes,
      ...extraResourceTypes(),
    ],
  };
  const running = await serve(options);
  process.stdout.write(`${running.port}\n`);

  let exiting = false;
  const stop = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    idle?.cancel();
    // The engine kills a plugin 5 s after its SIGINT (pulumi/pulumi pkg/resource/plugin/plugin.go);
    // the logout is bounded by LOGOUT_LIMIT_MS, so this only catches a shutdown that hangs elsewhere.
    const deadline = setTimeout(() => process.exit(1), 4000);
    deadline.unref();
    running.shutdown(`the plugin received ${signal}`).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `bonneville: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(
      `bonneville: the plugin failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  });
}
