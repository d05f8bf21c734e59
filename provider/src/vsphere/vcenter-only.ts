/**
 * Bonneville talks to vCenter only. Instant Clone is a vCenter operation, available from vCenter 6.7
 * (InstantClone_Task is "Since vSphere API 6.7" in the API reference); an ESXi host's own endpoint
 * reports `ServiceContent.about.apiType` "HostAgent" (API reference, AboutInfo.apiType:
 * "VirtualCenter" or "HostAgent") and is refused at the first contact, before anything is made.
 */
import { VSphereError } from "./faults";

/** What the server says it is (ServiceContent.about). */
export interface ServerAbout {
  readonly apiType: string;
  readonly apiVersion: string;
  readonly fullName: string;
}

/** The server is not a vCenter (an ESXi host answered). */
export class NotVCenterError extends VSphereError {
  constructor(
    /** The server as configured (host[:port]). */
    readonly server: string,
    readonly about: ServerAbout,
  ) {
    super(
      `${server} is an ESXi host (${about.fullName || "ServiceContent.about.apiType HostAgent"}), not vCenter: Bonneville needs vCenter Server 6.7 or later, because Instant Clone is a vCenter operation. Set vsphereServer to the vCenter that manages this host`,
    );
  }
}

/** Throws {@link NotVCenterError} unless `about` is a vCenter's. */
export function requireVCenter(server: string, about: ServerAbout): void {
  if (about.apiType === "HostAgent") throw new NotVCenterError(server, about);
}
