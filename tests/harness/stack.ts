/**
 * A small stand-in for the engine's deployment loop and its state: `preview`, `up`,
 * `refresh`, `import` and `destroy` send the same pulumirpc call sequences as the Pulumi
 * CLI, against a fresh plugin per command (as the engine starts one per command).
 */
import { randomBytes } from "node:crypto";
import { PACKAGE_NAME } from "../../provider/src/provider-config";
import type { PluginConnection } from "./plugin";
import { ProviderRpcError, type ProviderRpc, type WireCheckFailure } from "./rpc";
import { isSecret, isUnknown, reveal, secret, unknown, type WireProperties, type WireValue } from "./values";

/** A reference to another resource's output, resolved when the step runs (unknown in a preview until it exists). */
export class OutputReference {
  constructor(
    readonly resource: ResourceDeclaration,
    readonly property: string,
  ) {}
}

/** Resolves references inside a function-valued input. */
export interface ResolveContext {
  /** The current value of `resource`'s output `property` (unknown in a preview when not known yet). */
  output(resource: ResourceDeclaration, property: string): WireValue;
  /** True during a preview. */
  readonly preview: boolean;
}

/** An input value: wire values, {@link OutputReference}s, or a function resolved at step time. */
export type InputValue = WireValue | OutputReference | ((ctx: ResolveContext) => WireValue);

/** Per-resource options, like a program's resource options. */
export interface ResourceOptions {
  /** Always delete before creating the replacement. */
  readonly deleteBeforeReplace?: boolean;
  /** Top-level input names whose changes are ignored. */
  readonly ignoreChanges?: readonly string[];
  /** customTimeouts in seconds, per operation. */
  readonly timeouts?: { readonly create?: number; readonly update?: number; readonly delete?: number };
  /** Other resources this one depends on beyond its output references. */
  readonly dependsOn?: readonly ResourceDeclaration[];
}

/** A resource as a program declares it. */
export interface ResourceDeclaration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, InputValue>>;
  readonly options: ResourceOptions;
}

/** Declares a resource: `resource("bonneville:index:ContainerHost", "host", {...})`. */
export function resource(
  type: string,
  name: string,
  inputs: Readonly<Record<string, InputValue>>,
  options: ResourceOptions = {},
): ResourceDeclaration {
  return { type, name, inputs, options };
}

/** A reference to `declaration`'s output `property`. */
export function output(declaration: ResourceDeclaration, property: string): OutputReference {
  return new OutputReference(declaration, property);
}

/** One resource in the stack's state, in wire form (as the engine stores it). */
export interface StateEntry {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: WireProperties;
  readonly outputs: WireProperties;
  readonly dependencies: readonly string[];
  /** Reasons of an init failure the provider reported (the engine keeps the resource and retries). */
  readonly initErrors?: readonly string[];
}

/** What one step did. */
export interface StepRecord {
  readonly name: string;
  readonly urn: string;
  readonly op: "create" | "update" | "replace" | "same" | "delete" | "refresh" | "read-gone" | "import";
  /** Outputs after the step (preview outputs during a preview), wire form. */
  readonly outputs?: WireProperties;
  /** The Diff the provider returned, when one ran. */
  readonly diff?: import("./rpc").DiffReply;
}

/** The result of a command. */
export interface CommandResult {
  readonly steps: readonly StepRecord[];
  /** pulumirpc method names called, in order. */
  readonly calls: readonly string[];
  /** Outputs of a resource after the command (preview outputs during a preview), wire form. */
  outputs(name: string): WireProperties;
}

/** Check returned failures (the engine stops and prints them). */
export class CheckFailedError extends Error {
  constructor(
    readonly urn: string,
    readonly failures: readonly WireCheckFailure[],
  ) {
    super(`check of ${urn} failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.name = "CheckFailedError";
  }
}

/** Options of a {@link Stack}. */
export interface StackOptions {
  /** Starts the plugin for one command (the harness closes it when the command ends). */
  readonly plugin: () => Promise<PluginConnection>;
  /** Provider configuration (plain keys; secret values via `secret(...)`). */
  readonly config?: Readonly<Record<string, WireValue>>;
  readonly project?: string;
  readonly stack?: string;
}

/** A stack: provider configuration plus the state of its resources. */
export class Stack {
  /** State by URN, in creation order. */
  readonly state = new Map<string, StateEntry>();
  /**
   * Resources replaced (create before delete) whose deletion has not happened yet: the engine keeps
   * them in the state, marked for deletion, until a later command deletes them.
   */
  readonly pendingDeletes: StateEntry[] = [];
  private providerInputs: WireProperties | undefined;
  private config: Readonly<Record<string, WireValue>>;
  /** stderr of every plugin this stack has started. */
  readonly pluginStderr: string[] = [];
  /** How each plugin's close went (Cancel acknowledged, exit code), in command order. */
  readonly closeReports: import("./plugin").CloseReport[] = [];

  constructor(private readonly options: StackOptions) {
    this.config = options.config ?? {};
  }

  /** Replaces the provider configuration (DiffConfig decides whether resources are replaced). */
  setConfig(config: Readonly<Record<string, WireValue>>): void {
    this.config = config;
  }

  /** The URN of a resource in this stack. */
  urn(type: string, name: string): string {
    return `urn:pulumi:${this.options.stack ?? "test"}::${this.options.project ?? "bonneville"}::${type}::${name}`;
  }

  /** The state of the resource named `name`. */
  get(name: string): StateEntry | undefined {
    return [...this.state.values()].find((entry) => entry.name === name);
  }

  /** Outputs of the resource named `name`, secrets revealed. */
  outputs<T = Record<string, unknown>>(name: string): T {
    const entry = this.get(name);
    if (!entry)
      throw new Error(
        `no resource named "${name}" in the stack; have: ${[...this.state.values()].map((e) => e.name).join(", ")}`,
      );
    return reveal<T>(entry.outputs);
  }

  /** `pulumi preview`: nothing changes; unknown outputs stay unknown. */
  preview(resources: readonly ResourceDeclaration[]): Promise<CommandResult> {
    return this.command((rpc, ctx) => this.deploy(rpc, ctx, resources, true));
  }

  /** `pulumi up`: creates, updates, replaces and deletes until the state matches `resources`. */
  up(resources: readonly ResourceDeclaration[]): Promise<CommandResult> {
    return this.command((rpc, ctx) => this.deploy(rpc, ctx, resources, false));
  }

  /** `pulumi refresh`: Read every resource; those that are gone leave the state. */
  refresh(): Promise<CommandResult> {
    return this.command(async (rpc, ctx) => {
      for (const entry of [...this.state.values()]) {
        const read = await rpc.read({
          urn: entry.urn,
          id: entry.id,
          properties: entry.outputs,
          inputs: entry.inputs,
        });
        if (read.id === "") {
          this.state.delete(entry.urn);
          ctx.steps.push({ name: entry.name, urn: entry.urn, op: "read-gone" });
          continue;
        }
        const inputs = Object.keys(read.inputs).length > 0 ? read.inputs : entry.inputs;
        this.state.set(entry.urn, { ...entry, id: read.id, outputs: read.properties, inputs });
        ctx.record(entry.urn, read.properties);
        ctx.steps.push({ name: entry.name, urn: entry.urn, op: "refresh", outputs: read.properties });
      }
    });
  }

  /** `pulumi import <type> <name> <id>`: Read with the ID only, then Check the inputs it returned. */
  import(type: string, name: string, id: string): Promise<CommandResult> {
    return this.command(async (rpc, ctx) => {
      const urn = this.urn(type, name);
      const read = await rpc.read({ urn, id });
      if (read.id === "") throw new Error(`import of ${urn}: the provider found no object with ID "${id}"`);
      const checked = await rpc.check({ urn, news: read.inputs, randomSeed: randomBytes(32) });
      if (checked.failures.length > 0) throw new CheckFailedError(urn, checked.failures);
      this.state.set(urn, {
        urn,
        type,
        name,
        id: read.id,
        inputs: checked.inputs,
        outputs: read.properties,
        dependencies: [],
      });
      ctx.record(urn, read.properties);
      ctx.steps.push({ name, urn, op: "import", outputs: read.properties });
    });
  }

  /** `pulumi destroy`: Delete every resource, dependents first. */
  destroy(): Promise<CommandResult> {
    return this.command(async (rpc, ctx) => {
      await this.deletePending(rpc, ctx);
      for (const entry of this.deletionOrder([...this.state.values()])) {
        await rpc.delete({
          urn: entry.urn,
          id: entry.id,
          properties: entry.outputs,
          oldInputs: entry.inputs,
        });
        this.state.delete(entry.urn);
        ctx.steps.push({ name: entry.name, urn: entry.urn, op: "delete" });
      }
    });
  }

  // ---- the engine's loop ----------------------------------------------------------------------

  private async command(
    body: (rpc: ProviderRpc, ctx: CommandContext) => Promise<void>,
  ): Promise<CommandResult> {
    const plugin = await this.options.plugin();
    const ctx = new CommandContext();
    try {
      await this.configureProvider(plugin.rpc, ctx);
      await body(plugin.rpc, ctx);
      return ctx.result(plugin.rpc.calls);
    } finally {
      await plugin.close();
      this.pluginStderr.push(plugin.stderr());
      const report = plugin.closeReport();
      if (report) this.closeReports.push(report);
    }
  }

  /** CheckConfig → DiffConfig (when there is old config) → Configure, as for the default provider. */
  private async configureProvider(rpc: ProviderRpc, ctx: CommandContext): Promise<void> {
    const urn = this.urn(`pulumi:providers:${PACKAGE_NAME}`, "default");
    // The engine sends config values as strings (JSON for non-strings), secrets wrapped.
    const news: WireProperties = {};
    const variables: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.config)) {
      const plain = reveal(value);
      const text = typeof plain === "string" ? plain : JSON.stringify(plain);
      news[key] = isSecret(value) ? secret(text) : text;
      variables[`${PACKAGE_NAME}:config:${key}`] = text;
    }
    const checked = await rpc.checkConfig({ urn, olds: this.providerInputs ?? {}, news });
    if (checked.failures.length > 0) throw new CheckFailedError(urn, checked.failures);
    if (this.providerInputs) {
      const diff = await rpc.diffConfig({
        urn,
        olds: this.providerInputs,
        news: checked.inputs,
        oldInputs: this.providerInputs,
      });
      ctx.replaceAll = diff.replaces.length > 0;
    }
    await rpc.configure({ variables, args: checked.inputs });
    ctx.providerInputs = checked.inputs;
  }

  private async deploy(
    rpc: ProviderRpc,
    ctx: CommandContext,
    resources: readonly ResourceDeclaration[],
    preview: boolean,
  ): Promise<void> {
    const ordered = dependencyOrder(resources);
    const declared = new Set<string>();
    for (const declaration of ordered) {
      const urn = this.urn(declaration.type, declaration.name);
      declared.add(urn);
      const dependencies = directDependencies(declaration).map((dep) => this.urn(dep.type, dep.name));
      const news = this.resolveInputs(declaration, ctx, preview);
      const old = this.state.get(urn);
      const checked = await rpc.check({ urn, olds: old?.inputs ?? {}, news, randomSeed: randomBytes(32) });
      if (checked.failures.length > 0) throw new CheckFailedError(urn, checked.failures);
      const timeouts = declaration.options.timeouts ?? {};
      const base = { type: declaration.type, name: declaration.name, urn, dependencies };

      if (!old) {
        const created = await this.create(rpc, base, checked.inputs, preview, timeouts.create);
        ctx.record(urn, created.properties);
        ctx.steps.push({ name: declaration.name, urn, op: "create", outputs: created.properties });
        continue;
      }
      const diff = await rpc.diff({
        urn,
        id: old.id,
        olds: old.outputs,
        news: checked.inputs,
        oldInputs: old.inputs,
        ignoreChanges: declaration.options.ignoreChanges ?? [],
      });
      const replace = diff.replaces.length > 0 || ctx.replaceAll;
      if (replace) {
        const deleteFirst = diff.deleteBeforeReplace || declaration.options.deleteBeforeReplace === true;
        if (deleteFirst && !preview) {
          await rpc.delete({
            urn,
            id: old.id,
            properties: old.outputs,
            oldInputs: old.inputs,
            timeout: timeouts.delete ?? 0,
          });
          this.state.delete(urn);
        }
        const createBeforeDelete = !deleteFirst && !preview;
        let created: { id: string; properties: WireProperties };
        try {
          created = await this.create(rpc, base, checked.inputs, preview, timeouts.create);
        } finally {
          // Once the replacement exists (made, or made but not initialised), the old one awaits deletion.
          if (createBeforeDelete && this.state.get(urn) !== old) this.pendingDeletes.push(old);
        }
        ctx.record(urn, created.properties);
        ctx.steps.push({ name: declaration.name, urn, op: "replace", outputs: created.properties, diff });
      } else if (diff.changes === "some" || (old.initErrors?.length ?? 0) > 0) {
        // Like the engine, a resource whose initialisation failed gets an Update (a retry) even without changes.
        let updated: { properties: WireProperties };
        try {
          updated = await rpc.update({
            urn,
            id: old.id,
            olds: old.outputs,
            news: checked.inputs,
            oldInputs: old.inputs,
            preview,
            timeout: timeouts.update ?? 0,
          });
        } catch (error) {
          if (error instanceof ProviderRpcError && error.initFailure && !preview) {
            const failure = error.initFailure;
            this.state.set(urn, {
              ...old,
              ...base,
              inputs: checked.inputs,
              outputs: failure.properties,
              initErrors: failure.reasons,
            });
          }
          throw error;
        }
        if (!preview) {
          const { initErrors: _cleared, ...rest } = old;
          void _cleared;
          this.state.set(urn, { ...rest, ...base, inputs: checked.inputs, outputs: updated.properties });
        }
        ctx.record(urn, updated.properties);
        ctx.steps.push({ name: declaration.name, urn, op: "update", outputs: updated.properties, diff });
      } else {
        if (!preview) this.state.set(urn, { ...old, ...base, inputs: checked.inputs });
        ctx.record(urn, old.outputs);
        ctx.steps.push({ name: declaration.name, urn, op: "same", outputs: old.outputs, diff });
      }
    }
    if (preview) return;
    const removed = [...this.state.values()].filter((entry) => !declared.has(entry.urn));
    for (const entry of this.deletionOrder(removed)) {
      await rpc.delete({ urn: entry.urn, id: entry.id, properties: entry.outputs, oldInputs: entry.inputs });
      this.state.delete(entry.urn);
      ctx.steps.push({ name: entry.name, urn: entry.urn, op: "delete" });
    }
    await this.deletePending(rpc, ctx);
    this.providerInputs = ctx.providerInputs;
  }

  /** Create; an init failure is recorded in the state (with its ID and partial outputs) and rethrown. */
  private async create(
    rpc: ProviderRpc,
    base: { type: string; name: string; urn: string; dependencies: readonly string[] },
    inputs: WireProperties,
    preview: boolean,
    timeout: number | undefined,
  ): Promise<{ id: string; properties: WireProperties }> {
    try {
      const created = await rpc.create({ urn: base.urn, properties: inputs, preview, timeout: timeout ?? 0 });
      if (!preview)
        this.state.set(base.urn, { ...base, id: created.id, inputs, outputs: created.properties });
      return created;
    } catch (error) {
      if (error instanceof ProviderRpcError && error.initFailure && !preview) {
        const failure = error.initFailure;
        this.state.set(base.urn, {
          ...base,
          id: failure.id,
          inputs,
          outputs: failure.properties,
          initErrors: failure.reasons,
        });
      }
      throw error;
    }
  }

  private resolveInputs(
    declaration: ResourceDeclaration,
    ctx: CommandContext,
    preview: boolean,
  ): WireProperties {
    const resolve: ResolveContext = {
      preview,
      output: (dep, property) => {
        const urn = this.urn(dep.type, dep.name);
        const outputs = ctx.outputs.get(urn) ?? this.state.get(urn)?.outputs;
        if (!outputs) {
          if (preview) return unknown;
          throw new Error(
            `${declaration.name} refers to ${dep.name}.${property}, but ${dep.name} does not exist`,
          );
        }
        const value = outputs[property];
        if (value === undefined && preview) return unknown;
        if (!preview && (isUnknown(value) || value === undefined)) {
          throw new Error(
            `${declaration.name} refers to ${dep.name}.${property}, which has no value (${JSON.stringify(value)})`,
          );
        }
        return value;
      },
    };
    const out: WireProperties = {};
    for (const [key, value] of Object.entries(declaration.inputs)) {
      const resolved = resolveValue(value, resolve);
      if (resolved !== undefined) out[key] = resolved;
    }
    return out;
  }

  /** Deletes the replaced resources still awaiting deletion, newest first; each leaves the list once deleted. */
  private async deletePending(rpc: ProviderRpc, ctx: CommandContext): Promise<void> {
    while (this.pendingDeletes.length > 0) {
      const entry = this.pendingDeletes[this.pendingDeletes.length - 1]!;
      await rpc.delete({ urn: entry.urn, id: entry.id, properties: entry.outputs, oldInputs: entry.inputs });
      this.pendingDeletes.pop();
      ctx.steps.push({ name: entry.name, urn: entry.urn, op: "delete" });
    }
  }

  /** Dependents before their dependencies (reverse creation order otherwise). */
  private deletionOrder(entries: readonly StateEntry[]): StateEntry[] {
    const remaining = new Set(entries.map((entry) => entry.urn));
    const byUrn = new Map(entries.map((entry) => [entry.urn, entry]));
    const order: StateEntry[] = [];
    const creation = [...this.state.keys()];
    const sorted = [...entries].sort((a, b) => creation.indexOf(b.urn) - creation.indexOf(a.urn));
    while (remaining.size > 0) {
      const next = sorted.find(
        (entry) =>
          remaining.has(entry.urn) &&
          ![...remaining].some((other) => byUrn.get(other)!.dependencies.includes(entry.urn)),
      );
      const pick = next ?? sorted.find((entry) => remaining.has(entry.urn))!;
      remaining.delete(pick.urn);
      order.push(pick);
    }
    return order;
  }
}

/** Per-command bookkeeping. */
class CommandContext {
  readonly steps: StepRecord[] = [];
  readonly outputs = new Map<string, WireProperties>();
  replaceAll = false;
  providerInputs: WireProperties | undefined;

  record(urn: string, outputs: WireProperties): void {
    this.outputs.set(urn, outputs);
  }

  result(calls: readonly string[]): CommandResult {
    const steps = [...this.steps];
    return {
      steps,
      calls: [...calls],
      outputs: (name: string) => {
        const step = [...steps].reverse().find((s) => s.name === name && s.outputs);
        if (!step?.outputs)
          throw new Error(
            `no outputs for "${name}" in this command; steps: ${steps.map((s) => s.name).join(", ")}`,
          );
        return step.outputs;
      },
    };
  }
}

function resolveValue(value: InputValue, ctx: ResolveContext): WireValue {
  if (value instanceof OutputReference) return ctx.output(value.resource, value.property);
  if (typeof value === "function") return (value as (ctx: ResolveContext) => WireValue)(ctx);
  if (Array.isArray(value)) return value.map((item: InputValue) => resolveValue(item, ctx));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = resolveValue(item as InputValue, ctx);
    return out;
  }
  return value;
}

function directDependencies(declaration: ResourceDeclaration): ResourceDeclaration[] {
  const found = new Set<ResourceDeclaration>(declaration.options.dependsOn ?? []);
  const visit = (value: unknown): void => {
    if (value instanceof OutputReference) found.add(value.resource);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(visit);
  };
  visit(declaration.inputs);
  return [...found];
}

/** Declarations with every dependency before its dependents, otherwise in the given order. */
function dependencyOrder(resources: readonly ResourceDeclaration[]): ResourceDeclaration[] {
  const order: ResourceDeclaration[] = [];
  const visiting = new Set<ResourceDeclaration>();
  const visit = (declaration: ResourceDeclaration): void => {
    if (order.includes(declaration)) return;
    if (visiting.has(declaration)) throw new Error(`dependency cycle through ${declaration.name}`);
    visiting.add(declaration);
    for (const dep of directDependencies(declaration)) if (resources.includes(dep)) visit(dep);
    visiting.delete(declaration);
    order.push(declaration);
  };
  resources.forEach(visit);
  return order;
}
