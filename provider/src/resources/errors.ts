/** Errors the resource layer raises, for the adapters to map onto the engine's protocol. */
import type { PropertyMap, CheckFailure } from "./resource";

/** Base of every error Bonneville raises on purpose. */
export class BonnevilleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Inputs or configuration that cannot be used; lists each failure with its property. */
export class ValidationError extends BonnevilleError {
  constructor(readonly failures: readonly CheckFailure[]) {
    super(failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
  }
}

/**
 * The object was created but did not finish initialising (power on, readiness
 * wait, reconfigure). The engine records it under `id` with `outputs`, so a
 * later `up` can retry or delete it: nothing leaks.
 */
export class ResourceInitError extends BonnevilleError {
  constructor(
    readonly id: string,
    readonly outputs: PropertyMap,
    readonly reasons: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(reasons.join("; "), options);
  }
}

/** A ContainerHost still holds VMs and `forceDestroy` is not set (or the VMs are not Bonneville's). */
export class HostNotEmptyError extends BonnevilleError {}

/** A wait (parent readiness, guest IP) ran past its timeout. */
export class WaitTimeoutError extends BonnevilleError {}

/** Something that should not happen: a bug in Bonneville. */
export class InternalError extends BonnevilleError {}
