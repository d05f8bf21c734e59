/** Folder: holds VMs (or hosts, networks, datastores) and other folders. */
import type { CallOptions } from "../soap/client";
import { list } from "../soap/xml";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";

export interface FolderInfo {
  readonly name: string;
  readonly parent: MoRef | undefined;
  readonly children: readonly MoRef[];
}

export class Folder extends ManagedObject {
  /** Creates a child folder (CreateFolder); resolves with its reference. */
  async createFolder(name: string, options: CallOptions = {}): Promise<Folder> {
    const ref = (await this.client.invoke("CreateFolder", this.ref, { name }, options)) as MoRef;
    return new Folder(this.client, ref);
  }

  /** Moves entities (VMs into a VM folder) into this folder (MoveIntoFolder_Task) and waits. */
  moveInto(entities: readonly MoRef[], options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("MoveIntoFolder_Task", this.ref, { list: [...entities] }, options);
  }

  /** Name, parent and children; undefined when the folder is gone. */
  async info(): Promise<FolderInfo | undefined> {
    const p = await this.props(["name", "parent", "childEntity"]);
    if (!p) return undefined;
    return {
      name: String(p.name),
      parent: p.parent instanceof MoRef ? p.parent : undefined,
      children: list(p.childEntity as MoRef[] | MoRef | undefined),
    };
  }
}
