/**
 * Promise-returning pulumirpc.ResourceProvider calls over the engine's own stubs, with
 * requests and responses as plain wire-form objects. Every call is recorded in {@link calls}.
 */
import type * as grpcJs from "@grpc/grpc-js";
import type { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { protocol, objectToStruct, structToObject } from "../../provider/src/server/protocol";
import { decodeInitFailure, type ResourceInitFailure } from "../../provider/src/server/init-failure";
import type { PackageSchema } from "../../provider/src/schema";
import type { WireProperties } from "./values";

/** A property failure from Check or CheckConfig. */
export interface WireCheckFailure {
  readonly property: string;
  readonly reason: string;
}

/** Check and CheckConfig results. */
export interface CheckReply {
  readonly inputs: WireProperties;
  readonly failures: readonly WireCheckFailure[];
}

/** A property diff kind as the engine names it. */
export type WireDiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

/** Diff and DiffConfig results. */
export interface DiffReply {
  readonly changes: "unknown" | "none" | "some";
  readonly replaces: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly diffs: readonly string[];
  readonly detailedDiff: Readonly<
    Record<string, { readonly kind: WireDiffKind; readonly inputDiff: boolean }>
  >;
  readonly hasDetailedDiff: boolean;
}

/** Handshake's answer. */
export interface HandshakeReply {
  readonly acceptSecrets: boolean;
  readonly acceptResources: boolean;
  readonly acceptOutputs: boolean;
  readonly supportsAutonamingConfiguration: boolean;
}

/** CheckRequest.autonaming, as the engine sends it to providers that support it. */
export interface WireAutonaming {
  readonly proposedName: string;
  readonly mode: "propose" | "enforce" | "disable";
}

/** Configure's answer. */
export interface ConfigureReply {
  readonly acceptSecrets: boolean;
  readonly acceptResources: boolean;
  readonly acceptOutputs: boolean;
  readonly supportsPreview: boolean;
  readonly supportsAutonamingConfiguration: boolean;
}

/** A failed call: gRPC code, message and, for init failures, the decoded ErrorResourceInitFailed. */
export class ProviderRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
    readonly initFailure: ResourceInitFailure | undefined,
  ) {
    super(`${method} failed (gRPC ${code}): ${details}`);
    this.name = "ProviderRpcError";
  }
}

const KINDS: readonly WireDiffKind[] = [
  "add",
  "add-replace",
  "delete",
  "delete-replace",
  "update",
  "update-replace",
];

/** The provider's RPCs as async functions. */
export class ProviderRpc {
  /** Method names of every call made, in order (e.g. `["CheckConfig", "Configure", "Check", "Create"]`). */
  readonly calls: string[] = [];
  /** Every request sent, with its method name, in order (the protobuf messages). */
  readonly requests: { readonly method: string; readonly request: unknown }[] = [];

  constructor(readonly client: ResourceProviderClient) {}

  /** GetPluginInfo → the version. */
  async getPluginInfo(): Promise<{ readonly version: string }> {
    const reply = await this.unary<{ getVersion(): string }>(
      "GetPluginInfo",
      "getPluginInfo",
      new (protocol().empty.Empty)(),
    );
    return { version: reply.getVersion() };
  }

  /** GetSchema → the parsed schema (and its text). */
  async getSchema(version = 0): Promise<{ readonly schema: PackageSchema; readonly text: string }> {
    const request = new (protocol().provider.GetSchemaRequest)();
    request.setVersion(version);
    const reply = await this.unary<{ getSchema(): string }>("GetSchema", "getSchema", request);
    return { schema: JSON.parse(reply.getSchema()) as PackageSchema, text: reply.getSchema() };
  }

  /**
   * Handshake, the engine's first call (pulumi/pulumi pkg/resource/plugin/provider_plugin.go,
   * NewProvider): the engine address and, for a plugin it started, the plugin's directory as root
   * and program directory (none when it attached to a running plugin).
   */
  async handshake(
    engineAddress: string,
    options: { readonly directory?: string } = {},
  ): Promise<HandshakeReply> {
    const request = new (protocol().provider.ProviderHandshakeRequest)();
    request.setEngineAddress(engineAddress);
    if (options.directory !== undefined) {
      request.setRootDirectory(options.directory);
      request.setProgramDirectory(options.directory);
    }
    request.setConfigureWithUrn(true);
    request.setSupportsViews(true);
    request.setSupportsRefreshBeforeUpdate(true);
    request.setInvokeWithPreview(true);
    const reply = await this.unary<import("@pulumi/pulumi/proto/provider_pb").ProviderHandshakeResponse>(
      "Handshake",
      "handshake",
      request,
    );
    return {
      acceptSecrets: reply.getAcceptSecrets(),
      acceptResources: reply.getAcceptResources(),
      acceptOutputs: reply.getAcceptOutputs(),
      supportsAutonamingConfiguration: reply.getSupportsAutonamingConfiguration(),
    };
  }

  /** Attach: the engine's address, sent to a plugin it attached to instead of starting (PULUMI_DEBUG_PROVIDERS). */
  async attach(engineAddress: string): Promise<void> {
    const request = new (protocol().plugin.PluginAttach)();
    request.setAddress(engineAddress);
    await this.unary("Attach", "attach", request);
  }

  /** CheckConfig(urn, olds, news). */
  async checkConfig(args: { urn: string; olds?: WireProperties; news: WireProperties }): Promise<CheckReply> {
    return this.checkLike("CheckConfig", "checkConfig", { ...args, name: "default" });
  }

  /** DiffConfig(urn, olds, news). */
  async diffConfig(args: {
    urn: string;
    olds: WireProperties;
    news: WireProperties;
    oldInputs?: WireProperties;
  }): Promise<DiffReply> {
    return this.diffLike("DiffConfig", "diffConfig", { ...args, id: "" });
  }

  /** Configure with `variables` (`bonneville:config:key` → string) and `args` (checked inputs). */
  async configure(args: {
    variables: Record<string, string>;
    args?: WireProperties;
    acceptSecrets?: boolean;
    acceptResources?: boolean;
  }): Promise<ConfigureReply> {
    const request = new (protocol().provider.ConfigureRequest)();
    const variables = request.getVariablesMap();
    for (const [key, value] of Object.entries(args.variables)) variables.set(key, value);
    if (args.args) request.setArgs(objectToStruct(args.args));
    request.setAcceptsecrets(args.acceptSecrets ?? true);
    request.setAcceptresources(args.acceptResources ?? true);
    request.setSendsOldInputs(true);
    request.setSendsOldInputsToDelete(true);
    const reply = await this.unary<{
      getAcceptsecrets(): boolean;
      getAcceptresources(): boolean;
      getAcceptoutputs(): boolean;
      getSupportspreview(): boolean;
      getSupportsAutonamingConfiguration(): boolean;
    }>("Configure", "configure", request);
    return {
      acceptSecrets: reply.getAcceptsecrets(),
      acceptResources: reply.getAcceptresources(),
      acceptOutputs: reply.getAcceptoutputs(),
      supportsPreview: reply.getSupportspreview(),
      supportsAutonamingConfiguration: reply.getSupportsAutonamingConfiguration(),
    };
  }

  /** Check(urn, olds, news, randomSeed, autonaming). */
  async check(args: {
    urn: string;
    olds?: WireProperties;
    news: WireProperties;
    randomSeed?: Uint8Array;
    autonaming?: WireAutonaming;
  }): Promise<CheckReply> {
    return this.checkLike("Check", "check", args);
  }

  /** Diff(urn, id, olds = old outputs, news = checked inputs). */
  async diff(args: {
    urn: string;
    id: string;
    olds: WireProperties;
    news: WireProperties;
    oldInputs?: WireProperties;
    ignoreChanges?: readonly string[];
  }): Promise<DiffReply> {
    return this.diffLike("Diff", "diff", args);
  }

  /** Create(urn, properties, preview, timeout seconds). */
  async create(args: {
    urn: string;
    properties: WireProperties;
    preview?: boolean;
    timeout?: number;
  }): Promise<{
    readonly id: string;
    readonly properties: WireProperties;
  }> {
    const request = new (protocol().provider.CreateRequest)();
    request.setUrn(args.urn);
    request.setProperties(objectToStruct(args.properties));
    request.setPreview(args.preview ?? false);
    request.setTimeout(args.timeout ?? 0);
    const reply = await this.unary<{ getId(): string; getProperties(): never }>("Create", "create", request);
    return { id: reply.getId(), properties: structToObject(reply.getProperties()) };
  }

  /** Read(urn, id, properties, inputs): refresh with state, import with the id only. */
  async read(args: {
    urn: string;
    id: string;
    properties?: WireProperties;
    inputs?: WireProperties;
  }): Promise<{
    readonly id: string;
    readonly properties: WireProperties;
    readonly inputs: WireProperties;
  }> {
    const request = new (protocol().provider.ReadRequest)();
    request.setUrn(args.urn);
    request.setId(args.id);
    if (args.properties) request.setProperties(objectToStruct(args.properties));
    if (args.inputs) request.setInputs(objectToStruct(args.inputs));
    const reply = await this.unary<{ getId(): string; getProperties(): never; getInputs(): never }>(
      "Read",
      "read",
      request,
    );
    return {
      id: reply.getId(),
      properties: structToObject(reply.getProperties()),
      inputs: structToObject(reply.getInputs()),
    };
  }

  /** Update(urn, id, olds = old outputs, news = checked inputs, preview, timeout). */
  async update(args: {
    urn: string;
    id: string;
    olds: WireProperties;
    news: WireProperties;
    oldInputs?: WireProperties;
    preview?: boolean;
    timeout?: number;
  }): Promise<{ readonly properties: WireProperties }> {
    const request = new (protocol().provider.UpdateRequest)();
    request.setUrn(args.urn);
    request.setId(args.id);
    request.setOlds(objectToStruct(args.olds));
    request.setNews(objectToStruct(args.news));
    if (args.oldInputs) request.setOldInputs(objectToStruct(args.oldInputs));
    request.setPreview(args.preview ?? false);
    request.setTimeout(args.timeout ?? 0);
    const reply = await this.unary<{ getProperties(): never }>("Update", "update", request);
    return { properties: structToObject(reply.getProperties()) };
  }

  /** Delete(urn, id, properties = outputs, timeout). */
  async delete(args: {
    urn: string;
    id: string;
    properties: WireProperties;
    oldInputs?: WireProperties;
    timeout?: number;
  }): Promise<void> {
    const request = new (protocol().provider.DeleteRequest)();
    request.setUrn(args.urn);
    request.setId(args.id);
    request.setProperties(objectToStruct(args.properties));
    if (args.oldInputs) request.setOldInputs(objectToStruct(args.oldInputs));
    request.setTimeout(args.timeout ?? 0);
    await this.unary("Delete", "delete", request);
  }

  /**
   * Cancel: the engine's request to stop everything in flight. `deadlineMs` is the engine's budget
   * (30 s on Ctrl-C, 5 s before closing a plugin: pulumi/pulumi pkg/host/host.go); past it the call
   * fails with DEADLINE_EXCEEDED, as the engine's context does.
   */
  async cancel(options: { readonly deadlineMs?: number } = {}): Promise<void> {
    await this.unary("Cancel", "cancel", new (protocol().empty.Empty)(), options.deadlineMs);
  }

  /** Closes the gRPC channel. */
  close(): void {
    this.client.close();
  }

  private async checkLike(
    label: string,
    method: "check" | "checkConfig",
    args: {
      urn: string;
      olds?: WireProperties;
      news: WireProperties;
      randomSeed?: Uint8Array;
      name?: string;
      autonaming?: WireAutonaming;
    },
  ): Promise<CheckReply> {
    const request = new (protocol().provider.CheckRequest)();
    request.setUrn(args.urn);
    const parts = args.urn.split("::");
    request.setName(parts.slice(3).join("::"));
    request.setType(parts[2]!.slice(parts[2]!.lastIndexOf("$") + 1));
    if (args.autonaming) {
      const { AutonamingOptions } = protocol().provider.CheckRequest;
      const options = new AutonamingOptions();
      options.setProposedName(args.autonaming.proposedName);
      options.setMode(
        {
          propose: AutonamingOptions.Mode.PROPOSE,
          enforce: AutonamingOptions.Mode.ENFORCE,
          disable: AutonamingOptions.Mode.DISABLE,
        }[args.autonaming.mode],
      );
      request.setAutonaming(options);
    }
    request.setOlds(objectToStruct(args.olds ?? {}));
    request.setNews(objectToStruct(args.news));
    request.setRandomseed(args.randomSeed ?? new Uint8Array(32));
    const reply = await this.unary<{
      getInputs(): never;
      getFailuresList(): { getProperty(): string; getReason(): string }[];
    }>(label, method, request);
    return {
      inputs: structToObject(reply.getInputs()),
      failures: reply.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  private async diffLike(
    label: string,
    method: "diff" | "diffConfig",
    args: {
      urn: string;
      id: string;
      olds: WireProperties;
      news: WireProperties;
      oldInputs?: WireProperties;
      ignoreChanges?: readonly string[];
    },
  ): Promise<DiffReply> {
    const request = new (protocol().provider.DiffRequest)();
    request.setUrn(args.urn);
    request.setId(args.id);
    request.setOlds(objectToStruct(args.olds));
    request.setNews(objectToStruct(args.news));
    if (args.oldInputs) request.setOldInputs(objectToStruct(args.oldInputs));
    request.setIgnorechangesList([...(args.ignoreChanges ?? [])]);
    const reply = await this.unary<import("@pulumi/pulumi/proto/provider_pb").DiffResponse>(
      label,
      method,
      request,
    );
    const detailedDiff: Record<string, { kind: WireDiffKind; inputDiff: boolean }> = {};
    reply.getDetaileddiffMap().forEach((entry, key) => {
      detailedDiff[key] = { kind: KINDS[entry.getKind()]!, inputDiff: entry.getInputdiff() };
    });
    return {
      changes: (["unknown", "none", "some"] as const)[reply.getChanges()]!,
      replaces: reply.getReplacesList(),
      deleteBeforeReplace: reply.getDeletebeforereplace(),
      diffs: reply.getDiffsList(),
      detailedDiff,
      hasDetailedDiff: reply.getHasdetaileddiff(),
    };
  }

  private unary<T>(label: string, method: string, request: unknown, deadlineMs?: number): Promise<T> {
    this.calls.push(label);
    this.requests.push({ method: label, request });
    const client = this.client as unknown as Record<
      string,
      (
        req: unknown,
        metadata: grpcJs.Metadata,
        options: grpcJs.CallOptions,
        cb: (error: grpcJs.ServiceError | null, reply: T) => void,
      ) => void
    >;
    const options: grpcJs.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise<T>((resolve, reject) => {
      client[method]!.call(
        this.client,
        request,
        new (protocol().grpc.Metadata)(),
        options,
        (error, reply) => {
          if (error)
            reject(new ProviderRpcError(label, error.code, error.details, decodeInitFailure(error.metadata)));
          else resolve(reply);
        },
      );
    });
  }
}

/** Connects a ResourceProvider client to `address` (host:port) and waits until the channel is ready. */
export async function connectProvider(address: string): Promise<ProviderRpc> {
  const { grpc, providerGrpc } = protocol();
  const client = new providerGrpc.ResourceProviderClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10000, (error) => (error ? reject(error) : resolve())),
  );
  return new ProviderRpc(client);
}
