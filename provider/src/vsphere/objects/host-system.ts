/** HostSystem: one ESXi host. */
import { list } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface HostInfo {
  readonly name: string;
  readonly parent: MoRef | undefined;
  readonly connectionState: string;
  readonly inMaintenanceMode: boolean;
  readonly vms: readonly MoRef[];
}

export class HostSystem extends ManagedObject {
  async info(): Promise<HostInfo | undefined> {
    const p = await this.props([
      "name",
      "parent",
      "runtime.connectionState",
      "runtime.inMaintenanceMode",
      "vm",
    ]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      parent: p.parent instanceof MoRef ? p.parent : undefined,
      connectionState: String(p["runtime.connectionState"] ?? ""),
      inMaintenanceMode: p["runtime.inMaintenanceMode"] === true || p["runtime.inMaintenanceMode"] === "true",
      vms: list(p.vm as MoRef[] | MoRef | undefined),
    };
  }
}
