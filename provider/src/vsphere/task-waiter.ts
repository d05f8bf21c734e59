/**
 * Waits for tasks. One property collector, one filter (TaskManager.recentTask
 * → each Task's state, result and error) and one WaitForUpdatesEx long poll
 * serve every task the process waits on: a new task costs no extra call. A
 * task the filter did not report within a full poll (it dropped off the recent
 * list) is read directly, all such tasks in one call. No sleeps, no per-task
 * polling.
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
  readonly registeredAt: number;
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

export class TaskWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly finished = new Map<string, TaskOutcome>();
  private collector: MoRef | undefined;
  private collectorGeneration = -1;
  private version = "";
  private round = 0;
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
        registeredAt: this.round,
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
    else this.waiters.delete(id);
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
    await this.session.invoke("CreateFilter", pc, { spec, partialUpdates: false });
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
        const updates = (await this.session.invoke(
          "WaitForUpdatesEx",
          pc,
          { version: this.version, options: { $type: "WaitOptions", maxWaitSeconds: this.maxWaitSeconds } },
          { signal: this.loopAbort.signal },
        )) as Record<string, unknown> | undefined;
        this.round++;
        failures = 0;
        if (updates) {
          this.version = String(updates.version ?? this.version);
          this.apply(updates);
        }
        await this.readOverdue();
      } catch (err) {
        if (this.closed) return;
        failures++;
        // The collector is gone with its session, or the connection broke:
        // start over with a new filter and read what we wait for directly.
        this.collector = undefined;
        if (failures > 3 || !isRetryable(err)) {
          this.rejectAll(err);
          return;
        }
        try {
          await this.readOverdue(true);
        } catch {
          // The next loop turn reports the failure if it persists.
        }
      }
    }
  }

  private apply(updates: Record<string, unknown>): void {
    for (const fs of list(updates.filterSet as Record<string, unknown>[] | Record<string, unknown>)) {
      for (const os of list(fs.objectSet as Record<string, unknown>[] | Record<string, unknown>)) {
        const obj = os.obj as MoRef;
        if (!(obj instanceof MoRef) || os.kind === "leave") continue;
        const props: Record<string, unknown> = {};
        for (const c of list(os.changeSet as Record<string, unknown>[] | Record<string, unknown>)) {
          if (c.op === "remove") continue;
          props[String(c.name)] = c.val;
        }
        this.observe(obj, props);
      }
    }
  }

  private observe(task: MoRef, props: Record<string, unknown>): void {
    const state = props["info.state"];
    if (state !== "success" && state !== "error") return;
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

  /** Reads, in one call, the tasks a full poll did not report (all of them when `all`). */
  private async readOverdue(all = false): Promise<void> {
    const overdue: MoRef[] = [];
    for (const [, ws] of this.waiters) {
      const w = ws[0]!;
      if (all || w.registeredAt <= this.round - 2) overdue.push(w.task);
    }
    if (overdue.length === 0) return;
    const found = await this.reader.retrieve(overdue, taskPaths);
    for (const task of overdue) {
      const c = found.get(task.value);
      if (c) {
        this.observe(task, { ...c.props });
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
