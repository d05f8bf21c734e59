/** Helpers the three resources share: naming, diffing, lookups by input, deletion of VMs. */
import { createHash } from "node:crypto";
import {
  isNotFound,
  extraConfigOf,
  isVimFault,
  looksLikeId,
  untilAborted,
  NotFoundError,
  VirtualMachine,
  MoRef,
  type InventoryKind,
  type VSphereClient,
} from "../vsphere";
import { vsphereSdkUrl } from "../provider-config";
import { BonnevilleError, ValidationError } from "./errors";
import { specDigest } from "./guest-contract";
import { InputChecker } from "./validation";
import type {
  CheckInfo,
  DiffResult,
  OperationContext,
  PropertyChangeKind,
  PropertyMap,
  ResourceSchema,
} from "./resource";
import { UNKNOWN, containsUnknown, isUnknown } from "./resource";
import { unencodableInputs } from "./unencodable-inputs";

/** Extra-config keys Bonneville writes outside `guestinfo.` (the guest cannot read or change them). */
export const MANAGED_KEY = "bonneville.managed";
export const URN_KEY = "bonneville.urn";
/** What the VM is to Bonneville: `parent` or `container`. */
export const ROLE_KEY = "bonneville.role";
/** The source a ParentTemplate was cloned from (for import). */
export const SOURCE_KEY = "bonneville.source";
/** The parent a ContainerVM was forked from (for import). */
export const PARENT_KEY = "bonneville.parent";
/** A digest of a ContainerVM's immutable spec (so a retried create recognises its own VM). */
export const SPEC_DIGEST_KEY = "bonneville.specDigest";

/** True when the VM's extra config says Bonneville made it. */
export function isManaged(extraConfig: ReadonlyMap<string, string>): boolean {
  return extraConfig.get(MANAGED_KEY) === "true";
}

/** What a VM Bonneville made says of itself: for which resource, as what, from which spec. */
export interface MadeFor {
  readonly urn: string;
  readonly role: "parent" | "container";
  /** {@link specDigest} of the spec it was made from. */
  readonly digest: string;
}

/**
 * True when the VM's extra config says Bonneville made it for `made.urn`, in `made.role`, from a
 * spec with `made.digest`: the VM an interrupted create of that resource left behind.
 */
export function wasMadeFor(extraConfig: ReadonlyMap<string, string>, made: MadeFor): boolean {
  return (
    isManaged(extraConfig) &&
    extraConfig.get(URN_KEY) === made.urn &&
    extraConfig.get(ROLE_KEY) === made.role &&
    extraConfig.get(SPEC_DIGEST_KEY) === made.digest
  );
}

/** Each configuration's vCenter as a digest names it (parsed once: every create asks). */
const serverOf = new WeakMap<OperationContext["config"], string>();

/**
 * The digest a VM is tagged with when it is made: {@link specDigest} of its resource's URN, its
 * immutable spec, and the provider configuration that says which objects the resource stands for
 * (the vCenter and the datacenter). A create retried after an interruption computes the same digest
 * and adopts the VM it left; the replacement made because the provider was replaced (another server
 * or datacenter, decided without a Diff of this process) does not, so it never takes over the VM it
 * replaces.
 */
export function creationDigest(
  ctx: Pick<OperationContext, "urn" | "config">,
  immutable: Readonly<Record<string, unknown>>,
): string {
  let server = serverOf.get(ctx.config);
  if (server === undefined) {
    server = vsphereSdkUrl(ctx.config.vsphereServer) ?? ctx.config.vsphereServer;
    serverOf.set(ctx.config, server);
  }
  return specDigest(ctx.urn, {
    spec: immutable,
    vcenter: server,
    datacenter: ctx.config.datacenter ?? "",
  });
}

/** A kind of task that makes a VM: its method (TaskInfo.name) and its descriptionId. */
export interface CloningTask {
  readonly method: string;
  readonly descriptionId: string;
  /** What it makes, for progress messages. */
  readonly makes: string;
}

export const INSTANT_CLONE: CloningTask = {
  method: "InstantClone_Task",
  descriptionId: "VirtualMachine.instantClone",
  makes: "instant clone",
};
export const FULL_CLONE: CloningTask = {
  method: "CloneVM_Task",
  descriptionId: "VirtualMachine.clone",
  makes: "clone",
};

const earlierTasks = new WeakMap<VSphereClient, Map<string, Promise<void>>>();

/**
 * Once per process and kind, before the first look for a VM to adopt: the clones this vCenter
 * account started earlier and vCenter is still making (a plugin killed right after it asked for
 * one, and `up` run again at once) are waited for, so that their VMs exist when the look is made
 * and are adopted instead of made a second time. No clone of this kind by this process has started
 * yet, as every create waits here first. At most `limitSeconds`; each create also stops waiting
 * when it is cancelled.
 */
export async function settleEarlierTasks(
  ctx: OperationContext,
  client: VSphereClient,
  kind: CloningTask,
  limitSeconds: number,
): Promise<void> {
  let byKind = earlierTasks.get(client);
  if (!byKind) earlierTasks.set(client, (byKind = new Map()));
  let settled = byKind.get(kind.method);
  if (!settled) {
    settled = (async () => {
      const pending = await client.unfinishedTasksOfUser(kind);
      if (pending.length === 0) return;
      ctx.progress(
        `waiting for ${pending.length} ${kind.makes}(s) this account started before this run to finish (${pending.map((t) => t.value).join(", ")}), so that a VM an interrupted run left is adopted, not made twice`,
      );
      const limit = AbortSignal.timeout(limitSeconds * 1000);
      const started = Date.now();
      let left = pending.length;
      const report = setInterval(() => {
        const waited = Math.round((Date.now() - started) / 1000);
        ctx.progress(
          `still waiting for ${left} of ${pending.length} earlier ${kind.makes}(s): ${waited} s of at most ${limitSeconds} s`,
        );
      }, progressInterval(limitSeconds));
      try {
        await Promise.all(
          pending.map((task) =>
            client
              .waitForTask(task, { operation: kind.method, signal: limit })
              .then(() => left--)
              .catch(() => {
                if (!limit.aborted) left--; // it failed: no VM to wait for
              }),
          ),
        );
      } finally {
        clearInterval(report);
      }
      if (left > 0) {
        ctx.progress(
          `gave up after ${limitSeconds} s on ${left} earlier ${kind.makes}(s) still running; creates go on (a VM such a clone makes later is not adopted by this run)`,
        );
      }
    })();
    byKind.set(kind.method, settled);
    // A failed look (vCenter unreachable) is tried again by the next create.
    const forget = byKind;
    settled.catch(() => forget.delete(kind.method));
  }
  await untilAborted(settled, ctx.signal, `waiting for earlier ${kind.makes}s for ${ctx.urn}`);
}

/** A VM directly in a folder that Bonneville made in some role, with the tags it carries. */
export interface MadeVm {
  readonly ref: MoRef;
  readonly name: string;
  readonly extraConfig: ReadonlyMap<string, string>;
}

/** The VMs directly in `folder` (not in its subfolders) that Bonneville made as `role`: one view read. */
export async function madeVmsIn(
  client: VSphereClient,
  folder: MoRef,
  role: MadeFor["role"],
): Promise<MadeVm[]> {
  const found = await client.properties.retrieveView({
    container: folder,
    types: ["VirtualMachine"],
    recursive: false,
    paths: ["name", "config.extraConfig"],
  });
  const made: MadeVm[] = [];
  for (const c of found.values()) {
    const extraConfig = extraConfigOf(c.props["config.extraConfig"]);
    if (isManaged(extraConfig) && extraConfig.get(ROLE_KEY) === role && extraConfig.has(URN_KEY)) {
      made.push({ ref: c.obj, name: String(c.props.name ?? ""), extraConfig });
    }
  }
  return made;
}

/** The name {@link resolveName} settled on, or why there is none. */
export interface ResolvedName {
  /** The name (the given one, possibly unknown in a preview); undefined with a failure. */
  readonly name: unknown;
  /** A Check failure on `name` (autonaming disabled and no name given). */
  readonly failure?: string;
}

/**
 * The resource's vSphere name: the given `name`; else (unless the engine's autonaming is disabled,
 * which makes a missing name a failure) the current one, so that an update keeps it, unless the
 * change replaces the resource, when a fresh name lets the replacement exist beside the old
 * object; else a new name: the engine's proposed name (autonaming `enforce`: exactly; `propose`:
 * cleaned by `clean` and cut to `maxLength`), or without autonaming options the logical name,
 * cleaned, plus a random suffix from the engine's seed (stable across previews of one deployment).
 */
export function resolveName(
  news: PropertyMap,
  olds: PropertyMap | undefined,
  info: CheckInfo,
  options: {
    replaceOnChanges: readonly string[];
    /** Inputs that name vSphere objects: a change of form only (a path to an ID) may not replace. */
    references?: readonly string[];
    maxLength: number;
    clean: (name: string) => string;
  },
): ResolvedName {
  if (news.name !== undefined && news.name !== null) return { name: news.name };
  const autonaming = info.autonaming;
  if (autonaming?.mode === "disable") {
    return {
      name: undefined,
      failure:
        'is required: automatic naming is disabled for this stack (autonaming mode "disable"), so give the resource a name',
    };
  }
  if (olds && typeof olds.name === "string" && olds.name) {
    const replacing = options.replaceOnChanges.some(
      (key) =>
        key !== "name" &&
        !isUnknown(news[key]) &&
        !deepEqual(olds[key], news[key]) &&
        !(options.references?.includes(key) && formChangeOnly(olds[key], news[key])),
    );
    if (!replacing) return { name: olds.name };
  }
  if (autonaming?.mode === "enforce") return { name: autonaming.proposedName };
  if (autonaming?.mode === "propose" && autonaming.proposedName) {
    return { name: options.clean(autonaming.proposedName).slice(0, options.maxLength) };
  }
  const seed = info.randomSeed && info.randomSeed.length > 0 ? info.randomSeed : randomSeedFallback();
  const suffix = createHash("sha256").update(seed).update(info.name).digest("hex").slice(0, 7);
  const stem = options.clean(info.name).slice(0, options.maxLength - suffix.length - 1);
  return { name: `${stem}-${suffix}` };
}

function randomSeedFallback(): Uint8Array {
  return createHash("sha256").update(String(Math.random())).update(String(Date.now())).digest();
}

/** Structural equality of plain JSON-like values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) {
    return isEmptyish(a) && isEmptyish(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** Absent, null and an empty map or list mean the same for an optional input. */
function isEmptyish(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/**
 * The detailed diff of inputs: each changed property updates in place unless
 * its schema says `replaceOnChanges`. A replacement that keeps the same vSphere
 * name would collide with the old object, so it deletes first.
 */
export function diffInputs(schema: ResourceSchema, olds: PropertyMap, news: PropertyMap): DiffResult {
  const detailedDiff: Record<string, PropertyChangeKind> = {};
  const replaces: string[] = [];
  for (const [key, property] of Object.entries(schema.inputProperties)) {
    const before = olds[key] ?? property.default;
    const after = news[key] ?? property.default;
    if (deepEqual(before, after)) continue;
    const kind: "add" | "update" | "delete" = isEmptyish(before)
      ? "add"
      : isEmptyish(after)
        ? "delete"
        : "update";
    if (property.replaceOnChanges) {
      replaces.push(key);
      detailedDiff[key] = `${kind}-replace`;
    } else {
      detailedDiff[key] = kind;
    }
  }
  const sameName = typeof news.name === "string" && news.name === olds.name;
  return {
    changes: Object.keys(detailedDiff).length > 0,
    replaces,
    detailedDiff,
    deleteBeforeReplace: replaces.length > 0 && sameName,
  };
}

/** Preview outputs: the known inputs (defaults applied) and UNKNOWN for each computed output. */
export function previewOutputs(
  schema: ResourceSchema,
  news: PropertyMap,
  olds?: PropertyMap,
  keepOnUpdate: readonly string[] = [],
): PropertyMap {
  const out: PropertyMap = withDefaults(schema, news);
  for (const key of Object.keys(schema.outputProperties)) {
    out[key] = olds && keepOnUpdate.includes(key) && olds[key] !== undefined ? olds[key] : UNKNOWN;
  }
  return out;
}

/** The inputs with schema defaults filled in for omitted properties. */
export function withDefaults(schema: ResourceSchema, inputs: PropertyMap): PropertyMap {
  const out: PropertyMap = {};
  for (const [key, property] of Object.entries(schema.inputProperties)) {
    const value = inputs[key];
    if (value !== undefined && value !== null) out[key] = value;
    else if (property.default !== undefined) out[key] = property.default;
  }
  return out;
}

/**
 * Resolves an input that names a vSphere object; a name that does not exist
 * becomes a validation error on that property.
 */
export async function resolveInput(
  client: VSphereClient,
  ctx: OperationContext,
  property: string,
  value: string,
  types: readonly string[],
  kind: InventoryKind,
): Promise<MoRef> {
  try {
    return await client.find.resolve(value, types, kind, ctx.config.datacenter);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new ValidationError([{ property, reason: `${error.message}` }]);
    }
    throw error;
  }
}

/** Runs `body`, mapping "the object does not exist" to `undefined`. */
export async function unlessGone<T>(body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Powers a VM off (when on) and destroys it; a VM that is already gone counts
 * as deleted, and one that powered off meanwhile is simply destroyed.
 */
export async function destroyVm(
  vm: VirtualMachine,
  powerState: string | undefined,
  signal: AbortSignal,
): Promise<void> {
  if (powerState !== "poweredOff") {
    try {
      await vm.powerOff({ signal });
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isVimFault(error, "InvalidPowerState") && !isVimFault(error, "InvalidState")) throw error;
    }
  }
  await unlessGone(() => vm.destroy({ signal }));
}

/** Reads VMs' names and extra config in one call (for refusal messages and managed checks). */
export async function describeVms(
  client: VSphereClient,
  refs: readonly MoRef[],
): Promise<{ vm: VirtualMachine; name: string; managed: boolean; role: string; powerState: string }[]> {
  const found = await client.properties.retrieve(refs, ["name", "config.extraConfig", "runtime.powerState"]);
  const out: { vm: VirtualMachine; name: string; managed: boolean; role: string; powerState: string }[] = [];
  for (const ref of refs) {
    const c = found.get(ref.value);
    if (!c) continue;
    const extra = extraConfigOf(c.props["config.extraConfig"]);
    out.push({
      vm: new VirtualMachine(client, ref),
      name: String(c.props.name ?? ref.value),
      managed: isManaged(extra),
      role: extra.get(ROLE_KEY) ?? "",
      powerState: String(c.props["runtime.powerState"] ?? ""),
    });
  }
  return out;
}

/** `name (vm-12), other (vm-13)`, at most `max` listed. */
export function listObjects(items: readonly { name: string; id: string }[], max = 10): string {
  const shown = items.slice(0, max).map((i) => `${i.name} (${i.id})`);
  if (items.length > max) shown.push(`and ${items.length - max} more`);
  return shown.join(", ");
}

/** The message of an error, for reasons and progress lines. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Seconds to the millisecond, for outputs such as `cloneSeconds`. */
export function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * The vSphere name a create-before-delete replacement holds while the object it replaces still has
 * the fixed name `fixed`: `<fixed>-r<7 hex digits>`, `fixed` shortened to keep within `maxLength`.
 * The digits are a digest of the URN and the replaced object's ID, so a create retried after an
 * interruption and the delete of the replaced object (in this process or a later one) compute the
 * same name.
 */
export function temporaryName(fixed: string, urn: string, replacedId: string, maxLength: number): string {
  const digits = createHash("sha256").update(urn).update("\0").update(replacedId).digest("hex").slice(0, 7);
  const suffix = `-r${digits}`;
  return `${fixed.slice(0, maxLength - suffix.length)}${suffix}`;
}

/**
 * The vSphere name of the replacement of the VM `replacedId`: {@link temporaryName} when that VM
 * still holds `fixedName` in the folder the replacement goes to (vSphere names are unique per
 * folder), else `fixedName` itself.
 */
export async function replacementVmName(
  client: VSphereClient,
  urn: string,
  fixedName: string,
  replacedId: string,
  folder: MoRef | undefined,
  maxLength: number,
): Promise<string> {
  const old = await new VirtualMachine(client, new MoRef("VirtualMachine", replacedId)).read([
    "name",
    "parent",
  ]);
  if (!old || old.name !== fixedName) return fixedName;
  if (folder && old.parent instanceof MoRef && !folder.equals(old.parent)) return fixedName;
  return temporaryName(fixedName, urn, replacedId, maxLength);
}

/**
 * After the VM `replacedId` named `fixedName` is gone: the VM made to replace it under
 * {@link temporaryName} (by this process's create, or by an earlier process that stopped before
 * this delete) takes the fixed name.
 */
export async function renameReplacement(
  ctx: OperationContext,
  client: VSphereClient,
  replacedId: string,
  fixedName: string,
  folders: readonly MoRef[],
  maxLength: number,
): Promise<void> {
  const temporary = temporaryName(fixedName, ctx.urn, replacedId, maxLength);
  let found: MoRef | undefined;
  for (const folder of folders) {
    found = await client.find.childNamed(folder, temporary);
    if (found) break;
  }
  if (found?.type !== "VirtualMachine") return;
  const replacement = new VirtualMachine(client, found);
  const p = await replacement.read(["config.extraConfig"]);
  const extra = extraConfigOf(p?.["config.extraConfig"]);
  if (!isManaged(extra) || extra.get(URN_KEY) !== ctx.urn) return;
  ctx.progress(
    `${replacedId} is deleted: renaming its replacement ${temporary} (${found.value}) to ${fixedName}`,
  );
  try {
    await replacement.rename(fixedName, { signal: ctx.signal });
  } catch (error) {
    if (isVimFault(error, "DuplicateName")) {
      throw new BonnevilleError(
        `${replacedId} is deleted, but its replacement ${temporary} (${found.value}) cannot take the name ${fixedName}: another VM in its folder now has it; rename or remove that VM, then run up again`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Replaces characters a vSphere or container name may not hold with `-`. */
export function cleanName(name: string, pattern: RegExp): string {
  const cleaned = name.replace(pattern, "-").replace(/^[^A-Za-z0-9]+/, "");
  return cleaned || "bonneville";
}

/** How often a long wait reports progress: five times over its timeout, between every 1 and 10 s. */
export function progressInterval(timeoutSeconds: number): number {
  return Math.min(10_000, Math.max(1_000, Math.round((timeoutSeconds * 1000) / 5)));
}

/** The strings a reference input holds, by position: `""` for a string, the index or key in a list or map. */
function referenceValues(value: unknown): Map<string, string> | undefined {
  if (value === undefined || value === null) return new Map();
  if (typeof value === "string") return new Map([["", value]]);
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : undefined;
  const pairs = entries ?? (typeof value === "object" ? Object.entries(value) : undefined);
  if (!pairs || pairs.some(([, v]) => typeof v !== "string")) return undefined;
  return new Map(pairs as [string, string][]);
}

/**
 * True when two values of a reference input differ only where one side is a managed object ID and
 * the other a path or name: they may name the same objects, which only vSphere can tell.
 */
function formChangeOnly(before: unknown, after: unknown): boolean {
  const a = referenceValues(before);
  const b = referenceValues(after);
  if (!a || !b || a.size !== b.size) return false;
  for (const [position, value] of a) {
    const other = b.get(position);
    if (other === undefined) return false;
    if (other !== value && looksLikeId(other) === looksLikeId(value)) return false;
  }
  return true;
}

/** How long Diff tries to resolve references before it keeps a replacement (vCenter slow or unreachable). */
const DIFF_LOOKUP_LIMIT_MS = 30_000;

/**
 * A Diff less the replacements that only name the same vSphere objects another way (an inventory
 * path changed to the ID it resolves to, a bare name to its path): each such input is an in-place
 * update, which records the new form. The old and new values of each replacing reference input are
 * resolved; any that cannot be (unknown, gone, vCenter unreachable or silent for 30 s, no
 * configuration yet) leaves its replacement as the inputs' diff decided.
 */
export async function withoutSameObjectReplacements(
  schema: ResourceSchema,
  diff: DiffResult,
  olds: PropertyMap,
  news: PropertyMap,
  ctx: Pick<OperationContext, "client" | "config">,
): Promise<DiffResult> {
  const same: string[] = [];
  for (const key of diff.replaces) {
    const reference = schema.inputProperties[key]?.reference;
    if (!reference || key === "name" || containsUnknown(news[key])) continue;
    const before = referenceValues(olds[key]);
    const after = referenceValues(news[key]);
    if (!before || !after || before.size !== after.size) continue;
    const sameObjects = async (): Promise<boolean> => {
      const client = await ctx.client();
      const datacenter = ctx.config.datacenter;
      const resolve = (value: string) =>
        client.find.resolve(value, reference.types, reference.kind, datacenter);
      for (const [position, value] of before) {
        const other = after.get(position);
        if (other === undefined) return false;
        if (other === value) continue;
        // Managed object IDs are unique in a vCenter, whatever the type.
        const [a, b] = await Promise.all([resolve(value), resolve(other)]);
        if (a.value !== b.value) return false;
      }
      return true;
    };
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), DIFF_LOOKUP_LIMIT_MS);
    });
    try {
      if (await Promise.race([sameObjects(), giveUp])) same.push(key);
    } catch {
      // Not resolvable now: the change stays a replacement (a create would report a missing object).
    } finally {
      clearTimeout(timer);
    }
  }
  if (same.length === 0) return diff;
  const replaces = diff.replaces.filter((key) => !same.includes(key));
  const detailedDiff: Record<string, PropertyChangeKind> = { ...diff.detailedDiff };
  for (const key of same) {
    detailedDiff[key] = detailedDiff[key]!.replace(/-replace$/, "") as PropertyChangeKind;
  }
  return {
    ...diff,
    replaces,
    detailedDiff,
    deleteBeforeReplace: diff.deleteBeforeReplace && replaces.length > 0,
  };
}

/** The properties whose change replaces a resource. */
export function replacingProperties(schema: ResourceSchema): string[] {
  return Object.entries(schema.inputProperties)
    .filter(([, p]) => p.replaceOnChanges)
    .map(([k]) => k);
}

/**
 * The start of every resource's `check`: defaults filled in, the name resolved
 * (given, kept or auto-named), and unknown keys rejected.
 */
export function startCheck(
  schema: ResourceSchema,
  news: PropertyMap,
  olds: PropertyMap | undefined,
  info: CheckInfo,
  nameMaxLength: number,
): { inputs: PropertyMap; checker: InputChecker } {
  const inputs = withDefaults(schema, news);
  // Compared with defaults applied on both sides: an input left to its default is not a change.
  const resolved = resolveName(inputs, olds && withDefaults(schema, olds), info, {
    replaceOnChanges: replacingProperties(schema),
    references: Object.keys(schema.inputProperties).filter((key) => schema.inputProperties[key]!.reference),
    maxLength: nameMaxLength,
    clean: (n) => cleanName(n, /[^A-Za-z0-9_.-]/g),
  });
  if (resolved.name !== undefined) inputs.name = resolved.name;
  const checker = new InputChecker(inputs);
  if (resolved.failure) checker.fail("name", resolved.failure);
  checker.noUnknownKeys(schema, news);
  checker.refuseUnencodable(unencodableInputs(inputs));
  return { inputs, checker };
}
