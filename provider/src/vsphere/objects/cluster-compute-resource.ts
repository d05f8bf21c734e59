/** ClusterComputeResource: ESXi hosts under DRS, with a root resource pool. */
import { list } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface ClusterInfo {
  readonly name: string;
  readonly rootPool: MoRef;
  readonly hosts: readonly MoRef[];
  readonly datastores: readonly MoRef[];
  readonly networks: readonly MoRef[];
}

export class ClusterComputeResource extends ManagedObject {
  async info(): Promise<ClusterInfo | undefined> {
    const p = await this.props(["name", "resourcePool", "host", "datastore", "network"]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      rootPool: p.resourcePool as MoRef,
      hosts: list(p.host as MoRef[] | MoRef | undefined),
      datastores: list(p.datastore as MoRef[] | MoRef | undefined),
      networks: list(p.network as MoRef[] | MoRef | undefined),
    };
  }
}
