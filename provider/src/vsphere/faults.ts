/**
 * Typed errors of the vSphere client. Every error says which method on which
 * object failed; vim faults keep their type name and cause chain so callers
 * can ask `isVimFault(err, "ManagedObjectNotFound")`.
 */
import type { MoRef } from "./types";

/** Base of every error the vSphere client raises. */
export class VSphereError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server could not be reached or the connection broke (DNS, refused, reset, timeout). */
export class TransportError extends VSphereError {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server's TLS certificate was refused (unknown issuer, wrong thumbprint). */
export class CertificateError extends VSphereError {
  constructor(
    message: string,
    /** SHA-256 fingerprint of the certificate the server presented, colon-separated hex. */
    readonly presentedThumbprint: string | undefined,
  ) {
    super(message);
  }
}

/** A SOAP fault without a vim fault detail (malformed request, server error). */
export class SoapFaultError extends VSphereError {
  constructor(
    readonly method: string,
    readonly faultCode: string,
    readonly faultString: string,
    readonly target?: MoRef,
  ) {
    super(`${method}${target ? ` on ${target.value}` : ""}: ${faultString || faultCode}`);
  }
}

/** A vim fault: its type name (`InvalidState`), message, fields and the faults that caused it. */
export class VimFault extends VSphereError {
  constructor(
    /** The vim25 fault type, e.g. `ManagedObjectNotFound`. */
    readonly faultType: string,
    message: string,
    /** The fault's fields as the server sent them. */
    readonly detail: Readonly<Record<string, unknown>>,
    /** Which call raised it. */
    readonly method: string,
    readonly target?: MoRef,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A task that ended in error; its `fault` is the vim fault the task reported. */
export class TaskError extends VSphereError {
  constructor(
    readonly task: MoRef,
    /** The task's operation, e.g. `InstantClone_Task`. */
    readonly operation: string,
    readonly target: MoRef | undefined,
    readonly fault: VimFault,
    /** The task's localized message. */
    readonly localizedMessage: string,
  ) {
    super(`${operation}${target ? ` on ${target.value}` : ""} failed: ${localizedMessage}`, { cause: fault });
  }
}

/** A wait was cancelled (AbortSignal) or the client was closed. */
export class AbortedError extends VSphereError {}

/**
 * The error an aborted signal ends an operation with: the signal's reason when it is an Error (a
 * timeout or the engine's cancel says why), else an AbortedError saying that `what` was cancelled.
 */
export function cancellation(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new AbortedError(`${what} was cancelled`);
}

/**
 * Resolves after `ms`, or at once when `signal` aborts; never rejects (the caller checks why it
 * woke). The waiters' pacing between polls and view changes.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `run` once `windowMs` have passed since `sinceMs` (a `Date.now()` time), or in the next turn
 * of the event loop when they already have. The waiters' pacing of their view changes.
 */
export function afterWindow(sinceMs: number, windowMs: number, run: () => void): void {
  const wait = sinceMs + windowMs - Date.now();
  if (wait > 0) setTimeout(run, wait);
  else setImmediate(run);
}

/**
 * `work`, or a rejection ({@link cancellation}) as soon as `signal` aborts: for waiting on work that
 * others share, which goes on for them.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(cancellation(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancellation(signal, what));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Vim fault supertypes, so `isVimFault(err, "InvalidState")` also matches
 * `InvalidPowerState`, as the type hierarchy says.
 */
const faultParents: Readonly<Record<string, string>> = {
  InvalidPowerState: "InvalidState",
  InvalidHostState: "InvalidState",
  InvalidDatastoreState: "InvalidState",
  TaskInProgress: "VimFault",
  InvalidState: "VimFault",
  DuplicateName: "VimFault",
  InvalidName: "VimFault",
  InvalidLogin: "VimFault",
  NotFound: "VimFault",
  FileFault: "VimFault",
  FileLocked: "FileFault",
  FileNotFound: "FileFault",
  CannotCreateFile: "FileFault",
  InsufficientResourcesFault: "VimFault",
  InsufficientMemoryResourcesFault: "InsufficientResourcesFault",
  InsufficientCpuResourcesFault: "InsufficientResourcesFault",
  ResourceInUse: "VimFault",
  HostCommunication: "RuntimeFault",
  HostNotConnected: "HostCommunication",
  HostNotReachable: "HostCommunication",
  NotAuthenticated: "NoPermission",
  NoPermission: "SecurityError",
  SecurityError: "RuntimeFault",
  ManagedObjectNotFound: "RuntimeFault",
  InvalidArgument: "InvalidRequest",
  InvalidRequest: "RuntimeFault",
  MethodNotFound: "InvalidRequest",
  NotSupported: "RuntimeFault",
  SystemError: "RuntimeFault",
  RequestCanceled: "RuntimeFault",
  Timedout: "VimFault",
  GenericVmConfigFault: "VmConfigFault",
  VmConfigFault: "VimFault",
  InvalidVmConfig: "VmConfigFault",
  VimFault: "MethodFault",
  RuntimeFault: "MethodFault",
};

function faultIs(type: string, wanted: string): boolean {
  for (let t: string | undefined = type; t; t = faultParents[t]) if (t === wanted) return true;
  return false;
}

/** The vim fault inside an error: itself, a task's fault, or one in the cause chain. */
export function vimFaultOf(err: unknown): VimFault | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 10; depth++) {
    if (e instanceof VimFault) return e;
    if (e instanceof TaskError) return e.fault;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `err` is (or was caused by, or is a task that failed with) a vim fault of type `type` or a subtype. */
export function isVimFault(err: unknown, type: string): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 10; depth++) {
    if (e instanceof VimFault && faultIs(e.faultType, type)) return true;
    if (e instanceof TaskError && faultIs(e.fault.faultType, type)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True when the object named by the error no longer exists. */
export function isNotFound(err: unknown): boolean {
  return isVimFault(err, "ManagedObjectNotFound") || isVimFault(err, "NotFound");
}

/** Faults worth retrying: transient server or connection trouble. */
export function isTransient(err: unknown): boolean {
  return (
    err instanceof TransportError ||
    isVimFault(err, "HostCommunication") ||
    isVimFault(err, "TaskInProgress") ||
    isVimFault(err, "SystemError") ||
    isVimFault(err, "Timedout")
  );
}

/** Human words for the faults users meet most, so messages explain rather than name a type. */
const faultMessages: Readonly<Record<string, string>> = {
  InvalidLogin: "the user name or password is wrong",
  NotAuthenticated: "the session is not authenticated",
  ManagedObjectNotFound: "the object does not exist (any more)",
  DuplicateName: "an object with that name already exists there",
  InvalidState: "the operation is not allowed in the object's current state",
  InvalidPowerState: "the VM's power state does not allow this operation",
  InvalidArgument: "an argument is not valid",
  TaskInProgress: "another task is running on the object",
  InsufficientResourcesFault: "not enough resources are available",
  NoPermission: "the user lacks the privilege",
  NotSupported: "the operation is not supported",
  HostCommunication: "vCenter could not reach the ESXi host",
};

/** A readable message for a fault: the server's text, else a description of its type. */
export function describeFault(type: string, serverMessage: string, detail: Record<string, unknown>): string {
  const known = faultMessages[type];
  const extra: string[] = [];
  if (typeof detail.name === "string" && detail.name) extra.push(`name "${detail.name}"`);
  if (typeof detail.invalidProperty === "string" && detail.invalidProperty)
    extra.push(`property ${detail.invalidProperty}`);
  if (typeof detail.property === "string" && detail.property) extra.push(`property ${detail.property}`);
  if (typeof detail.privilegeId === "string" && detail.privilegeId)
    extra.push(`privilege ${detail.privilegeId}`);
  const obj = detail.obj ?? detail.object;
  if (obj && typeof obj === "object" && "value" in obj) extra.push(`object ${String((obj as MoRef).value)}`);
  const text = serverMessage && !/^\*?types\./.test(serverMessage) ? serverMessage : (known ?? type);
  return `${type}: ${text}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

/**
 * True for a failure of a property-collector watch (a long poll, a view change) that a new
 * collector can recover from: a broken connection, a collector gone with its session, a renewed
 * session, a version the collector no longer knows, a cancelled wait.
 */
export function isWatchRecoverable(err: unknown): boolean {
  return (
    err instanceof TransportError ||
    isVimFault(err, "ManagedObjectNotFound") ||
    isVimFault(err, "NotAuthenticated") ||
    isVimFault(err, "InvalidCollectorVersion") ||
    isVimFault(err, "RequestCanceled")
  );
}
