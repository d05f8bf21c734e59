/** The native provider plugin: the pulumirpc.ResourceProvider gRPC server and its wire helpers. */
export { serve, providerVersion, type ServeOptions, type RunningProvider } from "./serve";
export {
  ProviderService,
  type ProviderServiceOptions,
  typeFromUrn,
  nameFromUrn,
  isResourceInitError,
} from "./provider";
export * from "./property-values";
export * from "./init-failure";
export * from "./errors";
export { PluginLog, type LogSeverity, type StderrWriter } from "./engine-log";
export { SecretRedactor, REDACTED } from "./redaction";
export { OperationTracker, type Operation } from "./operations";
export { protocol, structToObject, objectToStruct, type Protocol } from "./protocol";
export { engineAddressFromArgs } from "./main";
