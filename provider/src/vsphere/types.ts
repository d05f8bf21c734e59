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

/** The IDs of managed objects begin with a type-specific prefix; maps prefix → vim25 type. */
const idPrefixes: readonly (readonly [RegExp, string])[] = [
  [/^vm-\d+$/, "VirtualMachine"],
  [/^resgroup-(v)?\d+$/, "ResourcePool"],
  [/^group-[dvhns]\d+$/, "Folder"],
  [/^folder-\d+$/, "Folder"],
  [/^domain-c\d+$/, "ClusterComputeResource"],
  [/^clustercomputeresource-\d+$/, "ClusterComputeResource"],
  [/^domain-s\d+$/, "ComputeResource"],
  [/^computeresource-\d+$/, "ComputeResource"],
  [/^host-\d+$/, "HostSystem"],
  [/^datastore-\d+$/, "Datastore"],
  [/^dvportgroup-\d+$/, "DistributedVirtualPortgroup"],
  [/^dvs-\d+$/, "VmwareDistributedVirtualSwitch"],
  [/^network-\d+$/, "Network"],
  [/^datacenter-\d+$/, "Datacenter"],
  [/^task-\d+$/, "Task"],
  [/^resourcepool-\d+$/, "ResourcePool"],
];

/** The vim25 type an object ID's prefix implies (`vm-12` → VirtualMachine), or undefined. */
export function typeOfId(id: string): string | undefined {
  for (const [re, type] of idPrefixes) if (re.test(id)) return type;
  return undefined;
}
