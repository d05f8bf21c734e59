/**
 * Containers that `docker create` accepted and `docker start` has not forked yet.
 * An instant clone starts its container the moment it exists, so a fork cannot be
 * made "created but not started": the endpoint checks the spec at create (with
 * `containerVm.check`, the name, image and networks against the host) and keeps
 * it here, in this process only; `start` makes the VM. Until then nothing exists
 * on vSphere, Pulumi sees nothing, and a restart of the endpoint forgets it.
 */
import { EventEmitter } from "node:events";
import type { PropertyMap } from "../resources/resource";

/** A container spec waiting for its first start. */
export interface CreatedContainer {
  readonly id: string;
  readonly urn: string;
  readonly name: string;
  /** ContainerVM inputs after `containerVm.check`. */
  readonly inputs: PropertyMap;
  /** The Docker network of each network card, in order. */
  readonly networkNames: readonly string[];
  readonly created: Date;
  /** `--rm`: remove the VM when its container stops. */
  readonly autoRemove?: boolean;
}

/** How a created container stopped being one. */
export type CreatedContainerEnd = "started" | "removed";

/** The created containers of this endpoint, by name. */
export class CreatedContainers {
  private readonly byName = new Map<string, CreatedContainer>();
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  add(container: CreatedContainer): void {
    this.byName.set(container.name, container);
  }

  get(name: string): CreatedContainer | undefined {
    return this.byName.get(name);
  }

  all(): CreatedContainer[] {
    return [...this.byName.values()];
  }

  /** Forgets a created container because it was forked (`started`) or removed. */
  end(name: string, how: CreatedContainerEnd): void {
    if (this.byName.delete(name)) this.events.emit(name, how);
  }

  /** Resolves when the created container `name` is started or removed; rejects when `signal` aborts. */
  whenEnded(name: string, signal: AbortSignal): Promise<CreatedContainerEnd> {
    return new Promise((resolve, reject) => {
      const onEnd = (how: CreatedContainerEnd) => {
        signal.removeEventListener("abort", onAbort);
        resolve(how);
      };
      const onAbort = () => {
        this.events.off(name, onEnd);
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      this.events.once(name, onEnd);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/**
 * Runs operations on one container name one at a time (two `docker start`s of one
 * created container must not fork twice); different names run concurrently.
 */
export class NameLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(name: string, body: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(body, body);
    const tail = result.catch(() => undefined);
    this.tails.set(name, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}
