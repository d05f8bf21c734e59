/**
 * Delta-disk chains of running (unfrozen) parents. Each InstantClone_Task of a running source adds
 * a delta disk (a redo-log level) to the source and to the clone; vSphere warns past 100 levels and
 * fails the clone at 255 with a SystemError "Unable to prepare migration." (VMware KB 67186). A
 * frozen source's clones do not deepen its chain. So for a running parent the provider counts the
 * levels, warns well before the limit, and refuses a fork with an error that says what to do
 * before vSphere's own fault.
 */
import { MoRef, VirtualMachine, list, type VSphereClient } from "../vsphere";
import { BonnevilleError } from "./errors";
import type { OperationContext } from "./resource";

/** Where the provider warns and where it stops (vSphere's own maximum is 255 levels). */
export const parentChainLimits = {
  /** From this depth every fork is reported as a warning (vSphere warns past 100). */
  warnAt: 100,
  /** The deepest chain the provider makes: a fork that would go past it is refused. */
  refuseAt: 250,
  /** vSphere's maximum (KB 67186). */
  vsphereMax: 255,
} as const;

/** A chain-limit refusal: the parent must be frozen or another parent added. */
export class ParentChainExhaustedError extends BonnevilleError {}

/**
 * The deepest redo-log level among a VM's disks, from `config.hardware.device`: the number of
 * `parent` backings under each VirtualDisk's backing.
 */
export function chainDepthOf(devices: unknown): number {
  let deepest = 0;
  for (const d of list(devices as Record<string, unknown>[] | Record<string, unknown> | undefined)) {
    if (!d || typeof d !== "object" || d.$type !== "VirtualDisk") continue;
    let depth = 0;
    let backing = (d.backing as Record<string, unknown> | undefined)?.parent as
      Record<string, unknown> | undefined;
    while (backing && typeof backing === "object") {
      depth++;
      backing = backing.parent as Record<string, unknown> | undefined;
    }
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

interface Ledger {
  readonly frozen: boolean;
  depth: number;
}

/** Per parent VM ID: what this process knows of its chain (read once, then counted). */
const ledgers = new Map<string, Promise<Ledger>>();

/** Forgets a parent's chain (it was powered on again, deleted or replaced). */
export function forgetChain(parentId: string): void {
  ledgers.delete(parentId);
}

function ledgerOf(client: VSphereClient, parent: MoRef): Promise<Ledger> {
  let ledger = ledgers.get(parent.value);
  if (!ledger) {
    ledger = new VirtualMachine(client, parent)
      .read(["runtime.instantCloneFrozen", "config.hardware.device"])
      .then((p) => ({
        frozen: p?.["runtime.instantCloneFrozen"] === true,
        depth: chainDepthOf(p?.["config.hardware.device"]),
      }));
    ledger.catch(() => ledgers.delete(parent.value));
    ledgers.set(parent.value, ledger);
  }
  return ledger;
}

/**
 * Starts reading a parent's chain (frozen, delta-disk levels) ahead of {@link reserveFork}, so the
 * read overlaps the create's other look-ups; a failed read is tried again by reserveFork.
 */
export function prefetchChain(client: VSphereClient, parent: MoRef): void {
  ledgerOf(client, parent).catch(() => undefined);
}

/**
 * Takes one fork's place in a running parent's chain before the InstantClone_Task is sent, or
 * refuses the fork. Returns the function that gives the place back when the clone failed.
 */
export async function reserveFork(
  ctx: OperationContext,
  client: VSphereClient,
  parent: MoRef,
  parentName: string,
): Promise<() => void> {
  const ledger = await ledgerOf(client, parent);
  if (ledger.frozen) return () => undefined;
  if (ledger.depth + 1 > parentChainLimits.refuseAt) {
    throw new ParentChainExhaustedError(
      `cannot fork parent ${parentName} (${parent.value}): it runs unfrozen and its disk already has ${ledger.depth} delta-disk levels; each fork of a running parent adds one and vSphere fails instant clones at ${parentChainLimits.vsphereMax} (VMware KB 67186). Set freeze: true on its ParentTemplate (the default) so forks do not deepen its chain, or add another ParentTemplate and fork from it`,
    );
  }
  ledger.depth++;
  if (ledger.depth >= parentChainLimits.warnAt) {
    ctx.progress(
      `warning: parent ${parentName} (${parent.value}) runs unfrozen and now has ${ledger.depth} delta-disk levels; Bonneville refuses forks past ${parentChainLimits.refuseAt} (vSphere fails at ${parentChainLimits.vsphereMax}): freeze it or add another parent`,
    );
  }
  let released = false;
  return () => {
    if (!released) {
      released = true;
      ledger.depth--;
    }
  };
}
