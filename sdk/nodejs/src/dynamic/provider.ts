/**
 * The `pulumi.dynamic.ResourceProvider` behind the dynamic ContainerHost, ParentTemplate and ContainerVM:
 * a thin adapter that calls the same resource functions as the plugin (`resourceTypes` of
 * `@bonneville/provider`) through an OperationContext built here.
 *
 * Pulumi serializes a dynamic provider object with `pulumi.runtime.serializeFunction` and re-evaluates the
 * text inside its dynamic-provider host (`pulumi-resource-pulumi-nodejs`), so this file follows rules that
 * keep the serialized text small and correct:
 * - it has no value imports, only `import type`: the provider package is loaded with `require` inside the
 *   functions, at call time, from the host's working directory (the Pulumi project);
 * - no function refers to an exported constant (that would capture this module by value);
 * - what the process shares (the vSphere clients, one per connection; the stack configuration; the secret
 *   strings to redact) lives on `globalThis` under a registered symbol, because each resource type's
 *   provider is deserialized separately.
 *
 * What the host passes: `check(olds, news)` (old and new inputs), `diff(id, olds, news)` (old outputs, new
 * inputs), `create(inputs)`, `read(id, props)`, `update(id, olds, news)` (old outputs, new inputs) and
 * `delete(id, props)` (outputs). Secrets arrive unwrapped (the host does not accept secrets), unknown values
 * as the engine's sentinel string, and neither the URN nor the type: the resource classes send the URN as
 * the input `__urn` and each resource type has its own provider object.
 */
import type * as pulumi from "@pulumi/pulumi";
import type {
  CheckFailure,
  OperationContext,
  PluginLog,
  PropertyMap,
  ProviderConfig,
  ResourceType,
  SecretRedactor,
  VSphereClient,
} from "@bonneville/provider";

/** The provider package as `require` returns it. */
type ProviderPackage = typeof import("@bonneville/provider");

/** What one provider process shares between the three resource types. */
interface ProcessState {
  readonly pkg: ProviderPackage;
  readonly redactor: SecretRedactor;
  readonly log: PluginLog;
  /** One vSphere client per distinct connection (normally exactly one). */
  readonly clients: Map<string, VSphereClient>;
  /** Aborted when the host is told to stop (SIGINT/SIGTERM): waits in flight end. */
  readonly aborter: AbortController;
  /** The stack's `bonneville:*` configuration, from the host's Configure. */
  stackConfig: PropertyMap;
  signalsHooked: boolean;
  closing: Promise<void> | undefined;
  /** Names made for replacements in this process, by URN (see replacementName). */
  readonly replacementNames: Map<string, string>;
}

/** The inputs the adapter adds to a resource's own properties. */
interface Extras {
  /** The `connection` input, as received (plain; may hold the unknown sentinel in a preview). */
  readonly connection: unknown;
  /** The `__urn` input, as received. */
  readonly rawUrn: unknown;
  /** The resource's URN; undefined when missing or not known yet. */
  readonly urn: string | undefined;
  /** The serialized provider (`__provider`). */
  readonly provider: unknown;
}

/** Inputs or outputs split into the resource's own properties and the adapter's. */
interface Split {
  readonly values: PropertyMap;
  readonly extras: Extras;
}

/** A connection resolved from `connection`, the stack configuration and the environment. */
interface ResolvedConnection {
  readonly config: ProviderConfig | undefined;
  readonly failures: readonly CheckFailure[];
}

/** The dynamic provider of one Bonneville resource type (`token`, e.g. `bonneville:index:ContainerVM`). */
export class BonnevilleDynamicProvider implements pulumi.dynamic.ResourceProvider {
  constructor(readonly token: string) {}

  /** Remembers the stack's `bonneville:*` configuration (the defaults when a resource has no `connection`). */
  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    const state = processState();
    const config: Record<string, unknown> = {};
    for (const key of state.pkg.providerConfigKeys) {
      let value: unknown;
      try {
        value = req.config.get(`${state.pkg.PACKAGE_NAME}:${key}`);
      } catch {
        value = undefined; // the host was not configured: no stack configuration
      }
      if (value !== undefined && value !== null) config[key] = value;
    }
    state.stackConfig = config;
  }

  /** Validates and normalises inputs (auto-naming, defaults); bad input becomes failures, never an error. */
  async check(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.CheckResult> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const next = split(state, news);
    const prior = split(state, olds);
    const failures: CheckFailure[] = [];
    const { urn, rawUrn } = next.extras;
    if (urn === undefined && rawUrn !== state.pkg.UNKNOWN_WIRE_VALUE) {
      failures.push({
        property: "__urn",
        reason: `is missing: create ${nameOf(this.token)} with the class of the SDK's dynamic module, which sets it`,
      });
    }
    failures.push(...resolveConnection(state, next.extras.connection).failures);
    const oldName = typeof prior.values.name === "string" ? prior.values.name : "";
    let inputs = next.values;
    try {
      const result = type.check(
        next.values,
        Object.keys(prior.values).length > 0 ? prior.values : undefined,
        {
          name: urn ? state.pkg.nameFromUrn(urn) : nameOf(this.token),
          ...(urn ? { randomSeed: namingSeed(urn, oldName) } : {}),
        },
      );
      inputs = result.inputs;
      failures.push(...result.failures);
      const given = next.values.name;
      if (urn && (given === undefined || given === null)) {
        inputs = replacementName(state.replacementNames, urn, oldName, inputs);
      }
    } catch (error) {
      if (!(error instanceof state.pkg.ValidationError)) throw hostError(state, "check", urn, error);
      failures.push(...error.failures);
    }
    return {
      inputs: withExtras(state, inputs, next.extras),
      failures: failures.map((f) => ({ property: f.property, reason: state.redactor.redact(f.reason) })),
    };
  }

  /** Compares old outputs with new inputs: the resource's own diff, plus the connection's. */
  async diff(
    id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.DiffResult> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const before = split(state, olds);
    const after = split(state, news);
    let result = type.diff(id, before.values, after.values);
    if (result.replaces.length > 0) {
      // A reference written another way (a path for its ID) is not a replacement; vSphere tells.
      let ctx: OperationContext | undefined;
      try {
        ctx = operationContext(state, "diff", after.extras);
      } catch {
        ctx = undefined; // the connection is not known yet: the inputs' diff stands
      }
      if (ctx) {
        result = await state.pkg.withoutSameObjectReplacements(
          type.schema,
          result,
          before.values,
          after.values,
          ctx,
        );
      }
    }
    const connection = connectionChange(state, before.extras.connection, after.extras.connection);
    const replaces = [...result.replaces, ...(connection === "replace" ? ["connection"] : [])];
    return {
      changes: result.changes || connection !== "none",
      replaces,
      deleteBeforeReplace: result.deleteBeforeReplace && replaces.length > 0,
    };
  }

  /** Creates the vSphere object; an object made but not finished is reported with its ID (an init failure). */
  async create(inputs: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const given = split(state, inputs);
    const ctx = operationContext(state, "create", given.extras);
    try {
      const result = await type.create(ctx, given.values);
      return { id: result.id, outs: withExtras(state, result.outputs, given.extras) };
    } catch (error) {
      throw hostError(state, "create", given.extras.urn, error, given.extras);
    }
  }

  /** Reads the object as vSphere has it; an object that is gone returns an empty ID (the engine drops it). */
  async read(id: string, props?: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const current = split(state, props ?? {});
    const ctx = operationContext(state, "read", current.extras);
    try {
      const result = await type.read(
        ctx,
        id,
        Object.keys(current.values).length > 0 ? current.values : undefined,
      );
      if (!result) return { id: "", props: {} };
      return {
        id: result.id,
        props: withExtras(state, result.outputs, current.extras),
        inputs: withExtras(state, result.inputs, current.extras),
      };
    } catch (error) {
      throw hostError(state, "read", current.extras.urn, error);
    }
  }

  /** Applies in-place changes (labels, limits, power state...); a connection-only change just records it. */
  async update(
    id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const before = split(state, olds);
    const after = split(state, news);
    if (!type.diff(id, before.values, after.values).changes) {
      return { outs: withExtras(state, before.values, after.extras) };
    }
    const ctx = operationContext(state, "update", after.extras);
    try {
      const outputs = await type.update(ctx, id, before.values, after.values);
      return { outs: withExtras(state, outputs, after.extras) };
    } catch (error) {
      throw hostError(state, "update", after.extras.urn, error);
    }
  }

  /** Deletes the object; one that is already gone counts as deleted. */
  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    const state = processState();
    const type = resourceTypeOf(state, this.token);
    const current = split(state, props);
    const ctx = operationContext(state, "delete", current.extras);
    try {
      await type.delete(ctx, id, current.values);
    } catch (error) {
      throw hostError(state, "delete", current.extras.urn, error);
    }
  }
}

// ---- process state ----------------------------------------------------------------------------

/** The state this process shares, made on first use (loading `@bonneville/provider`). */
function processState(): ProcessState {
  const key = Symbol.for("bonneville.dynamic-provider.v1");
  const holder = globalThis as unknown as Record<symbol, ProcessState | undefined>;
  const existing = holder[key];
  if (existing) return existing;
  const pkg = loadProviderPackage();
  const redactor = new pkg.SecretRedactor();
  const log = new pkg.PluginLog(redactor);
  // The host is started as `<host> <engine address>`: progress goes to the engine's log with the URN.
  const engine = pkg.engineAddressFromArgs(process.argv.slice(2));
  if (engine && /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d+$/.test(engine)) log.connectEngine(engine);
  const state: ProcessState = {
    pkg,
    redactor,
    log,
    clients: new Map(),
    aborter: new AbortController(),
    stackConfig: {},
    signalsHooked: false,
    closing: undefined,
    replacementNames: new Map(),
  };
  holder[key] = state;
  return state;
}

/** `require("@bonneville/provider")`, resolved from the host's working directory (the Pulumi project). */
function loadProviderPackage(): ProviderPackage {
  const name = "@bonneville/provider";
  try {
    // The require must stay a call inside this function: it runs in the dynamic-provider host.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@bonneville/provider") as ProviderPackage;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "MODULE_NOT_FOUND" && String((error as Error).message).includes(name)) {
      throw new Error(
        `Bonneville's dynamic provider needs the ${name} package, which Pulumi's dynamic-provider host ` +
          `could not find from ${process.cwd()}: install it in the Pulumi project (npm install ${name})`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The resource type served by a provider object. */
function resourceTypeOf(state: ProcessState, token: string): ResourceType {
  const found = state.pkg.resourceTypes.find((t) => t.token === token);
  if (!found) {
    throw new state.pkg.InternalError(
      `${token} is not a Bonneville resource type; the installed @bonneville/provider serves ` +
        state.pkg.resourceTypes.map((t) => t.token).join(", "),
    );
  }
  return found;
}

/** The process's vSphere client for a connection, made on first use (it logs in lazily). */
function clientFor(state: ProcessState, config: ProviderConfig): VSphereClient {
  const options = state.pkg.toConnectionOptions(config);
  const key = JSON.stringify([
    options.url,
    options.user,
    options.password,
    options.allowUnverifiedSsl ?? false,
    options.thumbprint ?? "",
  ]);
  let client = state.clients.get(key);
  if (!client) {
    if (state.closing) {
      throw new state.pkg.BonnevilleError(
        "the dynamic provider is shutting down; no new vSphere requests are made",
      );
    }
    client = new state.pkg.VSphereClient(options);
    state.clients.set(key, client);
    hookSignals(state);
  }
  return client;
}

/**
 * On SIGINT/SIGTERM (how the engine stops a plugin), aborts waits in flight and logs every client out,
 * then lets the signal take its default course. vCenter caps sessions: leaving them open leaks them.
 */
function hookSignals(state: ProcessState): void {
  if (state.signalsHooked) return;
  state.signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
      void Promise.race([closeClients(state, `the dynamic provider received ${signal}`), deadline]).then(() =>
        process.kill(process.pid, signal),
      );
    });
  }
}

/** Aborts waits in flight and logs out every client. Safe to call more than once. */
function closeClients(state: ProcessState, reason: string): Promise<void> {
  state.closing ??= (async () => {
    state.aborter.abort(new state.pkg.BonnevilleError(reason));
    const clients = [...state.clients.values()];
    await Promise.all(
      clients.map(async (client) => {
        client.abortAll(reason);
        try {
          await client.close();
        } catch (error) {
          process.stderr.write(
            `bonneville: closing a vSphere session failed: ${state.redactor.redact(messageOf(error))}\n`,
          );
        }
      }),
    );
  })();
  return state.closing;
}

// ---- values -----------------------------------------------------------------------------------

/** Splits the adapter's inputs from the resource's, decoding unknowns (and any secret) on the way. */
function split(state: ProcessState, raw: Record<string, unknown>): Split {
  const decoded = state.pkg.decodeProperties(raw);
  state.redactor.add(decoded.secretStrings);
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(decoded.values)) {
    if (key !== "connection" && key !== "__urn" && key !== "__provider") values[key] = value;
  }
  // Secrets reach a dynamic provider unwrapped, so every env value is treated as one.
  const env = values.env;
  if (env !== null && typeof env === "object" && !Array.isArray(env)) {
    state.redactor.add(Object.values(env).filter((v): v is string => typeof v === "string"));
  }
  const rawUrn = raw.__urn;
  const urn =
    typeof rawUrn === "string" && rawUrn !== state.pkg.UNKNOWN_WIRE_VALUE && rawUrn ? rawUrn : undefined;
  return { values, extras: { connection: raw.connection, rawUrn, urn, provider: raw.__provider } };
}

/** Resource properties for the host (unknowns as the sentinel), with the adapter's inputs added back. */
function withExtras(state: ProcessState, values: PropertyMap, extras: Extras): Record<string, unknown> {
  const out = state.pkg.encodeProperties(values);
  if (extras.connection !== undefined && extras.connection !== null) out.connection = extras.connection;
  if (extras.rawUrn !== undefined && extras.rawUrn !== null) out.__urn = extras.rawUrn;
  return out;
}

/**
 * The seed of a resource's auto-name: stable for a URN across preview and update (the host gives no
 * random seed), and different for a replacement, whose old name goes into it.
 */
/**
 * For a replacement the engine checks the inputs twice: with the old inputs (a fresh name is made:
 * its seed mixes in the old name), then again without them (pulumi/pulumi step_generator.go), when
 * this host, which gets no random seed, could only make the resource's first name again, the
 * one the replaced object may still hold. The second check reuses the name the first made.
 */
function replacementName(
  replacementNames: Map<string, string>,
  urn: string,
  oldName: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const made = inputs.name;
  if (typeof made !== "string") return inputs;
  if (oldName) {
    if (made !== oldName) replacementNames.set(urn, made);
    return inputs;
  }
  const again = replacementNames.get(urn);
  return again === undefined ? inputs : { ...inputs, name: again };
}

function namingSeed(urn: string, oldName: string): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require("crypto") as typeof import("crypto");
  return crypto.createHash("sha256").update(urn).update("\0").update(oldName).digest();
}

/** `ContainerVM` for `bonneville:index:ContainerVM`. */
function nameOf(token: string): string {
  return token.slice(token.lastIndexOf(":") + 1);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- connection -------------------------------------------------------------------------------

/**
 * The connection of a resource: its `connection` input when given (keys it omits default from the
 * `VSPHERE_*` environment), else the stack configuration `bonneville:*` with the same defaults.
 * Failures name the property as `connection.<key>`.
 */
function resolveConnection(state: ProcessState, connection: unknown): ResolvedConnection {
  const { pkg } = state;
  const decoded = decodeValue(state, connection);
  if (pkg.containsUnknown(decoded)) return { config: undefined, failures: [] };
  const given = decoded !== undefined && decoded !== null;
  if (given && (typeof decoded !== "object" || Array.isArray(decoded))) {
    const kind = Array.isArray(decoded) ? "list" : typeof decoded;
    return {
      config: undefined,
      failures: [
        {
          property: "connection",
          reason: `must be an object with the keys ${pkg.providerConfigKeys.join(", ")}; got a ${kind}`,
        },
      ],
    };
  }
  const check = pkg.checkProviderConfig(given ? (decoded as PropertyMap) : state.stackConfig, process.env);
  if (check.config) state.redactor.add([check.config.password]);
  return {
    config: check.config,
    failures: check.failures.map((f) => ({
      property: `connection.${f.property}`,
      reason:
        !given && f.reason.startsWith("missing required")
          ? `${f.reason}, or set connection.${f.property} on the resource`
          : f.reason,
    })),
  };
}

/** Whether a change of connection replaces the resource (another vCenter or datacenter), updates it (new credentials), or neither. */
function connectionChange(
  state: ProcessState,
  before: unknown,
  after: unknown,
): "none" | "update" | "replace" {
  const { pkg } = state;
  if (sameJson(before, after)) return "none";
  const now = resolveConnection(state, after).config;
  if (!now) return pkg.containsUnknown(decodeValue(state, after)) ? "replace" : "update";
  const old = resolveConnection(state, before).config;
  if (!old) return "update";
  const olds = { ...old } as PropertyMap;
  const news = { ...now } as PropertyMap;
  if (pkg.replacingConfigChanges(olds, news).length > 0) return "replace";
  return pkg.changedConfigKeys(olds, news).length > 0 ? "update" : "none";
}

/** One value decoded from the wire (the unknown sentinel becomes UNKNOWN, secrets unwrapped). */
function decodeValue(state: ProcessState, value: unknown): unknown {
  return state.pkg.decodeProperties({ value }).values.value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// ---- operations -------------------------------------------------------------------------------

/** The context of one vSphere operation: the process's client for the resource's connection. */
function operationContext(state: ProcessState, operation: string, extras: Extras): OperationContext {
  const urn = extras.urn ?? "";
  const resolved = resolveConnection(state, extras.connection);
  if (!resolved.config) {
    throw new state.pkg.ValidationError(
      resolved.failures.length > 0
        ? resolved.failures
        : [{ property: "connection", reason: `is not known yet, so ${operation} cannot reach vSphere` }],
    );
  }
  const config = resolved.config;
  return {
    urn,
    signal: state.aborter.signal,
    config,
    client: async () => clientFor(state, config),
    progress: (message: string) => state.log.resource(urn, message),
  };
}

/**
 * The error the host reports: message and stack redacted. A resource that was made but did not finish
 * initialising carries `id`, `properties` (with `__provider`, so later operations can load this provider)
 * and `reasons`: the host turns them into the engine's init-failure error, and the engine keeps the resource.
 */
function hostError(
  state: ProcessState,
  operation: string,
  urn: string | undefined,
  raw: unknown,
  extras?: Extras,
): Error {
  const { pkg, redactor } = state;
  // An ESXi host, a vCenter before 6.7 or a missing privilege: said in words that name the resource.
  const error = urn ? pkg.explainServerFault(raw, operation, urn) : raw;
  const where = urn ? `${operation} of ${urn}` : operation;
  if (extras && pkg.isResourceInitError(error)) {
    const reasons = error.reasons.map((reason) => redactor.redact(reason));
    const failure = new Error(
      redactor.redact(
        `${where} made ${error.id} but it did not finish initialising: ${error.reasons.join("; ")}`,
      ),
    );
    failure.name = "ResourceInitError";
    failure.stack = `${failure.name}: ${failure.message}`;
    const properties = withExtras(state, error.outputs, extras);
    if (extras.provider !== undefined) properties.__provider = extras.provider;
    return Object.assign(failure, { id: error.id, properties, reasons });
  }
  const known = error instanceof pkg.BonnevilleError;
  const out = new Error(redactor.redact(`${where} failed: ${messageOf(error)}`));
  out.name = error instanceof Error ? error.name : "Error";
  // Bonneville's own errors say all there is to say; anything else keeps its (redacted) stack for a bug report.
  out.stack =
    known || !(error instanceof Error) || !error.stack
      ? `${out.name}: ${out.message}`
      : `${out.name}: ${out.message}\n${redactor.redact(error.stack.split("\n").slice(1).join("\n"))}`;
  return out;
}
