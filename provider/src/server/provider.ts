/**
 * The pulumirpc.ResourceProvider service: adapts the engine's requests onto the
 * resource layer (`resources/`): secrets, unknowns, previews, detailed diffs,
 * timeouts and cancellation, init failures. Holds at most one VSphereClient per process.
 */
import type * as grpcJs from "@grpc/grpc-js";
import type * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import type * as pluginPb from "@pulumi/pulumi/proto/plugin_pb";
import type * as emptyPb from "google-protobuf/google/protobuf/empty_pb";
import {
  type AutonamingOptions,
  type CheckFailure,
  type OperationContext,
  type PropertyChangeKind,
  type PropertyMap,
  type ProviderConfig,
  type ResourceType,
} from "../resources/resource";
import { BonnevilleError, ResourceInitError, ValidationError } from "../resources/errors";
import { explainServerFault } from "../resources/server-faults";
import { withoutSameObjectReplacements } from "../resources/common";
import type { VSphereClient, VSphereConnectionOptions } from "../vsphere";
import {
  changedConfigKeys,
  checkProviderConfig,
  configFromVariables,
  providerConfigSchema,
  replacingConfigChanges,
  toConnectionOptions,
} from "../provider-config";
import { secretPropertyNames } from "../schema";
import {
  protocol,
  objectToStruct,
  structToObject,
  type CheckAnswer,
  type CheckCall,
  type CreateAnswer,
  type CreateCall,
} from "./protocol";
import { decodeStruct, encodeStruct } from "./struct-wire";
import {
  decodeProperties,
  encodeProperties,
  isEmptyProperties,
  type DecodedProperties,
} from "./property-values";
import { initFailureError } from "./init-failure";
import { OperationTracker, type Operation } from "./operations";
import type { PluginLog } from "./engine-log";
import type { SecretRedactor } from "./redaction";
import type { RpcActivity } from "./heap-policy";
import {
  OperationCancelledError,
  OperationTimeoutError,
  ProviderNotConfiguredError,
  UnknownResourceTypeError,
  UnsupportedRequestError,
} from "./errors";

/** What the provider service needs from its host process. */
export interface ProviderServiceOptions {
  /** The resource types served; called once, on the first request that needs them. */
  readonly resourceTypes: () => readonly ResourceType[];
  /** The plugin version (GetPluginInfo). */
  readonly version: string;
  /** The schema JSON (GetSchema); called once, on first use. */
  readonly schema: () => string;
  /** Makes the process's one vSphere client, on the first operation that needs vSphere. */
  readonly createClient: (options: VSphereConnectionOptions) => VSphereClient;
  /** Environment for config defaults (VSPHERE_SERVER …). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: PluginLog;
  readonly redactor: SecretRedactor;
  /** Told when each RPC begins and ends. Default: nothing is. */
  readonly activity?: RpcActivity;
}

/** How long a shutdown waits for vCenter to answer Logout (the engine kills the plugin 5 s after SIGINT). */
export const LOGOUT_LIMIT_MS = 2000;

type Callback<T> = (error: Partial<grpcJs.ServiceError> | null, value?: T) => void;
type Call<T> = { readonly request: T };

/** An error already in gRPC form (an init failure). */
class GrpcFailure extends Error {
  constructor(readonly serviceError: Partial<grpcJs.ServiceError>) {
    super(serviceError.details ?? "gRPC failure");
  }
}

/** The provider service; {@link handlers} is what a grpc-js server registers. */
export class ProviderService {
  private typesByToken: Map<string, ResourceType> | undefined;
  private schemaText: string | undefined;
  private config: ProviderConfig | undefined;
  private configured = false;
  private acceptSecrets = true;
  private client: VSphereClient | undefined;
  private closing: Promise<void> | undefined;
  /**
   * URNs whose Diff in this process asked to delete before replacing: the replaced object's ID,
   * the fixed name and why.
   */
  private readonly deleteFirst = new Map<
    string,
    { readonly id: string; readonly name: unknown; readonly replaces: readonly string[] }
  >();
  /** URNs this process was asked to Delete. */
  private readonly deleted = new Set<string>();
  /**
   * What each Create of this process answered, by URN: the ID and the outputs as sent (the encoded
   * Struct; Delete decodes it only when the ID matches).
   */
  private readonly created = new Map<string, { readonly id: string; readonly outputs: Buffer }>();
  readonly operations = new OperationTracker();

  constructor(private readonly options: ProviderServiceOptions) {}

  /**
   * The handlers, keyed by the service's method names (unlisted methods answer UNIMPLEMENTED), for
   * the definition `resourceProviderService()` gives (Check and Create take and give decoded maps).
   */
  handlers(): grpcJs.UntypedServiceImplementation {
    return {
      handshake: this.unary((req: providerPb.ProviderHandshakeRequest) => this.handshake(req)),
      getPluginInfo: this.unary(() => this.getPluginInfo()),
      getSchema: this.unary((req: providerPb.GetSchemaRequest) => this.getSchema(req)),
      checkConfig: this.unary((req: providerPb.CheckRequest) => this.checkConfig(req)),
      diffConfig: this.unary((req: providerPb.DiffRequest) => this.diffConfig(req)),
      configure: this.unary((req: providerPb.ConfigureRequest) => this.configure(req)),
      check: this.unary((req: CheckCall) => this.check(req)),
      diff: this.unary((req: providerPb.DiffRequest) => this.diff(req)),
      create: this.unary((req: CreateCall) => this.create(req)),
      read: this.unary((req: providerPb.ReadRequest) => this.read(req)),
      update: this.unary((req: providerPb.UpdateRequest) => this.update(req)),
      delete: this.unary((req: providerPb.DeleteRequest) => this.delete(req)),
      cancel: this.unary(() => this.cancel()),
      attach: this.unary((req: pluginPb.PluginAttach) => this.attach(req)),
      getMapping: this.unary(async () => new (protocol().provider.GetMappingResponse)()),
      getMappings: this.unary(async () => new (protocol().provider.GetMappingsResponse)()),
    };
  }

  /**
   * Aborts every operation in flight (and any later one) and the client's waits at once, then
   * closes the client (logging out) in the background: the returned promise settles when the
   * logout is done or after {@link LOGOUT_LIMIT_MS}, whichever comes first, whatever vCenter does
   * (a silent vCenter keeps its session until it expires). Safe to call more than once.
   */
  shutdown(reason: string): Promise<void> {
    this.operations.cancelAll(reason);
    if (this.closing) return this.closing;
    const client = this.client;
    client?.abortAll(reason);
    this.closing = client ? this.logOut(client) : Promise.resolve();
    return this.closing;
  }

  private async logOut(client: VSphereClient): Promise<void> {
    const limit = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"gave up">((resolve) => {
      timer = setTimeout(() => {
        limit.abort(new OperationCancelledError(`no answer to Logout within ${LOGOUT_LIMIT_MS} ms`));
        resolve("gave up");
      }, LOGOUT_LIMIT_MS);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([client.close({ signal: limit.signal }), bound]);
      if (outcome === "gave up") {
        this.options.log.diagnostic(
          `vCenter did not answer Logout within ${LOGOUT_LIMIT_MS} ms; the session is left to expire`,
        );
      }
    } catch (error) {
      this.options.log.diagnostic(`closing the vSphere session failed: ${messageOf(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- plugin and configuration ---------------------------------------------------------------

  private async handshake(
    req: providerPb.ProviderHandshakeRequest,
  ): Promise<providerPb.ProviderHandshakeResponse> {
    this.options.log.connectEngine(req.getEngineAddress() || undefined);
    const response = new (protocol().provider.ProviderHandshakeResponse)();
    response.setAcceptSecrets(true);
    response.setAcceptResources(true);
    response.setAcceptOutputs(true);
    // CheckRequest.autonaming is sent only to providers that say so (provider_plugin.go, Check).
    response.setSupportsAutonamingConfiguration(true);
    return response;
  }

  private async getPluginInfo(): Promise<pluginPb.PluginInfo> {
    const info = new (protocol().plugin.PluginInfo)();
    info.setVersion(this.options.version);
    return info;
  }

  private async getSchema(req: providerPb.GetSchemaRequest): Promise<providerPb.GetSchemaResponse> {
    if (req.getVersion() !== 0) {
      throw new UnsupportedRequestError(
        `schema version ${req.getVersion()} was requested; only version 0 exists`,
      );
    }
    this.schemaText ??= this.options.schema();
    const response = new (protocol().provider.GetSchemaResponse)();
    response.setSchema(this.schemaText);
    return response;
  }

  private async attach(req: pluginPb.PluginAttach): Promise<emptyPb.Empty> {
    this.options.log.connectEngine(req.getAddress() || undefined);
    return new (protocol().empty.Empty)();
  }

  private async checkConfig(req: providerPb.CheckRequest): Promise<providerPb.CheckResponse> {
    const news = this.decode(req.getNews());
    const check = checkProviderConfig(news.values, this.options.env);
    if (check.config) this.options.redactor.add([check.config.password]);
    const passthrough: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(news.values)) {
      if (key === "version" || key === "pluginDownloadURL" || key.startsWith("__")) passthrough[key] = value;
    }
    const secretKeys = new Set([...news.secretKeys, ...secretPropertyNames(providerConfigSchema)]);
    const response = new (protocol().provider.CheckResponse)();
    response.setInputs(objectToStruct(this.encode({ ...check.inputs, ...passthrough }, secretKeys)));
    response.setFailuresList(check.failures.map((f) => this.redactedFailure(f)));
    return response;
  }

  private async diffConfig(req: providerPb.DiffRequest): Promise<providerPb.DiffResponse> {
    const oldInputs = req.getOldInputs();
    const olds = this.decode(
      oldInputs && oldInputs.getFieldsMap().getLength() > 0 ? oldInputs : req.getOlds(),
    );
    const news = this.decode(req.getNews());
    const changed = changedConfigKeys(olds.values, news.values);
    const replaces = replacingConfigChanges(olds.values, news.values).filter((key) => changed.includes(key));
    const detailed: Record<string, PropertyChangeKind> = {};
    for (const key of changed) {
      const kind =
        olds.values[key] === undefined ? "add" : news.values[key] === undefined ? "delete" : "update";
      detailed[key] = replaces.includes(key) ? `${kind}-replace` : kind;
    }
    return diffResponse({
      changes: changed.length > 0,
      replaces,
      detailedDiff: detailed,
      deleteBeforeReplace: false,
    });
  }

  private async configure(req: providerPb.ConfigureRequest): Promise<providerPb.ConfigureResponse> {
    const args = structToObject(req.getArgs());
    const raw = isEmptyProperties(args) ? configFromVariables(mapEntries(req.getVariablesMap())) : args;
    const decoded = decodeProperties(raw);
    this.options.redactor.add(decoded.secretStrings);
    const check = checkProviderConfig(decoded.values, this.options.env);
    if (check.failures.length > 0) throw new ValidationError(check.failures);
    if (check.config) this.options.redactor.add([check.config.password]);
    this.config = check.config;
    this.configured = true;
    this.acceptSecrets = req.getAcceptsecrets();
    const response = new (protocol().provider.ConfigureResponse)();
    response.setAcceptsecrets(true);
    response.setAcceptresources(true);
    response.setAcceptoutputs(true);
    response.setSupportspreview(true);
    response.setSupportsAutonamingConfiguration(true);
    return response;
  }

  // ---- resources ------------------------------------------------------------------------------

  private async check(call: CheckCall): Promise<CheckAnswer> {
    const req = call.message;
    const urn = req.getUrn();
    const resourceType = this.resourceType(req.getType(), urn);
    const news = this.decodeObject(call.structs.news);
    const olds = this.decodeObject(call.structs.olds);
    const autonaming = autonamingOf(req);
    let inputs: PropertyMap = news.values;
    let failures: readonly CheckFailure[];
    try {
      const result = resourceType.check(
        withoutEngineKeys(news.values),
        isEmptyProperties(olds.values) ? undefined : olds.values,
        {
          name: req.getName() || nameFromUrn(urn),
          randomSeed: req.getRandomseed_asU8(),
          ...(autonaming ? { autonaming } : {}),
        },
      );
      inputs = result.inputs;
      failures = result.failures;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      failures = error.failures;
    }
    // A name the provider chose (kept or made) is recorded, as `__defaults` (the bridge providers'
    // convention), so that Diff knows a replacement gets a fresh one (the engine checks it again
    // without olds: step_generator.go) and need not delete first.
    if (providerNamed(resourceType, news.values) && inputs.name !== undefined) {
      inputs = { ...inputs, [DEFAULTS_KEY]: ["name"] };
    }
    this.rememberSchemaSecrets(resourceType, inputs);
    const response = new (protocol().provider.CheckResponse)();
    response.setFailuresList(failures.map((f) => this.redactedFailure(f)));
    return {
      message: response,
      structs: { inputs: encodeStruct(this.encode(inputs, this.secretKeys(resourceType, news))) },
    };
  }

  private async diff(req: providerPb.DiffRequest): Promise<providerPb.DiffResponse> {
    const resourceType = this.resourceType(req.getType(), req.getUrn());
    const olds = this.decode(req.getOlds());
    const news = this.decode(req.getNews());
    const autonamed = defaultedKeys(news.values).includes("name");
    const newValues: Record<string, unknown> = withoutEngineKeys(news.values);
    for (const path of req.getIgnorechangesList()) {
      if (/[.[]/.test(path)) continue; // nested paths: the engine has already applied them to the inputs
      if (path in olds.values) newValues[path] = olds.values[path];
      else delete newValues[path];
    }
    const inputs = resourceType.diff(req.getId(), olds.values, newValues);
    const requireConfig = () => this.requireConfig();
    const lookups = {
      client: async () => this.vsphereClient(),
      get config(): ProviderConfig {
        return requireConfig();
      },
    };
    const diff = await withoutSameObjectReplacements(
      resourceType.schema,
      inputs,
      olds.values,
      newValues,
      lookups,
    );
    // A provider-chosen name is chosen afresh for the replacement, so the two never collide: no
    // delete-before-replace, in the preview (where a replacing input may still be unknown) as in
    // the update.
    const answer = autonamed ? { ...diff, deleteBeforeReplace: false } : diff;
    if (answer.changes && answer.replaces.length > 0 && answer.deleteBeforeReplace) {
      this.deleteFirst.set(req.getUrn(), {
        id: req.getId(),
        name: newValues.name,
        replaces: answer.replaces,
      });
    }
    return diffResponse(answer);
  }

  private async create(call: CreateCall): Promise<CreateAnswer> {
    const req = call.message;
    const urn = req.getUrn();
    const resourceType = this.resourceType(req.getType(), urn);
    const inputs = withoutEngineKeysIn(this.decodeObject(call.structs.properties));
    const secretKeys = this.secretKeys(resourceType, inputs);
    const response = new (protocol().provider.CreateResponse)();
    if (req.getPreview()) {
      response.setId("");
      const preview = this.encode(resourceType.preview(inputs.values), secretKeys);
      return { message: response, structs: { properties: encodeStruct(preview) } };
    }
    const asked = this.deleteFirst.get(urn);
    const keepsName =
      asked !== undefined &&
      !this.deleted.has(urn) &&
      asked.name === inputs.values.name &&
      typeof asked.name === "string";
    // Diff asked to delete first (the replacement keeps the fixed name the old object holds), yet
    // the replacement comes before any Delete: the engine runs it create-before-delete, as the
    // resource option deleteBeforeReplace: false tells it to (step_generator.go). A type that can
    // make the replacement under a temporary name does (its Delete of the old object renames it).
    if (keepsName && !resourceType.renamesReplacements) {
      throw new ValidationError([
        {
          property: "name",
          reason: `"${asked.name}" is this resource's fixed name, which the object it replaces (because of ${asked.replaces.join(", ")}) still holds: the engine creates the replacement before deleting the old object because the resource option deleteBeforeReplace is false; remove that option (or set it to true), or leave name unset so that the replacement gets a fresh name`,
        },
      ]);
    }
    const replacing = keepsName ? { replacing: { id: asked.id } } : {};
    const result = await this.run("create", urn, req.getTimeout(), inputs, secretKeys, (ctx) =>
      resourceType.create(ctx, inputs.values, replacing),
    );
    this.rememberSchemaSecrets(resourceType, result.outputs);
    const outputs = encodeStruct(this.encode(result.outputs, secretKeys));
    this.created.set(urn, { id: result.id, outputs });
    response.setId(result.id);
    return { message: response, structs: { properties: outputs } };
  }

  private async read(req: providerPb.ReadRequest): Promise<providerPb.ReadResponse> {
    const urn = req.getUrn();
    const resourceType = this.resourceType(req.getType(), urn);
    const state = this.decode(req.getProperties());
    const inputs = this.decode(req.getInputs());
    const secretKeys = new Set([...this.secretKeys(resourceType, state), ...inputs.secretKeys]);
    const result = await this.run("read", urn, req.getTimeout(), inputs, secretKeys, (ctx) =>
      resourceType.read(ctx, req.getId(), isEmptyProperties(state.values) ? undefined : state.values),
    );
    const response = new (protocol().provider.ReadResponse)();
    if (!result) {
      response.setId("");
      return response;
    }
    this.rememberSchemaSecrets(resourceType, result.outputs);
    for (const key of result.secretKeys ?? []) {
      secretKeys.add(key);
      this.options.redactor.add(stringsIn(result.outputs[key]));
    }
    const inputSecretKeys = new Set([
      ...inputs.secretKeys,
      ...state.secretKeys,
      ...secretPropertyNames(resourceType.schema.inputProperties),
      ...(result.secretKeys ?? []),
    ]);
    response.setId(result.id);
    response.setProperties(objectToStruct(this.encode(result.outputs, secretKeys)));
    response.setInputs(objectToStruct(this.encode(result.inputs, inputSecretKeys)));
    return response;
  }

  private async update(req: providerPb.UpdateRequest): Promise<providerPb.UpdateResponse> {
    const urn = req.getUrn();
    const resourceType = this.resourceType(req.getType(), urn);
    const olds = this.decode(req.getOlds());
    const news = withoutEngineKeysIn(this.decode(req.getNews()));
    const secretKeys = new Set([...this.secretKeys(resourceType, news), ...olds.secretKeys]);
    const response = new (protocol().provider.UpdateResponse)();
    if (req.getPreview()) {
      response.setProperties(
        objectToStruct(this.encode(resourceType.preview(news.values, olds.values), secretKeys)),
      );
      return response;
    }
    const outputs = await this.run("update", urn, req.getTimeout(), news, secretKeys, (ctx) =>
      resourceType.update(ctx, req.getId(), olds.values, news.values),
    );
    this.rememberSchemaSecrets(resourceType, outputs);
    response.setProperties(objectToStruct(this.encode(outputs, secretKeys)));
    return response;
  }

  private async delete(req: providerPb.DeleteRequest): Promise<emptyPb.Empty> {
    const urn = req.getUrn();
    const resourceType = this.resourceType(req.getType(), urn);
    const state = this.decode(req.getProperties());
    this.deleted.add(urn);
    const made = this.created.get(urn);
    if (
      made?.id === req.getId() &&
      canonicalJson(decodeStruct(made.outputs)) !== canonicalJson(structToObject(req.getProperties()))
    ) {
      // The replaced resource's state names the object this process's Create just answered with
      // for the same URN: the replacement took the old object over (same URN and spec, as an
      // interrupted create's leftover would be) instead of making a new one. The engine decides
      // such replacements without asking Diff (--replace, replaceWith, deletedWith); deleting the
      // "old" object now would destroy the one the new state names.
      this.options.log.resource(
        urn,
        `${req.getId()} was not replaced: the replacement of ${urn}, decided by the engine alone (--replace, replaceWith or deletedWith), took over the object it replaces, so it is kept, not deleted; to have it made anew, set the resource option deleteBeforeReplace: true`,
        "warning",
        false,
      );
      return new (protocol().empty.Empty)();
    }
    await this.run("delete", urn, req.getTimeout(), state, state.secretKeys, (ctx) =>
      resourceType.delete(ctx, req.getId(), state.values),
    );
    return new (protocol().empty.Empty)();
  }

  /**
   * The engine's Cancel (sent on Ctrl-C with a 30 s budget, and before every plugin close with
   * 5 s; pulumi/pulumi pkg/host/host.go): operations in flight are aborted and the answer comes at
   * once; the logout goes on in the background, bounded, and the exit after SIGINT waits for it.
   */
  private async cancel(): Promise<emptyPb.Empty> {
    void this.shutdown("the engine cancelled the operation");
    return new (protocol().empty.Empty)();
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * Runs one vSphere operation with its signal and context; a {@link ResourceInitError} becomes the
   * engine's init-failure error with the partial outputs (secrets wrapped) and the inputs.
   */
  private async run<T>(
    name: string,
    urn: string,
    timeoutSeconds: number,
    inputs: DecodedProperties,
    secretKeys: ReadonlySet<string>,
    body: (ctx: OperationContext) => Promise<T>,
  ): Promise<T> {
    const operation = this.operations.begin(name, urn, timeoutSeconds);
    try {
      return await body(this.context(urn, operation));
    } catch (caught) {
      const error = explainServerFault(caught, name, urn);
      if (isResourceInitError(error)) {
        const message = this.options.redactor.redact(
          `${name} of ${urn} made ${error.id} but it did not finish initialising: ${error.reasons.join("; ")}`,
        );
        throw new GrpcFailure(
          initFailureError(message, {
            id: error.id,
            properties: this.encode(error.outputs, secretKeys),
            inputs: this.encode(inputs.values, inputs.secretKeys),
            reasons: error.reasons.map((reason) => this.options.redactor.redact(reason)),
          }),
        );
      }
      // An abort surfaces as the resource's own typed error, or else as the cancel/timeout reason.
      if (operation.signal.aborted && !(error instanceof BonnevilleError)) throw operation.signal.reason;
      throw error;
    } finally {
      operation.done();
    }
  }

  private context(urn: string, operation: Operation): OperationContext {
    const requireConfig = () => this.requireConfig();
    return {
      urn,
      signal: operation.signal,
      client: async () => this.vsphereClient(),
      progress: (message: string) => this.options.log.resource(urn, message),
      get config(): ProviderConfig {
        return requireConfig();
      },
    };
  }

  private requireConfig(): ProviderConfig {
    if (this.config) return this.config;
    throw new ProviderNotConfiguredError(
      this.configured
        ? "the provider configuration is not known yet (it depends on values computed during this deployment)"
        : "the provider was not configured: the engine must call Configure before resource operations",
    );
  }

  private vsphereClient(): VSphereClient {
    if (this.operations.cancelled) {
      throw new OperationCancelledError("the provider is shutting down; no new vSphere requests are made");
    }
    this.client ??= this.options.createClient(toConnectionOptions(this.requireConfig()));
    return this.client;
  }

  private resourceType(type: string, urn: string): ResourceType {
    if (!this.typesByToken) {
      this.typesByToken = new Map(this.options.resourceTypes().map((t) => [t.token, t]));
    }
    const token = type || typeFromUrn(urn);
    const found = this.typesByToken.get(token);
    if (!found) throw new UnknownResourceTypeError(token, [...this.typesByToken.keys()]);
    return found;
  }

  private decode(struct: Parameters<typeof structToObject>[0]): DecodedProperties {
    return this.decodeObject(structToObject(struct));
  }

  /** Decodes a wire property map (secrets unwrapped and remembered for redaction). */
  private decodeObject(wire: Record<string, unknown>): DecodedProperties {
    const decoded = decodeProperties(wire);
    this.options.redactor.add(decoded.secretStrings);
    return decoded;
  }

  private encode(values: PropertyMap, secretKeys: Iterable<string>): Record<string, unknown> {
    return encodeProperties(values, this.acceptSecrets ? secretKeys : []);
  }

  /** Secret keys of a response: those that came in secret plus the schema's always-secret properties. */
  private secretKeys(resourceType: ResourceType, incoming: DecodedProperties): Set<string> {
    return new Set([...incoming.secretKeys, ...schemaSecrets(resourceType)]);
  }

  private rememberSchemaSecrets(resourceType: ResourceType, values: PropertyMap): void {
    for (const name of schemaSecrets(resourceType)) {
      const value = values[name];
      if (typeof value === "string") this.options.redactor.add([value]);
    }
  }

  /** A check failure for the engine, with any secret value the reason quotes redacted. */
  private redactedFailure(failure: CheckFailure): providerPb.CheckFailure {
    return toCheckFailure({
      property: failure.property,
      reason: this.options.redactor.redact(failure.reason),
    });
  }

  private unary<Req, Res>(body: (request: Req) => Promise<Res>) {
    const activity = this.options.activity;
    return (call: Call<Req>, callback: Callback<Res>): void => {
      activity?.begin();
      let pending: Promise<Res>;
      try {
        pending = body(call.request);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (response) => {
          activity?.end();
          callback(null, response);
        },
        (error: unknown) => {
          activity?.end();
          callback(this.toServiceError(error));
        },
      );
    };
  }

  private toServiceError(error: unknown): Partial<grpcJs.ServiceError> {
    if (error instanceof GrpcFailure) return error.serviceError;
    const { status } = protocol().grpc;
    const message = this.options.redactor.redact(messageOf(error));
    let code = status.UNKNOWN;
    if (
      error instanceof ValidationError ||
      error instanceof UnknownResourceTypeError ||
      error instanceof UnsupportedRequestError
    ) {
      code = status.INVALID_ARGUMENT;
    } else if (error instanceof OperationCancelledError) {
      code = status.CANCELLED;
    } else if (error instanceof OperationTimeoutError) {
      code = status.DEADLINE_EXCEEDED;
    } else if (error instanceof ProviderNotConfiguredError) {
      code = status.FAILED_PRECONDITION;
    } else if (!(error instanceof BonnevilleError)) {
      const stack = error instanceof Error && error.stack ? error.stack : message;
      this.options.log.diagnostic(`unexpected error: ${stack}`);
    }
    return { code, details: message };
  }
}

/** A detailed diff as the engine's DiffResponse. */
function diffResponse(diff: {
  readonly changes: boolean;
  readonly replaces: readonly string[];
  readonly detailedDiff: Readonly<Record<string, PropertyChangeKind>>;
  readonly deleteBeforeReplace: boolean;
}): providerPb.DiffResponse {
  const { provider } = protocol();
  const response = new provider.DiffResponse();
  response.setChanges(
    diff.changes ? provider.DiffResponse.DiffChanges.DIFF_SOME : provider.DiffResponse.DiffChanges.DIFF_NONE,
  );
  response.setReplacesList([...diff.replaces]);
  response.setDeletebeforereplace(diff.changes && diff.replaces.length > 0 && diff.deleteBeforeReplace);
  const topLevel = new Set<string>(diff.replaces);
  const detailed = response.getDetaileddiffMap();
  for (const [path, kind] of Object.entries(diff.detailedDiff)) {
    const entry = new provider.PropertyDiff();
    entry.setKind(toDiffKind(kind));
    entry.setInputdiff(true);
    detailed.set(path, entry);
    topLevel.add(path.split(/[.[]/)[0]!);
  }
  response.setDiffsList([...topLevel].sort());
  response.setHasdetaileddiff(true);
  return response;
}

function toDiffKind(kind: PropertyChangeKind): providerPb.PropertyDiff.Kind {
  const { Kind } = protocol().provider.PropertyDiff;
  switch (kind) {
    case "add":
      return Kind.ADD;
    case "add-replace":
      return Kind.ADD_REPLACE;
    case "delete":
      return Kind.DELETE;
    case "delete-replace":
      return Kind.DELETE_REPLACE;
    case "update":
      return Kind.UPDATE;
    case "update-replace":
      return Kind.UPDATE_REPLACE;
  }
}

function toCheckFailure(failure: CheckFailure): providerPb.CheckFailure {
  const out = new (protocol().provider.CheckFailure)();
  out.setProperty(failure.property);
  out.setReason(failure.reason);
  return out;
}

function mapEntries(map: { forEach(fn: (value: string, key: string) => void): void }): Map<string, string> {
  const out = new Map<string, string>();
  map.forEach((value, key) => out.set(key, value));
  return out;
}

/** The resource type token of a URN (`urn:pulumi:stack::project::parent$type::name`). */
export function typeFromUrn(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4)
    throw new UnsupportedRequestError(
      `"${urn}" is not a resource URN (urn:pulumi:stack::project::type::name)`,
    );
  const qualified = parts[2]!;
  return qualified.slice(qualified.lastIndexOf("$") + 1);
}

/** The resource's logical name from its URN. */
export function nameFromUrn(urn: string): string {
  const parts = urn.split("::");
  return parts.slice(3).join("::");
}

/** True for a {@link ResourceInitError}, also one from another copy of the resources module. */
export function isResourceInitError(error: unknown): error is ResourceInitError {
  if (error instanceof ResourceInitError) return true;
  if (!(error instanceof Error) || error.name !== "ResourceInitError") return false;
  const candidate = error as Partial<ResourceInitError>;
  return (
    typeof candidate.id === "string" &&
    Array.isArray(candidate.reasons) &&
    typeof candidate.outputs === "object"
  );
}

/** Every string inside a value (for the redactor). */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where Check records the inputs the provider filled in (tfbridge's convention; the engine keeps `__` keys). */
export const DEFAULTS_KEY = "__defaults";

/** The inputs without the engine's and the provider's `__` bookkeeping keys. */
function withoutEngineKeys(values: PropertyMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) if (!key.startsWith("__")) out[key] = value;
  return out;
}

function withoutEngineKeysIn(decoded: DecodedProperties): DecodedProperties {
  return { ...decoded, values: withoutEngineKeys(decoded.values) };
}

/** The keys a checked input map says the provider filled in. */
function defaultedKeys(values: PropertyMap): string[] {
  const keys = values[DEFAULTS_KEY];
  return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === "string") : [];
}

/** True when the resource has a `name` that the program left to the provider. */
function providerNamed(resourceType: ResourceType, news: PropertyMap): boolean {
  return "name" in resourceType.schema.inputProperties && (news.name === undefined || news.name === null);
}

/** The engine's autonaming options of a CheckRequest, if it sent any. */
function autonamingOf(req: providerPb.CheckRequest): AutonamingOptions | undefined {
  const options = req.getAutonaming();
  if (!options) return undefined;
  const { Mode } = protocol().provider.CheckRequest.AutonamingOptions;
  const mode = options.getMode();
  return {
    proposedName: options.getProposedName(),
    mode: mode === Mode.ENFORCE ? "enforce" : mode === Mode.DISABLE ? "disable" : "propose",
  };
}

const schemaSecretNames = new WeakMap<ResourceType, readonly string[]>();

/** The properties a resource type's schema marks secret, inputs and outputs (read once per type). */
function schemaSecrets(resourceType: ResourceType): readonly string[] {
  let names = schemaSecretNames.get(resourceType);
  if (!names) {
    names = secretPropertyNames(resourceType.schema.inputProperties, resourceType.schema.outputProperties);
    schemaSecretNames.set(resourceType, names);
  }
  return names;
}

/** JSON with object keys sorted, to compare property maps whatever order they crossed the wire in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
