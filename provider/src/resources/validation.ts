/**
 * Input checking for the resources' `check`: every failure names its property
 * path (`env.FOO`, `networks[1]`) and says what is allowed. Unknown values (a
 * preview, before a dependency exists) pass: they are checked when known.
 */
import type { CheckFailure, PropertyMap, ResourceSchema } from "./resource";
import { isUnknown } from "./resource";

/** vSphere's limit on inventory object names. */
export const VSPHERE_NAME_MAX = 80;

/** Collects failures while reading inputs. */
export class InputChecker {
  readonly failures: CheckFailure[] = [];
  /** Properties already failed for characters vSphere cannot carry: one reason each is enough. */
  private readonly unencodable = new Set<string>();

  constructor(private readonly inputs: PropertyMap) {}

  fail(property: string, reason: string): void {
    if (this.unencodable.has(property)) return;
    this.failures.push({ property, reason });
  }

  /** Records failures of properties holding characters vSphere cannot carry (see unencodable-inputs.ts). */
  refuseUnencodable(failures: readonly CheckFailure[]): void {
    for (const f of failures) {
      this.failures.push(f);
      this.unencodable.add(f.property);
    }
  }

  /** Rejects keys the schema does not define (typos would otherwise be ignored silently). */
  noUnknownKeys(schema: ResourceSchema, given: PropertyMap): void {
    const allowed = Object.keys(schema.inputProperties);
    for (const key of Object.keys(given)) {
      if (key.startsWith("__")) continue; // engine bookkeeping (e.g. __defaults)
      if (!allowed.includes(key)) {
        this.fail(key, `is not a property of this resource; the properties are ${allowed.join(", ")}`);
      }
    }
  }

  /** True when the property is present and known (so it can be checked). */
  has(property: string): boolean {
    const value = this.inputs[property];
    return value !== undefined && value !== null && !isUnknown(value);
  }

  /** A required property that is missing or empty. */
  required(property: string, what: string): void {
    const value = this.inputs[property];
    if (value === undefined || value === null || value === "") {
      this.fail(property, `is required: ${what}`);
    }
  }

  string(property: string, check?: (value: string) => string | undefined): string | undefined {
    const value = this.inputs[property];
    if (value === undefined || value === null || isUnknown(value)) return undefined;
    if (typeof value !== "string") {
      this.fail(property, `must be a string, not ${describe(value)}`);
      return undefined;
    }
    const problem = check?.(value);
    if (problem) this.fail(property, problem);
    return value;
  }

  boolean(property: string): boolean | undefined {
    const value = this.inputs[property];
    if (value === undefined || value === null || isUnknown(value)) return undefined;
    if (typeof value !== "boolean") {
      this.fail(property, `must be true or false, not ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  integer(property: string, min: number, max: number, unit = ""): number | undefined {
    const value = this.inputs[property];
    if (value === undefined || value === null || isUnknown(value)) return undefined;
    const range = `${min}..${max}${unit ? ` ${unit}` : ""}`;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.fail(property, `must be a whole number in ${range}, not ${describe(value)}`);
      return undefined;
    }
    if (value < min || value > max) {
      this.fail(property, `must be in ${range}, not ${value}`);
      return undefined;
    }
    return value;
  }

  oneOf(property: string, allowed: readonly string[]): string | undefined {
    return this.string(property, (v) =>
      allowed.includes(v)
        ? undefined
        : `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, not "${v}"`,
    );
  }

  /** A list of strings; `item` checks each (path `property[i]`). */
  stringList(
    property: string,
    item?: (value: string) => string | undefined,
    options: { nonEmpty?: boolean; max?: number } = {},
  ): (string | undefined)[] | undefined {
    const value = this.inputs[property];
    if (value === undefined || value === null || isUnknown(value)) return undefined;
    if (!Array.isArray(value)) {
      this.fail(property, `must be a list of strings, not ${describe(value)}`);
      return undefined;
    }
    if (options.nonEmpty && value.length === 0) this.fail(property, "must not be an empty list");
    if (options.max !== undefined && value.length > options.max) {
      this.fail(property, `has ${value.length} entries; at most ${options.max} are allowed`);
    }
    return value.map((entry, i) => {
      if (isUnknown(entry)) return undefined;
      if (typeof entry !== "string") {
        this.fail(`${property}[${i}]`, `must be a string, not ${describe(entry)}`);
        return undefined;
      }
      const problem = item?.(entry);
      if (problem) this.fail(`${property}[${i}]`, problem);
      return entry;
    });
  }

  /** A map of string to string; `key` and `val` check entries (path `property.KEY`). */
  stringMap(
    property: string,
    key?: (k: string) => string | undefined,
    val?: (v: string, k: string) => string | undefined,
  ): Record<string, unknown> | undefined {
    const value = this.inputs[property];
    if (value === undefined || value === null || isUnknown(value)) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      this.fail(property, `must be a map of strings, not ${describe(value)}`);
      return undefined;
    }
    const map = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(map)) {
      const path = `${property}.${k}`;
      const keyProblem = key?.(k);
      if (keyProblem) this.fail(path, keyProblem);
      if (isUnknown(v)) continue;
      if (typeof v !== "string") {
        this.fail(path, `must be a string, not ${describe(v)}`);
        continue;
      }
      const valueProblem = val?.(v, k);
      if (valueProblem) this.fail(path, valueProblem);
    }
    return map;
  }
}

/** Describes a value's type for an error message (never its content, which may be secret). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return "a string";
  if (typeof value === "number")
    return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  return `a ${typeof value}`;
}

/**
 * A vSphere inventory name: 1..80 characters, no control characters, and none
 * of `/ \ %` (vSphere escapes them, so the name would not read back as given).
 */
export function vsphereName(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > VSPHERE_NAME_MAX) {
    return `is ${value.length} characters long; vSphere allows at most ${VSPHERE_NAME_MAX}`;
  }
  if (hasControlCharacters(value)) return "must not contain control characters";
  if (/[/\\%]/.test(value)) return `must not contain "/", "\\" or "%" (got "${value}")`;
  if (value.trim() !== value) return "must not start or end with spaces";
  return undefined;
}

/**
 * A container name, as Docker allows them and usable as a guest hostname
 * stem: a letter or digit, then letters, digits, `_`, `.`, `-`; at most 63
 * characters (the DNS label limit, since the guest takes it as its hostname).
 */
export function containerName(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 63)
    return `is ${value.length} characters long; at most 63 are allowed (it becomes the guest's hostname)`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value)) {
    return `"${value}" is not a valid container name: use letters, digits, "_", "." and "-", starting with a letter or digit`;
  }
  return undefined;
}

/** An inventory path or managed object ID: not empty, no surrounding spaces. */
export function inventoryReference(value: string): string | undefined {
  if (value.trim().length === 0)
    return "must name a vSphere object (an inventory path or a managed object ID)";
  if (value.trim() !== value) return `must not start or end with spaces (got "${value}")`;
  return undefined;
}

const referenceComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const referenceDomain =
  "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?";
const referencePattern = new RegExp(
  `^(?:(?:${referenceDomain})/)?${referenceComponent}(?:/${referenceComponent})*` +
    "(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);

/** An OCI image reference: `[registry[:port]/]repository[:tag][@digest]`, repository in lower case. */
export function imageReference(value: string): string | undefined {
  if (value.length === 0) return "must not be empty: name the image, e.g. nginx:1.27";
  if (value.length > 255) return `is ${value.length} characters long; an image reference has at most 255`;
  if (!referencePattern.test(value)) {
    return `"${value}" is not a valid image reference: expected [registry/]repository[:tag][@sha256:digest] with a lower-case repository, e.g. nginx:1.27`;
  }
  return undefined;
}

/** An environment variable name (POSIX): letters, digits and `_`, not starting with a digit. */
export function envName(value: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    return `"${value}" is not a valid environment variable name: use letters, digits and "_", not starting with a digit`;
  }
  return undefined;
}

/** A label key: not empty, at most 255 characters, printable without spaces. */
export function labelKey(value: string): string | undefined {
  if (value.length === 0) return "label keys must not be empty";
  if (value.length > 255) return `label key is ${value.length} characters long; at most 255 are allowed`;
  if (/\s/.test(value) || hasControlCharacters(value))
    return `label key "${value}" must not contain spaces or control characters`;
  return undefined;
}

/** A guestinfo or extra-config key: printable, no spaces, not one Bonneville owns. */
export function extraConfigKey(value: string): string | undefined {
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) {
    return `"${value}" is not a valid extra config key: use letters, digits, ".", "_", ":" and "-"`;
  }
  if (value.startsWith("bonneville.") || value.startsWith("guestinfo.bonneville.")) {
    return `"${value}" is reserved: Bonneville writes the bonneville.* and guestinfo.bonneville.* keys itself`;
  }
  return undefined;
}

function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
