/** DistributedVirtualSwitch: the switch that carries Bonneville's bridge port groups. */
import type { CallOptions } from "../soap/client";
import { list, type DataObject } from "../soap/xml";
import { VSphereError } from "../faults";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";
import { DistributedVirtualPortgroup, vlanSetting } from "./distributed-virtual-portgroup";

export interface SwitchInfo {
  readonly name: string;
  readonly uuid: string;
  readonly portGroups: readonly MoRef[];
}

/** A new port group: name, VLAN (0 = none), and how many ports to start with. */
export interface PortGroupSpec {
  readonly name: string;
  readonly vlanId?: number;
  readonly numPorts?: number;
  readonly description?: string;
}

export class DistributedVirtualSwitch extends ManagedObject {
  async info(): Promise<SwitchInfo | undefined> {
    const p = await this.props(["name", "uuid", "portgroup"]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      uuid: String(p.uuid),
      portGroups: list(p.portgroup as MoRef[] | MoRef | undefined),
    };
  }

  /** Creates an early-binding, auto-expanding port group (CreateDVPortgroup_Task) and returns it. */
  async createPortGroup(
    spec: PortGroupSpec,
    options: CallOptions = {},
  ): Promise<DistributedVirtualPortgroup> {
    const config: DataObject = {
      $type: "DVPortgroupConfigSpec",
      name: spec.name,
      numPorts: spec.numPorts ?? 8,
      defaultPortConfig: vlanSetting(spec.vlanId ?? 0),
      description: spec.description,
      type: "earlyBinding",
      autoExpand: true,
    };
    const result = await this.client.runTask("CreateDVPortgroup_Task", this.ref, { spec: config }, options);
    if (result instanceof MoRef) return new DistributedVirtualPortgroup(this.client, result);
    // Some servers report no result: find the new port group by name.
    const info = await this.info();
    const names = await this.client.properties.retrieve(info?.portGroups ?? [], ["name"]);
    for (const c of names.values()) {
      if (c.props.name === spec.name) return new DistributedVirtualPortgroup(this.client, c.obj);
    }
    throw new VSphereError(
      `CreateDVPortgroup_Task on ${this.id} succeeded but port group "${spec.name}" is not on the switch`,
    );
  }
}
