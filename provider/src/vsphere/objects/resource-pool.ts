/** ResourcePool: a CPU and memory envelope for the VMs in it. */
import type { CallOptions } from "../soap/client";
import { list, type DataObject } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

/** Limits and reservations of one resource (MHz or MB). `limit` -1 means unlimited. */
export interface Allocation {
  readonly reservation: number;
  readonly limit: number;
  readonly expandableReservation: boolean;
}

export interface ResourcePoolInfo {
  readonly name: string;
  readonly parent: MoRef | undefined;
  readonly owner: MoRef | undefined;
  readonly cpu: Allocation;
  readonly memory: Allocation;
  readonly vms: readonly MoRef[];
  readonly childPools: readonly MoRef[];
}

/** A ResourceAllocationInfo with every field vCenter requires on create. */
export function allocationSpec(a: Partial<Allocation>, shares?: unknown): DataObject {
  return {
    $type: "ResourceAllocationInfo",
    reservation: a.reservation ?? 0,
    expandableReservation: a.expandableReservation ?? true,
    limit: a.limit ?? -1,
    shares: sharesSpec(shares),
  };
}

/** The shares to send: the pool's current ones when known (an admin may have tuned them), else normal. */
function sharesSpec(current: unknown): DataObject {
  const c = (current ?? {}) as Record<string, unknown>;
  if (typeof c.level !== "string") return { $type: "SharesInfo", shares: 0, level: "normal" };
  return { $type: "SharesInfo", shares: Number(c.shares ?? 0), level: c.level };
}

function allocation(raw: unknown): Allocation {
  const a = (raw ?? {}) as Record<string, unknown>;
  return {
    reservation: Number(a.reservation ?? 0),
    limit: a.limit === undefined ? -1 : Number(a.limit),
    expandableReservation: a.expandableReservation === true || a.expandableReservation === "true",
  };
}

export class ResourcePool extends ManagedObject {
  /** Moves VMs (of this pool's cluster) into this pool (MoveIntoResourcePool). */
  async moveInto(vms: readonly MoRef[], options: CallOptions = {}): Promise<void> {
    await this.client.invoke("MoveIntoResourcePool", this.ref, { list: [...vms] }, options);
  }

  /** Creates a child pool (CreateResourcePool). */
  async createChild(
    name: string,
    cpu: Partial<Allocation>,
    memory: Partial<Allocation>,
    options: CallOptions = {},
  ): Promise<ResourcePool> {
    const ref = (await this.client.invoke(
      "CreateResourcePool",
      this.ref,
      {
        name,
        spec: {
          $type: "ResourceConfigSpec",
          cpuAllocation: allocationSpec(cpu),
          memoryAllocation: allocationSpec(memory),
        },
      },
      options,
    )) as MoRef;
    return new ResourcePool(this.client, ref);
  }

  /**
   * Changes limits and reservations in place (UpdateConfig). What `cpu` and `memory` leave out, and
   * the shares, keep their current values: settings an administrator tuned are not reset.
   */
  async updateAllocation(
    cpu: Partial<Allocation>,
    memory: Partial<Allocation>,
    options: CallOptions = {},
  ): Promise<void> {
    const current = await this.props(["config.cpuAllocation", "config.memoryAllocation"]);
    const merged = (wanted: Partial<Allocation>, raw: unknown): DataObject => {
      const now = raw ? allocation(raw) : undefined;
      return allocationSpec({ ...now, ...wanted }, (raw as Record<string, unknown> | undefined)?.shares);
    };
    await this.client.invoke(
      "UpdateConfig",
      this.ref,
      {
        config: {
          $type: "ResourceConfigSpec",
          cpuAllocation: merged(cpu, current?.["config.cpuAllocation"]),
          memoryAllocation: merged(memory, current?.["config.memoryAllocation"]),
        },
      },
      options,
    );
  }

  /** Name, parent, owner (cluster), allocations, VMs and child pools; undefined when gone. */
  async info(): Promise<ResourcePoolInfo | undefined> {
    const p = await this.props([
      "name",
      "parent",
      "owner",
      "config.cpuAllocation",
      "config.memoryAllocation",
      "vm",
      "resourcePool",
    ]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      parent: p.parent instanceof MoRef ? p.parent : undefined,
      owner: p.owner instanceof MoRef ? p.owner : undefined,
      cpu: allocation(p["config.cpuAllocation"]),
      memory: allocation(p["config.memoryAllocation"]),
      vms: list(p.vm as MoRef[] | MoRef | undefined),
      childPools: list(p.resourcePool as MoRef[] | MoRef | undefined),
    };
  }
}
