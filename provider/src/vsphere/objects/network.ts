/**
 * Networks a NIC can attach to: a standard port group (Network) or a
 * distributed port group. `nicBacking` builds the device backing for either.
 */
import type { VSphereClient } from "../client";
import { VSphereError } from "../faults";
import { LookupCache } from "../lookup-cache";
import type { DataObject } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface NetworkInfo {
  readonly name: string;
}

export class Network extends ManagedObject {
  async info(): Promise<NetworkInfo | undefined> {
    const p = await this.props(["name"]);
    return p ? { name: String(p.name) } : undefined;
  }
}

/** What a NIC backing needs to know about a network, read once per process. */
export interface NetworkTarget {
  readonly ref: MoRef;
  readonly name: string;
  /** Distributed port groups only. */
  readonly portgroupKey?: string;
  readonly switchUuid?: string;
}

const targets = new WeakMap<VSphereClient, LookupCache<NetworkTarget>>();

/** Reads (once per client) what a NIC backing on `ref` needs. */
export function networkTarget(client: VSphereClient, ref: MoRef): Promise<NetworkTarget> {
  let cache = targets.get(client);
  if (!cache) targets.set(client, (cache = new LookupCache()));
  return cache.get(ref.value, async (): Promise<NetworkTarget> => {
    if (ref.type === "DistributedVirtualPortgroup") {
      const c = await client.properties.retrieveOne(ref, ["name", "key", "config.distributedVirtualSwitch"]);
      if (!c) throw new VSphereError(`port group ${ref.value} does not exist`);
      const dvs = c.props["config.distributedVirtualSwitch"] as MoRef;
      const s = await client.properties.retrieveOne(dvs, ["uuid"]);
      if (!s) throw new VSphereError(`the switch ${dvs.value} of port group ${ref.value} does not exist`);
      return {
        ref,
        name: String(c.props.name),
        portgroupKey: String(c.props.key ?? ref.value),
        switchUuid: String(s.props.uuid),
      };
    }
    const c = await client.properties.retrieveOne(ref, ["name"]);
    if (!c) throw new VSphereError(`network ${ref.value} does not exist`);
    return { ref, name: String(c.props.name) };
  });
}

/** The NIC backing that attaches a card to `target`. */
export function nicBacking(target: NetworkTarget): DataObject {
  if (target.portgroupKey && target.switchUuid) {
    return {
      $type: "VirtualEthernetCardDistributedVirtualPortBackingInfo",
      port: {
        $type: "DistributedVirtualSwitchPortConnection",
        switchUuid: target.switchUuid,
        portgroupKey: target.portgroupKey,
      },
    };
  }
  return { $type: "VirtualEthernetCardNetworkBackingInfo", deviceName: target.name, network: target.ref };
}
