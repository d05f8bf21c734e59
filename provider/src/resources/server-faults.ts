/**
 * Faults that say something about the vCenter or the account rather than about the inputs, turned
 * into messages that name the resource and what to change: a server that is not vCenter, a vCenter
 * without InstantClone_Task (before 6.7), and a privilege the user's role lacks.
 */
import { MoRef, NotVCenterError, SoapFaultError, vimFaultOf } from "../vsphere";
import { BonnevilleError } from "./errors";

/** The server cannot run Bonneville: an ESXi host, or a vCenter before 6.7. */
export class UnsupportedServerError extends BonnevilleError {}

/** The vCenter user's role lacks a privilege a call needed (a NoPermission fault). */
export class MissingPrivilegeError extends BonnevilleError {
  constructor(
    message: string,
    /** The privilege vCenter named, e.g. `VirtualMachine.Inventory.CreateFromExisting`. */
    readonly privilegeId: string,
    /** The object it is needed on. */
    readonly object: MoRef | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `ContainerVM "web"` from a URN (`urn:pulumi:stack::project::bonneville:index:ContainerVM::web`). */
export function resourceOfUrn(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4) return urn;
  const name = parts[parts.length - 1]!;
  const type = parts[parts.length - 2]!.split("$").pop()!.split(":").pop()!;
  return `${type} "${name}"`;
}

/**
 * The error to report for `error`, raised by `operation` (`create`, `delete`, …) of the resource
 * `urn`: a clearer typed error for the faults above, else `error` itself.
 */
export function explainServerFault(error: unknown, operation: string, urn: string): unknown {
  const resource = resourceOfUrn(urn);
  for (let e: unknown = error, depth = 0; e && depth < 10; depth++) {
    if (e instanceof NotVCenterError) {
      return new UnsupportedServerError(`${operation} of ${resource}: ${e.message}`, { cause: error });
    }
    e = (e as { cause?: unknown }).cause;
  }
  // A server that does not know the method may also answer a plain SOAP fault naming it (what
  // vCenter before 6.7 sends is not documented; the simulator sends MethodNotFound).
  if (
    error instanceof SoapFaultError &&
    error.method === "InstantClone_Task" &&
    /method|InstantClone/i.test(error.faultString)
  ) {
    return instantCloneMissing(operation, resource, error);
  }
  const fault = vimFaultOf(error);
  if (!fault) return error;
  if (fault.faultType === "MethodNotFound") {
    const method = typeof fault.detail.method === "string" ? fault.detail.method : fault.method;
    if (method === "InstantClone_Task") return instantCloneMissing(operation, resource, error);
  }
  if (fault.faultType === "NoPermission") {
    const privilege = typeof fault.detail.privilegeId === "string" ? fault.detail.privilegeId : "";
    const object = fault.detail.object instanceof MoRef ? fault.detail.object : fault.target;
    const on = object ? ` on ${object.type} ${object.value}` : "";
    return new MissingPrivilegeError(
      `${operation} of ${resource}: the vCenter user lacks the privilege ${privilege || "(vCenter did not name it)"}${on}, which ${fault.method} needs (NoPermission); add it to the user's role on that object or a parent of it (README, "vCenter privileges", lists what each resource needs)`,
      privilege,
      object,
      { cause: error },
    );
  }
  return error;
}

function instantCloneMissing(operation: string, resource: string, cause: unknown): UnsupportedServerError {
  return new UnsupportedServerError(
    `${operation} of ${resource}: this vCenter has no InstantClone_Task (MethodNotFound): Instant Clone needs vSphere 6.7 or later; upgrade vCenter to 6.7 or later, or set vsphereServer to one that is`,
    { cause },
  );
}
