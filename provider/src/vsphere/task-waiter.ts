/**
 * Waits for tasks. One private property collector, one ListView holding the
 * tasks being waited on, one filter that traverses the view to each Task's
 * info.state, info.result and info.error, and one WaitForUpdatesEx long poll
 * serve every task the process waits on.
 *
 * Not TaskManager.recentTask: the API reference (TaskManager) says it "should
 * not be used for tracking Task completion", that a ListView is the better way
 * to follow a set of tasks, and that servers might not send property-collector
 * updates for it at all.
 *
 * Waits that begin in the same event-loop turn join the view in one
 * ModifyListView, which also drops the tasks no longer waited on; while one is
 * on the wire later waits queue and go out together, and modifications, like
 * polls, are at least `batchWindowMs` apart, so a burst of creates costs a few
 * calls for the lot rather than one per task. A task that enters the view is
 * reported by the next poll in its state then, so one that ended before its
 * wait began is reported too; one the server cannot resolve is gone. A session
 * renewal makes a new collector and view holding every awaited task. A poll
 * that comes back empty once `rereadSeconds` passed since the last direct read
 * reads the awaited tasks directly, in one call: vCenter has been seen to miss
 * property-collector notifications (vmware/vic #7098). No per-task polling.
 */
import { AbortedError, TaskError, afterWindow, isWatchRecoverable, pause } from "./faults";
import { createListViewFilter, faultFromLocalized, type PropertyReader } from "./property-collector";
import type { Session } from "./session";
import { list } from "./soap/xml";
import { MoRef } from "./types";

/** What a finished task reported. */
interface TaskOutcome {
  readonly state: "success" | "error";
  readonly result?: unknown;
  readonly error?: unknown;
}

interface Waiter {
  readonly task: MoRef;
  readonly operation: string;
  readonly target: MoRef | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: unknown) => void;
  readonly cleanup: () => void;
}

/** The server-side objects of one session that follow the awaited tasks. */
interface Watch {
  readonly collector: MoRef;
  readonly view: MoRef;
  readonly generation: number;
  version: string;
}

/** Options of one wait. */
export interface WaitOptions {
  readonly signal?: AbortSignal;
  /** The operation, for messages (`InstantClone_Task`). */
  readonly operation?: string;
  /** The object the task works on, for messages. */
  readonly target?: MoRef;
}

/** How the shared waiter paces itself. */
export interface TaskWaiterOptions {
  /** Longest a single poll waits on the server, seconds. Default 20. */
  readonly maxWaitSeconds?: number;
  /** Least time between two view modifications, and between two polls, ms. Default 50. */
  readonly batchWindowMs?: number;
  /** Read the awaited tasks directly when a poll came back empty this long after the last read, s. Default 60. */
  readonly rereadSeconds?: number;
}

const taskPaths = ["info.state", "info.result", "info.error"];
/** Finished tasks remembered for waits that start after the update arrived. */
const finishedMemory = 4096;

export class TaskWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly finished = new Map<string, TaskOutcome>();
  /** What the filter reported so far of awaited tasks that have not ended. */
  private readonly partial = new Map<string, Record<string, unknown>>();
  /** Tasks the server's view holds, as far as this waiter has told it. */
  private readonly inView = new Map<string, MoRef>();
  private watch: Watch | undefined;
  private opening: Promise<Watch> | undefined;
  private running = false;
  private syncing = false;
  private syncScheduled = false;
  private syncFailures = 0;
  private lastSync = -Infinity;
  private lastRead = 0;
  private readonly loopAbort = new AbortController();
  /** Ends the poll on the wire (its watch was replaced: the loop moves to the new one at once). */
  private pollAbort: AbortController | undefined;
  private closed = false;
  private readonly maxWaitSeconds: number;
  private readonly batchWindowMs: number;
  private readonly rereadMs: number;

  constructor(
    private readonly session: Session,
    private readonly reader: PropertyReader,
    options: TaskWaiterOptions = {},
  ) {
    this.maxWaitSeconds = options.maxWaitSeconds ?? 20;
    this.batchWindowMs = options.batchWindowMs ?? 50;
    this.rereadMs = (options.rereadSeconds ?? 60) * 1000;
  }

  /** Number of tasks being waited on now. */
  get pending(): number {
    let n = 0;
    for (const w of this.waiters.values()) n += w.length;
    return n;
  }

  /** Resolves with the task's result, or rejects with a TaskError carrying its fault. */
  wait(task: MoRef, options: WaitOptions = {}): Promise<unknown> {
    const operation = options.operation ?? "task";
    const done = this.finished.get(task.value);
    if (done) return settle(done, task, operation, options.target);
    if (this.closed) return Promise.reject(new AbortedError(`${operation}: the vSphere client was closed`));
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const onAbort = () => {
        this.remove(task.value, waiter);
        reject(
          new AbortedError(
            `waiting for ${operation}${options.target ? ` on ${options.target.value}` : ""} was cancelled (task ${task.value} may still run)`,
          ),
        );
      };
      const waiter: Waiter = {
        task,
        operation,
        target: options.target,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      const others = this.waiters.get(task.value);
      if (others) others.push(waiter);
      else this.waiters.set(task.value, [waiter]);
      this.scheduleSync();
      this.start();
    });
  }

  private remove(id: string, waiter: Waiter): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length) this.waiters.set(id, rest);
    else {
      this.waiters.delete(id);
      this.partial.delete(id);
    }
  }

  /** The collector, view and filter of the current session, made when missing. */
  private watchFor(): Promise<Watch> {
    const watch = this.watch;
    if (watch && watch.generation === this.session.generation) return Promise.resolve(watch);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<Watch> {
    this.watch = undefined;
    this.inView.clear();
    // A poll of the old watch would answer only when its long poll ends.
    this.pollAbort?.abort(new AbortedError("the task watch was replaced"));
    const content = await this.session.serviceContent();
    // A session is needed before creating objects in it; CreatePropertyCollector logs in if required.
    const collector = (await this.session.invoke(
      "CreatePropertyCollector",
      content.propertyCollector,
      {},
    )) as MoRef;
    const generation = this.session.generation;
    let view: MoRef;
    try {
      ({ view } = await createListViewFilter(this.session, collector, "Task", taskPaths));
    } catch (error) {
      // The collector may not live on, unused, for the rest of the session.
      await this.session.invoke("DestroyPropertyCollector", collector, {}).catch(() => undefined);
      throw error;
    }
    const watch: Watch = { collector, view, generation, version: "" };
    this.watch = watch;
    this.lastRead = Date.now();
    return watch;
  }

  /** Forgets a watch that failed; its collector is destroyed when its session still exists. */
  private drop(watch: Watch): void {
    if (this.watch !== watch) return;
    this.watch = undefined;
    this.inView.clear();
    if (watch.generation === this.session.generation) {
      void this.session.invoke("DestroyPropertyCollector", watch.collector, {}).catch(() => undefined);
      void this.session.invoke("DestroyView", watch.view, {}).catch(() => undefined);
    }
  }

  /** True when an awaited task is not in the view yet. */
  private unsynced(): boolean {
    for (const id of this.waiters.keys()) if (!this.inView.has(id)) return true;
    return false;
  }

  /** Sends the view's changes in the next turn, or when the batch window since the last one ends. */
  private scheduleSync(): void {
    if (this.syncScheduled || this.syncing || this.closed) return;
    this.syncScheduled = true;
    const run = () => {
      this.syncScheduled = false;
      void this.sync();
    };
    afterWindow(this.lastSync, this.batchWindowMs, run);
  }

  /** One ModifyListView: adds the awaited tasks the view lacks and drops those no longer awaited. */
  private async sync(): Promise<void> {
    if (this.closed || !this.unsynced()) return;
    this.syncing = true;
    let watch: Watch | undefined;
    const add: MoRef[] = [];
    try {
      watch = await this.watchFor();
      const remove: MoRef[] = [];
      for (const [id, ws] of this.waiters) if (!this.inView.has(id)) add.push(ws[0]!.task);
      for (const [id, task] of this.inView) if (!this.waiters.has(id)) remove.push(task);
      if (add.length === 0) return;
      for (const task of add) this.inView.set(task.value, task);
      for (const task of remove) this.inView.delete(task.value);
      this.lastSync = Date.now();
      const unresolved = await this.session.invoke("ModifyListView", watch.view, { add, remove });
      this.syncFailures = 0;
      for (const task of list(unresolved as MoRef | MoRef[] | undefined)) {
        if (!(task instanceof MoRef)) continue;
        this.inView.delete(task.value);
        this.gone(task);
      }
    } catch (err) {
      if (this.closed) return;
      for (const task of add) this.inView.delete(task.value);
      if (watch) this.drop(watch);
      if (++this.syncFailures > 3 || !isWatchRecoverable(err)) {
        this.syncFailures = 0;
        this.rejectAll(err);
      }
    } finally {
      this.syncing = false;
      if (this.unsynced()) this.scheduleSync();
    }
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.waiters.size > 0 && !this.closed) this.start();
    });
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let lastPoll = -Infinity;
    while (this.waiters.size > 0 && !this.closed) {
      let watch: Watch | undefined;
      try {
        watch = await this.watchFor();
        // A new view holds nothing yet: fill it (the poll below reports what enters).
        if (this.unsynced()) this.scheduleSync();
        const spacing = lastPoll + this.batchWindowMs - Date.now();
        if (spacing > 0) await pause(spacing, this.loopAbort.signal);
        if (this.waiters.size === 0 || this.closed) return;
        lastPoll = Date.now();
        const poll = new AbortController();
        this.pollAbort = poll;
        const onClose = () => poll.abort(this.loopAbort.signal.reason);
        this.loopAbort.signal.addEventListener("abort", onClose, { once: true });
        let updates: Record<string, unknown> | undefined;
        try {
          updates = (await this.session.invoke(
            "WaitForUpdatesEx",
            watch.collector,
            {
              version: watch.version,
              options: { $type: "WaitOptions", maxWaitSeconds: this.maxWaitSeconds },
            },
            { signal: poll.signal },
          )) as Record<string, unknown> | undefined;
        } catch (err) {
          if (poll.signal.aborted && !this.closed) continue;
          throw err;
        } finally {
          this.loopAbort.signal.removeEventListener("abort", onClose);
          if (this.pollAbort === poll) this.pollAbort = undefined;
        }
        failures = 0;
        // Replaced meanwhile (a failed modification, a renewed session): its answer is of no use.
        if (this.watch !== watch) continue;
        if (updates) {
          watch.version = String(updates.version ?? watch.version);
          const left = this.apply(updates);
          if (left.length > 0) await this.readDirect(left);
        } else if (Date.now() - this.lastRead >= this.rereadMs) {
          // Nothing reported for a whole poll: check rather than trust that nothing happened.
          await this.readDirect([...this.waiters.values()].map((ws) => ws[0]!.task));
        }
      } catch (err) {
        if (this.closed) return;
        failures++;
        // The collector is gone with its session, or the connection broke: start over with a new
        // collector and view, which report every awaited task's state as it enters.
        if (watch) this.drop(watch);
        if (failures > 3 || !isWatchRecoverable(err)) {
          this.rejectAll(err);
          return;
        }
      }
    }
  }

  /** Applies a poll's updates; returns the awaited tasks that left the view without being removed. */
  private apply(updates: Record<string, unknown>): MoRef[] {
    const left: MoRef[] = [];
    for (const fs of list(updates.filterSet as Record<string, unknown>[] | Record<string, unknown>)) {
      for (const os of list(fs.objectSet as Record<string, unknown>[] | Record<string, unknown>)) {
        const obj = os.obj as MoRef;
        if (!(obj instanceof MoRef)) continue;
        if (os.kind === "leave") {
          // Tasks this waiter removed leave too; an awaited one left because the server dropped it.
          if (this.waiters.has(obj.value) && this.inView.has(obj.value)) {
            this.inView.delete(obj.value);
            left.push(obj);
          }
          continue;
        }
        const props: Record<string, unknown> = {};
        for (const c of list(os.changeSet as Record<string, unknown>[] | Record<string, unknown>)) {
          if (c.op === "remove") continue;
          props[String(c.name)] = c.val;
        }
        this.observe(obj, props);
      }
    }
    return left;
  }

  private observe(task: MoRef, changed: Record<string, unknown>): void {
    // An update carries only what changed: a result may come a poll before the state that ends the task.
    const props = { ...this.partial.get(task.value), ...changed };
    const state = props["info.state"];
    if (state !== "success" && state !== "error") {
      if (this.waiters.has(task.value)) this.partial.set(task.value, props);
      return;
    }
    this.partial.delete(task.value);
    const outcome: TaskOutcome = { state, result: props["info.result"], error: props["info.error"] };
    this.finished.set(task.value, outcome);
    if (this.finished.size > finishedMemory) {
      const oldest = this.finished.keys().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
    const waiters = this.waiters.get(task.value);
    if (!waiters) return;
    this.waiters.delete(task.value);
    for (const w of waiters) {
      w.cleanup();
      settle(outcome, w.task, w.operation, w.target).then(w.resolve, w.reject);
    }
  }

  /** Reads awaited tasks directly, in one call; one still running goes back into the view. */
  private async readDirect(tasks: readonly MoRef[]): Promise<void> {
    this.lastRead = Date.now();
    if (tasks.length === 0) return;
    const found = await this.reader.retrieve(tasks, taskPaths);
    for (const task of tasks) {
      const c = found.get(task.value);
      if (c) this.observe(task, { ...c.props });
      else this.gone(task);
    }
    if (this.unsynced()) this.scheduleSync();
  }

  /** Rejects the waits on a task the server no longer has. */
  private gone(task: MoRef): void {
    const ws = this.waiters.get(task.value) ?? [];
    this.waiters.delete(task.value);
    this.partial.delete(task.value);
    for (const w of ws) {
      w.cleanup();
      w.reject(
        new AbortedError(
          `${w.operation}: task ${task.value} no longer exists on the server; its outcome is unknown`,
        ),
      );
    }
  }

  private rejectAll(err: unknown): void {
    for (const [, ws] of this.waiters) {
      for (const w of ws) {
        w.cleanup();
        w.reject(err);
      }
    }
    this.waiters.clear();
    this.partial.clear();
  }

  /** Stops the loop and rejects every wait. */
  close(reason = "the vSphere client was closed"): void {
    if (this.closed) return;
    this.closed = true;
    this.loopAbort.abort(new AbortedError(reason));
    this.rejectAll(new AbortedError(reason));
  }

  /** Rejects every wait in flight (engine Cancel) but keeps the waiter usable. */
  abortAll(reason: string): void {
    this.rejectAll(new AbortedError(reason));
  }
}

function settle(
  outcome: TaskOutcome,
  task: MoRef,
  operation: string,
  target: MoRef | undefined,
): Promise<unknown> {
  if (outcome.state === "success") return Promise.resolve(outcome.result);
  const fault = faultFromLocalized(outcome.error, operation, target);
  const lmf = (outcome.error ?? {}) as Record<string, unknown>;
  const raw = typeof lmf.localizedMessage === "string" ? lmf.localizedMessage : "";
  const message = raw && !/^\*?types\./.test(raw) ? raw : fault.message.replace(/^[^:]*: /, "");
  return Promise.reject(new TaskError(task, operation, target, fault, message));
}
