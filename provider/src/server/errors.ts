/** Errors the plugin raises itself (not the resource layer's), each mapped to a gRPC status. */
import { BonnevilleError } from "../resources/errors";

/** The engine asked for a resource type this provider does not serve. */
export class UnknownResourceTypeError extends BonnevilleError {
  constructor(
    readonly type: string,
    readonly known: readonly string[],
  ) {
    super(`unknown resource type "${type}"; this provider serves: ${known.join(", ") || "(none)"}`);
  }
}

/** An operation needed vSphere before Configure supplied a usable configuration. */
export class ProviderNotConfiguredError extends BonnevilleError {}

/** The engine cancelled the operation (Cancel RPC or plugin shutdown). */
export class OperationCancelledError extends BonnevilleError {}

/** The operation ran past the `timeout` the engine gave (a resource's `customTimeouts`). */
export class OperationTimeoutError extends BonnevilleError {
  constructor(
    readonly operation: string,
    readonly urn: string,
    readonly timeoutSeconds: number,
  ) {
    super(`${operation} of ${urn} did not finish within its timeout of ${timeoutSeconds}s`);
  }
}

/** The engine sent a request the plugin cannot serve (schema version, malformed URN). */
export class UnsupportedRequestError extends BonnevilleError {}
