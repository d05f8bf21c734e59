/** How a dynamic Bonneville resource reaches vCenter. */
import type * as pulumi from "@pulumi/pulumi";

/**
 * The vCenter connection of a dynamic resource: the same keys as the provider configuration. When a resource
 * has no `connection`, the stack configuration (`pulumi config set bonneville:vsphereServer …`) is used;
 * either way a key that is not set defaults from its `VSPHERE_*` environment variable, read where the
 * dynamic-provider host runs (the machine running `pulumi up`). The whole value is stored as a secret.
 */
export interface ConnectionArgs {
  /**
   * The vCenter server: a host name (`vcenter.example.com`), `host:port`, or an SDK URL
   * (`https://vcenter.example.com/sdk`). Default: the `VSPHERE_SERVER` environment variable.
   */
  readonly vsphereServer?: pulumi.Input<string>;
  /** The vCenter user (e.g. `administrator@vsphere.local`). Default: the `VSPHERE_USER` environment variable. */
  readonly user?: pulumi.Input<string>;
  /** The vCenter password; never logged. Default: the `VSPHERE_PASSWORD` environment variable. */
  readonly password?: pulumi.Input<string>;
  /**
   * Accept any TLS certificate from vCenter (self-signed labs). Default: the
   * `VSPHERE_ALLOW_UNVERIFIED_SSL` environment variable, else `false` (certificates are verified).
   */
  readonly allowUnverifiedSsl?: pulumi.Input<boolean>;
  /**
   * Accept exactly the vCenter certificate with this SHA-256 fingerprint (32 hexadecimal bytes, colons
   * optional). An alternative to `allowUnverifiedSsl` for self-signed certificates.
   */
  readonly thumbprint?: pulumi.Input<string>;
  /** The datacenter relative inventory paths are resolved in. Optional when vCenter has exactly one. */
  readonly datacenter?: pulumi.Input<string>;
}
