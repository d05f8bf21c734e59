/** What every handler shares: the host view, the created containers, the image records, the locks. */
import type { AttachedStreams } from "./attached-streams";
import type { ContainerHostView } from "./container-host-view";
import type { CreatedContainers, NameLocks } from "./created-containers";
import type { ImageRecords } from "./image-records";

export interface DockerEndpoint {
  readonly host: ContainerHostView;
  readonly created: CreatedContainers;
  readonly images: ImageRecords;
  readonly locks: NameLocks;
  /** Attach streams in progress (`--rm` lets them finish before it removes the VM). */
  readonly attached: AttachedStreams;
  /** Bonneville's version (`docker version` shows it as the engine's). */
  readonly version: string;
  /** How containers that `--rm` removed ended, by Docker ID (a wait may ask after the VM is gone). */
  readonly autoRemoved: Map<string, { readonly exitCode: number; readonly error: string }>;
  /** Longest wait, in seconds, for a forked container's agent to report it running. */
  readonly startTimeoutSeconds: number;
}
