/** Core vim25 value types shared by every layer of the client. */

/** A managed object reference: the object's type and its ID (`vm-123`, `resgroup-7`). */
export class MoRef {
  constructor(
    readonly type: string,
    readonly value: string,
  ) {}

  /** `VirtualMachine:vm-123`: for logs, maps and messages. */
  toString(): string {
    return `${this.type}:${this.value}`;
  }

  equals(other: MoRef | undefined): boolean {
    return !!other && other.type === this.type && other.value === this.value;
  }
}

/** Is this a managed object reference? */
export function isMoRef(value: unknown): value is MoRef {
  return value instanceof MoRef;
}

/** A key/value pair of extra config (`OptionValue`). */
export interface OptionValue {
  readonly key: string;
  readonly value: string;
}

/**
 * The IDs of managed objects begin with a type-specific prefix; maps prefix → vim25 type. vCenter
 * writes `group-d1` (root), `group-v3` (VMs), `group-h4` (hosts), `group-n5` (networks), `group-s6`
 * (datastores) and `group-p7` (datastore clusters) for folders, `domain-c7` for clusters,
 * `domain-s9` for stand-alone hosts and `resgroup-v10` for vApps; govmomi's simulators write
 * `group-54` or `folder-3` for folders, `clustercomputeresource-5`, `virtualapp-8`, and so on (the
 * lower-cased type name, simulator/registry.go). Every such form is an ID, never a path or a name.
 */
const idPrefixes: readonly (readonly [RegExp, string])[] = [
  [/^vm-\d+$/, "VirtualMachine"],
  [/^resgroup-v\d+$/, "VirtualApp"],
  [/^resgroup-\d+$/, "ResourcePool"],
  [/^resourcepool-\d+$/, "ResourcePool"],
  [/^virtualapp-\d+$/, "VirtualApp"],
  [/^group-p\d+$/, "StoragePod"],
  [/^group-[dvhns]?\d+$/, "Folder"],
  [/^folder-\d+$/, "Folder"],
  [/^domain-c\d+$/, "ClusterComputeResource"],
  [/^clustercomputeresource-\d+$/, "ClusterComputeResource"],
  [/^domain-s\d+$/, "ComputeResource"],
  [/^computeresource-\d+$/, "ComputeResource"],
  [/^host-\d+$/, "HostSystem"],
  [/^hostsystem-\d+$/, "HostSystem"],
  [/^datastore-\d+$/, "Datastore"],
  [/^storagepod-\d+$/, "StoragePod"],
  [/^dvportgroup-\d+$/, "DistributedVirtualPortgroup"],
  [/^distributedvirtualportgroup-\d+$/, "DistributedVirtualPortgroup"],
  [/^dvs-\d+$/, "VmwareDistributedVirtualSwitch"],
  [/^network-o\d+$/, "OpaqueNetwork"],
  [/^opaquenetwork-\d+$/, "OpaqueNetwork"],
  [/^network-\d+$/, "Network"],
  [/^datacenter-\d+$/, "Datacenter"],
  [/^task-\d+$/, "Task"],
];

/** The vim25 type an object ID's prefix implies (`vm-12` → VirtualMachine), or undefined. */
export function typeOfId(id: string): string | undefined {
  for (const [re, type] of idPrefixes) if (re.test(id)) return type;
  return undefined;
}
