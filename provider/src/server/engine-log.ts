/**
 * Where the plugin's messages go: progress to the engine's log service
 * (pulumirpc.Engine/Log, info, ephemeral, with the resource URN) when the engine gave its
 * address, otherwise to stderr. Diagnostics always go to stderr. Everything is redacted first.
 */
import type { EngineClient } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { protocol } from "./protocol";
import type { SecretRedactor } from "./redaction";

/** Severity of a message for the engine's log. */
export type LogSeverity = "debug" | "info" | "warning" | "error";

/** Writes a line to the plugin's stderr. */
export type StderrWriter = (line: string) => void;

/** The plugin's logger. Messages are fire-and-forget: a failing engine log falls back to stderr. */
export class PluginLog {
  private engine: EngineClient | undefined;
  private engineAddress: string | undefined;

  constructor(
    private readonly redactor: SecretRedactor,
    private readonly stderr: StderrWriter = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** Sends later messages to the engine at `address` (host:port); undefined sends them to stderr. */
  connectEngine(address: string | undefined): void {
    if (!address || address === this.engineAddress) return;
    this.engine?.close();
    const { grpc, engineGrpc } = protocol();
    this.engineAddress = address;
    this.engine = new engineGrpc.EngineClient(address, grpc.credentials.createInsecure());
  }

  /** A message about one resource for the user (the engine shows ephemeral info messages as status). */
  resource(urn: string, message: string, severity: LogSeverity = "info", ephemeral = true): void {
    const text = this.redactor.redact(message);
    const engine = this.engine;
    if (!engine) {
      this.stderr(`[${severity}] ${urn}: ${text}`);
      return;
    }
    const { engine: enginePb } = protocol();
    const request = new enginePb.LogRequest();
    request.setSeverity(toSeverity(severity));
    request.setMessage(text);
    request.setUrn(urn);
    request.setEphemeral(ephemeral);
    engine.log(request, (error) => {
      if (error) this.stderr(`[${severity}] ${urn}: ${text} (engine log failed: ${error.message})`);
    });
  }

  /** A diagnostic line on stderr (the engine records plugin stderr in its own log). */
  diagnostic(message: string): void {
    this.stderr(`bonneville: ${this.redactor.redact(message)}`);
  }

  /** Closes the engine connection. */
  close(): void {
    this.engine?.close();
    this.engine = undefined;
    this.engineAddress = undefined;
  }
}

function toSeverity(severity: LogSeverity): number {
  const { engine } = protocol();
  switch (severity) {
    case "debug":
      return engine.LogSeverity.DEBUG;
    case "info":
      return engine.LogSeverity.INFO;
    case "warning":
      return engine.LogSeverity.WARNING;
    case "error":
      return engine.LogSeverity.ERROR;
  }
}
