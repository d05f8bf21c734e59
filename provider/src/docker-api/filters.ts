/**
 * Docker's `filters` query parameter: JSON of filter name to values, either
 * `{"label": {"app=web": true}}` (current clients) or `{"label": ["app=web"]}`
 * (older ones). A filter this endpoint does not know is a 400 naming the ones it does.
 */
import { badRequest } from "./errors";

/** Filter name → its values. */
export type Filters = ReadonlyMap<string, readonly string[]>;

/** Parses `filters`, accepting only the names in `allowed`. */
export function parseFilters(raw: string | null, allowed: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  if (raw === null || raw.trim() === "") return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(
      `filters=${JSON.stringify(raw)} is not valid JSON; expected e.g. {"label":{"app=web":true}}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badRequest(`filters must be a JSON object of filter name to values; got ${JSON.stringify(parsed)}`);
  }
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(name)) {
      throw badRequest(`invalid filter '${name}': this endpoint supports ${allowed.join(", ")}`);
    }
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (value && typeof value === "object") {
      values = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    } else
      throw badRequest(
        `filter '${name}' must be a list or an object of values; got ${JSON.stringify(value)}`,
      );
    out.set(name, values);
  }
  return out;
}

/**
 * Docker's label filter: `key` matches when the label is present, `key=value` when it has that
 * value; every given label must match.
 */
export function labelsMatch(wanted: readonly string[], labels: Readonly<Record<string, string>>): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf("=");
    if (eq < 0) return Object.prototype.hasOwnProperty.call(labels, w);
    const key = w.slice(0, eq);
    return Object.prototype.hasOwnProperty.call(labels, key) && labels[key] === w.slice(eq + 1);
  });
}

/** Docker's name filter: a regular expression searched in the name (a leading `/` is optional). */
export function nameMatches(wanted: readonly string[], name: string): boolean {
  return wanted.some((w) => {
    let pattern: RegExp;
    try {
      pattern = new RegExp(w);
    } catch {
      throw badRequest(`filter name=${JSON.stringify(w)} is not a valid regular expression`);
    }
    return pattern.test(`/${name}`) || pattern.test(name);
  });
}
