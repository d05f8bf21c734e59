/**
 * Pulumi's own dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`, the program the engine runs as
 * `pulumi-resource-pulumi-nodejs`), started as the engine starts it: `node <host> <engine address>` in the
 * project directory; it prints its port as the only line on stdout. {@link DynamicHostRpc} adds what the
 * engine does for a provider like this one: CheckConfig/DiffConfig answered UNIMPLEMENTED fall back to the
 * engine's defaults, secrets are sent unwrapped (the host does not accept secrets) and marked secret again in
 * the outputs where the inputs were, and a preview never calls Create or Update (the host does not support
 * previews).
 */
import type { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { protocol } from "../../provider/src/server/protocol";
import { ensurePluginBuilt, repoRoot, spawnProvider, type FakeEngine, type PluginProcess } from "./plugin";
import { ProviderRpc, ProviderRpcError, type CheckReply, type ConfigureReply, type DiffReply } from "./rpc";
import { containsSecret, isSecret, reveal, secret, type WireProperties, type WireValue } from "./values";

/** The host program, as the engine's `pulumi-resource-pulumi-nodejs` finds it. */
export const dynamicHostScript = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");

/** Options of {@link startDynamicHost}. */
export interface StartDynamicHostOptions {
  /** The engine whose address the host gets as its argument (the host refuses to start without one). */
  readonly engine: FakeEngine;
  /** Environment added to the host's (VSPHERE_* variables of this process are removed first). */
  readonly env?: Record<string, string>;
  /** The working directory: the Pulumi project, where `require` in serialized providers resolves. Default: the repository. */
  readonly cwd?: string;
}

/** Starts the dynamic-provider host as the engine does, reads its port and connects. */
export function startDynamicHost(options: StartDynamicHostOptions): Promise<PluginProcess> {
  ensurePluginBuilt(); // serialized providers require @bonneville/provider, i.e. provider/dist
  return spawnProvider(
    {
      what: "host",
      command: process.execPath,
      args: [dynamicHostScript, options.engine.address],
      cwd: options.cwd ?? repoRoot,
      ...(options.env ? { env: options.env } : {}),
      portTimeoutMs: 20000,
      engine: options.engine,
    },
    connectDynamicHost,
  );
}

/** Connects a {@link DynamicHostRpc} to `address` and waits until the channel is ready. */
export async function connectDynamicHost(address: string): Promise<DynamicHostRpc> {
  const { grpc, providerGrpc } = protocol();
  const client = new providerGrpc.ResourceProviderClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10000, (error) => (error ? reject(error) : resolve())),
  );
  return new DynamicHostRpc(client);
}

/** The engine's side of a provider that answers some calls UNIMPLEMENTED and accepts neither secrets nor previews. */
export class DynamicHostRpc extends ProviderRpc {
  private acceptSecrets = false;
  private supportsPreview = false;

  constructor(client: ResourceProviderClient) {
    super(client);
  }

  /** UNIMPLEMENTED: the engine keeps the configuration as given. */
  override async checkConfig(args: {
    urn: string;
    olds?: WireProperties;
    news: WireProperties;
  }): Promise<CheckReply> {
    try {
      return await super.checkConfig(args);
    } catch (error) {
      if (!isUnimplemented(error)) throw error;
      return { inputs: args.news, failures: [] };
    }
  }

  /** UNIMPLEMENTED: the engine treats the difference as unknown and replaces nothing. */
  override async diffConfig(args: {
    urn: string;
    olds: WireProperties;
    news: WireProperties;
    oldInputs?: WireProperties;
  }): Promise<DiffReply> {
    try {
      return await super.diffConfig(args);
    } catch (error) {
      if (!isUnimplemented(error)) throw error;
      return {
        changes: "unknown",
        replaces: [],
        deleteBeforeReplace: false,
        diffs: [],
        detailedDiff: {},
        hasDetailedDiff: false,
      };
    }
  }

  /** Configure, remembering whether the provider accepts secrets and previews. */
  override async configure(args: Parameters<ProviderRpc["configure"]>[0]): Promise<ConfigureReply> {
    const reply = await super.configure(args);
    this.acceptSecrets = reply.acceptSecrets;
    this.supportsPreview = reply.supportsPreview;
    return reply;
  }

  override check(args: Parameters<ProviderRpc["check"]>[0]): Promise<CheckReply> {
    return super.check({ ...args, news: this.send(args.news), olds: this.send(args.olds ?? {}) });
  }

  override diff(args: Parameters<ProviderRpc["diff"]>[0]): Promise<DiffReply> {
    return super.diff({
      ...args,
      olds: this.send(args.olds),
      news: this.send(args.news),
      ...(args.oldInputs ? { oldInputs: this.send(args.oldInputs) } : {}),
    });
  }

  override async create(
    args: Parameters<ProviderRpc["create"]>[0],
  ): Promise<{ readonly id: string; readonly properties: WireProperties }> {
    if (args.preview && !this.supportsPreview) return { id: "", properties: args.properties };
    const created = await super.create({ ...args, properties: this.send(args.properties) });
    return { id: created.id, properties: this.receive(created.properties, args.properties) };
  }

  override async read(
    args: Parameters<ProviderRpc["read"]>[0],
  ): Promise<{ readonly id: string; readonly properties: WireProperties; readonly inputs: WireProperties }> {
    const read = await super.read({
      ...args,
      ...(args.properties ? { properties: this.send(args.properties) } : {}),
      ...(args.inputs ? { inputs: this.send(args.inputs) } : {}),
    });
    return {
      id: read.id,
      properties: this.receive(read.properties, args.properties ?? {}),
      inputs: this.receive(read.inputs, args.inputs ?? {}),
    };
  }

  override async update(
    args: Parameters<ProviderRpc["update"]>[0],
  ): Promise<{ readonly properties: WireProperties }> {
    if (args.preview && !this.supportsPreview) return { properties: args.news };
    const updated = await super.update({
      ...args,
      olds: this.send(args.olds),
      news: this.send(args.news),
      ...(args.oldInputs ? { oldInputs: this.send(args.oldInputs) } : {}),
    });
    return { properties: this.receive(updated.properties, args.news) };
  }

  override delete(args: Parameters<ProviderRpc["delete"]>[0]): Promise<void> {
    return super.delete({
      ...args,
      properties: this.send(args.properties),
      ...(args.oldInputs ? { oldInputs: this.send(args.oldInputs) } : {}),
    });
  }

  /** Properties as the engine sends them: secrets unwrapped unless the provider accepts them. */
  private send(properties: WireProperties): WireProperties {
    return this.acceptSecrets ? properties : reveal<WireProperties>(properties);
  }

  /** Outputs as the engine records them: secret where the same-named input was (objects compared key by key). */
  private receive(outputs: WireProperties, inputs: WireProperties): WireProperties {
    return this.acceptSecrets ? outputs : (annotateSecrets(outputs, inputs) as WireProperties);
  }
}

/** Marks output values secret where the input of the same name held a secret, recursing into objects. */
export function annotateSecrets(outputs: WireValue, inputs: WireValue): WireValue {
  if (!isPlainObject(outputs) || !isPlainObject(inputs)) return outputs;
  const out: Record<string, WireValue> = { ...outputs };
  for (const [key, input] of Object.entries(inputs)) {
    if (!(key in out)) continue;
    const output = out[key];
    if (isPlainObject(output) && isPlainObject(input) && !isSecret(input) && !isSecret(output)) {
      out[key] = annotateSecrets(output, input);
    } else if (!isSecret(output) && containsSecret(input)) {
      out[key] = secret(output);
    }
  }
  return out;
}

function isPlainObject(value: WireValue): value is Record<string, WireValue> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isUnimplemented(error: unknown): boolean {
  return error instanceof ProviderRpcError && error.code === protocol().grpc.status.UNIMPLEMENTED;
}
