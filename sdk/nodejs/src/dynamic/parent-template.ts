/** ParentTemplate as a dynamic resource: no plugin needed. */
import * as pulumi from "@pulumi/pulumi";
import type { ParentTemplateArgs as PluginParentTemplateArgs } from "../parent-template";
import {
  dynamicProvider,
  dynamicResourceProps,
  DYNAMIC_MODULE,
  type DynamicResourceArgs,
} from "./dynamic-resource";

/**
 * The arguments of a {@link ParentTemplate}: those of the plugin's ParentTemplate (generated from the package schema),
 * plus `connection`.
 */
export interface ParentTemplateArgs extends PluginParentTemplateArgs, DynamicResourceArgs {}

/** Every property of a ParentTemplate, inputs then outputs (as the package schema lists them). */
const PROPERTIES = [
  "name",
  "source",
  "resourcePoolId",
  "folderId",
  "datastore",
  "host",
  "networks",
  "numCpus",
  "memoryMb",
  "extraConfig",
  "freeze",
  "readyTimeoutSeconds",
  "vmId",
  "uuid",
  "hostId",
  "powerState",
  "readySeconds",
  "frozen",
  "chainDepth",
  "containersForked",
] as const;

/**
 * A parent VM that container VMs are instant-cloned from: `source` cloned into the given pool and
 * folder, powered on, and ready once its guest agent says it is safe to fork and (by default) has frozen it. The same resource as
 * `bonneville:index:ParentTemplate`, run by a Pulumi dynamic provider instead of the plugin: its type is
 * `pulumi-nodejs:dynamic/bonneville:ParentTemplate`. A parent that was cloned but never became ready is
 * kept in the state with its ID (an initialisation failure), so a later `up` retries or deletes it.
 */
export class ParentTemplate extends pulumi.dynamic.Resource {
  /** The VM's name. */
  declare readonly name: pulumi.Output<string>;
  /** The template or VM it was cloned from, as given. */
  declare readonly source: pulumi.Output<string>;
  /** Its resource pool, as given. */
  declare readonly resourcePoolId: pulumi.Output<string>;
  /** Its VM folder, as given. */
  declare readonly folderId: pulumi.Output<string | undefined>;
  /** Datastore of its disks, as given. */
  declare readonly datastore: pulumi.Output<string | undefined>;
  /** The ESXi host asked for, as given. */
  declare readonly host: pulumi.Output<string | undefined>;
  /** Port group of each network card, as given. */
  declare readonly networks: pulumi.Output<string[] | undefined>;
  /** Virtual CPUs, as given. */
  declare readonly numCpus: pulumi.Output<number | undefined>;
  /** Memory in MB, as given. */
  declare readonly memoryMb: pulumi.Output<number | undefined>;
  /** Extra configuration, as given. */
  declare readonly extraConfig: pulumi.Output<Record<string, string> | undefined>;
  /** Whether the parent's agent freezes it once warm (default true). */
  declare readonly freeze: pulumi.Output<boolean>;
  /** The readiness timeout in seconds. */
  declare readonly readyTimeoutSeconds: pulumi.Output<number>;
  /** Managed object ID of the parent VM (also the resource's ID): a ContainerVM's `parentId`. */
  declare readonly vmId: pulumi.Output<string>;
  /** The VM's BIOS UUID. */
  declare readonly uuid: pulumi.Output<string>;
  /** Managed object ID of the ESXi host the parent runs on. */
  declare readonly hostId: pulumi.Output<string>;
  /** The VM's power state: `poweredOn`, `poweredOff` or `suspended`. */
  declare readonly powerState: pulumi.Output<string>;
  /** Seconds from power-on until the guest signalled it was ready to fork (0 when read back from vSphere). */
  declare readonly readySeconds: pulumi.Output<number>;
  /** Whether vSphere reports the parent frozen for instant clone. */
  declare readonly frozen: pulumi.Output<boolean>;
  /** Delta-disk levels of the parent's disk (0 when frozen from the start). */
  declare readonly chainDepth: pulumi.Output<number>;
  /** ContainerVMs forked from this parent that exist in its folder, as of the last create, update or refresh. */
  declare readonly containersForked: pulumi.Output<number>;

  /**
   * @param name The unique name of the resource (also the stem of its vSphere name when `name` is not given).
   * @param args The parent's arguments.
   * @param opts Resource options.
   */
  constructor(name: string, args: ParentTemplateArgs, opts?: pulumi.CustomResourceOptions) {
    const registered = dynamicResourceProps("ParentTemplate", name, args, PROPERTIES, opts);
    super(
      dynamicProvider("ParentTemplate"),
      name,
      registered.props,
      registered.opts,
      DYNAMIC_MODULE,
      "ParentTemplate",
    );
  }
}
