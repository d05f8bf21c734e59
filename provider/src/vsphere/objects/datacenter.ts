/** Datacenter: the root of an inventory, with its four folders. */
import type { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface DatacenterFolders {
  readonly vmFolder: MoRef;
  readonly hostFolder: MoRef;
  readonly networkFolder: MoRef;
  readonly datastoreFolder: MoRef;
}

export class Datacenter extends ManagedObject {
  /** The datacenter's name and folders; undefined when it is gone. */
  async info(): Promise<({ name: string } & DatacenterFolders) | undefined> {
    const p = await this.props(["name", "vmFolder", "hostFolder", "networkFolder", "datastoreFolder"]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      vmFolder: p.vmFolder as MoRef,
      hostFolder: p.hostFolder as MoRef,
      networkFolder: p.networkFolder as MoRef,
      datastoreFolder: p.datastoreFolder as MoRef,
    };
  }
}
