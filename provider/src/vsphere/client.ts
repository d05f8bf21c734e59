/**
 * VSphereClient: one session, one property reader and one task waiter per
 * process, and the object wrappers built on them. Knows nothing of Pulumi.
 */
import { TaskWaiter, type WaitOptions } from "./task-waiter";
import { PropertyReader } from "./property-collector";
import { PropertyWaiter } from "./property-waiter";
import { Session, type ServiceContent } from "./session";
import type { CallOptions } from "./soap/client";
import { SoapTransport } from "./soap/transport";
import type { CallCounter } from "./soap/call-counter";
import { list, type DataObject } from "./soap/xml";
import { MoRef } from "./types";
import { VSphereError } from "./faults";
import { sdkUrl } from "./sdk-url";
import { Finder } from "./objects/finder";
import { TaskAdmission, type AdmissionLimits } from "./admission";

/** How to reach and trust vCenter. */
export interface VSphereConnectionOptions {
  /** SDK endpoint: `https://vcenter.example.com/sdk`, or a bare `host[:port]` (gets `https://` and `/sdk`). */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** Accept any certificate (self-signed labs). Default false: certificates are verified. */
  readonly allowUnverifiedSsl?: boolean;
  /** Accept exactly the certificate with this SHA-256 fingerprint (hex, colons optional). */
  readonly thumbprint?: string;
  /** Longest single task-wait poll, seconds. Default 20. */
  readonly maxWaitSeconds?: number;
  /**
   * While tasks are awaited, a poll that reports nothing this long after the last direct read of
   * them reads them directly (vCenter can miss notifications), seconds. Default 60.
   */
  readonly taskRereadSeconds?: number;
  /** Longest silence on one call before it fails as unreachable, seconds. Default 300. */
  readonly requestTimeoutSeconds?: number;
  /** Bounds on tasks in flight (see {@link defaultAdmissionLimits}). */
  readonly admission?: Partial<AdmissionLimits>;
}

/** Options of a task: a call's, and the ESXi host it runs on when known (for admission control). */
export interface TaskOptions extends CallOptions {
  readonly host?: MoRef;
}

export class VSphereClient {
  readonly session: Session;
  readonly properties: PropertyReader;
  readonly tasks: TaskWaiter;
  /** Long waits on object properties (guest readiness, IP). */
  readonly waits: PropertyWaiter;
  readonly find: Finder;
  readonly url: URL;
  /** Bounds the tasks this client has in flight, per vCenter and per host. */
  readonly admission: TaskAdmission;

  constructor(options: VSphereConnectionOptions) {
    this.url = sdkUrl(options.url);
    const transport = new SoapTransport({
      url: this.url,
      ...(options.allowUnverifiedSsl !== undefined ? { allowUnverifiedSsl: options.allowUnverifiedSsl } : {}),
      ...(options.thumbprint ? { thumbprint: options.thumbprint } : {}),
      ...(options.requestTimeoutSeconds ? { requestTimeoutMs: options.requestTimeoutSeconds * 1000 } : {}),
    });
    this.session = new Session(transport, { user: options.user, password: options.password });
    this.properties = new PropertyReader(this.session);
    this.tasks = new TaskWaiter(this.session, this.properties, {
      ...(options.maxWaitSeconds !== undefined ? { maxWaitSeconds: options.maxWaitSeconds } : {}),
      ...(options.taskRereadSeconds !== undefined ? { rereadSeconds: options.taskRereadSeconds } : {}),
    });
    this.waits = new PropertyWaiter(this.session);
    this.find = new Finder(this);
    this.admission = new TaskAdmission(options.admission);
  }

  /** SOAP calls made so far, by method. */
  get calls(): CallCounter {
    return this.session.transport.calls;
  }

  serviceContent(options?: CallOptions): Promise<ServiceContent> {
    return this.session.serviceContent(options);
  }

  /** Calls a vim25 method in the session (arguments in wire order). */
  invoke(method: string, target: MoRef, args: DataObject = {}, options: CallOptions = {}): Promise<unknown> {
    return this.session.invoke(method, target, args, options);
  }

  /** Starts a `*_Task` method and returns the Task reference (does not wait). */
  async startTask(
    method: string,
    target: MoRef,
    args: DataObject = {},
    options: CallOptions = {},
  ): Promise<MoRef> {
    const task = await this.invoke(method, target, args, options);
    if (!(task instanceof MoRef)) {
      throw new VSphereError(`${method} on ${target.value} returned no task`);
    }
    return task;
  }

  /** Waits for a task through the shared waiter; resolves with its result. */
  waitForTask(task: MoRef, options: WaitOptions = {}): Promise<unknown> {
    return this.tasks.wait(task, options);
  }

  /**
   * Starts a `*_Task` method and waits for it. The task first waits its turn under the client's
   * admission bounds (in order of asking), and counts against them until it has ended.
   */
  async runTask(
    method: string,
    target: MoRef,
    args: DataObject = {},
    options: TaskOptions = {},
  ): Promise<unknown> {
    const { host, ...call } = options;
    const release = await this.admission.admit(host?.value, call.signal, method);
    try {
      const task = await this.startTask(method, target, args, call);
      const result = await this.waitForTask(task, {
        operation: method,
        target,
        ...(call.signal ? { signal: call.signal } : {}),
      });
      if (method === "Destroy_Task") this.waits.deleted(target);
      return result;
    } finally {
      release();
    }
  }

  /**
   * Tasks of one kind (its method, `InstantClone_Task`, as TaskInfo.name, or its descriptionId,
   * `VirtualMachine.instantClone`) that this session's user started and that are queued or running
   * now, from TaskManager.recentTask: work an earlier, interrupted process of the same account may
   * have left in flight.
   */
  async unfinishedTasksOfUser(
    kind: { readonly method: string; readonly descriptionId: string },
    options: CallOptions = {},
  ): Promise<MoRef[]> {
    const content = await this.serviceContent(options);
    const [manager, session] = await Promise.all([
      this.properties.retrieveOne(content.taskManager, ["recentTask"]),
      this.properties.retrieveOne(content.sessionManager, ["currentSession"]),
    ]);
    const recent = list(manager?.props.recentTask as MoRef | MoRef[] | undefined).filter(
      (ref): ref is MoRef => ref instanceof MoRef,
    );
    const user = (session?.props.currentSession as { userName?: unknown } | undefined)?.userName;
    if (recent.length === 0 || typeof user !== "string") return [];
    const infos = await this.properties.retrieve(
      recent,
      ["info.name", "info.descriptionId", "info.state", "info.reason"],
      options,
    );
    const unfinished: MoRef[] = [];
    for (const { obj, props } of infos.values()) {
      const state = props["info.state"];
      const reason = props["info.reason"] as { userName?: unknown } | undefined;
      if (
        (props["info.name"] === kind.method || props["info.descriptionId"] === kind.descriptionId) &&
        (state === "queued" || state === "running") &&
        typeof reason?.userName === "string" &&
        reason.userName.toLowerCase() === user.toLowerCase()
      ) {
        unfinished.push(obj);
      }
    }
    return unfinished;
  }

  /** Rejects every task wait in flight (the client stays usable). */
  abortAll(reason = "cancelled"): void {
    this.tasks.abortAll(reason);
  }

  /** Stops waiting, logs out and closes connections; `signal` bounds the logout (see Session.close). */
  async close(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    this.tasks.close();
    this.waits.close();
    await this.session.close(options);
  }
}
