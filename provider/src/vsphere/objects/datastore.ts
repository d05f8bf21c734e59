/** Datastore: where VM files live. */
import { ManagedObject } from "./managed-object";

export interface DatastoreInfo {
  readonly name: string;
  readonly accessible: boolean;
  readonly freeSpace: number;
  readonly capacity: number;
}

export class Datastore extends ManagedObject {
  async info(): Promise<DatastoreInfo | undefined> {
    const p = await this.props(["name", "summary.accessible", "summary.freeSpace", "summary.capacity"]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      accessible: p["summary.accessible"] === true || p["summary.accessible"] === "true",
      freeSpace: Number(p["summary.freeSpace"] ?? 0),
      capacity: Number(p["summary.capacity"] ?? 0),
    };
  }
}
