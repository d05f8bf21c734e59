/**
 * What the reliability tests share: an embedded vSphere of their own with a fake engine that
 * collects every log message, stacks whose plugins are the real executable (each one kept,
 * so a test can kill it), the program they deploy, an operator's vSphere client for changes
 * made behind Bonneville's back, and the accounting of vSphere's inventory against the state.
 */
import { Sim, type SimInventory } from "../support/sim";
import {
  FakeEngine,
  HOST,
  isSecret,
  networkOf,
  PARENT,
  VM,
  output,
  resource,
  secret,
  Stack,
  startPlugin,
  type InputValue,
  type PluginProcess,
  type ResourceDeclaration,
  type WireValue,
} from "../harness";
import { VSphereClient } from "../../provider/src/vsphere";

export { HOST, PARENT, VM, networkOf } from "../harness";

/** An embedded vSphere, a fake engine, and every plugin process started against them. */
export class Lab {
  /** Every plugin started by a stack of this lab, in order. */
  readonly plugins: PluginProcess[] = [];
  /** Every stack made by {@link stack}. */
  readonly stacks: Stack[] = [];

  private constructor(
    readonly sim: Sim,
    readonly engine: FakeEngine,
    /** The inventory before any test deployed anything. */
    readonly baseline: SimInventory,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<Lab> {
    const sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "100", ...env });
    const engine = await FakeEngine.start();
    return new Lab(sim, engine, await sim.inventory());
  }

  /** The provider configuration that reaches this lab's simulator (certificate pinned). */
  config(overrides: Record<string, WireValue> = {}): Record<string, WireValue> {
    return {
      vsphereServer: this.sim.url,
      user: this.sim.user,
      password: secret(this.sim.password),
      thumbprint: this.sim.thumbprint,
      ...overrides,
    };
  }

  /** A stack whose commands each start the plugin executable, reporting to this lab's engine. */
  stack(config: Record<string, WireValue> = this.config()): Stack {
    const stack = new Stack({
      plugin: async () => {
        const plugin = await startPlugin({ engine: this.engine });
        this.plugins.push(plugin);
        return plugin;
      },
      config,
    });
    this.stacks.push(stack);
    return stack;
  }

  /** The plugin started most recently. */
  get lastPlugin(): PluginProcess | undefined {
    return this.plugins[this.plugins.length - 1];
  }

  /** Runs `body` with an operator's vSphere client (as someone in the vSphere client would act). */
  operator<T>(body: (client: VSphereClient) => Promise<T>): Promise<T> {
    return this.sim.operator(body);
  }

  async stop(): Promise<void> {
    await Promise.all(this.plugins.map((p) => p.kill("SIGKILL").catch(() => undefined)));
    await this.engine.stop();
    await this.sim.stop();
  }
}

/** A ContainerHost and a ParentTemplate in it, the base every container of these tests forks from. */
export function base(prefix: string): { host: ResourceDeclaration; parent: ResourceDeclaration } {
  const host = resource(HOST, `${prefix}-host`, {
    name: `${prefix}-pool`,
    cluster: "DC0_C0",
    bridgeSwitch: "DVS0",
    containerNetworks: { frontend: "DC0_DVPG1" },
  });
  const parent = resource(PARENT, `${prefix}-parent`, {
    source: "bonneville-source",
    resourcePoolId: output(host, "resourcePoolId"),
    folderId: output(host, "folderId"),
    host: "DC0_C0/DC0_C0_H0",
    networks: [networkOf(host, "bridge")],
  });
  return { host, parent };
}

/** A container forked from `parent` (auto-named unless `inputs.name` is given). */
export function container(
  name: string,
  parent: ResourceDeclaration,
  inputs: Record<string, InputValue> = {},
): ResourceDeclaration {
  return resource(VM, name, {
    parentId: output(parent, "vmId"),
    image: "nginx:1.27",
    ...inputs,
  });
}

/** What vSphere holds beyond the baseline that no state entry accounts for, and state entries vSphere lacks. */
export interface Accounting {
  readonly orphaned: string[];
  readonly missing: string[];
}

/**
 * Compares the inventory with the states of `stacks` (default: all of the lab's): every VM, port group, resource pool and folder
 * made since the baseline must be an ID (or a host's folder or bridge port group) in some state,
 * and every such ID in a state must exist.
 */
export async function account(lab: Lab, stacks: readonly Stack[] = lab.stacks): Promise<Accounting> {
  const inventory = await lab.sim.inventory();
  const known = new Set<string>();
  for (const stack of stacks) {
    // Replaced resources awaiting deletion are still in the engine's state.
    for (const entry of [...stack.state.values(), ...stack.pendingDeletes]) {
      known.add(entry.id);
      if (entry.type === HOST) {
        for (const key of ["folderId", "bridgePortGroupId"]) {
          const value = entry.outputs[key];
          if (typeof value === "string" && value) known.add(value);
        }
      }
    }
  }
  const baseline = new Set(
    [
      ...lab.baseline.virtualMachines,
      ...lab.baseline.portGroups,
      ...lab.baseline.resourcePools,
      ...lab.baseline.folders,
    ].map((o) => o.id),
  );
  const present = [
    ...inventory.virtualMachines.map((v) => ({ id: v.id, name: v.name })),
    ...inventory.portGroups,
    ...inventory.resourcePools,
    ...inventory.folders,
  ];
  const presentIds = new Set(present.map((o) => o.id));
  return {
    orphaned: present
      .filter((o) => !baseline.has(o.id) && !known.has(o.id))
      .map((o) => `${o.name} (${o.id})`),
    missing: [...known].filter((id) => !presentIds.has(id)),
  };
}

/** Polls `probe` until it returns a value, at most `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `body`, returning the error it threw (failing when it did not throw). */
export async function failureOf(body: () => Promise<unknown>): Promise<Error> {
  try {
    await body();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new Error("expected a failure, but the command succeeded");
}

/** Every string in a wire value that is not inside a secret (what a non-secret output shows). */
export function plainStrings(value: WireValue): string[] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(plainStrings);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => [key, ...plainStrings(item)]);
  }
  return [];
}
