/** Bonneville's Docker Engine API endpoint for a ContainerHost (`bonneville docker-api`). */
export { startDockerApi, type DockerApiServerOptions, type RunningDockerApi } from "./server";
export { ContainerHostView, type ContainerHostViewOptions } from "./container-host-view";
export {
  DEFAULT_LISTEN,
  ListenConfigError,
  checkListenPolicy,
  isLoopback,
  parseListenAddress,
  type ListenAddress,
  type TlsFiles,
} from "./auth";
export { API_VERSION, MIN_API_VERSION } from "./routing";
export { dockerApiUrn, containerIdOf, DOCKER_API_URN_PREFIX } from "./identity";
export { unsupportedFeatures } from "./unsupported";
