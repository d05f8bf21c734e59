/**
 * Runs a Pulumi program without the Pulumi CLI, its resources made by the real plugin: Pulumi's
 * mock runtime (`pulumi.runtime.setMocks`) executes the program, and every resource it registers
 * goes to `pulumi-resource-bonneville` over gRPC the way the engine's `pulumi up` sends it:
 * CheckConfig → Configure once per provider, then Check → Create per resource, with the checked
 * inputs and the real outputs flowing back into the program. `destroy()` then deletes what was made,
 * dependents first (each registration's dependencies are recorded as the SDK sends them).
 *
 * What the engine does and this does not: previews, diffs and updates of an existing state
 * (every run starts from an empty stack), customTimeouts, and the engine's own secret handling of
 * `additionalSecretOutputs` (the plugin's outputs keep the secrets it marks).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type * as pulumiSdk from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime";
import { PACKAGE_NAME } from "../provider/src/provider-config";
import { objectToStruct, protocol, structToObject } from "../provider/src/server/protocol";
import {
  ProviderRpcError,
  reveal,
  startPlugin,
  type PluginProcess,
  type WireProperties,
} from "../tests/harness";

/** The type of the root resource of every stack. */
const STACK_TYPE = "pulumi:pulumi:Stack";
/** The type of this package's provider resources. */
const PROVIDER_TYPE = `pulumi:providers:${PACKAGE_NAME}`;

/** A resource the plugin created (or half-created: an init failure still has an ID to delete). */
export interface CreatedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly id: string;
  /** Checked inputs, wire form. */
  readonly inputs: WireProperties;
  /** Outputs, wire form. */
  readonly outputs: WireProperties;
  /** URNs this resource depends on (as the SDK registered it). */
  readonly dependencies: readonly string[];
  /** Seconds from Check to the end of Create. */
  readonly seconds: number;
  readonly provider: ProviderInstance;
}

/** A running plugin configured for one provider resource (the default one or an explicit one). */
interface ProviderInstance {
  readonly urn: string;
  readonly plugin: PluginProcess;
}

/** The plugin refused or failed an operation; names the resource and carries the plugin's reasons. */
export class ResourceOperationError extends Error {
  constructor(
    readonly operation: string,
    readonly urn: string,
    reason: string,
  ) {
    super(`${operation} of ${urn} failed: ${reason}`);
    this.name = "ResourceOperationError";
  }
}

/** Options of {@link PluginEngine.start}. */
export interface PluginEngineOptions {
  readonly project: string;
  readonly stack: string;
  /** The default provider's configuration (plain keys; the password may be given as a secret wire value). */
  readonly providerConfig: WireProperties;
  /** Where progress lines go (one per resource created or deleted). */
  readonly log?: (line: string) => void;
}

/** The registration the SDK is sending right now (recorded by the monitor hook, read by newResource). */
interface Registration {
  readonly urn: string;
  readonly dependencies: readonly string[];
}

/** The `Mocks` of Pulumi's mock runtime, implemented by the real plugin. */
export class PluginEngine implements Mocks {
  /** Resources created, in the order their Create finished. */
  readonly created: CreatedResource[] = [];
  /** Every resource operation that failed. */
  readonly failures: ResourceOperationError[] = [];
  private readonly providers = new Map<string, ProviderInstance>();
  private readonly plugins: PluginProcess[] = [];
  /** Registrations refused because an earlier operation had failed. */
  skipped = 0;
  private nextRegistration: Registration | undefined;
  private readonly log: (line: string) => void;
  private readonly inFlight = new Set<Promise<unknown>>();
  private reportFailure: (error: ResourceOperationError) => void = () => undefined;
  /** Settles with the first failed operation (the engine stops an update there; so does this). */
  readonly failed = new Promise<ResourceOperationError>((resolve) => (this.reportFailure = resolve));

  private constructor(
    private readonly options: PluginEngineOptions,
    private readonly defaultProvider: ProviderInstance,
  ) {
    this.log = options.log ?? (() => undefined);
  }

  /** Resolves when no operation is in flight. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Starts the plugin and configures the default provider, as the engine does on the first resource. */
  static async start(options: PluginEngineOptions): Promise<PluginEngine> {
    const urn = `urn:pulumi:${options.stack}::${options.project}::${PROVIDER_TYPE}::default`;
    const plugin = await startPlugin();
    try {
      await configure(plugin, urn, options.providerConfig);
    } catch (error) {
      await plugin.close();
      throw error;
    }
    const engine = new PluginEngine(options, { urn, plugin });
    engine.plugins.push(plugin);
    return engine;
  }

  /**
   * Installs this engine as the mocks of `pulumi` (the copy of @pulumi/pulumi the program loads) and
   * hooks the mock monitor to record each registration's URN and dependencies.
   */
  async install(pulumi: typeof pulumiSdk): Promise<void> {
    await pulumi.runtime.setMocks(this, this.options.project, this.options.stack, false);
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource?: (request: RegisterRequest, callback: unknown) => unknown;
    };
    const register = monitor.registerResource?.bind(monitor);
    if (!register) return;
    // The mock monitor calls `newResource` synchronously at the start of `registerResource`, so the
    // registration recorded here is the one `newResource` sees next.
    monitor.registerResource = (request, callback) => {
      this.nextRegistration = {
        urn: this.urnOf(request.getType(), request.getName(), request.getParent()),
        dependencies: request.getDependenciesList().map(engineUrn),
      };
      try {
        return register(request, callback);
      } finally {
        this.nextRegistration = undefined;
      }
    };
  }

  newResource(args: MockResourceArgs): Promise<MockResourceResult> {
    const registration = this.nextRegistration;
    this.nextRegistration = undefined;
    if (this.failures.length > 0) {
      // As the engine does after a failed step: nothing new starts; what runs finishes.
      this.skipped++;
      const urn = registration?.urn ?? this.urnOf(args.type, args.name, "");
      return Promise.reject(
        new ResourceOperationError("Create", urn, "not attempted, an earlier operation failed"),
      );
    }
    const operation = this.register(args, registration);
    this.inFlight.add(operation);
    void operation.then(
      () => this.inFlight.delete(operation),
      () => this.inFlight.delete(operation),
    );
    return operation;
  }

  private async register(
    args: MockResourceArgs,
    recorded: Registration | undefined,
  ): Promise<MockResourceResult> {
    const registration = recorded ?? {
      urn: this.urnOf(args.type, args.name, ""),
      dependencies: this.created.map((r) => r.urn),
    };
    const inputs = (args.inputs ?? {}) as WireProperties;
    if (!args.custom) return { id: undefined, state: inputs };
    if (args.type === PROVIDER_TYPE) return this.newProvider(registration.urn, inputs);
    if (args.type.startsWith("pulumi:providers:")) {
      throw this.fail(
        "Create",
        registration.urn,
        `no plugin for ${args.type}; this engine runs ${PROVIDER_TYPE}`,
      );
    }
    const provider = this.providerFor(args.provider, registration.urn);
    if (args.id) return this.read(provider, registration.urn, args.id, inputs);
    return this.create(provider, args.type, args.name, registration, inputs);
  }

  /** A function call goes to the plugin's Invoke. */
  async call(args: MockCallArgs): Promise<Record<string, unknown>> {
    const provider = this.providerFor(args.provider, args.token);
    const { provider: pb } = protocol();
    const request = new pb.InvokeRequest();
    request.setTok(args.token);
    request.setArgs(objectToStruct((args.inputs ?? {}) as Record<string, unknown>));
    const client = provider.plugin.rpc.client;
    const reply = await new Promise<import("@pulumi/pulumi/proto/provider_pb").InvokeResponse>(
      (resolve, reject) =>
        client.invoke(request, (error, response) => {
          if (error)
            reject(new ResourceOperationError("Invoke", args.token, `gRPC ${error.code}: ${error.details}`));
          else resolve(response);
        }),
    );
    const failures = reply.getFailuresList();
    if (failures.length > 0) {
      throw new ResourceOperationError(
        "Invoke",
        args.token,
        failures.map((f) => `${f.getProperty()}: ${f.getReason()}`).join("; "),
      );
    }
    return structToObject(reply.getReturn());
  }

  /**
   * Deletes every resource created, dependents before their dependencies (those with no remaining
   * dependents together, in parallel). Failures are collected; what could not be deleted is named
   * in the error thrown at the end.
   */
  async destroy(): Promise<number> {
    const remaining = new Map(this.created.map((r) => [r.urn, r]));
    const failed: string[] = [];
    let deleted = 0;
    while (remaining.size > 0) {
      const left = [...remaining.values()];
      let wave = left.filter((r) => !left.some((other) => other.dependencies.includes(r.urn)));
      if (wave.length === 0) wave = [left[left.length - 1]!];
      const results = await Promise.allSettled(
        wave.map(async (resource) => {
          const started = performance.now();
          await resource.provider.plugin.rpc.delete({
            urn: resource.urn,
            id: resource.id,
            properties: resource.outputs,
            oldInputs: resource.inputs,
          });
          this.log(`  - ${resource.type} ${resource.name} ${resource.id} (${seconds(started)})`);
        }),
      );
      results.forEach((result, i) => {
        const resource = wave[i]!;
        remaining.delete(resource.urn);
        if (result.status === "fulfilled") {
          deleted++;
          return;
        }
        failed.push(`${resource.name} (${resource.id}): ${messageOf(result.reason)}`);
        // What it depends on must stay (the other resources are still deleted).
        const keep = [...resource.dependencies];
        while (keep.length > 0) {
          const kept = remaining.get(keep.pop()!);
          if (!kept) continue;
          remaining.delete(kept.urn);
          failed.push(`${kept.name} (${kept.id}): kept, since ${resource.name} still exists`);
          keep.push(...kept.dependencies);
        }
      });
    }
    this.created.length = 0;
    if (failed.length > 0) {
      throw new ResourceOperationError(
        "Delete",
        this.options.stack,
        `could not delete: ${failed.join("; ")}`,
      );
    }
    return deleted;
  }

  /** Stops every plugin this engine started (each logs out of vCenter on its way down). */
  async close(): Promise<void> {
    await Promise.all(this.plugins.map((plugin) => plugin.close()));
  }

  // ---- operations -------------------------------------------------------------------------------

  private async create(
    provider: ProviderInstance,
    type: string,
    name: string,
    registration: Registration,
    news: WireProperties,
  ): Promise<MockResourceResult> {
    const { urn } = registration;
    const rpc = provider.plugin.rpc;
    const started = performance.now();
    const checked = await rpc
      .check({ urn, olds: {}, news, randomSeed: randomBytes(32) })
      .catch((error: unknown) => {
        throw this.fail("Check", urn, messageOf(error));
      });
    if (checked.failures.length > 0) {
      throw this.fail("Check", urn, checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    }
    const record = (id: string, outputs: WireProperties): void => {
      this.created.push({
        urn,
        type,
        name,
        id,
        inputs: checked.inputs,
        outputs,
        dependencies: registration.dependencies,
        seconds: (performance.now() - started) / 1000,
        provider,
      });
    };
    try {
      const created = await rpc.create({ urn, properties: checked.inputs });
      record(created.id, created.properties);
      this.log(`  + ${type} ${name} ${created.id} (${seconds(started)})`);
      return { id: created.id, state: created.properties };
    } catch (error) {
      // A resource that was made but did not finish initialising is kept, so that destroy deletes it.
      const partial = error instanceof ProviderRpcError ? error.initFailure : undefined;
      if (partial?.id) record(partial.id, partial.properties);
      throw this.fail("Create", urn, messageOf(error));
    }
  }

  private async read(
    provider: ProviderInstance,
    urn: string,
    id: string,
    inputs: WireProperties,
  ): Promise<MockResourceResult> {
    const read = await provider.plugin.rpc.read({ urn, id, properties: inputs }).catch((error: unknown) => {
      throw this.fail("Read", urn, messageOf(error));
    });
    if (read.id === "") throw this.fail("Read", urn, `no object with ID "${id}"`);
    this.log(`  = ${urn} ${read.id} (read)`);
    return { id: read.id, state: read.properties };
  }

  private async newProvider(urn: string, inputs: WireProperties): Promise<MockResourceResult> {
    const plugin = await startPlugin();
    this.plugins.push(plugin);
    await configure(plugin, urn, inputs).catch((error: unknown) => {
      throw this.fail("Configure", urn, messageOf(error));
    });
    const id = randomUUID();
    this.providers.set(`${urn}::${id}`, { urn, plugin });
    return { id, state: inputs };
  }

  private providerFor(reference: string | undefined, subject: string): ProviderInstance {
    if (!reference) return this.defaultProvider;
    const provider = this.providers.get(reference);
    if (!provider) throw this.fail("Create", subject, `unknown provider reference "${reference}"`);
    return provider;
  }

  /** The URN the engine gives a resource (children of the stack are not qualified by its type). */
  private urnOf(type: string, name: string, parent: string): string {
    let qualified = type;
    if (parent) {
      const parentType = parent.split("::")[2] ?? "";
      if (parentType !== STACK_TYPE) qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${this.options.stack}::${this.options.project}::${qualified}::${name}`;
  }

  private fail(operation: string, urn: string, reason: string): ResourceOperationError {
    const error = new ResourceOperationError(operation, urn, reason);
    this.failures.push(error);
    this.reportFailure(error);
    return error;
  }
}

/**
 * The URN as the engine has it: the mock monitor qualifies the type of a stack's child with the
 * stack's type (`pulumi:pulumi:Stack$...`), which the engine leaves out.
 */
function engineUrn(urn: string): string {
  return urn.replace(`::${STACK_TYPE}$`, "::");
}

/** The part of a RegisterResourceRequest the hook reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}

/** CheckConfig → Configure, with config values as the engine sends them (strings; JSON for others). */
async function configure(plugin: PluginProcess, urn: string, config: WireProperties): Promise<void> {
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const plain = reveal(value);
    if (plain === undefined || plain === null) continue;
    variables[`${PACKAGE_NAME}:config:${key}`] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  const checked = await plugin.rpc.checkConfig({ urn, news: config });
  if (checked.failures.length > 0) {
    throw new ResourceOperationError(
      "CheckConfig",
      urn,
      checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "),
    );
  }
  await plugin.rpc.configure({ variables, args: checked.inputs });
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(2)}s`;
}

function messageOf(error: unknown): string {
  if (error instanceof ProviderRpcError) return error.details;
  return error instanceof Error ? error.message : String(error);
}
