/**
 * In-flight operations and their AbortSignals: each operation's signal aborts when the
 * engine cancels (Cancel RPC, shutdown) or when the operation's own timeout passes.
 */
import { OperationCancelledError, OperationTimeoutError } from "./errors";

/** One running operation. */
export interface Operation {
  /** Aborted on cancel or timeout; the reason is an {@link OperationCancelledError} or {@link OperationTimeoutError}. */
  readonly signal: AbortSignal;
  /** Ends the operation (clears its timer); call exactly once, in `finally`. */
  done(): void;
}

/** Tracks the operations in flight so that Cancel reaches every one. */
export class OperationTracker {
  private readonly running = new Set<AbortController>();
  private cancelReason: OperationCancelledError | undefined;

  /** True once {@link cancelAll} ran; later operations start aborted. */
  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  /** The number of operations in flight. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Starts an operation. `timeoutSeconds` is the engine's `timeout` field: 0 (or less) means none.
   */
  begin(operation: string, urn: string, timeoutSeconds: number): Operation {
    const controller = new AbortController();
    if (this.cancelReason) controller.abort(this.cancelReason);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutSeconds > 0 && !controller.signal.aborted) {
      timer = setTimeout(
        () => controller.abort(new OperationTimeoutError(operation, urn, timeoutSeconds)),
        timeoutSeconds * 1000,
      );
    }
    this.running.add(controller);
    return {
      signal: controller.signal,
      done: () => {
        if (timer) clearTimeout(timer);
        this.running.delete(controller);
      },
    };
  }

  /** Aborts every operation in flight, and every later one. */
  cancelAll(message: string): void {
    this.cancelReason ??= new OperationCancelledError(message);
    for (const controller of this.running) controller.abort(this.cancelReason);
  }
}
