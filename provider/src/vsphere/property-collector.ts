/**
 * Reading properties: only the named paths, many objects per call. Reads
 * requested in the same event-loop turn are merged into one
 * RetrievePropertiesEx, so a burst of concurrent creates that each read their
 * new VM costs one round trip, not one each.
 */
import type { Session } from "./session";
import { list, type DataObject } from "./soap/xml";
import { MoRef } from "./types";
import { describeFault, VimFault } from "./faults";
import type { CallOptions } from "./soap/client";

/** What the collector returned for one object. */
export interface ObjectContent {
  readonly obj: MoRef;
  /** Property values by path. Absent paths were unset on the server. */
  readonly props: Readonly<Record<string, unknown>>;
}

interface PendingRead {
  readonly obj: MoRef;
  readonly paths: readonly string[];
  readonly resolve: (c: ObjectContent | undefined) => void;
  readonly reject: (e: unknown) => void;
}

/** A selection over a container view: every object of some types under a folder, pool or cluster. */
export interface ViewQuery {
  readonly container: MoRef;
  readonly types: readonly string[];
  readonly recursive: boolean;
  readonly paths: readonly string[];
}

/**
 * A new ListView and, in `collector`, a filter over the objects in it: properties `paths` of objects
 * of `type`. Objects are then watched by adding them to the view (ModifyListView) instead of
 * changing the filter. When the filter cannot be made the view is destroyed again, so nothing is
 * left unused in the session.
 */
export async function createListViewFilter(
  session: Session,
  collector: MoRef,
  type: string,
  paths: readonly string[],
): Promise<{ readonly view: MoRef; readonly filter: MoRef }> {
  const content = await session.serviceContent();
  const view = (await session.invoke("CreateListView", content.viewManager, {})) as MoRef;
  try {
    const spec: DataObject = {
      $type: "PropertyFilterSpec",
      propSet: [{ $type: "PropertySpec", type, all: false, pathSet: [...paths] }],
      objectSet: [
        {
          $type: "ObjectSpec",
          obj: view,
          skip: true,
          selectSet: [{ $type: "TraversalSpec", name: "view", type: "ListView", path: "view", skip: false }],
        },
      ],
    };
    const filter = (await session.invoke("CreateFilter", collector, {
      spec,
      partialUpdates: false,
    })) as MoRef;
    return { view, filter };
  } catch (error) {
    await session.invoke("DestroyView", view, {}).catch(() => undefined);
    throw error;
  }
}

/** Most objects one merged read asks for. */
const maxBatch = 500;

export class PropertyReader {
  private queue: PendingRead[] = [];
  private scheduled = false;
  /** A merged read is on the wire. */
  private flushing = false;

  constructor(private readonly session: Session) {}

  private async collector(): Promise<MoRef> {
    return (await this.session.serviceContent()).propertyCollector;
  }

  /** Reads `paths` of every object in `objs` in one call. Objects that do not exist are left out of the map. */
  retrieve(
    objs: readonly MoRef[],
    paths: readonly string[],
    options: CallOptions = {},
  ): Promise<Map<string, ObjectContent>> {
    const byType = new Map<string, ReadonlySet<string>>();
    for (const o of objs) byType.set(o.type, new Set(paths));
    return this.retrieveByType(objs, byType, options);
  }

  /** Reads, in one call, each object's type's paths (`byType`: vim25 type → property paths). */
  private async retrieveByType(
    objs: readonly MoRef[],
    byType: ReadonlyMap<string, ReadonlySet<string>>,
    options: CallOptions = {},
  ): Promise<Map<string, ObjectContent>> {
    if (objs.length === 0) return new Map();
    const spec: DataObject = {
      $type: "PropertyFilterSpec",
      propSet: [...byType.entries()].map(([type, set]) => ({
        $type: "PropertySpec",
        type,
        all: false,
        pathSet: [...set],
      })),
      objectSet: objs.map((obj) => ({ $type: "ObjectSpec", obj, skip: false })),
      reportMissingObjectsInResults: true,
    };
    return this.collect(spec, options);
  }

  /**
   * Reads `paths` of the objects a container view selects (one view, made and destroyed here). A view
   * belongs to its session: when the session was renewed while it was read, it is made again, once.
   */
  retrieveView(query: ViewQuery, options: CallOptions = {}): Promise<Map<string, ObjectContent>> {
    return this.readView(query, options, false);
  }

  private async readView(
    query: ViewQuery,
    options: CallOptions,
    retried: boolean,
  ): Promise<Map<string, ObjectContent>> {
    const content = await this.session.serviceContent(options);
    const view = (await this.session.invoke(
      "CreateContainerView",
      content.viewManager,
      { container: query.container, type: [...query.types], recursive: query.recursive },
      options,
    )) as MoRef;
    const generation = this.session.generation;
    const spec: DataObject = {
      $type: "PropertyFilterSpec",
      propSet: query.types.map((type) => ({
        $type: "PropertySpec",
        type,
        all: false,
        pathSet: [...query.paths],
      })),
      objectSet: [
        {
          $type: "ObjectSpec",
          obj: view,
          skip: true,
          selectSet: [
            { $type: "TraversalSpec", name: "view", type: "ContainerView", path: "view", skip: false },
          ],
        },
      ],
    };
    try {
      return await this.collect(spec, options);
    } catch (err) {
      const renewed = this.session.generation !== generation;
      if (!renewed || retried || !(err instanceof VimFault) || err.faultType !== "ManagedObjectNotFound") {
        throw err;
      }
      return this.readView(query, options, true);
    } finally {
      // A view of an expired session is gone with it.
      if (this.session.generation === generation) {
        await this.session.invoke("DestroyView", view, {}).catch(() => undefined);
      }
    }
  }

  private async collect(spec: DataObject, options: CallOptions): Promise<Map<string, ObjectContent>> {
    const pc = await this.collector();
    const out = new Map<string, ObjectContent>();
    let result = (await this.session.invoke(
      "RetrievePropertiesEx",
      pc,
      { specSet: [spec], options: { $type: "RetrieveOptions" } },
      options,
    )) as Record<string, unknown> | undefined;
    for (;;) {
      if (!result) break;
      for (const oc of list(result.objects as Record<string, unknown>[] | Record<string, unknown>)) {
        const obj = oc.obj as MoRef;
        const missing = list(oc.missingSet as Record<string, unknown>[] | Record<string, unknown>);
        if (
          missing.some((m) => (m.fault as Record<string, unknown> | undefined)?.fault && isMissingObject(m))
        )
          continue;
        const props: Record<string, unknown> = {};
        for (const p of list(oc.propSet as Record<string, unknown>[] | Record<string, unknown>)) {
          props[String(p.name)] = p.val;
        }
        out.set(obj.value, { obj, props });
      }
      const token = result.token;
      if (typeof token !== "string" || !token) break;
      result = (await this.session.invoke("ContinueRetrievePropertiesEx", pc, { token }, options)) as
        Record<string, unknown> | undefined;
    }
    return out;
  }

  /**
   * Reads `paths` of one object, merged with the other reads of this event-loop turn; while a
   * merged read is on the wire, later reads queue and go out together when it returns (so a burst
   * of reads costs a few calls, and an idle client adds no delay). Resolves `undefined` when the
   * object does not exist.
   */
  retrieveOne(obj: MoRef, paths: readonly string[]): Promise<ObjectContent | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ obj, paths, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, maxBatch);
    this.scheduled = false;
    this.flushing = true;
    try {
      await this.read(batch);
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  private async read(batch: readonly PendingRead[]): Promise<void> {
    const byType = new Map<string, Set<string>>();
    for (const r of batch) {
      let set = byType.get(r.obj.type);
      if (!set) byType.set(r.obj.type, (set = new Set()));
      for (const p of r.paths) set.add(p);
    }
    const objs = uniqueRefs(batch.map((r) => r.obj));
    try {
      const result = await this.retrieveByType(objs, byType);
      for (const r of batch) {
        const c = result.get(r.obj.value);
        if (!c) {
          r.resolve(undefined);
          continue;
        }
        const props: Record<string, unknown> = {};
        for (const p of r.paths) if (p in c.props) props[p] = c.props[p];
        r.resolve({ obj: c.obj, props });
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One bad object must not fail the others: read each on its own.
      await Promise.all(
        batch.map(async (r) => {
          try {
            r.resolve((await this.retrieve([r.obj], r.paths)).get(r.obj.value));
          } catch (e) {
            r.reject(e);
          }
        }),
      );
    }
  }
}

function isMissingObject(m: Record<string, unknown>): boolean {
  const fault = (m.fault as Record<string, unknown> | undefined)?.fault as
    Record<string, unknown> | undefined;
  return fault?.$type === "ManagedObjectNotFound";
}

export function uniqueRefs(refs: readonly MoRef[]): MoRef[] {
  const seen = new Set<string>();
  const out: MoRef[] = [];
  for (const r of refs) {
    const k = r.toString();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(r);
    }
  }
  return out;
}

/** Turns a LocalizedMethodFault (task error, missing property) into a VimFault. */
export function faultFromLocalized(raw: unknown, method: string, target?: MoRef): VimFault {
  const lmf = (raw ?? {}) as Record<string, unknown>;
  const fault = (lmf.fault ?? {}) as Record<string, unknown>;
  const type = typeof fault.$type === "string" ? fault.$type : "SystemError";
  const message = typeof lmf.localizedMessage === "string" ? lmf.localizedMessage : "";
  return new VimFault(
    type,
    `${method}${target ? ` on ${target.value}` : ""}: ${describeFault(type, message, fault)}`,
    fault,
    method,
    target,
  );
}
