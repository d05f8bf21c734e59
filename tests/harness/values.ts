/** Wire-form values as the engine sends and stores them: secrets, unknowns, and how to read them. */
import { SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN_WIRE_VALUE } from "../../provider/src/server/property-values";

export { SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN_WIRE_VALUE };

/** A value in the engine's wire form (JSON, with secret objects and the unknown sentinel). */
export type WireValue = unknown;
/** A property map in wire form. */
export type WireProperties = Record<string, WireValue>;

/** A secret as the engine sends it: `{[sig]: secretSig, value}`. */
export interface WireSecret {
  readonly [SPECIAL_SIG_KEY]: typeof SECRET_SIG;
  readonly value: WireValue;
}

/** Wraps a value as a secret, as the engine does for `pulumi.secret(...)` and secret config. */
export function secret(value: WireValue): WireSecret {
  return { [SPECIAL_SIG_KEY]: SECRET_SIG, value } as WireSecret;
}

/** True for a secret-wrapped wire value. */
export function isSecret(value: WireValue): value is WireSecret {
  return (
    value !== null &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SPECIAL_SIG_KEY] === SECRET_SIG
  );
}

/** The unknown sentinel (a value not known during a preview). */
export const unknown = UNKNOWN_WIRE_VALUE;

/** True when the value is the unknown sentinel. */
export function isUnknown(value: WireValue): boolean {
  return value === UNKNOWN_WIRE_VALUE;
}

/** The value with every secret unwrapped (what a program sees after `.apply`). */
export function reveal<T = unknown>(value: WireValue): T {
  if (isSecret(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map((item) => reveal(item)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = reveal(item);
    return out as T;
  }
  return value as T;
}

/** True when a secret occurs anywhere inside the value. */
export function containsSecret(value: WireValue): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsSecret);
  return false;
}
