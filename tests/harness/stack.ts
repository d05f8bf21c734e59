/**
 * A small stand-in for the engine's deployment loop and its state: `preview`, `up`, `refresh`,
 * `import` and `destroy` send the pulumirpc calls the Pulumi CLI sends, in its order, against a
 * fresh plugin per command (as the engine starts one per command). Each behaviour follows the
 * engine's source (pulumi/pulumi), cited where it is modelled:
 *
 * - loading: Handshake first, then (for an attached plugin) Attach, then GetPluginInfo
 *   (pkg/resource/plugin/provider_plugin.go NewProvider; pkg/host/host.go);
 * - provider configuration: CheckConfig and DiffConfig get the config with secrets stripped, the
 *   secret marks are put back on what CheckConfig returns; Configure is skipped while any input is
 *   unknown, and then Check/Diff/Create/Update are answered by the engine without the provider
 *   (provider_plugin.go CheckConfig, DiffConfig, Configure, Check, Diff, Create, Update);
 * - per resource: ignoreChanges applied to the inputs before Check; Diff not asked for replacements
 *   the engine decides itself (`--replace`, replaceWith, deletedWith, a replaced provider); Check
 *   called again without olds for a replacement; the user's deleteBeforeReplace, when given,
 *   overriding the provider's; the delete-before-replace cascade through dependents found by Diff
 *   with unknowns (pkg/resource/deploy/step_generator.go);
 * - steps run in parallel as soon as their dependencies are done, deletions in reverse dependency
 *   order, a deletedWith resource deleted by its target's delete (deployment_executor.go, step.go);
 * - closing: Cancel, SIGINT, SIGKILL after 5 s (plugin.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { PACKAGE_NAME } from "../../provider/src/provider-config";
import type { CloseReport, PluginConnection } from "./plugin";
import {
  ProviderRpcError,
  type DiffReply,
  type ProviderRpc,
  type WireAutonaming,
  type WireCheckFailure,
} from "./rpc";
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
  /**
   * Delete before creating the replacement (true) or create first (false), whatever the provider's
   * Diff asked; omitted: as the provider's Diff asks (step_generator.go: goal.DeleteBeforeReplace).
   */
  readonly deleteBeforeReplace?: boolean;
  /** Property paths (`labels`, `labels.team`, `networks[0]`) whose changes are ignored. */
  readonly ignoreChanges?: readonly string[];
  /** customTimeouts in seconds, per operation. */
  readonly timeouts?: { readonly create?: number; readonly update?: number; readonly delete?: number };
  /** Other resources this one depends on beyond its output references. */
  readonly dependsOn?: readonly ResourceDeclaration[];
  /** Replace this resource whenever one of these is replaced (the engine decides; no Diff). */
  readonly replaceWith?: readonly ResourceDeclaration[];
  /** This resource goes with that one: replaced when it is, and not deleted separately when it is deleted. */
  readonly deletedWith?: ResourceDeclaration;
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
  /** Per top-level input, the URNs its value came from. */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  /** The URN of the resource this one is deleted with. */
  readonly deletedWith?: string;
  /** Reasons of an init failure the provider reported (the engine keeps the resource and retries). */
  readonly initErrors?: readonly string[];
}

/** What one step did. */
export interface StepRecord {
  readonly name: string;
  readonly urn: string;
  readonly op:
    | "create"
    | "update"
    | "replace"
    | "same"
    | "delete"
    | "delete-replaced"
    | "refresh"
    | "read-gone"
    | "import";
  /** Outputs after the step (preview outputs during a preview), wire form. */
  readonly outputs?: WireProperties;
  /** The Diff the provider returned, when one ran (or the engine's own replacement decision). */
  readonly diff?: DiffReply;
  /** For a replacement: deleted before the replacement was created. */
  readonly deleteBeforeReplace?: boolean;
  /** For a replacement: who decided it — the provider's Diff or the engine alone. */
  readonly replacedBecause?: "diff" | "replace" | "replaceWith" | "deletedWith" | "provider";
}

/** The result of a command. */
export interface CommandResult {
  readonly steps: readonly StepRecord[];
  /** pulumirpc method names called, in order. */
  readonly calls: readonly string[];
  /** The requests of those calls (protobuf messages), in order. */
  readonly requests: readonly { readonly method: string; readonly request: unknown }[];
  /** `start:<name>` and `end:<name>` of every resource step, in the order they happened. */
  readonly timeline: readonly string[];
  /** Warnings the engine would print (e.g. a diff unavailable while the provider config is unknown). */
  readonly warnings: readonly string[];
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

/**
 * The stack's autonaming configuration (`pulumi:autonaming`), as the engine's Autonamer applies it:
 * a pattern with `${name}` (the logical name) and `${hex(n)}` (n random hex digits from the
 * resource's random seed). A pattern without randomness makes every replacement delete first, as
 * the engine does (step_generator.go, AutonamingForResource).
 */
export interface AutonamingConfig {
  readonly mode: WireAutonaming["mode"];
  readonly pattern?: string;
}

/** Options of a {@link Stack}. */
export interface StackOptions {
  /** Starts the plugin for one command (the harness closes it when the command ends). */
  readonly plugin: () => Promise<PluginConnection>;
  /** Provider configuration (plain keys; secret values via `secret(...)`, unknown ones via `unknown`). */
  readonly config?: Readonly<Record<string, WireValue>>;
  readonly project?: string;
  readonly stack?: string;
  /** The stack's autonaming configuration; omitted: none (the engine sends no autonaming options). */
  readonly autonaming?: AutonamingConfig;
  /** The plugin was started by the test and the engine attaches to it (PULUMI_DEBUG_PROVIDERS): Attach, no directories. */
  readonly attach?: boolean;
  /** The engine address sent in Handshake and Attach when the plugin has no fake engine. */
  readonly engineAddress?: string;
  /**
   * At most this many resource steps at once (`pulumi up --parallel`); default: the CLI's, four per
   * CPU or PULUMI_PARALLEL (pkg/cmd/pulumi/operations/up.go defaultParallel).
   */
  readonly parallel?: number;
}

/** A resource step that failed, with its error (the engine prints each as an error on that resource). */
export interface StepFailure {
  readonly name: string;
  readonly urn: string;
  readonly error: unknown;
}

/** Options of one `up` or `preview`. */
export interface DeployOptions {
  /** `--replace <urn>`: logical names of resources to replace whatever their Diff says. */
  readonly replace?: readonly string[];
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
  readonly closeReports: CloseReport[] = [];
  /**
   * Every resource step of the latest command that failed, in the order they failed. A failed step
   * stops further steps from starting, but steps already running finish, and each failure is
   * reported on its own resource (step_executor.go: executeChain, cancelDueToError; the step's
   * error is recorded by OnResourceStepPost). The command itself fails with the first of them.
   */
  readonly failedSteps: StepFailure[] = [];

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
  preview(resources: readonly ResourceDeclaration[], options: DeployOptions = {}): Promise<CommandResult> {
    return this.command(true, (rpc, ctx) => this.deploy(rpc, ctx, resources, true, options));
  }

  /** `pulumi up`: creates, updates, replaces and deletes until the state matches `resources`. */
  up(resources: readonly ResourceDeclaration[], options: DeployOptions = {}): Promise<CommandResult> {
    return this.command(false, (rpc, ctx) => this.deploy(rpc, ctx, resources, false, options));
  }

  /** `pulumi refresh`: Read every resource; those that are gone leave the state. */
  refresh(): Promise<CommandResult> {
    return this.command(false, async (rpc, ctx) => {
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
    return this.command(false, async (rpc, ctx) => {
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

  /** `pulumi destroy`: Delete every resource, dependents first, independent ones in parallel. */
  destroy(): Promise<CommandResult> {
    return this.command(false, async (rpc, ctx) => {
      await this.deletePending(rpc, ctx);
      await this.deleteAll(rpc, ctx, [...this.state.values()]);
    });
  }

  // ---- the engine's loop ----------------------------------------------------------------------

  private async command(
    preview: boolean,
    body: (rpc: ProviderRpc, ctx: CommandContext) => Promise<void>,
  ): Promise<CommandResult> {
    this.failedSteps.splice(0);
    const plugin = await this.options.plugin();
    const ctx = new CommandContext();
    try {
      await this.loadPlugin(plugin, ctx);
      await this.configureProvider(plugin.rpc, ctx, preview);
      await body(plugin.rpc, ctx);
      return ctx.result(plugin.rpc.calls, plugin.rpc.requests);
    } finally {
      await plugin.close();
      this.pluginStderr.push(plugin.stderr());
      const report = plugin.closeReport();
      if (report) this.closeReports.push(report);
    }
  }

  /**
   * Handshake first (the plugin's directory as root and program directory when the engine started
   * it, none when it attached), Attach for an attached plugin, then GetPluginInfo for the version
   * check (provider_plugin.go NewProvider; host.go). A plugin without Handshake is still loaded.
   */
  private async loadPlugin(plugin: PluginConnection, ctx: CommandContext): Promise<void> {
    const address = plugin.engine?.address ?? this.options.engineAddress ?? "127.0.0.1:0";
    try {
      const reply = await plugin.rpc.handshake(
        address,
        this.options.attach ? {} : { directory: pluginDirectory() },
      );
      ctx.supportsAutonaming = reply.supportsAutonamingConfiguration;
    } catch (error) {
      if (!isUnimplemented(error)) throw error;
    }
    if (this.options.attach) await plugin.rpc.attach(address);
    await plugin.rpc.getPluginInfo();
  }

  /**
   * CheckConfig → DiffConfig (when there is old config) → Configure, as for the default provider.
   * CheckConfig and DiffConfig get plain values (secrets stripped); the secret marks are put back on
   * the checked inputs, which Configure then gets with secrets kept. With any input unknown (a
   * preview), Configure is not called (provider_plugin.go).
   */
  private async configureProvider(rpc: ProviderRpc, ctx: CommandContext, preview: boolean): Promise<void> {
    const urn = this.urn(`pulumi:providers:${PACKAGE_NAME}`, "default");
    // The engine sends config values as strings (JSON for non-strings).
    const news: WireProperties = {};
    for (const [key, value] of Object.entries(this.config)) {
      if (isUnknown(value)) {
        if (!preview) throw new Error(`provider config "${key}" is unknown outside a preview`);
        news[key] = value;
        continue;
      }
      const plain = reveal(value);
      const text = typeof plain === "string" ? plain : JSON.stringify(plain);
      news[key] = isSecret(value) ? secret(text) : text;
    }
    const checked = await rpc.checkConfig({
      urn,
      olds: reveal<WireProperties>(this.providerInputs ?? {}),
      news: reveal<WireProperties>(news),
    });
    if (checked.failures.length > 0) throw new CheckFailedError(urn, checked.failures);
    const inputs = annotateSecretKeys(checked.inputs, news);
    if (this.providerInputs) {
      const diff = await rpc.diffConfig({
        urn,
        olds: reveal<WireProperties>(this.providerInputs),
        news: reveal<WireProperties>(inputs),
        oldInputs: reveal<WireProperties>(this.providerInputs),
      });
      ctx.replaceAll = diff.replaces.length > 0;
    }
    ctx.providerInputs = inputs;
    if (Object.values(inputs).some((value) => containsUnknownValue(value))) {
      ctx.configKnown = false;
      return;
    }
    const variables: Record<string, string> = {};
    for (const [key, value] of Object.entries(inputs)) {
      if (key === "version") continue;
      const plain = reveal(value);
      variables[`${PACKAGE_NAME}:config:${key}`] = typeof plain === "string" ? plain : JSON.stringify(plain);
    }
    const configured = await rpc.configure({ variables, args: inputs });
    ctx.supportsAutonaming ||= configured.supportsAutonamingConfiguration;
  }

  private async deploy(
    rpc: ProviderRpc,
    ctx: CommandContext,
    resources: readonly ResourceDeclaration[],
    preview: boolean,
    options: DeployOptions,
  ): Promise<void> {
    dependencyOrder(resources); // rejects cycles
    // Replaced resources an earlier command left awaiting deletion are deleted first
    // (deployment_executor.go, Execute: retirePendingDeletes before the program runs).
    if (!preview) await this.deletePending(rpc, ctx);
    const declared = new Set(resources.map((r) => this.urn(r.type, r.name)));
    const limiter = new Limiter(this.options.parallel ?? defaultParallel());
    const steps = new Map<ResourceDeclaration, Promise<void>>();
    let failure: { error: unknown } | undefined;
    const run = (declaration: ResourceDeclaration): Promise<void> => {
      let step = steps.get(declaration);
      if (!step) {
        step = (async () => {
          // A resource registers once the outputs it uses are known; the targets of replaceWith and
          // deletedWith must be registered first (the engine needs their replacement decision).
          const before = new Set([...directDependencies(declaration), ...registeredBefore(declaration)]);
          await Promise.all([...before].filter((dep) => resources.includes(dep)).map(run));
          if (failure) throw new Error("not started: an earlier step failed");
          ctx.timeline.push(`start:${declaration.name}`);
          try {
            await this.step(rpc, ctx, declaration, preview, options, limiter);
          } catch (error) {
            this.failedSteps.push({
              name: declaration.name,
              urn: this.urn(declaration.type, declaration.name),
              error,
            });
            throw error;
          } finally {
            ctx.timeline.push(`end:${declaration.name}`);
          }
        })().catch((error: unknown) => {
          failure ??= { error };
          throw error;
        });
        steps.set(declaration, step);
      }
      return step;
    };
    await Promise.allSettled(resources.map(run));
    // Steps are listed in the program's registration order (dependencies first), whatever order
    // they finished in; `timeline` keeps the order they ran in.
    const registration = dependencyOrder(resources).map((r) => this.urn(r.type, r.name));
    ctx.sortSteps(registration);
    this.orderState(registration);
    if (failure) throw failure.error;
    if (preview) return;
    const removed = [...this.state.values()].filter((entry) => !declared.has(entry.urn));
    await this.deleteAll(rpc, ctx, removed);
    await this.deletePending(rpc, ctx);
    this.providerInputs = ctx.providerInputs;
  }

  /** One resource's registration: Check, Diff (unless the engine decides alone), then its step. */
  private async step(
    rpc: ProviderRpc,
    ctx: CommandContext,
    declaration: ResourceDeclaration,
    preview: boolean,
    options: DeployOptions,
    limiter: Limiter,
  ): Promise<void> {
    const urn = this.urn(declaration.type, declaration.name);
    const propertyDependencies = this.propertyDependenciesOf(declaration);
    const dependencies = [...new Set(directDependencies(declaration).map((d) => this.urn(d.type, d.name)))];
    const deletedWith = declaration.options.deletedWith;
    const base = {
      type: declaration.type,
      name: declaration.name,
      urn,
      dependencies,
      propertyDependencies,
      ...(deletedWith ? { deletedWith: this.urn(deletedWith.type, deletedWith.name) } : {}),
    };
    const goal = this.resolveInputs(declaration, ctx, preview);
    const old = this.state.get(urn);
    const randomSeed = randomBytes(32);
    const autonaming = this.autonamingFor(ctx, declaration.name, randomSeed);
    // A pattern without randomness cannot give a replacement a name of its own (step_generator.go).
    const goalDeleteBeforeReplace =
      declaration.options.deleteBeforeReplace ?? (autonaming?.deterministic ? true : undefined);
    const targeted = options.replace?.includes(declaration.name) === true;
    const timeouts = declaration.options.timeouts ?? {};

    // ignoreChanges: the ignored paths take their old input values before Check (processIgnoreChanges).
    const inputs = old ? applyIgnoreChanges(goal, old.inputs, declaration.options.ignoreChanges ?? []) : goal;
    // A targeted replacement is checked without its old inputs (step_generator.go).
    const fresh = !old || targeted;
    // Check runs in the engine's step generation, which handles one registration at a time
    // (deployment_executor.go handleSingleEvent → step_generator.go GenerateSteps calls prov.Check
    // synchronously): Checks never overlap, and they do not take a `--parallel` slot.
    const checked = await ctx.eventLoop.run(() =>
      this.check(rpc, ctx, {
        urn,
        olds: fresh ? {} : old.inputs,
        news: fresh ? goal : inputs,
        randomSeed,
        ...(autonaming ? { autonaming: autonaming.options } : {}),
      }),
    );
    // The step itself (Diff, then create, update or replace) runs on one of the step executor's
    // `--parallel` workers (step_executor.go).
    const release = await limiter.acquire();
    try {
      if (!old) {
        const created = await this.create(rpc, ctx, base, checked, preview, timeouts.create);
        ctx.record(urn, created.properties);
        const op = ctx.condemned.has(urn) ? "replace" : "create";
        ctx.steps.push({ name: declaration.name, urn, op, outputs: created.properties });
        return;
      }

      const decided = this.engineDecision(ctx, declaration, targeted);
      let diff: DiffReply;
      if (decided) {
        diff = engineReplacement(decided);
      } else if (!ctx.configKnown) {
        // The engine answers for a provider whose config is unknown: "diff unavailable", shown as an update.
        ctx.warnings.push(
          `${urn}: the provider for this resource has inputs that are not known during preview; this preview may not correctly represent the changes`,
        );
        diff = { ...engineReplacement("provider"), replaces: [] };
      } else {
        diff = await rpc.diff({
          urn,
          id: old.id,
          olds: old.outputs,
          news: checked,
          oldInputs: old.inputs,
          ignoreChanges: declaration.options.ignoreChanges ?? [],
        });
      }

      if (diff.replaces.length > 0) {
        ctx.replaced.add(urn);
        // The replacement's inputs are checked again, without olds, so defaults (names) are made
        // afresh; a targeted replacement already was (step_generator.go).
        const replacementInputs =
          targeted || !ctx.configKnown
            ? checked
            : await ctx.eventLoop.run(() =>
                this.check(rpc, ctx, {
                  urn,
                  olds: {},
                  news: goal,
                  randomSeed,
                  ...autonamingArg(autonaming),
                }),
              );
        const deleteFirst = goalDeleteBeforeReplace ?? diff.deleteBeforeReplace;
        if (deleteFirst) await this.deleteBeforeReplace(rpc, ctx, old, preview, timeouts.delete);
        let created: { id: string; properties: WireProperties };
        try {
          created = await this.create(rpc, ctx, base, replacementInputs, preview, timeouts.create);
        } finally {
          // Once the replacement exists (made, or made but not initialised), the old one awaits deletion.
          if (!deleteFirst && !preview && this.state.get(urn) !== old) this.pendingDeletes.push(old);
        }
        ctx.record(urn, created.properties);
        ctx.steps.push({
          name: declaration.name,
          urn,
          op: "replace",
          outputs: created.properties,
          diff,
          deleteBeforeReplace: deleteFirst,
          replacedBecause: decided ?? "diff",
        });
        return;
      }

      if (diff.changes === "some" || (old.initErrors?.length ?? 0) > 0) {
        // Like the engine, a resource whose initialisation failed gets an Update (a retry) even without changes.
        let updated: { properties: WireProperties };
        try {
          updated =
            !ctx.configKnown && preview
              ? { properties: {} }
              : await rpc.update({
                  urn,
                  id: old.id,
                  olds: old.outputs,
                  news: checked,
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
              inputs: checked,
              outputs: failure.properties,
              initErrors: failure.reasons,
            });
          }
          throw error;
        }
        if (!preview) {
          const { initErrors: _cleared, ...rest } = old;
          void _cleared;
          this.state.set(urn, { ...rest, ...base, inputs: checked, outputs: updated.properties });
        }
        ctx.record(urn, updated.properties);
        ctx.steps.push({ name: declaration.name, urn, op: "update", outputs: updated.properties, diff });
        return;
      }
      if (!preview) this.state.set(urn, { ...old, ...base, inputs: checked });
      ctx.record(urn, old.outputs);
      ctx.steps.push({ name: declaration.name, urn, op: "same", outputs: old.outputs, diff });
    } finally {
      release();
    }
  }

  /** Keeps the state in registration order (`urns` first), however the parallel steps finished. */
  private orderState(urns: readonly string[]): void {
    const entries = [...this.state.values()];
    const rank = (entry: StateEntry) => {
      const index = urns.indexOf(entry.urn);
      return index < 0 ? urns.length : index;
    };
    const sorted = entries
      .map((entry, position) => ({ entry, position }))
      .sort((a, b) => rank(a.entry) - rank(b.entry) || a.position - b.position);
    this.state.clear();
    for (const { entry } of sorted) this.state.set(entry.urn, entry);
  }

  /** Check, or the engine's own answer while the provider's config is unknown (the news as given). */
  private async check(
    rpc: ProviderRpc,
    ctx: CommandContext,
    args: Parameters<ProviderRpc["check"]>[0],
  ): Promise<WireProperties> {
    if (!ctx.configKnown) return args.news;
    const reply = await rpc.check(args);
    if (reply.failures.length > 0) throw new CheckFailedError(args.urn, reply.failures);
    return reply.inputs;
  }

  /** A replacement the engine decides without asking Diff (step_generator.go, diff). */
  private engineDecision(
    ctx: CommandContext,
    declaration: ResourceDeclaration,
    targeted: boolean,
  ): Exclude<StepRecord["replacedBecause"], "diff" | undefined> | undefined {
    if (targeted) return "replace";
    const replaced = (d: ResourceDeclaration) => ctx.replaced.has(this.urn(d.type, d.name));
    if ((declaration.options.replaceWith ?? []).some(replaced)) return "replaceWith";
    const deletedWith = declaration.options.deletedWith;
    if (deletedWith && replaced(deletedWith)) return "deletedWith";
    if (ctx.replaceAll) return "provider";
    return undefined;
  }

  /**
   * Delete before replace: first the dependents that the replacement would replace too (found by
   * Diff with the inputs that came from the replaced resources unknown, or deletedWith it), in
   * reverse dependency order, then the resource itself (step_generator.go,
   * calculateDependentReplacements). Each dependent is created again when its own step comes.
   */
  private async deleteBeforeReplace(
    rpc: ProviderRpc,
    ctx: CommandContext,
    root: StateEntry,
    preview: boolean,
    timeout: number | undefined,
  ): Promise<void> {
    const replaceSet = new Set([root.urn]);
    const toReplace: StateEntry[] = [];
    for (const dependent of this.dependentsOf(root)) {
      if (dependent.deletedWith && replaceSet.has(dependent.deletedWith)) {
        toReplace.push(dependent);
        replaceSet.add(dependent.urn);
        continue;
      }
      let dependsOnReplaced = false;
      const inputsForDiff: WireProperties = {};
      for (const [key, value] of Object.entries(dependent.inputs)) {
        const fromReplaced = (dependent.propertyDependencies?.[key] ?? []).some((u) => replaceSet.has(u));
        dependsOnReplaced ||= fromReplaced;
        inputsForDiff[key] = fromReplaced ? unknown : value;
      }
      if (!dependsOnReplaced) continue;
      const diff = await rpc.diff({
        urn: dependent.urn,
        id: dependent.id,
        olds: dependent.outputs,
        news: inputsForDiff,
        oldInputs: dependent.inputs,
      });
      if (diff.replaces.length === 0) continue;
      toReplace.push(dependent);
      replaceSet.add(dependent.urn);
    }
    for (const dependent of [...toReplace].reverse()) {
      if (ctx.condemned.has(dependent.urn)) continue;
      ctx.condemned.add(dependent.urn);
      ctx.steps.push({ name: dependent.name, urn: dependent.urn, op: "delete-replaced" });
      if (preview) continue;
      await this.deleteEntry(rpc, dependent, undefined, ctx.condemned);
    }
    // The root's own deletion is part of its "replace" step (deleteBeforeReplace: true).
    if (!preview) await this.deleteEntry(rpc, root, timeout, new Set());
  }

  /** The resources in the state that depend on `root`, directly or not, in dependency order. */
  private dependentsOf(root: StateEntry): StateEntry[] {
    const entries = [...this.state.values()];
    const found = new Set<string>([root.urn]);
    const out: StateEntry[] = [];
    for (const entry of entries) {
      if (entry.urn === root.urn) continue;
      const on = [...entry.dependencies, ...(entry.deletedWith ? [entry.deletedWith] : [])];
      if (on.some((urn) => found.has(urn))) {
        found.add(entry.urn);
        out.push(entry);
      }
    }
    return out;
  }

  /** Create; an init failure is recorded in the state (with its ID and partial outputs) and rethrown. */
  private async create(
    rpc: ProviderRpc,
    ctx: CommandContext,
    base: Omit<StateEntry, "id" | "inputs" | "outputs">,
    inputs: WireProperties,
    preview: boolean,
    timeout: number | undefined,
  ): Promise<{ id: string; properties: WireProperties }> {
    // With the provider's config unknown the engine answers a preview Create itself, with nothing.
    if (preview && !ctx.configKnown) return { id: "", properties: {} };
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

  /** Per top-level input, the URNs of the resources its value refers to. */
  private propertyDependenciesOf(declaration: ResourceDeclaration): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(declaration.inputs)) {
      const refs = referencesIn(value).map((d) => this.urn(d.type, d.name));
      if (refs.length > 0) out[key] = [...new Set(refs)];
    }
    return out;
  }

  /** The engine's Autonamer: the proposed name for a resource, when the stack configures one and the plugin supports it. */
  private autonamingFor(
    ctx: CommandContext,
    name: string,
    randomSeed: Uint8Array,
  ): { options: WireAutonaming; deterministic: boolean } | undefined {
    const config = this.options.autonaming;
    if (!config || !ctx.supportsAutonaming) return undefined;
    const pattern = config.pattern ?? "${name}-${hex(7)}";
    let deterministic = true;
    const proposedName = pattern.replace(
      /\$\{(name|hex\((\d+)\))\}/g,
      (_all, what: string, digits?: string) => {
        if (what === "name") return name;
        deterministic = false;
        return createHash("sha256").update(randomSeed).digest("hex").slice(0, Number(digits));
      },
    );
    return { options: { proposedName, mode: config.mode }, deterministic };
  }

  /** Deletes the replaced resources still awaiting deletion, newest first; each leaves the list once deleted. */
  private async deletePending(rpc: ProviderRpc, ctx: CommandContext): Promise<void> {
    while (this.pendingDeletes.length > 0) {
      const entry = this.pendingDeletes[this.pendingDeletes.length - 1]!;
      try {
        await rpc.delete({
          urn: entry.urn,
          id: entry.id,
          properties: entry.outputs,
          oldInputs: entry.inputs,
        });
      } catch (error) {
        this.failedSteps.push({ name: entry.name, urn: entry.urn, error });
        throw error;
      }
      this.pendingDeletes.pop();
      ctx.steps.push({ name: entry.name, urn: entry.urn, op: "delete" });
    }
  }

  /**
   * Deletes `entries` and drops them from the state: in antichains (dependents first, each
   * antichain in parallel), a resource deletedWith another being deleted left to that delete
   * (deployment_executor.go, ScheduleDeletes; step.go, DeleteStep).
   */
  private async deleteAll(
    rpc: ProviderRpc,
    ctx: CommandContext,
    entries: readonly StateEntry[],
  ): Promise<void> {
    const deleting = new Set(entries.map((entry) => entry.urn));
    // Each antichain's deletes share the step executor's `--parallel` workers (step_executor.go).
    const limiter = new Limiter(this.options.parallel ?? defaultParallel());
    for (const antichain of this.deletionAntichains(entries)) {
      const results = await Promise.allSettled(
        antichain.map(async (entry) => {
          try {
            await limiter.run(() => this.deleteEntry(rpc, entry, undefined, deleting));
          } catch (error) {
            this.failedSteps.push({ name: entry.name, urn: entry.urn, error });
            throw error;
          }
          ctx.steps.push({ name: entry.name, urn: entry.urn, op: "delete" });
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    }
  }

  /** Delete of one resource (skipped when the resource it is deleted with goes too), and out of the state. */
  private async deleteEntry(
    rpc: ProviderRpc,
    entry: StateEntry,
    timeout: number | undefined,
    deleting: ReadonlySet<string>,
  ): Promise<void> {
    if (!(entry.deletedWith && deleting.has(entry.deletedWith))) {
      await rpc.delete({
        urn: entry.urn,
        id: entry.id,
        properties: entry.outputs,
        oldInputs: entry.inputs,
        timeout: timeout ?? 0,
      });
    }
    this.state.delete(entry.urn);
  }

  /** Antichains of deletions: each holds entries no remaining entry depends on (newest first within). */
  private deletionAntichains(entries: readonly StateEntry[]): StateEntry[][] {
    const creation = [...this.state.keys()];
    const remaining = [...entries].sort((a, b) => creation.indexOf(b.urn) - creation.indexOf(a.urn));
    const chains: StateEntry[][] = [];
    while (remaining.length > 0) {
      const pending = new Set(remaining.map((entry) => entry.urn));
      const free = remaining.filter(
        (entry) =>
          !remaining.some(
            (other) =>
              other !== entry && (other.dependencies.includes(entry.urn) || other.deletedWith === entry.urn),
          ),
      );
      const chain = free.length > 0 ? free : [remaining[0]!];
      chains.push(chain);
      for (const entry of chain) pending.delete(entry.urn);
      remaining.splice(0, remaining.length, ...remaining.filter((entry) => pending.has(entry.urn)));
    }
    return chains;
  }
}

/** Per-command bookkeeping. */
class CommandContext {
  readonly steps: StepRecord[] = [];
  readonly outputs = new Map<string, WireProperties>();
  readonly timeline: string[] = [];
  readonly warnings: string[] = [];
  /** URNs replaced in this command (for replaceWith and deletedWith). */
  readonly replaced = new Set<string>();
  /** URNs deleted early by a delete-before-replace cascade, to be created again. */
  readonly condemned = new Set<string>();
  /** The engine's event loop: one registration's step generation (its Check) at a time. */
  readonly eventLoop = new StepGeneration();
  replaceAll = false;
  configKnown = true;
  supportsAutonaming = false;
  providerInputs: WireProperties | undefined;

  /** Orders the steps recorded so far by `urns` (steps of other URNs keep their place after them). */
  sortSteps(urns: readonly string[]): void {
    const rank = (step: StepRecord) => {
      const index = urns.indexOf(step.urn);
      return index < 0 ? urns.length : index;
    };
    const sorted = this.steps
      .map((step, position) => ({ step, position }))
      .sort((a, b) => rank(a.step) - rank(b.step) || a.position - b.position)
      .map(({ step }) => step);
    this.steps.splice(0, this.steps.length, ...sorted);
  }

  record(urn: string, outputs: WireProperties): void {
    this.outputs.set(urn, outputs);
  }

  result(calls: readonly string[], requests: CommandResult["requests"]): CommandResult {
    const steps = [...this.steps];
    return {
      steps,
      calls: [...calls],
      requests: [...requests],
      timeline: [...this.timeline],
      warnings: [...this.warnings],
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

/**
 * The engine's step generation, which registrations go through one at a time: the engine's event
 * loop handles one RegisterResource event after another and calls the provider's Check inside it
 * (pulumi/pulumi pkg/resource/deploy/deployment_executor.go handleSingleEvent → step_generator.go
 * GenerateSteps), so Checks never overlap and are sent in registration order; the step that follows
 * runs on a step executor worker (step_executor.go). The benchmark sends its bursts through it too.
 */
export class StepGeneration {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `call` once every earlier one has answered (or failed). */
  run<T>(call: () => Promise<T>): Promise<T> {
    const result = this.tail.then(call, call);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The CLI's default `--parallel`: PULUMI_PARALLEL when set to a positive number, else four per CPU
 * (pkg/cmd/pulumi/operations/up.go defaultParallel: GOMAXPROCS × 4, see pulumi/pulumi#14989).
 */
export function defaultParallel(env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.PULUMI_PARALLEL);
  if (Number.isInteger(configured) && configured > 0) return configured;
  return availableParallelism() * 4;
}

/** At most `limit` bodies at once. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  /** Waits for a slot; the caller must call the returned release exactly once. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  async run<T>(body: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await body();
    } finally {
      release();
    }
  }
}

/** The replacement the engine reports without a Diff: the blamed key is the reason. */
function engineReplacement(reason: string): DiffReply {
  const key = reason === "replace" ? "id" : reason;
  return {
    changes: "some",
    replaces: [key],
    deleteBeforeReplace: false,
    diffs: [],
    detailedDiff: {},
    hasDetailedDiff: false,
  };
}

function autonamingArg(autonaming: { options: WireAutonaming } | undefined): { autonaming?: WireAutonaming } {
  return autonaming ? { autonaming: autonaming.options } : {};
}

/** The plugin directory the engine sends as root and program directory. */
function pluginDirectory(): string {
  return require("node:path").resolve(__dirname, "..", "..", "provider", "bin") as string;
}

function isUnimplemented(error: unknown): boolean {
  return error instanceof ProviderRpcError && error.code === 12; // UNIMPLEMENTED
}

function containsUnknownValue(value: WireValue): boolean {
  if (isUnknown(value)) return true;
  if (isSecret(value)) return containsUnknownValue(value.value);
  if (Array.isArray(value)) return value.some(containsUnknownValue);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknownValue);
  return false;
}

/**
 * The engine's annotateSecrets after CheckConfig (provider_plugin.go): a key that was secret in
 * what the program gave is secret in what the provider returned.
 */
function annotateSecretKeys(checked: WireProperties, given: WireProperties): WireProperties {
  const out: WireProperties = { ...checked };
  for (const [key, value] of Object.entries(given)) {
    if (isSecret(value) && key in out && !isSecret(out[key])) out[key] = secret(out[key]);
  }
  return out;
}

/** A property path as the engine parses it: `a.b`, `a["b"]`, `a[0]`. */
function parsePath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]/g;
  for (const match of path.matchAll(pattern)) {
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(match[3]!);
  }
  return parts;
}

/**
 * processIgnoreChanges (step_generator.go): each ignored path takes its old input value; a path
 * absent from the old inputs is removed from the new ones.
 */
export function applyIgnoreChanges(
  news: WireProperties,
  olds: WireProperties,
  paths: readonly string[],
): WireProperties {
  const out = structuredClone(news) as Record<string | number, unknown>;
  for (const path of paths) {
    const parts = parsePath(path);
    let source: unknown = olds;
    let target: Record<string | number, unknown> | undefined = out;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      const from =
        source !== null && typeof source === "object"
          ? (source as Record<string | number, unknown>)[part]
          : undefined;
      if (!target) break;
      if (last) {
        if (from === undefined) delete target[part];
        else target[part] = structuredClone(from);
      } else {
        const next = target[part];
        if (next === null || typeof next !== "object") {
          if (from === undefined) break;
          target[part] = structuredClone(from);
          break;
        }
        target = next as Record<string | number, unknown>;
        source = from;
      }
    }
  }
  return out as WireProperties;
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

/** The resources a value refers to (output references; a function's are not visible). */
function referencesIn(value: unknown): ResourceDeclaration[] {
  if (value instanceof OutputReference) return [value.resource];
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(referencesIn);
  return [];
}

function directDependencies(declaration: ResourceDeclaration): ResourceDeclaration[] {
  return [...new Set([...(declaration.options.dependsOn ?? []), ...referencesIn(declaration.inputs)])];
}

/** Resources that must be registered before this one without being dependencies: replaceWith and deletedWith targets. */
function registeredBefore(declaration: ResourceDeclaration): ResourceDeclaration[] {
  const { replaceWith, deletedWith } = declaration.options;
  return [...(replaceWith ?? []), ...(deletedWith ? [deletedWith] : [])];
}

/** Declarations with every dependency before its dependents, otherwise in the given order. */
function dependencyOrder(resources: readonly ResourceDeclaration[]): ResourceDeclaration[] {
  const order: ResourceDeclaration[] = [];
  const visiting = new Set<ResourceDeclaration>();
  const visit = (declaration: ResourceDeclaration): void => {
    if (order.includes(declaration)) return;
    if (visiting.has(declaration)) throw new Error(`dependency cycle through ${declaration.name}`);
    visiting.add(declaration);
    for (const dep of [...directDependencies(declaration), ...registeredBefore(declaration)]) {
      if (resources.includes(dep)) visit(dep);
    }
    visiting.delete(declaration);
    order.push(declaration);
  };
  resources.forEach(visit);
  return order;
}
