/**
 * `@bonneville/provider`: the three resources, the provider configuration, the schema generator and the
 * vSphere client, for the adapters that drive them: the plugin (`server/`, started as
 * `pulumi-resource-bonneville`) and the SDK's dynamic provider, which loads this package with `require`
 * inside Pulumi's dynamic-provider host.
 */
export * from "./resources";
export * from "./provider-config";
export * from "./schema";
export { VSphereClient, type VSphereConnectionOptions } from "./vsphere";
export {
  PluginLog,
  SecretRedactor,
  REDACTED,
  decodeProperties,
  encodeProperties,
  engineAddressFromArgs,
  isResourceInitError,
  nameFromUrn,
  UNKNOWN_WIRE_VALUE,
  SPECIAL_SIG_KEY,
  SECRET_SIG,
  type DecodedProperties,
  type LogSeverity,
} from "./server";
