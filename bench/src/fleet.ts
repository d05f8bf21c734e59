/**
 * A fleet on the embedded vSphere, driven through the plugin binary as the
 * engine drives it: a fresh simulator, the plugin started and configured, a
 * ContainerHost and one ParentTemplate per ESXi host; then N ContainerVMs
 * created concurrently (Check then Create each, as `pulumi up --parallel`
 * issues them) and deleted concurrently.
 */
import { randomBytes } from "node:crypto";
import { PACKAGE_NAME } from "../../provider/src/provider-config";
import { Sim, type SimInventory } from "../../tests/support/sim";
import {
  ProviderRpcError,
  secret,
  startPlugin,
  StepGeneration,
  type PluginProcess,
  type WireProperties,
} from "../../tests/harness";
import { pluginEnv, type PluginRunOptions } from "./plugin-env";
import { cpuMillis, perItem, round2, summarize, type LatencySummary } from "./measure";

/**
 * A burst's Checks go through one StepGeneration, one at a time as the engine sends them; every
 * Create then runs at once, as `pulumi up --parallel N` (or PULUMI_PARALLEL) with N at least the
 * fleet size would (the CLI's default is four per CPU: pkg/cmd/pulumi/operations/up.go).
 */
export { StepGeneration };

export const HOST_TOKEN = "bonneville:index:ContainerHost";
export const PARENT_TOKEN = "bonneville:index:ParentTemplate";
export const VM_TOKEN = "bonneville:index:ContainerVM";

/** The ESXi hosts of the embedded vSphere's cluster: one parent on each. */
export const ESXI_HOSTS = ["DC0_C0/DC0_C0_H0", "DC0_C0/DC0_C0_H1", "DC0_C0/DC0_C0_H2"] as const;

/** The inventory paths of a cluster of `count` hosts (the simulator's naming). */
export function esxiHosts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `DC0_C0/DC0_C0_H${i}`);
}

/** The world to build: the cluster's size, simulator settings and extra provider configuration. */
export interface WorldOptions {
  /** ESXi hosts in the cluster, one parent on each. Default 3. */
  readonly hosts?: number;
  /** Environment of the simulator (e.g. BONNEVILLE_SIM_TIMING=vcenter). */
  readonly simEnv?: Readonly<Record<string, string>>;
  /** Provider configuration added to the connection's (e.g. maxTasksInFlightPerHost). */
  readonly config?: Readonly<Record<string, string>>;
}

/** What every benchmark container runs (the same values go to the govmomi peer). */
export const CONTAINER = {
  image: "nginx:1.27",
  command: ["nginx", "-g", "daemon off;"],
  env: { MODE: "bench" },
  labels: { app: "bench" },
} as const;

/**
 * Inputs every benchmark parent gets beyond its placement: fleets fork from frozen parents (DESIGN.md,
 * "Where a user outgrows one machine"), whose forks leave the parent's disk chain alone. `freeze` is
 * ParentTemplate's default; it is given here so the benchmark says what it measures.
 */
const PARENT_EXTRA_INPUTS: WireProperties = { freeze: true };

/** Milliseconds a new parent takes to signal ready in the simulator (kept short: setup is not measured). */
const PARENT_READY_MS = "150";

/** The engine's URN for a resource of this benchmark's stack. */
export function urnOf(type: string, name: string): string {
  return `urn:pulumi:bench::bonneville-bench::${type}::${name}`;
}

/** A resource the world made: its URN, ID, checked inputs and outputs (what the engine keeps in state). */
export interface Created {
  readonly urn: string;
  readonly id: string;
  readonly inputs: WireProperties;
  readonly outputs: WireProperties;
}

/** A simulator with a configured plugin, a ContainerHost and one running ParentTemplate per ESXi host. */
export interface FleetWorld {
  readonly sim: Sim;
  readonly plugin: PluginProcess;
  readonly host: Created;
  readonly parents: readonly Created[];
  /** Stops the plugin (as the engine does at the end of a command) and the simulator. */
  close(): Promise<void>;
}

/** Starts a fresh simulator and plugin and creates the host and the parents (not timed). */
export async function startWorld(
  run: PluginRunOptions = {},
  options: WorldOptions = {},
): Promise<FleetWorld> {
  const hosts = options.hosts ?? ESXI_HOSTS.length;
  const sim = await Sim.start({
    BONNEVILLE_SIM_READY_MS: PARENT_READY_MS,
    BONNEVILLE_SIM_HOSTS: String(hosts),
    ...options.simEnv,
  });
  let plugin: PluginProcess | undefined;
  try {
    plugin = await startPlugin({ env: pluginEnv(run) });
    await configure(plugin, sim, options.config ?? {});
    const host = await checkAndCreate(plugin, HOST_TOKEN, "bench-host", {
      name: "bench-pool",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
    });
    // Parents keep the source's network (DC0_DVPG0); containers go on the host's bridge, so every
    // clone carries a NIC backing edit, as a real fleet on its own port group does.
    const parents = await Promise.all(
      esxiHosts(hosts).map((esxi, i) =>
        checkAndCreate(plugin!, PARENT_TOKEN, `bench-parent-${i}`, {
          name: `bench-parent-${i}`,
          source: "bonneville-source",
          resourcePoolId: host.outputs.resourcePoolId,
          folderId: host.outputs.folderId,
          host: esxi,
          ...PARENT_EXTRA_INPUTS,
        }),
      ),
    );
    const unfrozen = parents.filter((p) => p.outputs.frozen !== true);
    if (unfrozen.length > 0) {
      throw new Error(
        `the benchmark forks from frozen parents, but ${unfrozen.map((p) => p.id).join(", ")} did not freeze`,
      );
    }
    const running = plugin;
    return {
      sim,
      plugin: running,
      host,
      parents,
      close: async () => {
        await running.close();
        await sim.stop();
      },
    };
  } catch (error) {
    await plugin?.close();
    await sim.stop();
    throw error;
  }
}

/** CheckConfig then Configure, as the engine configures the default provider. */
async function configure(
  plugin: PluginProcess,
  sim: Sim,
  extra: Readonly<Record<string, string>>,
): Promise<void> {
  const config: Record<string, string> = {
    vsphereServer: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
    ...extra,
  };
  const news: WireProperties = { ...config, password: secret(config.password) };
  const urn = urnOf(`pulumi:providers:${PACKAGE_NAME}`, "default");
  const checked = await plugin.rpc.checkConfig({ urn, news });
  if (checked.failures.length > 0) {
    throw new Error(`CheckConfig failed: ${JSON.stringify(checked.failures)}`);
  }
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) variables[`${PACKAGE_NAME}:config:${key}`] = value;
  await plugin.rpc.configure({ variables, args: checked.inputs });
}

/** Check then Create, as the engine does for a new resource. */
export async function checkAndCreate(
  plugin: PluginProcess,
  type: string,
  name: string,
  news: WireProperties,
  generation?: StepGeneration,
): Promise<Created> {
  const urn = urnOf(type, name);
  const check = () => plugin.rpc.check({ urn, news, randomSeed: randomBytes(32) });
  const checked = await (generation ? generation.run(check) : check());
  if (checked.failures.length > 0) {
    throw new Error(`Check of ${name} failed: ${JSON.stringify(checked.failures)}`);
  }
  const created = await plugin.rpc.create({ urn, properties: checked.inputs });
  return { urn, id: created.id, inputs: checked.inputs, outputs: created.properties };
}

/** The inputs of container `i`: forked from parent i mod (parents), on the host's bridge port group. */
export function containerInputs(world: FleetWorld, i: number): WireProperties {
  const networks = world.host.outputs.networks as Record<string, string>;
  return {
    name: `bench-c${i}`,
    parentId: world.parents[i % world.parents.length]!.id,
    image: CONTAINER.image,
    command: [...CONTAINER.command],
    env: { ...CONTAINER.env },
    labels: { ...CONTAINER.labels, index: String(i) },
    networks: [networks.bridge!],
  };
}

/** The SOAP calls of one phase, as the simulator counted them. */
export interface SoapFigures {
  /** Every call of the phase, by method. */
  readonly calls: Record<string, number>;
  /** Calls per item (create or delete), by method. */
  readonly perItemByMethod: Record<string, number>;
  /** Calls per item, all methods. */
  readonly perItem: number;
}

/** One timed phase (create or delete) of N operations. */
export interface PhaseFigures {
  readonly n: number;
  readonly wallMs: number;
  /** Latency of each operation (the Create or Delete RPC), ms. */
  readonly latency: LatencySummary;
  readonly soap: SoapFigures;
  /** CPU time of the client process (the plugin, or the peer) over the phase, ms. */
  readonly clientCpuMs: number;
  /** The same per operation, ms. */
  readonly clientCpuMsPerItem: number;
  /** Operations that failed, with the reason (the benchmark reports them; the figures then mean little). */
  readonly errors: readonly string[];
}

/** Bonneville's figures at one N. */
export interface BonnevilleFleetFigures {
  readonly client: "bonneville";
  readonly n: number;
  readonly create: PhaseFigures;
  readonly delete: PhaseFigures;
  /** What the simulator's inventory showed after the creates (the benchmark's proof of work). */
  readonly verified: { readonly containersRunning: number; readonly containersLeftAfterDelete: number };
}

/** Runs an already-set-up world's fleet phases: N concurrent creates, then N concurrent deletes. */
export async function runBonnevilleFleet(world: FleetWorld, n: number): Promise<BonnevilleFleetFigures> {
  const created: (Created | undefined)[] = new Array(n);
  const generation = new StepGeneration();
  const create = await timedPhase(world, n, async (i) => {
    const name = `c${i}`;
    created[i] = await checkAndCreate(world.plugin, VM_TOKEN, name, containerInputs(world, i), generation);
  });
  const afterCreate = await world.sim.inventory();
  const containersRunning = containersOf(afterCreate).filter((v) => v.powerState === "poweredOn").length;

  const del = await timedPhase(world, n, async (i) => {
    const c = created[i];
    if (!c) throw new Error("not created");
    await world.plugin.rpc.delete({ urn: c.urn, id: c.id, properties: c.outputs, oldInputs: c.inputs });
  });
  const containersLeftAfterDelete = containersOf(await world.sim.inventory()).length;
  return {
    client: "bonneville",
    n,
    create,
    delete: del,
    verified: { containersRunning, containersLeftAfterDelete },
  };
}

/** The container VMs (role container, made by this benchmark) in an inventory. */
export function containersOf(inventory: SimInventory): SimInventory["virtualMachines"] {
  return inventory.virtualMachines.filter((v) => v.extraConfig["bonneville.role"] === "container");
}

/**
 * Runs `op(i)` for i in [0, n) all at once, timing each and the whole, with the
 * simulator's call counter reset before and read after, and the plugin's CPU time around it.
 */
export async function timedPhase(
  world: FleetWorld,
  n: number,
  op: (i: number) => Promise<void>,
): Promise<PhaseFigures> {
  await world.sim.resetStats();
  const pid = world.plugin.pid;
  const cpuBefore = cpuMillis(pid);
  const latencies: number[] = new Array<number>(n).fill(-1);
  const errors: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      try {
        await op(i);
        latencies[i] = performance.now() - t0;
      } catch (error) {
        errors.push(`#${i}: ${error instanceof ProviderRpcError ? error.details : String(error)}`);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpuMs = cpuMillis(pid) - cpuBefore;
  const stats = await world.sim.stats();
  const per = perItem(stats.calls, n);
  return {
    n,
    wallMs: round2(wallMs),
    latency: summarize(latencies),
    soap: { calls: stats.calls, perItemByMethod: per.byMethod, perItem: per.total },
    clientCpuMs: round2(cpuMs),
    clientCpuMsPerItem: round2(cpuMs / n),
    errors,
  };
}
