/** Base of the object wrappers: a client and a reference. */
import type { VSphereClient } from "../client";
import type { CallOptions } from "../soap/client";
import type { MoRef } from "../types";

export abstract class ManagedObject {
  constructor(
    protected readonly client: VSphereClient,
    readonly ref: MoRef,
  ) {}

  /** The object's ID (`vm-42`). */
  get id(): string {
    return this.ref.value;
  }

  /** Reads named properties (merged with other reads of this turn); undefined when the object is gone. */
  protected async props(paths: readonly string[]): Promise<Record<string, unknown> | undefined> {
    const c = await this.client.properties.retrieveOne(this.ref, paths);
    return c ? { ...c.props } : undefined;
  }

  /** Renames the object (Rename_Task). */
  rename(name: string, options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("Rename_Task", this.ref, { newName: name }, options);
  }

  /** Destroys the object (Destroy_Task) and waits. */
  destroy(options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("Destroy_Task", this.ref, {}, options);
  }
}
