/**
 * `make demo`: deploys examples/container-pool to the embedded vSphere, prints its container VMs as
 * their resources report them, and takes it all down again (or, with --keep, leaves it running).
 *
 * With the Pulumi CLI on PATH: `pulumi up --yes`, then `pulumi destroy --yes` (local file backend in
 * a temporary directory). Without it: the same program under Pulumi's mock runtime, every resource
 * created and deleted by the real plugin over gRPC. The table is printed after the deployment and
 * before the destroy; a container whose agent reported an error shows as failed, and the demo exits
 * 1 with that error. Interrupted (SIGINT, SIGTERM), it stops the plugin and the simulator first.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sim, simBinary } from "../tests/support/sim";
import { providerConfigKeys } from "../provider/src/provider-config";
import {
  deployWithMockRuntime,
  projectName,
  type DemoDeployment,
  type DemoRunOptions,
} from "./demo-mock-runtime";
import { deployWithPulumiCli, findPulumiCli } from "./demo-pulumi-cli";
import {
  ContainerFailedError,
  containerRows,
  count,
  failedRows,
  formatContainerTable,
  inventoryChanges,
  rowsFromResourceOutputs,
  type ContainerRow,
} from "./demo-report";
import { recordKeptDemo, startDetachedSim, stopKeptDemo, stopSim } from "./demo-keep";
import { NETNS_SIM_ENV, NetnsWatch, prepareNetns } from "./demo-netns";

const repoRoot = path.resolve(__dirname, "..");
const programDir = path.join(repoRoot, "examples", "container-pool");

/** The configuration keys examples/container-pool reads (its index.ts; tests/sdk/demo.test.ts checks both agree). */
export const PROGRAM_CONFIG_KEYS = [
  "cluster",
  "hosts",
  "bridgeSwitch",
  "frontendNetwork",
  "source",
  "image",
  "count",
] as const;

/** Provider settings the demo sets itself, to reach its embedded vSphere. */
const DEMO_PROVIDER_KEYS = ["vsphereServer", "user", "password", "thumbprint", "allowUnverifiedSsl"];

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
  readonly action: "run" | "help" | "stop";
  readonly engine: "auto" | "cli" | "mock";
  readonly keep: boolean;
  /** The program's config, by key without the project prefix. */
  readonly config: Readonly<Record<string, string>>;
  /** Honoured `bonneville:` settings, by key without the prefix. */
  readonly providerSettings: Readonly<Record<string, string>>;
  /** Run the pool on namespace-backed VMs with the real guest agent and DHCP. */
  readonly netns: boolean;
}

export const usage = `usage: scripts/demo.sh [--engine auto|cli|mock] [--count N] [--config key=value]... [--keep] [--netns]
       scripts/demo.sh --stop
       scripts/demo.sh --help

Deploys examples/container-pool to an embedded vSphere of its own, prints each container VM (its
status, address and image as its resource reports them), then destroys everything and checks that
the inventory is as it started. Exits 1 when a container failed to start, with the agent's error.

  --engine auto|cli|mock  the Pulumi CLI when \`pulumi\` is on PATH (auto, the default), or Pulumi's
                          mock runtime with the real plugin doing the work
  --count N               how many containers (the program's \`count\`; default 6)
  --config key=value      the program's configuration: ${PROGRAM_CONFIG_KEYS.join(", ")};
                          and the provider's settings as bonneville:<key> (all but the connection
                          settings bonneville:${DEMO_PROVIDER_KEYS.join(", bonneville:")}, which are
                          the demo's own)
  --keep                  leave the pool and the embedded vSphere running, and print how to reach
                          it with \`bonneville docker-api\` and docker; stop it with --stop
  --netns                 run the pool on namespace-backed VMs with the real guest agent and DHCP
                          (dnsmasq), and print the addresses they really held (root; sim/netns/README.md)
  --stop                  stop a kept demo's embedded vSphere (and with it all the demo made)
  --help                  this text
`;

export function parseArgs(args: readonly string[]): DemoArgs {
  let engine: DemoArgs["engine"] = "auto";
  let keep = false;
  let netns = false;
  let action: DemoArgs["action"] = "run";
  const config: Record<string, string> = {};
  const providerSettings: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h")
      return { action: "help", engine, keep, config, providerSettings, netns };
    if (arg === "--netns") {
      netns = true;
      continue;
    }
    if (arg === "--keep" || arg === "--stop") {
      if (arg === "--keep") keep = true;
      else action = "stop";
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (!["--engine", "--count", "--config"].includes(flag)) {
      throw new DemoSetupError(`unknown argument "${arg}"; see scripts/demo.sh --help`);
    }
    const value = flag === arg ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new DemoSetupError(`${flag} needs a value; see scripts/demo.sh --help`);
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
      setConfig(value.slice(0, at), value.slice(at + 1), config, providerSettings);
    }
  }
  if (action === "stop" && (keep || args.length > 1)) {
    throw new DemoSetupError("--stop takes no other argument; see scripts/demo.sh --help");
  }
  if (netns && keep)
    throw new DemoSetupError(
      "--netns and --keep do not go together: a kept demo runs on the plain simulator",
    );
  return { action, engine, keep, config, providerSettings, netns };
}

/** Files a --config key=value as program config or a provider setting, or refuses it. */
function setConfig(
  key: string,
  value: string,
  config: Record<string, string>,
  providerSettings: Record<string, string>,
): void {
  const [namespace, name] = key.includes(":")
    ? [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)]
    : ["", key];
  if (namespace === "bonneville") {
    if (DEMO_PROVIDER_KEYS.includes(name)) {
      throw new DemoSetupError(
        `--config ${key}: the demo sets bonneville:${name} itself, to reach its embedded vSphere; ` +
          `to deploy to a vCenter of yours, run the example with \`pulumi up\` (README: "Pointing Bonneville at a real vCenter")`,
      );
    }
    if (!(providerConfigKeys as readonly string[]).includes(name)) {
      throw new DemoSetupError(
        `--config ${key}: the provider has no setting "${name}"; it has ${providerConfigKeys.map((k) => `bonneville:${k}`).join(", ")}`,
      );
    }
    providerSettings[name] = value;
    return;
  }
  if (namespace !== "" && namespace !== projectName(programDir)) {
    throw new DemoSetupError(
      `--config ${key}: "${namespace}" is neither the program (${projectName(programDir)}) nor the provider (bonneville)`,
    );
  }
  if (!(PROGRAM_CONFIG_KEYS as readonly string[]).includes(name)) {
    throw new DemoSetupError(
      `--config ${key}: examples/container-pool has no config key "${name}"; it reads ${PROGRAM_CONFIG_KEYS.join(", ")}`,
    );
  }
  config[name] = value;
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
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  if (args.action === "help") {
    process.stdout.write(usage);
    return;
  }
  if (args.action === "stop") {
    log(await stopKeptDemo());
    return;
  }
  checkBuilt();

  const cli = args.engine === "mock" ? undefined : findPulumiCli();
  if (args.engine === "cli" && !cli) throw new DemoSetupError("--engine cli: no `pulumi` on PATH");

  // The embedded vSphere's settings (BONNEVILLE_SIM_*), for a kept one as for one of this run.
  if (args.netns) prepareNetns(repoRoot);
  const simEnv: Record<string, string> = args.netns ? { ...NETNS_SIM_ENV } : {};
  const detached = args.keep ? await startDetachedSim(simEnv) : undefined;
  const sim = detached?.sim ?? (await Sim.start(simEnv));
  const watch = args.netns ? new NetnsWatch(sim) : undefined;
  watch?.start();
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the plugin and the embedded vSphere`);
    interrupted.abort();
    const stopping = detached ? stopSim(detached.pid) : sim.stop();
    void stopping.finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let keepSim = false;
  try {
    const before = await sim.inventory();
    log(
      `embedded vSphere at ${sim.url} (${count(before.hosts.length, "ESXi host")}, ` +
        `${count(before.virtualMachines.length, "VM")})`,
    );
    const options: DemoRunOptions = {
      programDir,
      project: projectName(programDir),
      stack: "demo",
      vsphere: sim,
      config: args.config,
      providerSettings: args.providerSettings,
      log,
      signal: interrupted.signal,
    };
    let deployment: DemoDeployment;
    if (cli) {
      log(`deploying ${path.relative(repoRoot, programDir)} with ${cli}`);
      deployment = await deployWithPulumiCli(cli, options);
    } else {
      log(
        `no Pulumi CLI on PATH: running ${path.relative(repoRoot, programDir)} under Pulumi's mock runtime, ` +
          `its resources made by the real plugin`,
      );
      deployment = await deployWithMockRuntime(options);
    }

    // What the resources report, after the deployment and before anything is deleted.
    let rows: ContainerRow[] = [];
    let reportFailure: unknown;
    try {
      rows = deployment.outputs
        ? containerRows(deployment.outputs)
        : rowsFromResourceOutputs(await deployment.containerOutputs());
    } catch (error) {
      reportFailure = error;
    }
    if (rows.length > 0) {
      log("");
      log(formatContainerTable(rows));
      log("");
      if (watch) {
        log("what the namespace-backed VMs really held (guest agent + dnsmasq):");
        log(watch.table(rows));
        log("");
      }
    }
    const failed = failedRows(rows);
    const failure =
      deployment.failure ??
      (failed.length > 0 ? new ContainerFailedError(failed) : undefined) ??
      reportFailure;
    const hosts = new Set(rows.map((r) => r.hostId)).size;
    if (failure === undefined) {
      log(
        `${count(rows.length, "container VM")} on ${count(hosts, "ESXi host")}, ` +
          `deployed in ${deployment.upSeconds.toFixed(1)}s`,
      );
    }

    if (args.keep && failure === undefined) {
      await deployment.release();
      recordKeptDemo({
        simPid: detached!.pid,
        vsphere: { url: sim.url, user: sim.user, password: sim.password, thumbprint: sim.thumbprint },
        ...(deployment.workDir ? { workDir: deployment.workDir } : {}),
      });
      keepSim = true;
      printKeptInstructions(log, sim, deployment, rows, args.config.frontendNetwork ?? "DC0_DVPG1");
      return;
    }

    // Whether or not the deployment worked, everything it made must be gone again.
    let resources = 0;
    let destroyFailure: unknown;
    try {
      resources = await deployment.destroy();
    } catch (error) {
      destroyFailure = error;
    }
    const changes = inventoryChanges(before, await sim.inventory());
    const clean = changes.added.length === 0 && changes.removed.length === 0;
    const firstFailure = failure ?? destroyFailure;
    if (!clean) throw new InventoryNotCleanError(changes.added, changes.removed, firstFailure);
    if (firstFailure !== undefined) {
      log("cleaned up: the inventory is as it started");
      throw firstFailure;
    }
    log(`${count(resources, "resource")} deleted again, inventory as it started`);
    // performance.now() counts from the start of this process.
    log(`total ${(performance.now() / 1000).toFixed(1)}s`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    watch?.stop();
    if (!keepSim) {
      if (detached) await stopSim(detached.pid);
      else await sim.stop();
    }
  }
}

/** --keep: how to reach the running pool with the Docker endpoint, and how to tear it down. */
function printKeptInstructions(
  log: (line: string) => void,
  sim: Sim,
  deployment: DemoDeployment,
  rows: readonly ContainerRow[],
  frontend: string,
): void {
  const outputs = deployment.outputs ?? {};
  const hostId = String(outputs.resourcePoolId ?? "");
  const parents = Array.isArray(outputs.parentVmIds) ? outputs.parentVmIds.map(String) : [];
  const image = rows[0]?.image ?? "nginx:1.27";
  const quote = (value: string): string =>
    /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
  log("");
  log(
    `kept: the pool and the embedded vSphere keep running (resource pool ${hostId}, parents ${parents.join(", ")}).`,
  );
  log("Reach it with the Docker endpoint, in another shell from this directory:");
  log("");
  log(
    `  export VSPHERE_SERVER=${quote(sim.url)} VSPHERE_USER=${quote(sim.user)} ` +
      `VSPHERE_PASSWORD=${quote(sim.password)} VSPHERE_THUMBPRINT=${quote(sim.thumbprint)}`,
  );
  log(
    `  npx bonneville docker-api --host-id ${hostId} --parent-id ${parents[0] ?? ""} --network frontend=${frontend}`,
  );
  log("");
  log("and in a third:");
  log("");
  log("  export DOCKER_HOST=tcp://127.0.0.1:2375");
  log("  docker ps -a");
  log(`  docker run -d --name hello ${image}`);
  log("");
  log("Tear it all down (stops the embedded vSphere; everything the demo made lives only in it):");
  log("");
  log("  scripts/demo.sh --stop");
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`demo failed: ${message}\n`);
    process.exitCode = 1;
  });
}
