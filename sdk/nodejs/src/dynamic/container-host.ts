/** ContainerHost as a dynamic resource: no plugin needed. */
import * as pulumi from "@pulumi/pulumi";
import type { ContainerHostArgs as PluginContainerHostArgs } from "../container-host";
import {
  dynamicProvider,
  dynamicResourceProps,
  DYNAMIC_MODULE,
  type DynamicResourceArgs,
} from "./dynamic-resource";

/**
 * The arguments of a {@link ContainerHost}: those of the plugin's ContainerHost (generated from the package schema),
 * plus `connection`.
 */
export interface ContainerHostArgs extends PluginContainerHostArgs, DynamicResourceArgs {}

/** Every property of a ContainerHost, inputs then outputs (as the package schema lists them). */
const PROPERTIES = [
  "name",
  "cluster",
  "resourcePool",
  "folder",
  "bridgeSwitch",
  "bridgeVlanId",
  "containerNetworks",
  "cpuLimitMhz",
  "memoryLimitMb",
  "cpuReservationMhz",
  "memoryReservationMb",
  "forceDestroy",
  "resourcePoolId",
  "folderId",
  "bridgePortGroupId",
  "networks",
] as const;

/**
 * A place for container VMs: a resource pool with CPU and memory limits, a VM folder, and a bridge port
 * group on a distributed switch, plus the existing port groups its containers may join. The same resource
 * as `bonneville:index:ContainerHost`, run by a Pulumi dynamic provider instead of the plugin: its type is
 * `pulumi-nodejs:dynamic/bonneville:ContainerHost`. Deletion refuses while the host holds VMs, unless
 * `forceDestroy` is set.
 */
export class ContainerHost extends pulumi.dynamic.Resource {
  /** Name of the resource pool and VM folder. */
  declare readonly name: pulumi.Output<string>;
  /** The cluster whose root resource pool holds the host's pool, as given. */
  declare readonly cluster: pulumi.Output<string | undefined>;
  /** The resource pool the host's pool was created in, as given. */
  declare readonly resourcePool: pulumi.Output<string | undefined>;
  /** Parent VM folder of the host's folder, as given. */
  declare readonly folder: pulumi.Output<string | undefined>;
  /** The distributed switch holding the bridge port group. */
  declare readonly bridgeSwitch: pulumi.Output<string>;
  /** VLAN ID of the bridge port group (0: none). */
  declare readonly bridgeVlanId: pulumi.Output<number>;
  /** The existing port groups containers may join, by network name, as given. */
  declare readonly containerNetworks: pulumi.Output<Record<string, string> | undefined>;
  /** CPU limit of the pool in MHz (unset: unlimited). */
  declare readonly cpuLimitMhz: pulumi.Output<number | undefined>;
  /** Memory limit of the pool in MB (unset: unlimited). */
  declare readonly memoryLimitMb: pulumi.Output<number | undefined>;
  /** CPU reserved for the pool in MHz. */
  declare readonly cpuReservationMhz: pulumi.Output<number | undefined>;
  /** Memory reserved for the pool in MB. */
  declare readonly memoryReservationMb: pulumi.Output<number | undefined>;
  /** Whether deletion may destroy the Bonneville VMs still in the host. */
  declare readonly forceDestroy: pulumi.Output<boolean>;
  /** Managed object ID of the host's resource pool (also the resource's ID). */
  declare readonly resourcePoolId: pulumi.Output<string>;
  /** Managed object ID of the host's VM folder. */
  declare readonly folderId: pulumi.Output<string>;
  /** Managed object ID of the bridge port group. */
  declare readonly bridgePortGroupId: pulumi.Output<string>;
  /** Port group ID of each network containers may join: `bridge` and each of `containerNetworks`. */
  declare readonly networks: pulumi.Output<Record<string, string>>;

  /**
   * @param name The unique name of the resource (also the stem of its vSphere name when `name` is not given).
   * @param args The host's arguments.
   * @param opts Resource options.
   */
  constructor(name: string, args: ContainerHostArgs, opts?: pulumi.CustomResourceOptions) {
    const registered = dynamicResourceProps("ContainerHost", name, args, PROPERTIES, opts);
    super(
      dynamicProvider("ContainerHost"),
      name,
      registered.props,
      registered.opts,
      DYNAMIC_MODULE,
      "ContainerHost",
    );
  }
}
