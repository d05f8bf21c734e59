/**
 * Inputs that vSphere cannot be sent: any string (a name, an inventory path, an extra config value,
 * an image, an env value, a label, a map key) holding a character XML 1.0 cannot carry fails Check
 * with its property path, instead of failing at create (vCenter answers such a request with
 * `InvalidRequest`; the SOAP encoder refuses it as a last line).
 */
import { describeUnencodable, firstUnencodableCharacter } from "../vsphere";
import type { CheckFailure, PropertyMap } from "./resource";

/** One failure per property path (`env.FOO`, `command[1]`) whose string holds such a character. */
export function unencodableInputs(inputs: PropertyMap): CheckFailure[] {
  const failures: CheckFailure[] = [];
  for (const [key, value] of Object.entries(inputs)) {
    if (key.startsWith("__")) continue; // engine bookkeeping
    scan(value, key, failures);
  }
  return failures;
}

function scan(value: unknown, path: string, failures: CheckFailure[]): void {
  if (typeof value === "string") {
    const found = firstUnencodableCharacter(value);
    if (found) failures.push({ property: path, reason: describeUnencodable(found) });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => scan(item, `${path}[${i}]`, failures));
    return;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const found = firstUnencodableCharacter(k);
      if (found) {
        failures.push({
          property: `${path}.${JSON.stringify(k)}`,
          reason: `has a key that ${describeUnencodable(found)}`,
        });
        continue;
      }
      scan(v, `${path}.${k}`, failures);
    }
  }
}
