/** What every handler shares: the host view, the created containers, the image records, the locks. */
import type { ContainerHostView } from "./container-host-view";
import type { CreatedContainers, NameLocks } from "./created-containers";
import type { ImageRecords } from "./image-records";

export interface DockerEndpoint {
  readonly host: ContainerHostView;
  readonly created: CreatedContainers;
  readonly images: ImageRecords;
  readonly locks: NameLocks;
  /** Bonneville's version (`docker version` shows it as the engine's). */
  readonly version: string;
  /** Longest wait, in seconds, for a forked container's agent to report it running. */
  readonly startTimeoutSeconds: number;
}
