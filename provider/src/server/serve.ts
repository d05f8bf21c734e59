/**
 * Starts the provider's gRPC server on loopback: used by the plugin executable
 * (`main.ts`) and by in-process tests, which inject their own resource types and client.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Server } from "@grpc/grpc-js";
import type { ResourceType } from "../resources/resource";
import type { VSphereClient, VSphereConnectionOptions } from "../vsphere";
import { InternalError } from "../resources/errors";
import { schemaJson } from "../schema";
import { protocol, resourceProviderService } from "./protocol";
import { ProviderService } from "./provider";
import { PluginLog, type StderrWriter } from "./engine-log";
import { SecretRedactor } from "./redaction";
import type { RpcActivity } from "./heap-policy";

/** Options of {@link serve}; every one has a production default. */
export interface ServeOptions {
  /** Resource types to serve. Default: `resourceTypes` of `resources/` (loaded on first use). */
  readonly resourceTypes?: readonly ResourceType[] | (() => readonly ResourceType[]);
  /** The engine's gRPC address (host:port) for progress messages. Default: none (stderr). */
  readonly engineAddress?: string;
  /** Makes the one vSphere client of the process. Default: `new VSphereClient(options)`. */
  readonly createClient?: (options: VSphereConnectionOptions) => VSphereClient;
  /** Environment for config defaults. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Port to listen on (127.0.0.1). Default 0: a free port. */
  readonly port?: number;
  /** Plugin version. Default: provider/package.json's. */
  readonly version?: string;
  /** Where diagnostics and engine-less progress go. Default: process.stderr. */
  readonly stderr?: StderrWriter;
  /** Told when each RPC begins and ends (the plugin's idle collection). Default: nothing is. */
  readonly activity?: RpcActivity;
}

/** A running provider server. */
export interface RunningProvider {
  /** The port it listens on (what the plugin prints on stdout). */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** The service, for in-process inspection (operations in flight). */
  readonly service: ProviderService;
  /** Cancels operations, closes the vSphere client (logout) and stops the server. Idempotent. */
  shutdown(reason?: string): Promise<void>;
}

/** Starts serving pulumirpc.ResourceProvider on 127.0.0.1. */
export async function serve(options: ServeOptions = {}): Promise<RunningProvider> {
  const { grpc } = protocol();
  const redactor = new SecretRedactor();
  const log = new PluginLog(redactor, options.stderr);
  log.connectEngine(options.engineAddress);
  const version = options.version ?? providerVersion();
  const resourceTypes = once(() => {
    const given = options.resourceTypes;
    if (given === undefined) return (require("../resources") as typeof import("../resources")).resourceTypes;
    return typeof given === "function" ? given() : given;
  });
  const service = new ProviderService({
    resourceTypes,
    version,
    schema: () => schemaJson({ resourceTypes: resourceTypes(), version }),
    createClient: options.createClient ?? defaultCreateClient,
    env: options.env ?? process.env,
    log,
    redactor,
    ...(options.activity ? { activity: options.activity } : {}),
  });

  const server: Server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
  });
  server.addService(resourceProviderService(), service.handlers());
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    address: `127.0.0.1:${port}`,
    service,
    shutdown: (reason = "the provider is shutting down") => {
      stopping ??= (async () => {
        await service.shutdown(reason);
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 1000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        log.close();
      })();
      return stopping;
    },
  };
}

/** provider/package.json's version (the package root is two levels above `src/server` and `dist/server`). */
export function providerVersion(): string {
  const file = path.resolve(__dirname, "..", "..", "package.json");
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown };
  if (typeof parsed.version !== "string") {
    throw new InternalError(`${file} has no "version" string; got ${JSON.stringify(parsed.version)}`);
  }
  return parsed.version;
}

function defaultCreateClient(options: VSphereConnectionOptions): VSphereClient {
  const vsphere = require("../vsphere") as Partial<typeof import("../vsphere")>;
  if (typeof vsphere.VSphereClient !== "function") {
    throw new InternalError(
      "vsphere/ does not export a VSphereClient class; this build cannot reach vCenter",
    );
  }
  return new vsphere.VSphereClient(options);
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
