/**
 * Starting the provider as the engine does: the real executable (`startPlugin`) or, for fast
 * tests, the same server in this process (`startInProcessPlugin`). Either way the test talks
 * pulumirpc over gRPC and can capture engine log messages with a {@link FakeEngine}.
 */
import { spawn, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as grpcJs from "@grpc/grpc-js";
import { protocol } from "../../provider/src/server/protocol";
import { serve, type ServeOptions } from "../../provider/src/server/serve";
import { connectProvider, ProviderRpcError, type ProviderRpc } from "./rpc";

/** The repository root. */
export const repoRoot = path.resolve(__dirname, "..", "..");
/** The plugin executable. */
export const pluginExecutable = path.join(repoRoot, "provider", "bin", "pulumi-resource-bonneville");
/** The in-memory test resource types, loadable by the executable via BONNEVILLE_PLUGIN_EXTRA_TYPES. */
export const memoryTypesModule = path.join(__dirname, "fixtures", "memory-resource-types.js");

/** One message the plugin sent to the engine's log. */
export interface EngineLogMessage {
  readonly severity: "debug" | "info" | "warning" | "error";
  readonly message: string;
  readonly urn: string;
  readonly ephemeral: boolean;
}

/** A stand-in for the engine's gRPC service (pulumirpc.Engine) that records Log calls. */
export class FakeEngine {
  /** Every Log message received, in order. */
  readonly messages: EngineLogMessage[] = [];

  private constructor(
    private readonly server: grpcJs.Server,
    /** host:port, as the engine passes it to plugins. */
    readonly address: string,
  ) {}

  /** Starts the fake engine on a free loopback port. */
  static async start(): Promise<FakeEngine> {
    const { grpc, engineGrpc } = protocol();
    const server = new grpc.Server();
    const holder: { engine?: FakeEngine } = {};
    const severities = ["debug", "info", "warning", "error"] as const;
    server.addService(engineGrpc.EngineService, {
      log: (
        call: { request: import("@pulumi/pulumi/proto/engine_pb").LogRequest },
        callback: (error: null, reply: unknown) => void,
      ) => {
        const request = call.request;
        holder.engine?.messages.push({
          severity: severities[request.getSeverity()] ?? "info",
          message: request.getMessage(),
          urn: request.getUrn(),
          ephemeral: request.getEphemeral(),
        });
        callback(null, new (protocol().empty.Empty)());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const engine = new FakeEngine(server, `127.0.0.1:${port}`);
    holder.engine = engine;
    return engine;
  }

  /** Resolves with the first message matching `predicate`, waiting up to `timeoutMs`. */
  async waitFor(
    predicate: (message: EngineLogMessage) => boolean,
    timeoutMs = 5000,
  ): Promise<EngineLogMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching engine log message in ${timeoutMs}ms; got ${JSON.stringify(this.messages)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops the fake engine. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

/** A provider the harness talks to, however it was started. */
export interface PluginConnection {
  readonly rpc: ProviderRpc;
  /** Everything the plugin wrote to stderr so far. */
  stderr(): string;
  /** The fake engine receiving its log messages, if one was given. */
  readonly engine: FakeEngine | undefined;
  /**
   * Stops the plugin as the engine does when a command ends: Cancel with the engine's 5 s budget
   * (pulumi/pulumi pkg/host/host.go, hostManagedProvider.Close), then the channel closes and the
   * process gets SIGINT and 5 s before SIGKILL (pkg/resource/plugin/plugin.go, newPlugin's kill).
   */
  close(): Promise<void>;
  /** How the last {@link close} went, once it has: what the engine would have seen. */
  closeReport(): CloseReport | undefined;
}

/** What the engine sees when it closes a plugin. */
export interface CloseReport {
  /** Cancel answered within the engine's 5 s (else the engine reports the exit as premature). */
  readonly cancelAcknowledged: boolean;
  /** The error Cancel failed with, if it did. */
  readonly cancelError?: string;
  /** The exit code after SIGINT; null when the process had to be killed (SIGKILL). */
  readonly exitCode: number | null;
}

/** The engine's budget for Cancel before a close, and for the exit after SIGINT (pulumi/pulumi). */
export const ENGINE_CLOSE_BUDGET_MS = 5000;

/** Options of {@link startPlugin}. */
export interface StartPluginOptions {
  /** A fake engine whose address is passed as the plugin's argument; omitted: no engine address. */
  readonly engine?: FakeEngine;
  /** Environment added to the plugin's (VSPHERE_* variables of this process are removed first). */
  readonly env?: Record<string, string>;
  /** Serve the in-memory test resource types too. Default false. */
  readonly memoryTypes?: boolean;
  /** Extra arguments before the engine address (e.g. `["-v=9", "--logtostderr"]`). */
  readonly flags?: readonly string[];
}

/** The plugin executable, running. */
export interface PluginProcess extends PluginConnection {
  /** The port it printed. */
  readonly port: number;
  /** The process ID (for /proc readings: CPU time, memory). */
  readonly pid: number;
  /** Milliseconds from spawn to the port line. */
  readonly startupMs: number;
  /** Everything the plugin wrote to stdout so far. */
  stdout(): string;
  /** Sends a signal and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Compiles provider/ when its sources are newer than `dist/server/main.js` (the executable runs compiled code). */
export function ensurePluginBuilt(): void {
  const main = path.join(repoRoot, "provider", "dist", "server", "main.js");
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  const newest = newestMtime(path.join(repoRoot, "provider", "src"));
  if (built >= newest) return;
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      path.join(repoRoot, "provider", "tsconfig.json"),
    ],
    {
      stdio: "inherit",
    },
  );
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Spawns `pulumi-resource-bonneville` as the engine does, reads its port and connects. */
export async function startPlugin(options: StartPluginOptions = {}): Promise<PluginProcess> {
  ensurePluginBuilt();
  const env: Record<string, string> = { ...(options.env ?? {}) };
  if (options.memoryTypes) env.BONNEVILLE_PLUGIN_EXTRA_TYPES = memoryTypesModule;
  return spawnProvider(
    {
      what: "plugin",
      command: pluginExecutable,
      args: [...(options.flags ?? []), ...(options.engine ? [options.engine.address] : [])],
      env,
      portTimeoutMs: 10000,
      ...(options.engine ? { engine: options.engine } : {}),
    },
    connectProvider,
  );
}

/** How to start a provider process (the plugin, or another program that speaks the protocol). */
export interface SpawnProviderOptions {
  /** What it is, for messages ("plugin"). */
  readonly what: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to this process's environment, from which VSPHERE_* variables are removed first. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** How long it may take to print its port. */
  readonly portTimeoutMs: number;
  readonly engine?: FakeEngine;
}

/**
 * Starts a provider process as the engine does: its first stdout line is its port; then connects
 * with `connect`. The result kills the process (SIGINT, then SIGKILL after 5 s) when closed.
 */
export async function spawnProvider<R extends ProviderRpc>(
  options: SpawnProviderOptions,
  connect: (address: string) => Promise<R>,
): Promise<PluginProcess & { readonly rpc: R }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("VSPHERE_")) env[key] = value;
  Object.assign(env, options.env ?? {});
  const { what } = options;
  const started = performance.now();
  const child = spawn(options.command, [...options.args], {
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${what} printed no port in ${options.portTimeoutMs / 1000}s; stderr: ${stderr}`)),
      options.portTimeoutMs,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        const line = stdout.slice(0, newline).trim();
        if (/^\d+$/.test(line)) resolve(Number(line));
        else reject(new Error(`${what}'s first stdout line is not a port: ${JSON.stringify(line)}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before printing its port; stderr: ${stderr}`));
    });
  });
  const startupMs = performance.now() - started;
  const rpc = await connect(`127.0.0.1:${port}`);
  let closed: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals = "SIGINT"): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), ENGINE_CLOSE_BUDGET_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  let report: CloseReport | undefined;
  return {
    rpc,
    port,
    pid: child.pid!,
    startupMs,
    engine: options.engine,
    stdout: () => stdout,
    stderr: () => stderr,
    kill,
    closeReport: () => report,
    close: () => {
      closed ??= (async () => {
        const cancel = await cancelForClose(rpc, child.exitCode === null && child.signalCode === null);
        rpc.close();
        report = { ...cancel, exitCode: await kill("SIGINT") };
      })();
      return closed;
    },
  };
}

/** Options of {@link startInProcessPlugin}: the server's options plus a fake engine. */
export interface InProcessOptions extends Omit<ServeOptions, "engineAddress" | "stderr"> {
  readonly engine?: FakeEngine;
}

/** Serves the provider in this process (injected resource types and client) and connects to it. */
export async function startInProcessPlugin(options: InProcessOptions = {}): Promise<PluginConnection> {
  const lines: string[] = [];
  const running = await serve({
    ...options,
    env: options.env ?? {},
    ...(options.engine ? { engineAddress: options.engine.address } : {}),
    stderr: (line) => lines.push(line),
  });
  const rpc = await connectProvider(running.address);
  let closed: Promise<void> | undefined;
  let report: CloseReport | undefined;
  return {
    rpc,
    engine: options.engine,
    stderr: () => lines.map((line) => `${line}\n`).join(""),
    closeReport: () => report,
    close: () => {
      closed ??= (async () => {
        const cancel = await cancelForClose(rpc, true);
        rpc.close();
        await running.shutdown("the test closed the plugin");
        report = { ...cancel, exitCode: 0 };
      })();
      return closed;
    },
  };
}

/** The Cancel the engine sends before closing a plugin, with its 5 s budget. */
async function cancelForClose(
  rpc: ProviderRpc,
  running: boolean,
): Promise<{ cancelAcknowledged: boolean; cancelError?: string }> {
  if (!running) return { cancelAcknowledged: false, cancelError: "the process had already exited" };
  try {
    await rpc.cancel({ deadlineMs: ENGINE_CLOSE_BUDGET_MS });
    return { cancelAcknowledged: true };
  } catch (error) {
    // Unimplemented counts as acknowledged (pulumi/pulumi provider_plugin.go, SignalCancellation).
    if (error instanceof ProviderRpcError && error.code === protocol().grpc.status.UNIMPLEMENTED) {
      return { cancelAcknowledged: true };
    }
    return { cancelAcknowledged: false, cancelError: error instanceof Error ? error.message : String(error) };
  }
}
