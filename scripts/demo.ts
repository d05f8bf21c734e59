/**
 * `make demo`: deploys examples/container-pool to the embedded vSphere and takes it down again.
 *
 * With the Pulumi CLI on PATH: `pulumi up --yes`, then `pulumi destroy --yes` (local file backend in
 * a temporary directory). Without it: the same program under Pulumi's mock runtime, every resource
 * created and deleted by the real plugin over gRPC. Either way it prints the container VMs the
 * program exported, checks that the inventory is back to what the simulator started with, and
 * stops everything it started.
 *
 * Usage: npx ts-node --transpile-only scripts/demo.ts [--engine auto|cli|mock] [--count N] [--config key=value]...
 *   --engine  auto (default): the CLI when `pulumi` is on PATH, else the mock runtime
 *   --count   how many containers (the program's `count` config; default 6)
 *   --config  any other config value of the program, e.g. --config image=nginx:1.28
 *   --netns   run the pool on namespace-backed VMs with the real guest agent and DHCP, and print
 *             the addresses they really held (root; sim/netns/README.md)
 * Interrupted (SIGINT, SIGTERM), it stops the plugin and the simulator before it exits.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sim, simBinary } from "../tests/support/sim";
import {
  projectName,
  runWithMockRuntime,
  type DemoRunOptions,
  type DemoRunResult,
} from "./demo-mock-runtime";
import { findPulumiCli, runWithPulumiCli } from "./demo-pulumi-cli";
import { containerRows, formatContainerTable, inventoryChanges } from "./demo-report";
import { NETNS_SIM_ENV, NetnsWatch, prepareNetns } from "./demo-netns";

const repoRoot = path.resolve(__dirname, "..");
const programDir = path.join(repoRoot, "examples", "container-pool");

/** The demo was started wrongly or found the machine unprepared. */
class DemoSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoSetupError";
  }
}

/** The deployment ran but left the inventory changed. */
class InventoryNotCleanError extends Error {
  constructor(
    readonly added: readonly string[],
    readonly removed: readonly string[],
    cause?: unknown,
  ) {
    super(
      [
        cause instanceof Error ? cause.message : cause !== undefined ? String(cause) : "",
        added.length ? `left behind: ${added.join(", ")}` : "",
        removed.length ? `removed from the initial inventory: ${removed.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; "),
      { cause },
    );
    this.name = "InventoryNotCleanError";
  }
}

interface DemoArgs {
  readonly engine: "auto" | "cli" | "mock";
  readonly config: Readonly<Record<string, string>>;
  readonly netns: boolean;
}

const usage = "usage: demo.ts [--engine auto|cli|mock] [--count N] [--config key=value]... [--netns]";

function parseArgs(args: readonly string[]): DemoArgs {
  let engine: DemoArgs["engine"] = "auto";
  const config: Record<string, string> = {};
  let netns = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--netns") {
      netns = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (!["--engine", "--count", "--config"].includes(flag)) {
      throw new DemoSetupError(`unknown argument "${arg}"; ${usage}`);
    }
    const value = flag === arg ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new DemoSetupError(`${flag} needs a value; ${usage}`);
    if (flag === "--engine") {
      if (value !== "auto" && value !== "cli" && value !== "mock") {
        throw new DemoSetupError(`--engine is "${value}"; expected auto, cli or mock`);
      }
      engine = value;
    } else if (flag === "--count") {
      if (!/^\d+$/.test(value)) throw new DemoSetupError(`--count is "${value}"; expected a whole number`);
      config.count = value;
    } else {
      const at = value.indexOf("=");
      if (at <= 0) throw new DemoSetupError(`--config is "${value}"; expected key=value`);
      config[value.slice(0, at)] = value.slice(at + 1);
    }
  }
  return { engine, config, netns };
}

/** The builds the demo runs: the simulator, the plugin and the SDK the program imports. */
function checkBuilt(): void {
  const needed = [
    [simBinary, "the embedded vSphere"],
    [path.join(repoRoot, "provider", "dist", "server", "main.js"), "the plugin"],
    [path.join(repoRoot, "sdk", "nodejs", "bin", "index.js"), "the SDK"],
  ] as const;
  const missing = needed.filter(([file]) => !fs.existsSync(file)).map(([, what]) => what);
  if (missing.length > 0)
    throw new DemoSetupError(`${missing.join(", ")} not built; run \`make build\` (or \`make demo\`)`);
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  checkBuilt();
  const log = (line: string): void => void process.stdout.write(`${line}\n`);

  const cli = args.engine === "mock" ? undefined : findPulumiCli();
  if (args.engine === "cli" && !cli) throw new DemoSetupError("--engine cli: no `pulumi` on PATH");

  if (args.netns) prepareNetns(repoRoot);
  const sim = await Sim.start(args.netns ? NETNS_SIM_ENV : {});
  const watch = args.netns ? new NetnsWatch(sim) : undefined;
  watch?.start();
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the plugin and the embedded vSphere`);
    interrupted.abort();
    void sim.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const before = await sim.inventory();
    log(
      `embedded vSphere at ${sim.url} (${before.hosts.length} ESXi hosts, ${before.virtualMachines.length} VMs)`,
    );
    const options: DemoRunOptions = {
      programDir,
      project: projectName(programDir),
      stack: "demo",
      vsphere: sim,
      config: args.config,
      log,
      signal: interrupted.signal,
    };
    let result: DemoRunResult | undefined;
    let failure: unknown;
    try {
      if (cli) {
        log(`deploying ${path.relative(repoRoot, programDir)} with ${cli}`);
        result = await runWithPulumiCli(cli, options);
      } else {
        log(
          `no Pulumi CLI on PATH: running ${path.relative(repoRoot, programDir)} under Pulumi's mock runtime, ` +
            `its resources made by the real plugin`,
        );
        result = await runWithMockRuntime(options);
      }
    } catch (error) {
      failure = error;
    }

    // Whether or not the deployment worked, everything it made must be gone again.
    const changes = inventoryChanges(before, await sim.inventory());
    const clean = changes.added.length === 0 && changes.removed.length === 0;
    if (failure !== undefined) {
      if (!clean) throw new InventoryNotCleanError(changes.added, changes.removed, failure);
      log("cleaned up: the inventory is as it started");
      throw failure;
    }
    if (!clean) throw new InventoryNotCleanError(changes.added, changes.removed);

    const rows = containerRows(result!.outputs);
    log("");
    log(formatContainerTable(rows));
    log("");
    if (watch) {
      log("what the namespace-backed VMs really held (guest agent + dnsmasq):");
      log(watch.table(rows));
      log("");
    }
    const hosts = new Set(rows.map((r) => r.hostId)).size;
    log(
      `${rows.length} container VMs on ${hosts} ESXi hosts, deployed in ${result!.upSeconds.toFixed(1)}s; ` +
        `${result!.resources} resources deleted again, inventory as it started`,
    );
    // performance.now() counts from the start of this process.
    log(`total ${(performance.now() / 1000).toFixed(1)}s`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    watch?.stop();
    await sim.stop();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
