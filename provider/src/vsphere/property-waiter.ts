/**
 * Waits until an object's properties satisfy a condition (a guest signalling
 * readiness, a container reporting it runs, an IP address appearing) with the
 * property collector's long poll, no sleeps. Like the task waiter, one private
 * collector serves every wait of the process: per set of properties waited on,
 * one ListView holds the objects being waited on and one filter traverses it,
 * and one WaitForUpdatesEx long poll reports for all of them. Waits that begin
 * in the same event-loop turn join their view in one ModifyListView (which also
 * drops the objects no longer waited on), so a burst of creates that each wait
 * for their guest costs a few calls for the lot, not a collector each. Objects
 * whose waits ended stay in the view while other waits of their set go on (the
 * poll keeps their values current, so a new wait on one is answered at once)
 * and leave it with the next join, or all in one call when the set's last wait
 * ends: in a burst, the ends would otherwise cost a ModifyListView each. As in
 * the task waiter, view changes, like polls, are at least `batchWindowMs`
 * apart, so joins and reports that come close together share a call. An
 * object that enters a view is reported with its current values, so the
 * condition is checked at once; one that leaves while waited on is read
 * directly to tell a deleted object from a view change. A renewed session gets
 * a new collector and views holding every waited-on object.
 *
 * Updates are not trusted alone: vCenter has been seen to miss
 * property-collector notifications (vmware/vic #7098), so every `rereadEveryMs`
 * a wait reads its object's properties directly, in one call. An update that
 * changes only keys VMware Tools publishes on its own (`guestinfo.appInfo`,
 * `guestinfo.vmtools.*`, refreshed while Tools run) is no news: the condition
 * is not asked again for it, and it costs no read.
 */
import {
  AbortedError,
  afterWindow,
  cancellation,
  isVimFault,
  isWatchRecoverable,
  pause,
  VSphereError,
} from "./faults";
import { createListViewFilter } from "./property-collector";
import type { Session } from "./session";
import { list } from "./soap/xml";
import { MoRef } from "./types";
import { withoutToolsKeys } from "./tools-keys";

/** How a property wait ends early. */
export interface PropertyWaitOptions {
  readonly signal?: AbortSignal;
  /** Give up after this long (milliseconds); rejects with {@link PropertyWaitTimeoutError}. */
  readonly timeoutMs?: number;
  /** Called about every `progressEveryMs` while waiting, with the milliseconds waited so far. */
  readonly onProgress?: (waitedMs: number, props: Readonly<Record<string, unknown>>) => void;
  readonly progressEveryMs?: number;
  /** Read the properties directly this often (missed notifications), milliseconds. Default 60000. */
  readonly rereadEveryMs?: number;
}

/** The condition did not hold before the wait's timeout. */
export class PropertyWaitTimeoutError extends VSphereError {
  constructor(
    message: string,
    /** The last values seen, for the caller's message. */
    readonly last: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** The object was deleted while being waited on. */
export class WaitedObjectGoneError extends VSphereError {}

/** One wait in flight. */
interface Wait {
  readonly obj: MoRef;
  readonly done: (props: Readonly<Record<string, unknown>>) => boolean;
  /** What the condition last saw, without Tools' own keys: an update that leaves it unchanged is no news. */
  asked?: string;
  readonly resolve: (props: Record<string, unknown>) => void;
  readonly reject: (err: unknown) => void;
}

/** The waits on one set of properties of one object type, their view and filter. */
interface Group {
  readonly type: string;
  readonly paths: readonly string[];
  /** Waits by object ID. */
  readonly waits: Map<string, Set<Wait>>;
  /** The latest values of each waited-on object, as the filter reported them. */
  readonly props: Map<string, Record<string, unknown>>;
  /** Objects in the view, by ID. */
  readonly inView: Map<string, MoRef>;
  /** Objects this view held and dropped (a filter may not report them entering again). */
  readonly leftView: Set<string>;
  /** The view and its filter in the current collector, once made. */
  view?: MoRef;
  filter?: MoRef;
}

/** The collector of the current session. */
interface Collector {
  readonly pc: MoRef;
  readonly generation: number;
  version: string;
}

const longestPollSeconds = 20;
/** How the property waiter paces itself. */
export interface PropertyWaiterOptions {
  /** Least time between two view changes, and between two polls, ms. Default 50. */
  readonly batchWindowMs?: number;
}

export class PropertyWaiter {
  private readonly groups = new Map<string, Group>();
  private collector: Collector | undefined;
  private opening: Promise<Collector> | undefined;
  private running = false;
  private syncScheduled = false;
  private syncing = false;
  private closed = false;
  private pollAbort: AbortController | undefined;
  /** Aborted by close: ends the pause between two polls. */
  private readonly closing = new AbortController();
  private lastSync = -Infinity;
  private readonly batchWindowMs: number;

  constructor(
    private readonly session: Session,
    options: PropertyWaiterOptions = {},
  ) {
    this.batchWindowMs = options.batchWindowMs ?? 50;
  }

  /**
   * Resolves with the properties once `done(props)` is true (checked on the
   * first report and after every change). `obj` vanishing rejects with
   * {@link WaitedObjectGoneError}.
   */
  waitFor(
    obj: MoRef,
    paths: readonly string[],
    done: (props: Readonly<Record<string, unknown>>) => boolean,
    options: PropertyWaitOptions = {},
  ): Promise<Record<string, unknown>> {
    if (options.signal?.aborted)
      return Promise.reject(cancellation(options.signal, `waiting on ${obj.value}`));
    if (this.closed)
      return Promise.reject(new AbortedError(`waiting on ${obj.value}: the client was closed`));
    const key = `${obj.type}|${[...paths].sort().join(",")}`;
    let group = this.groups.get(key);
    if (!group) {
      group = {
        type: obj.type,
        paths: [...paths],
        waits: new Map(),
        props: new Map(),
        inView: new Map(),
        leftView: new Set(),
      };
      this.groups.set(key, group);
    }
    const g = group;
    const started = Date.now();
    return new Promise<Record<string, unknown>>((resolveWait, rejectWait) => {
      const timers: NodeJS.Timeout[] = [];
      const onAbort = () => wait.reject(cancellation(options.signal!, `waiting on ${obj.value}`));
      let settled = false;
      const finish = () => {
        settled = true;
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener("abort", onAbort);
        const waits = g.waits.get(obj.value);
        waits?.delete(wait);
        if (waits && waits.size === 0) {
          // Its values stay known while it is in the view: a new wait on it is answered from them.
          g.waits.delete(obj.value);
          this.scheduleSync();
        }
      };
      const wait: Wait = {
        obj,
        done,
        resolve: (props) => {
          if (settled) return;
          finish();
          resolveWait(props);
        },
        reject: (err) => {
          if (settled) return;
          finish();
          rejectWait(err);
        },
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timers.push(
          setTimeout(
            () =>
              wait.reject(
                new PropertyWaitTimeoutError(
                  `${obj.value}: the condition was not met within ${Math.round(options.timeoutMs! / 1000)} s`,
                  { ...(g.props.get(obj.value) ?? {}) },
                ),
              ),
            options.timeoutMs,
          ),
        );
      }
      if (options.onProgress) {
        const every = options.progressEveryMs ?? 10_000;
        const progress = () => {
          if (settled) return;
          options.onProgress!(Date.now() - started, { ...(g.props.get(obj.value) ?? {}) });
          timers.push(setTimeout(progress, every));
        };
        timers.push(setTimeout(progress, every));
      }
      const rereadEvery = options.rereadEveryMs ?? 60_000;
      const reread = () => {
        if (settled) return;
        // Check rather than trust that no notification was missed.
        void this.readDirect(g, [obj]).finally(() => {
          if (!settled) timers.push(setTimeout(reread, rereadEvery));
        });
      };
      timers.push(setTimeout(reread, rereadEvery));
      let waits = g.waits.get(obj.value);
      if (!waits) g.waits.set(obj.value, (waits = new Set()));
      waits.add(wait);
      // Values already reported for this object (another wait on it) are checked at once.
      const known = g.props.get(obj.value);
      if (known && g.inView.has(obj.value)) this.check(g, obj.value);
      this.scheduleSync();
      this.start();
    });
  }

  /**
   * Tells the waits on `obj` that it was deleted (its Destroy_Task succeeded): they end with
   * {@link WaitedObjectGoneError} at once. A view is not relied on to drop a deleted object, nor its
   * filter to report it leaving (the API reference does not say a ListView does); a deletion by
   * another client is found by the next direct re-read.
   */
  deleted(obj: MoRef): void {
    for (const g of this.groups.values()) {
      for (const w of [...(g.waits.get(obj.value) ?? [])])
        w.reject(new WaitedObjectGoneError(`${obj.value} was deleted`));
      g.props.delete(obj.value);
      g.leftView.delete(obj.value);
    }
  }

  /** Rejects every wait in flight and stops the long poll. */
  close(): void {
    this.closed = true;
    this.closing.abort();
    this.pollAbort?.abort(new AbortedError("the client was closed"));
    this.rejectAll(new AbortedError("the client was closed"));
  }

  private rejectAll(err: unknown): void {
    for (const g of this.groups.values()) {
      for (const waits of [...g.waits.values()]) for (const w of [...waits]) w.reject(err);
    }
  }

  private waiting(): boolean {
    for (const g of this.groups.values()) if (g.waits.size > 0) return true;
    return false;
  }

  /** Asks each of the object's waits whether its condition holds now. */
  private check(g: Group, id: string): void {
    const props = g.props.get(id);
    const waits = g.waits.get(id);
    if (!props || !waits) return;
    const seen = JSON.stringify(relevant(props));
    for (const w of [...waits]) {
      if (seen === w.asked) continue;
      w.asked = seen;
      let met: boolean;
      try {
        met = w.done(props);
      } catch (err) {
        w.reject(err);
        continue;
      }
      if (met) w.resolve({ ...props });
    }
  }

  /** The collector of the current session, made when missing. */
  private collectorFor(): Promise<Collector> {
    const c = this.collector;
    if (c && c.generation === this.session.generation) return Promise.resolve(c);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<Collector> {
    this.forget();
    const content = await this.session.serviceContent();
    const pc = (await this.session.invoke("CreatePropertyCollector", content.propertyCollector, {})) as MoRef;
    const c: Collector = { pc, generation: this.session.generation, version: "" };
    this.collector = c;
    return c;
  }

  /** Forgets the collector and every view (gone with their session, or to be made anew). */
  private forget(): void {
    const old = this.collector;
    this.collector = undefined;
    for (const g of this.groups.values()) {
      g.view = undefined;
      g.filter = undefined;
      g.inView.clear();
      g.leftView.clear();
    }
    if (old && old.generation === this.session.generation) {
      void this.session.invoke("DestroyPropertyCollector", old.pc, {}).catch(() => undefined);
    }
  }

  /** The group's view and filter in `c`, made when missing. */
  private async viewOf(c: Collector, g: Group): Promise<MoRef> {
    if (g.view) return g.view;
    const { view, filter } = await createListViewFilter(this.session, c.pc, g.type, g.paths);
    g.filter = filter;
    g.view = view;
    return view;
  }

  /** Changes the views in the next turn, or when the batch window since the last change ends. */
  private scheduleSync(): void {
    if (this.syncScheduled || this.closed) return;
    this.syncScheduled = true;
    const run = () => {
      this.syncScheduled = false;
      if (!this.closed) void this.sync();
    };
    afterWindow(this.lastSync, this.batchWindowMs, run);
  }

  /**
   * Per group, one ModifyListView: adds the waited-on objects the view lacks, drops the others. Only
   * dropping waits for a join, or for the group's last wait to end.
   */
  private async sync(): Promise<void> {
    if (this.syncing) {
      this.scheduleSync();
      return;
    }
    this.syncing = true;
    try {
      for (const g of this.groups.values()) {
        const add: MoRef[] = [];
        const remove: MoRef[] = [];
        for (const [id, waits] of g.waits) if (!g.inView.has(id)) add.push([...waits][0]!.obj);
        for (const [id, obj] of g.inView) if (!g.waits.has(id)) remove.push(obj);
        if (add.length === 0 && remove.length === 0) continue;
        if (add.length === 0 && (!g.view || g.waits.size > 0)) continue;
        try {
          const c = await this.collectorFor();
          const view = await this.viewOf(c, g);
          for (const obj of add) {
            g.inView.set(obj.value, obj);
            g.props.delete(obj.value);
          }
          for (const obj of remove) {
            g.inView.delete(obj.value);
            g.props.delete(obj.value);
            g.leftView.add(obj.value);
          }
          this.lastSync = Date.now();
          const unresolved = await this.session.invoke("ModifyListView", view, { add, remove });
          const gone = new Set<string>();
          for (const obj of list(unresolved as MoRef | MoRef[] | undefined)) {
            if (!(obj instanceof MoRef)) continue;
            gone.add(obj.value);
            g.inView.delete(obj.value);
            for (const w of [...(g.waits.get(obj.value) ?? [])]) {
              w.reject(new WaitedObjectGoneError(`${obj.value} was deleted`));
            }
          }
          // An object back in the view it left is read once (all such in one call): the filter need
          // not report it entering again, having never reported it leaving. New ones are reported.
          const back = add.filter((obj) => !gone.has(obj.value) && g.leftView.has(obj.value));
          for (const obj of add) g.leftView.delete(obj.value);
          if (back.length > 0) await this.readDirect(g, back);
        } catch (err) {
          if (this.closed) return;
          for (const obj of add) g.inView.delete(obj.value);
          if (!isWatchRecoverable(err)) {
            for (const obj of add) for (const w of [...(g.waits.get(obj.value) ?? [])]) w.reject(err);
          } else {
            // The collector went with its session: the poll loop makes a new one and syncs again.
            this.forget();
            this.pollAbort?.abort(new AbortedError("the collector was replaced"));
          }
        }
      }
    } finally {
      this.syncing = false;
    }
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.waiting() && !this.closed) this.start();
    });
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let lastPoll = -Infinity;
    while (this.waiting() && !this.closed) {
      let c: Collector | undefined;
      try {
        const spacing = lastPoll + this.batchWindowMs - Date.now();
        if (spacing > 0) await pause(spacing, this.closing.signal);
        if (!this.waiting() || this.closed) return;
        c = await this.collectorFor();
        if ([...this.groups.values()].some((g) => [...g.waits.keys()].some((id) => !g.inView.has(id)))) {
          await this.sync();
        }
        if (!this.waiting() || this.closed) return;
        const poll = new AbortController();
        this.pollAbort = poll;
        lastPoll = Date.now();
        let updates: Record<string, unknown> | undefined;
        try {
          updates = (await this.session.invoke(
            "WaitForUpdatesEx",
            c.pc,
            { version: c.version, options: { $type: "WaitOptions", maxWaitSeconds: longestPollSeconds } },
            { signal: poll.signal },
          )) as Record<string, unknown> | undefined;
        } catch (err) {
          if (poll.signal.aborted && !this.closed) continue;
          throw err;
        } finally {
          if (this.pollAbort === poll) this.pollAbort = undefined;
        }
        failures = 0;
        if (this.collector !== c || !updates) continue;
        c.version = String(updates.version ?? c.version);
        await this.apply(updates);
      } catch (err) {
        if (this.closed) return;
        failures++;
        if (c && this.collector === c) this.forget();
        if (failures > 3 || !isWatchRecoverable(err)) {
          this.rejectAll(err);
          return;
        }
      }
    }
  }

  /** Applies one WaitForUpdatesEx answer and asks the waits of every changed object. */
  private async apply(updates: Record<string, unknown>): Promise<void> {
    const left: Array<[Group, MoRef]> = [];
    for (const fs of list(updates.filterSet as Record<string, unknown>[] | Record<string, unknown>)) {
      const filter = fs.filter instanceof MoRef ? fs.filter.value : undefined;
      const g = [...this.groups.values()].find((x) => x.filter?.value === filter);
      if (!g) continue;
      for (const os of list(fs.objectSet as Record<string, unknown>[] | Record<string, unknown>)) {
        if (!(os.obj instanceof MoRef)) continue;
        const id = os.obj.value;
        if (os.kind === "leave") {
          if (g.waits.has(id) && g.inView.has(id)) left.push([g, os.obj]);
          continue;
        }
        // Kept current while in the view, waited on or not: a later wait starts from them.
        if (!g.inView.has(id)) continue;
        const props = g.props.get(id) ?? {};
        for (const change of list(os.changeSet as Record<string, unknown>[] | Record<string, unknown>)) {
          if (change.op === "remove") delete props[String(change.name)];
          else props[String(change.name)] = change.val;
        }
        g.props.set(id, props);
        this.check(g, id);
      }
    }
    // An object that left its view while waited on: deleted, or dropped from a view that was changed.
    for (const [g, obj] of left) await this.readDirect(g, [obj]);
  }

  /** Reads objects' properties directly; a deleted object fails its waits. */
  private async readDirect(g: Group, objs: readonly MoRef[]): Promise<void> {
    try {
      const content = await this.session.serviceContent();
      const result = (await this.session.invoke("RetrievePropertiesEx", content.propertyCollector, {
        specSet: [
          {
            $type: "PropertyFilterSpec",
            propSet: [{ $type: "PropertySpec", type: g.type, all: false, pathSet: [...g.paths] }],
            objectSet: objs.map((obj) => ({ $type: "ObjectSpec", obj, skip: false })),
            reportMissingObjectsInResults: true,
          },
        ],
        options: { $type: "RetrieveOptions" },
      })) as Record<string, unknown> | undefined;
      const found = new Set<string>();
      for (const o of list(
        result?.objects as Record<string, unknown>[] | Record<string, unknown> | undefined,
      )) {
        if (!(o.obj instanceof MoRef)) continue;
        const missing = list(o.missingSet as Record<string, unknown>[] | Record<string, unknown>);
        if (
          missing.some(
            (m) =>
              (m.fault as { fault?: { $type?: unknown } } | undefined)?.fault?.$type ===
              "ManagedObjectNotFound",
          )
        ) {
          continue;
        }
        found.add(o.obj.value);
        if (!g.waits.has(o.obj.value) && !g.inView.has(o.obj.value)) continue;
        const props: Record<string, unknown> = {};
        for (const p of list(o.propSet as Record<string, unknown>[] | Record<string, unknown>)) {
          props[String(p.name)] = p.val;
        }
        g.props.set(o.obj.value, props);
        this.check(g, o.obj.value);
      }
      for (const obj of objs) {
        if (found.has(obj.value)) continue;
        g.inView.delete(obj.value);
        for (const w of [...(g.waits.get(obj.value) ?? [])]) {
          w.reject(new WaitedObjectGoneError(`${obj.value} was deleted`));
        }
      }
    } catch (err) {
      if (isVimFault(err, "ManagedObjectNotFound")) {
        for (const obj of objs) {
          for (const w of [...(g.waits.get(obj.value) ?? [])]) {
            w.reject(new WaitedObjectGoneError(`${obj.value} was deleted`));
          }
        }
      }
      // Other failures: the next poll or re-read tries again.
    }
  }
}

/** The properties as the condition sees them: extra config without VMware Tools' own keys. */
function relevant(props: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!("config.extraConfig" in props)) return props;
  return { ...props, "config.extraConfig": withoutToolsKeys(props["config.extraConfig"]) };
}
