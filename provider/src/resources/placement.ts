/**
 * Placement of a clone, checked rather than assumed. The API reference says an instant clone goes
 * to `location.folder` and `location.pool` (VirtualMachineInstantCloneSpec), but the vSphere 8
 * programming guide says the location "is ignored", and chef/kitchen-vcenter found the folder not
 * honoured. After the clone, the VM's folder and pool (read with the outputs, no extra call) are
 * compared with what was asked; a VM that landed elsewhere is moved there (MoveIntoFolder_Task,
 * MoveIntoResourcePool) before the create returns, so adoption after a crash and ContainerHost
 * deletion, which look in the host's folder and pool, still find it.
 */
import {
  Folder,
  ResourcePool,
  type MoRef,
  type VirtualMachine,
  type VirtualMachineInfo,
  type VSphereClient,
} from "../vsphere";
import type { OperationContext } from "./resource";

/** Where a clone was asked to go; an absent part was not asked for and is not checked. */
export interface WantedPlacement {
  readonly folder?: MoRef;
  readonly pool?: MoRef;
}

/** The properties a placement check needs (part of the clone's output read). */
export const placementPaths = ["parent", "resourcePool"] as const;

/**
 * Moves `vm` where it was asked to go if vCenter put it elsewhere; returns `info` with the folder
 * and pool it now has. `info` must have been read with {@link placementPaths}.
 */
export async function settlePlacement(
  ctx: OperationContext,
  vm: VirtualMachine,
  info: VirtualMachineInfo,
  wanted: WantedPlacement,
): Promise<VirtualMachineInfo> {
  const client = await ctx.client();
  const { signal } = ctx;
  let placed = info;
  if (wanted.folder && !wanted.folder.equals(info.folder)) {
    ctx.progress(
      `vCenter put ${info.name} (${vm.id}) in folder ${info.folder?.value ?? "(none)"}, not ${wanted.folder.value} as asked: moving it there`,
    );
    await new Folder(client, wanted.folder).moveInto([vm.ref], { signal });
    placed = { ...placed, folder: wanted.folder };
  }
  if (wanted.pool && !wanted.pool.equals(info.resourcePool)) {
    ctx.progress(
      `vCenter put ${info.name} (${vm.id}) in resource pool ${info.resourcePool?.value ?? "(none)"}, not ${wanted.pool.value} as asked: moving it there`,
    );
    await new ResourcePool(client, wanted.pool).moveInto([vm.ref], { signal });
    placed = { ...placed, resourcePool: wanted.pool };
  }
  return placed;
}

/**
 * Where a clone asked for `folder` may be: there, or, when vCenter ignored the location, in the
 * datacenter's root VM folder (the API reference's default for an instant clone without a folder).
 * Searched when a retried create meets a DuplicateName, to find what an interrupted create made.
 */
export async function placementFolders(
  client: VSphereClient,
  datacenter: string | undefined,
  folder: MoRef | undefined,
): Promise<MoRef[]> {
  const root = (await client.find.datacenter(datacenter)).vmFolder;
  return folder && !folder.equals(root) ? [folder, root] : [root];
}

/** The first VM named `name` in `folders`, in order. */
export async function vmNamedIn(
  client: VSphereClient,
  name: string,
  folders: readonly MoRef[],
): Promise<{ ref: MoRef; name: string } | undefined> {
  for (const folder of folders) {
    const found = (await client.find.children(folder, "VirtualMachine")).find((c) => c.name === name);
    if (found) return found;
  }
  return undefined;
}
