/** DistributedVirtualPortgroup: a port group on a distributed switch. */
import type { CallOptions } from "../soap/client";
import { list, type DataObject } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface PortGroupInfo {
  readonly name: string;
  readonly key: string;
  readonly switchRef: MoRef | undefined;
  readonly configVersion: string;
  /** The VLAN ID of the default port config: 0 when none, -1 for a trunk or private VLAN (not a single ID). */
  readonly vlanId: number;
  readonly vms: readonly MoRef[];
}

/** A VMwareDVSPortSetting that sets (only) the VLAN ID. */
export function vlanSetting(vlanId: number): DataObject {
  return {
    $type: "VMwareDVSPortSetting",
    vlan: { $type: "VmwareDistributedVirtualSwitchVlanIdSpec", inherited: false, vlanId },
  };
}

export class DistributedVirtualPortgroup extends ManagedObject {
  async info(): Promise<PortGroupInfo | undefined> {
    const p = await this.props([
      "name",
      "key",
      "config.distributedVirtualSwitch",
      "config.configVersion",
      "config.defaultPortConfig",
      "vm",
    ]);
    if (!p) return undefined;
    const setting = (p["config.defaultPortConfig"] ?? {}) as Record<string, unknown>;
    const vlan = (setting.vlan ?? {}) as Record<string, unknown>;
    return {
      name: String(p.name),
      key: String(p.key ?? this.id),
      switchRef:
        p["config.distributedVirtualSwitch"] instanceof MoRef
          ? p["config.distributedVirtualSwitch"]
          : undefined,
      configVersion: String(p["config.configVersion"] ?? ""),
      vlanId: vlanIdOf(vlan),
      vms: list(p.vm as MoRef[] | MoRef | undefined),
    };
  }

  /** Sets the VLAN ID (ReconfigureDVPortgroup_Task with the current config version). */
  async setVlan(vlanId: number, options: CallOptions = {}): Promise<void> {
    const info = await this.info();
    await this.client.runTask(
      "ReconfigureDVPortgroup_Task",
      this.ref,
      {
        spec: {
          $type: "DVPortgroupConfigSpec",
          configVersion: info?.configVersion ?? "",
          defaultPortConfig: vlanSetting(vlanId),
        },
      },
      options,
    );
  }
}

/** A single VLAN ID from a port setting's `vlan`; -1 for a trunk or private VLAN, 0 when unset. */
function vlanIdOf(vlan: Record<string, unknown>): number {
  if (vlan.$type !== undefined && vlan.$type !== "VmwareDistributedVirtualSwitchVlanIdSpec") return -1;
  if (vlan.vlanId === undefined) return 0;
  const id = Number(vlan.vlanId);
  return Number.isInteger(id) ? id : -1;
}
