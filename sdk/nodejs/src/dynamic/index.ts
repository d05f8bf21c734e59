/**
 * Bonneville without a plugin: ContainerHost, ParentTemplate and ContainerVM as Pulumi dynamic resources.
 * The same resource code as the `bonneville` plugin (`@bonneville/provider`) runs inside Pulumi's own
 * dynamic-provider host, so `pulumi up` needs no `pulumi plugin install`; the project needs
 * `@bonneville/provider` installed beside this package (a dependency of it, so npm installs it).
 *
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { dynamic } from "@bonneville/pulumi";
 *
 * const config = new pulumi.Config("vcenter");
 * const connection = { vsphereServer: "vcenter.example.com", user: "ops", password: config.requireSecret("password") };
 * const host = new dynamic.ContainerHost("pool", { cluster: "DC0_C0", bridgeSwitch: "DVS0", connection });
 * const parent = new dynamic.ParentTemplate("parent", {
 *   source: "bonneville-source",
 *   resourcePoolId: host.resourcePoolId,
 *   folderId: host.folderId,
 *   networks: [host.networks.apply((n) => n.bridge)],
 *   connection,
 * });
 * new dynamic.ContainerVM("web", { parentId: parent.vmId, image: "nginx:1.27", connection });
 * ```
 *
 * Without `connection`, a resource uses the stack configuration (`bonneville:vsphereServer`, `bonneville:user`,
 * `bonneville:password` …) and, for keys not set there, the `VSPHERE_*` environment. The resources' types are
 * `pulumi-nodejs:dynamic/bonneville:<Kind>`; their IDs, inputs and outputs are those of the plugin's.
 */
export { ContainerHost, type ContainerHostArgs } from "./container-host";
export { ParentTemplate, type ParentTemplateArgs } from "./parent-template";
export { ContainerVM, type ContainerVMArgs } from "./container-vm";
export type { ConnectionArgs } from "./connection";
export {
  dynamicProvider,
  dynamicResourceType,
  resourceToken,
  type DynamicResourceArgs,
  type ResourceKind,
} from "./dynamic-resource";
export { BonnevilleDynamicProvider } from "./provider";
