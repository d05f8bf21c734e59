/**
 * Attach streams in progress, by container ID. `--rm` removes a container's VM,
 * and with it its console file, once the container stops; it first lets the
 * streams attached to that container finish reading the file, as Docker lets
 * an attached client receive the output before the container is removed.
 */
import { EventEmitter } from "node:events";

/** Longest wait for attached streams before `--rm` removes the VM regardless, milliseconds. */
export const ATTACH_DRAIN_LIMIT_MS = 30_000;

export class AttachedStreams {
  private readonly counts = new Map<string, number>();
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** Records a stream attached to container `id`; call the returned function when it ends. */
  hold(id: string): () => void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(id) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(id, left);
        return;
      }
      this.counts.delete(id);
      this.events.emit(id);
    };
  }

  /** Resolves when no stream is attached to container `id`, or after `limitMs`, or when `signal` aborts. */
  drained(id: string, signal: AbortSignal, limitMs = ATTACH_DRAIN_LIMIT_MS): Promise<void> {
    if (!this.counts.has(id) || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off(id, done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, limitMs);
      this.events.once(id, done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
