/** ContainerVM as a dynamic resource: no plugin needed. */
import * as pulumi from "@pulumi/pulumi";
import type { ContainerVMArgs as PluginContainerVMArgs } from "../container-vm";
import {
  dynamicProvider,
  dynamicResourceProps,
  DYNAMIC_MODULE,
  type DynamicResourceArgs,
} from "./dynamic-resource";

/**
 * The arguments of a {@link ContainerVM}: those of the plugin's ContainerVM (generated from the package schema),
 * plus `connection`.
 */
export interface ContainerVMArgs extends PluginContainerVMArgs, DynamicResourceArgs {}

/** Every property of a ContainerVM, inputs then outputs (as the package schema lists them). */
const PROPERTIES = [
  "name",
  "parentId",
  "image",
  "command",
  "env",
  "labels",
  "networks",
  "resourcePoolId",
  "folderId",
  "powerState",
  "waitForRunning",
  "waitForIp",
  "waitTimeoutSeconds",
  "vmId",
  "uuid",
  "hostId",
  "macAddresses",
  "portGroupIds",
  "ipAddress",
  "cloneSeconds",
  "containerStatus",
  "containerExitCode",
  "containerError",
] as const;

/**
 * A container that is its own VM, forked from a running ParentTemplate by one InstantClone_Task. The same
 * resource as `bonneville:index:ContainerVM`, run by a Pulumi dynamic provider instead of the plugin: its
 * type is `pulumi-nodejs:dynamic/bonneville:ContainerVM`. A secret `env` value keeps `env` secret in the
 * state (the engine carries secrecy from inputs to outputs for dynamic resources).
 */
export class ContainerVM extends pulumi.dynamic.Resource {
  /** Container (and VM) name. */
  declare readonly name: pulumi.Output<string>;
  /** The parent it was forked from, as given. */
  declare readonly parentId: pulumi.Output<string>;
  /** The image the guest agent runs. */
  declare readonly image: pulumi.Output<string>;
  /** Command and arguments, as given. */
  declare readonly command: pulumi.Output<string[] | undefined>;
  /** Environment variables, as given (secret when any value was). */
  declare readonly env: pulumi.Output<Record<string, string> | undefined>;
  /** Labels, as given. */
  declare readonly labels: pulumi.Output<Record<string, string> | undefined>;
  /** Port group of each network card, as given. */
  declare readonly networks: pulumi.Output<string[] | undefined>;
  /** Resource pool, as given. */
  declare readonly resourcePoolId: pulumi.Output<string | undefined>;
  /** VM folder, as given. */
  declare readonly folderId: pulumi.Output<string | undefined>;
  /** The VM's power state. */
  declare readonly powerState: pulumi.Output<string>;
  /** Whether create waited for the agent to report the container running (default true). */
  declare readonly waitForRunning: pulumi.Output<boolean>;
  /** Whether create also waited for the agent's report of the container's IP address. */
  declare readonly waitForIp: pulumi.Output<boolean>;
  /** Longest wait for `waitForRunning` and `waitForIp`, in seconds. */
  declare readonly waitTimeoutSeconds: pulumi.Output<number>;
  /** Managed object ID of the container VM (also the resource's ID). */
  declare readonly vmId: pulumi.Output<string>;
  /** The VM's BIOS UUID. */
  declare readonly uuid: pulumi.Output<string>;
  /** Managed object ID of the ESXi host it runs on (its parent's). */
  declare readonly hostId: pulumi.Output<string>;
  /** MAC address of each network card, in device order. */
  declare readonly macAddresses: pulumi.Output<string[]>;
  /** Port group ID each network card is connected to, in device order. */
  declare readonly portGroupIds: pulumi.Output<string[]>;
  /** The guest's primary IP address, when VMware Tools reports one (else empty). */
  declare readonly ipAddress: pulumi.Output<string>;
  /** Seconds the InstantClone_Task took (0 when read back from vSphere). */
  declare readonly cloneSeconds: pulumi.Output<number>;
  /** The container's state as the guest agent reports it: `starting`, `running`, `exited` or `error`. */
  declare readonly containerStatus: pulumi.Output<string>;
  /** The container's exit code, when it has exited. */
  declare readonly containerExitCode: pulumi.Output<number | undefined>;
  /** What failed, when `containerStatus` is `error` (else empty). */
  declare readonly containerError: pulumi.Output<string>;

  /**
   * @param name The unique name of the resource (also the stem of its vSphere name when `name` is not given).
   * @param args The container's arguments.
   * @param opts Resource options.
   */
  constructor(name: string, args: ContainerVMArgs, opts?: pulumi.CustomResourceOptions) {
    const registered = dynamicResourceProps("ContainerVM", name, args, PROPERTIES, opts);
    super(
      dynamicProvider("ContainerVM"),
      name,
      registered.props,
      registered.opts,
      DYNAMIC_MODULE,
      "ContainerVM",
    );
  }
}
