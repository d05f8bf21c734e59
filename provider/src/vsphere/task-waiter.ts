/**
 * Waits for tasks. One property collector, one filter (TaskManager.recentTask
 * → each Task's state, result and error) and one WaitForUpdatesEx long poll
 * serve every task the process waits on: a new task costs no extra call.
 * vCenter keeps only the latest 200 tasks in recentTask, so a burst of more
 * can push a task off the list before the filter reported it (even before the
 * call that started it has answered), or while it runs. So a waited-for task
 * that a poll sent after the wait began did not report, or that left the
 * list, is read directly (all such tasks in one call) as soon as that poll
 * returns; and while any waited-for task is not (or no longer) reported by the
 * filter, polls wait at most a second, so its end is never missed by a full
 * long poll. No sleeps, no per-task polling.
 */
import { AbortedError, TaskError, isVimFault, TransportError } from "./faults";
import { faultFromLocalized, type PropertyReader } from "./property-collector";
import type { Session } from "./session";
import { list, type DataObject } from "./soap/xml";
import { MoRef } from "./types";

/** What a finished task reported. */
interface TaskOutcome {
  readonly state: "success" | "error";
  readonly result?: unknown;
  readonly error?: unknown;
  readonly entity?: MoRef;
  readonly name?: string;
}

interface Waiter {
  readonly task: MoRef;
  readonly operation: string;
  readonly target: MoRef | undefined;
  /** Registration order: a poll sent after it (a higher {@link TaskWaiter.sequence}) can report the task. */
  readonly sequence: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: unknown) => void;
  readonly cleanup: () => void;
}

/** Options of one wait. */
export interface WaitOptions {
  readonly signal?: AbortSignal;
  /** The operation, for messages (`InstantClone_Task`). */
  readonly operation?: string;
  /** The object the task works on, for messages. */
  readonly target?: MoRef;
}

const taskPaths = ["info.state", "info.result", "info.error"];
/** Finished tasks remembered for waits that start after the update arrived. */
const finishedMemory = 4096;
/** Tasks the filter reported (in any state) remembered, for waits that start after the report. */
const seenMemory = 4096;
/** Longest poll, seconds, while a waited-for task is one the filter has not reported. */
const unobservedPollSeconds = 1;

export class TaskWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly finished = new Map<string, TaskOutcome>();
  /** What the filter reported so far of awaited tasks that have not ended. */
  private readonly partial = new Map<string, Record<string, unknown>>();
  /** Tasks the filter has reported (entered, or changed) and not reported leaving. */
  private readonly seen = new Set<string>();
  /** Waited-for tasks read directly and found still running: the filter no longer sees them. */
  private readonly unobserved = new Set<string>();
  private sequence = 0;
  private collector: MoRef | undefined;
  private collectorGeneration = -1;
  private version = "";
  private running = false;
  private readonly loopAbort = new AbortController();
  private closed = false;

  constructor(
    private readonly session: Session,
    private readonly reader: PropertyReader,
    /** Longest a single poll waits on the server, seconds. */
    private readonly maxWaitSeconds = 20,
  ) {}

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
        sequence: ++this.sequence,
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
      this.unobserved.delete(id);
      this.partial.delete(id);
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

  private async ensureFilter(): Promise<MoRef> {
    if (this.collector && this.collectorGeneration === this.session.generation) return this.collector;
    const content = await this.session.serviceContent();
    // A session is needed before creating objects in it; CreatePropertyCollector logs in if required.
    const pc = (await this.session.invoke("CreatePropertyCollector", content.propertyCollector, {})) as MoRef;
    const spec: DataObject = {
      $type: "PropertyFilterSpec",
      propSet: [{ $type: "PropertySpec", type: "Task", all: false, pathSet: taskPaths }],
      objectSet: [
        {
          $type: "ObjectSpec",
          obj: content.taskManager,
          skip: true,
          selectSet: [
            {
              $type: "TraversalSpec",
              name: "recentTask",
              type: "TaskManager",
              path: "recentTask",
              skip: false,
            },
          ],
        },
      ],
    };
    try {
      await this.session.invoke("CreateFilter", pc, { spec, partialUpdates: false });
    } catch (error) {
      await this.session.invoke("DestroyPropertyCollector", pc, {}).catch(() => undefined);
      throw error;
    }
    this.collector = pc;
    this.collectorGeneration = this.session.generation;
    this.version = "";
    return pc;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.waiters.size > 0 && !this.closed) {
      try {
        const pc = await this.ensureFilter();
        const sentAfter = this.sequence;
        const maxWaitSeconds = this.anyUnreported() ? unobservedPollSeconds : this.maxWaitSeconds;
        const updates = (await this.session.invoke(
          "WaitForUpdatesEx",
          pc,
          { version: this.version, options: { $type: "WaitOptions", maxWaitSeconds } },
          { signal: this.loopAbort.signal },
        )) as Record<string, unknown> | undefined;
        failures = 0;
        let left: string[] = [];
        if (updates) {
          this.version = String(updates.version ?? this.version);
          left = this.apply(updates);
        }
        await this.readOverdue(sentAfter, left);
      } catch (err) {
        if (this.closed) return;
        failures++;
        // The collector is gone with its session, or the connection broke:
        // start over with a new filter and read what we wait for directly. A collector of
        // the same session still exists on the server: destroy it rather than leave it polling.
        const stale = this.collector;
        if (stale && this.collectorGeneration === this.session.generation) {
          void this.session.invoke("DestroyPropertyCollector", stale, {}).catch(() => undefined);
        }
        this.collector = undefined;
        if (failures > 3 || !isRetryable(err)) {
          this.rejectAll(err);
          return;
        }
        try {
          await this.readOverdue(0, [], true);
        } catch {
          // The next loop turn reports the failure if it persists.
        }
      }
    }
  }

  /** Applies a poll's updates; returns the tasks that left the filter (off the recent list). */
  private apply(updates: Record<string, unknown>): string[] {
    const left: string[] = [];
    for (const fs of list(updates.filterSet as Record<string, unknown>[] | Record<string, unknown>)) {
      for (const os of list(fs.objectSet as Record<string, unknown>[] | Record<string, unknown>)) {
        const obj = os.obj as MoRef;
        if (!(obj instanceof MoRef)) continue;
        if (os.kind === "leave") {
          this.seen.delete(obj.value);
          left.push(obj.value);
          continue;
        }
        this.remember(obj.value);
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

  /** True when some waited-for task is not (or no longer) one the filter reports. */
  private anyUnreported(): boolean {
    if (this.unobserved.size > 0) return true;
    for (const id of this.waiters.keys()) if (!this.seen.has(id)) return true;
    return false;
  }

  private remember(task: string): void {
    this.unobserved.delete(task);
    this.seen.delete(task);
    this.seen.add(task);
    if (this.seen.size > seenMemory) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
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
    this.unobserved.delete(task.value);
    const waiters = this.waiters.get(task.value);
    if (!waiters) return;
    this.waiters.delete(task.value);
    for (const w of waiters) {
      w.cleanup();
      settle(outcome, w.task, w.operation, w.target).then(w.resolve, w.reject);
    }
  }

  /**
   * Reads, in one call, the waited-for tasks the filter cannot report: those that a poll sent after
   * their wait began (`sentAfter`) did not mention, and those that `left` the filter; all of them when
   * `all` (after a failed poll).
   */
  private async readOverdue(sentAfter = 0, left: readonly string[] = [], all = false): Promise<void> {
    const overdue: MoRef[] = [];
    const gone = new Set(left);
    for (const [id, ws] of this.waiters) {
      const w = ws[0]!;
      const unreported = w.sequence <= sentAfter && !this.seen.has(id);
      if (all || gone.has(id) || unreported) overdue.push(w.task);
    }
    if (overdue.length === 0) return;
    const found = await this.reader.retrieve(overdue, taskPaths);
    for (const task of overdue) {
      const c = found.get(task.value);
      if (c) {
        this.observe(task, { ...c.props });
        // Still running where no poll reports it: keep polls short until it ends.
        if (this.waiters.has(task.value)) this.unobserved.add(task.value);
        continue;
      }
      const ws = this.waiters.get(task.value) ?? [];
      this.waiters.delete(task.value);
      for (const w of ws) {
        w.cleanup();
        w.reject(
          new AbortedError(
            `${w.operation}: task ${task.value} no longer exists on the server; its outcome is unknown`,
          ),
        );
      }
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
    this.unobserved.clear();
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

function isRetryable(err: unknown): boolean {
  return (
    err instanceof TransportError ||
    isVimFault(err, "ManagedObjectNotFound") ||
    isVimFault(err, "NotAuthenticated") ||
    isVimFault(err, "InvalidCollectorVersion") ||
    isVimFault(err, "RequestCanceled")
  );
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
