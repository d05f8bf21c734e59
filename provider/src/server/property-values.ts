/**
 * Property values between the engine's wire form and the resource layer: secrets
 * are unwrapped on the way in (remembering which top-level properties held one)
 * and re-wrapped on the way out; the unknown sentinel becomes {@link UNKNOWN} and back.
 */
import { UNKNOWN, type PropertyMap } from "../resources/resource";
import { InternalError } from "../resources/errors";

/** Key that marks a special value (secret, resource reference, output value, asset) on the wire. */
export const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
/** Signature of a secret value: `{[SPECIAL_SIG_KEY]: SECRET_SIG, value}`. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** Signature of a resource reference: `{[SPECIAL_SIG_KEY]: RESOURCE_REFERENCE_SIG, urn, id?}`. */
export const RESOURCE_REFERENCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** Signature of an output value: `{[SPECIAL_SIG_KEY]: OUTPUT_VALUE_SIG, value?, secret?, dependencies?}`. */
export const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** The string that stands for an unknown value on the wire. */
export const UNKNOWN_WIRE_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Properties decoded from the wire. */
export interface DecodedProperties {
  /** Plain values: secrets unwrapped, unknowns as {@link UNKNOWN}. */
  readonly values: PropertyMap;
  /** Top-level properties that held a secret anywhere inside. */
  readonly secretKeys: ReadonlySet<string>;
  /** Every string found inside a secret (so logs and errors can redact them). */
  readonly secretStrings: readonly string[];
}

/** Decodes a wire property map (a Struct as JavaScript). */
export function decodeProperties(wire: Record<string, unknown>): DecodedProperties {
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const secretStrings: string[] = [];
  for (const [key, raw] of Object.entries(wire)) {
    let secret = false;
    values[key] = decodeValue(raw, (inner) => {
      secret = true;
      collectStrings(inner, secretStrings);
    });
    if (secret) secretKeys.add(key);
  }
  return { values, secretKeys, secretStrings };
}

/** Decodes one wire value; `onSecret` is called with the inside of each secret met. */
export function decodeValue(raw: unknown, onSecret: (inner: unknown) => void): unknown {
  if (raw === UNKNOWN_WIRE_VALUE) return UNKNOWN;
  if (Array.isArray(raw)) return raw.map((item) => decodeValue(item, onSecret));
  if (raw === null || typeof raw !== "object") return raw;
  const object = raw as Record<string, unknown>;
  const signature = object[SPECIAL_SIG_KEY];
  if (signature === SECRET_SIG) {
    onSecret(object.value);
    return decodeValue(object.value, onSecret);
  }
  if (signature === OUTPUT_VALUE_SIG) {
    if (object.secret === true) onSecret(object.value);
    return "value" in object ? decodeValue(object.value, onSecret) : UNKNOWN;
  }
  if (signature === RESOURCE_REFERENCE_SIG) {
    // A reference stands for the resource's ID (what Bonneville's inputs take), or its URN without one.
    if (typeof object.id === "string" && object.id !== "") return decodeValue(object.id, onSecret);
    return object.urn;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = decodeValue(value, onSecret);
  return out;
}

/** Encodes plain values for the wire, wrapping the given top-level properties as secrets. */
export function encodeProperties(
  values: PropertyMap,
  secretKeys: Iterable<string> = [],
): Record<string, unknown> {
  const secrets = new Set(secretKeys);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const encoded = encodeValue(value, key);
    out[key] = secrets.has(key) ? { [SPECIAL_SIG_KEY]: SECRET_SIG, value: encoded } : encoded;
  }
  return out;
}

/** Encodes one plain value for the wire ({@link UNKNOWN} → the sentinel string). */
export function encodeValue(value: unknown, path: string): unknown {
  if (value === UNKNOWN) return UNKNOWN_WIRE_VALUE;
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map((item, index) => encodeValue(item, `${path}[${index}]`));
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new InternalError(`property ${path} is ${value}; only finite numbers can be sent to the engine`);
    }
    return value;
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item !== undefined) out[key] = encodeValue(item, `${path}.${key}`);
    }
    return out;
  }
  throw new InternalError(
    `property ${path} is a ${typeof value}; only JSON values and UNKNOWN can be sent to the engine`,
  );
}

/** True when a wire property map is empty (an import's Read, a Check without old inputs). */
export function isEmptyProperties(wire: Record<string, unknown>): boolean {
  return Object.keys(wire).length === 0;
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) value.forEach((item) => collectStrings(item, into));
  else if (value !== null && typeof value === "object")
    Object.values(value).forEach((item) => collectStrings(item, into));
}
