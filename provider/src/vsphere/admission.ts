/**
 * Admission control for vSphere tasks: the process never has more than a bounded number of tasks
 * in flight (started and not yet ended) on its vCenter, nor on one ESXi host; a task beyond either
 * bound waits here, in the order it asked, and starts as soon as both bounds allow. A `pulumi up`
 * of a thousand containers therefore hands vCenter a steady stream, not a flood.
 *
 * Why bounds at all: vCenter runs about 640 operations at once and queues the rest (VMware
 * performance blog "vCenter Limits for Tasks Running at the Same Time", 2021), and each host runs
 * at most 8 provisioning operations at once, queuing more ("Limits on Simultaneous Migrations",
 * vCenter Server and Host Management 6.5/6.7). A client that starts more than that gains nothing
 * (the extra tasks only wait in vCenter's queue) and takes vCenter's capacity from everyone else.
 */
import { AbortedError } from "./faults";

/** Bounds on tasks in flight. */
export interface AdmissionLimits {
  /** Tasks in flight on the vCenter at once, all hosts together. */
  readonly perVCenter: number;
  /** Tasks in flight on one ESXi host at once (tasks whose host is known). */
  readonly perHost: number;
}

/**
 * The defaults, chosen from the vCenter timing model (sim/overlay/bonneville_timing.go):
 * - `perHost` 16: twice the 8 provisioning operations a host runs at once. Eight run; eight more
 *   wait in vCenter's own queue, so when a clone ends its slot is taken at once by the next one
 *   instead of waiting for this process to notice the end and start another (a round trip that
 *   would leave the slot idle).
 * - `perVCenter` 320: half of the about 640 operations vCenter runs at once, so that this process
 *   never makes vCenter queue on its own and leaves the other half to other clients (the vSphere
 *   Client, backups, DRS). It saturates 40 hosts at 8 provisioning operations each.
 */
export const defaultAdmissionLimits: AdmissionLimits = { perVCenter: 320, perHost: 16 };

interface Pending {
  readonly host: string | undefined;
  readonly admit: () => void;
}

/** A releaser: call it once when the task has ended (or failed to start). */
export type AdmissionRelease = () => void;

/** Counts tasks in flight and queues the rest in arrival order. */
export class TaskAdmission {
  readonly limits: AdmissionLimits;
  private inFlight = 0;
  private readonly perHost = new Map<string, number>();
  private readonly queue: Pending[] = [];
  private peakInFlight = 0;
  private readonly peakPerHost = new Map<string, number>();

  constructor(limits: Partial<AdmissionLimits> = {}) {
    this.limits = { ...defaultAdmissionLimits, ...limits };
    for (const [key, value] of Object.entries(this.limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`admission limit ${key} must be a whole number of at least 1, got ${value}`);
      }
    }
  }

  /**
   * Waits until a task on `host` (a host's managed object ID, or undefined when not known) may
   * start, and counts it as in flight. Tasks are admitted in the order they asked, except that a
   * task held back only by its own host's bound does not hold back tasks for other hosts.
   * Rejects with an AbortedError ("`operation` was not sent: <the signal's reason>") if `signal`
   * has aborted or aborts while waiting.
   */
  admit(host: string | undefined, signal?: AbortSignal, operation = "the task"): Promise<AdmissionRelease> {
    if (signal?.aborted) return Promise.reject(abortError(signal, operation));
    // After every release the queue is drained, so nothing waiting fits now: a task that fits
    // takes no one's turn.
    if (this.fits(host)) return Promise.resolve(this.take(host));
    return new Promise<AdmissionRelease>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(pending);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortError(signal!, operation));
      };
      const pending: Pending = {
        host,
        admit: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.take(host));
        },
      };
      this.queue.push(pending);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Tasks in flight now, waiting now, and the most in flight at once so far (overall and per host). */
  stats(): {
    inFlight: number;
    waiting: number;
    peakInFlight: number;
    peakPerHost: ReadonlyMap<string, number>;
  } {
    return {
      inFlight: this.inFlight,
      waiting: this.queue.length,
      peakInFlight: this.peakInFlight,
      peakPerHost: new Map(this.peakPerHost),
    };
  }

  private fits(host: string | undefined): boolean {
    if (this.inFlight >= this.limits.perVCenter) return false;
    return host === undefined || (this.perHost.get(host) ?? 0) < this.limits.perHost;
  }

  private take(host: string | undefined): AdmissionRelease {
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    if (host !== undefined) {
      const n = (this.perHost.get(host) ?? 0) + 1;
      this.perHost.set(host, n);
      this.peakPerHost.set(host, Math.max(this.peakPerHost.get(host) ?? 0, n));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      if (host !== undefined) {
        const n = (this.perHost.get(host) ?? 1) - 1;
        if (n === 0) this.perHost.delete(host);
        else this.perHost.set(host, n);
      }
      this.drain();
    };
  }

  /** Admits waiting tasks, first come first served, while the bounds allow. */
  private drain(): void {
    for (let i = 0; i < this.queue.length && this.inFlight < this.limits.perVCenter;) {
      const pending = this.queue[i]!;
      if (this.fits(pending.host)) {
        this.queue.splice(i, 1);
        pending.admit();
      } else {
        i++;
      }
    }
  }
}

function abortError(signal: AbortSignal, operation: string): Error {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "aborted";
  return new AbortedError(`${operation} was not sent: ${why}`, { cause: reason });
}
