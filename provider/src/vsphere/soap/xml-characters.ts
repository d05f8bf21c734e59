import { VSphereError } from "../faults";

/**
 * The characters a vim25 request can carry. SOAP is XML 1.0, whose `Char` production (XML 1.0,
 * section 2.2) allows tab, line feed and carriage return but no other character below U+0020; an
 * escaped form (`&#1;`) is not well-formed either. vCenter answers such a request with
 * `InvalidRequest`. Lone UTF-16 surrogates cannot be written as UTF-8 at all.
 */

/** Where a string first holds a character XML 1.0 cannot carry. */
export interface UnencodableCharacter {
  /** Index in the string (UTF-16 code units). */
  readonly index: number;
  /** The character as `U+0001`. */
  readonly codePoint: string;
}

/**
 * Any character that may be unencodable: the control characters, U+FFFE, U+FFFF and every surrogate
 * (a well-formed pair is fine; the scan below tells). Most strings have none and skip the scan: a
 * regular expression runs as native code, the scan in whatever tier V8 has the function in.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const SUSPECT = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** The first character of `value` that XML 1.0 cannot carry, or undefined when there is none. */
export function firstUnencodableCharacter(value: string): UnencodableCharacter | undefined {
  if (!SUSPECT.test(value)) return undefined;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return at(i, code);
    if (code === 0xfffe || code === 0xffff) return at(i, code);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return at(i, code);
    }
    if (code >= 0xdc00 && code <= 0xdfff) return at(i, code);
  }
  return undefined;
}

function at(index: number, code: number): UnencodableCharacter {
  return { index, codePoint: `U+${code.toString(16).toUpperCase().padStart(4, "0")}` };
}

/** Says what is wrong with such a character, without repeating the value (it may be a secret). */
export function describeUnencodable(found: UnencodableCharacter): string {
  return `contains the character ${found.codePoint} at position ${found.index}, which a vSphere (XML 1.0) request cannot carry; control characters other than tab, line feed and carriage return are not allowed`;
}

/**
 * A request that holds a character XML 1.0 cannot carry: refused before it is sent (the resources'
 * checks catch such inputs first; this is the last line).
 */
export class UnencodableCharacterError extends VSphereError {
  constructor(
    /** The vim25 method whose request was refused. */
    readonly method: string,
    /** Where in the request: `spec.config[2].value`. */
    readonly path: string,
    readonly character: UnencodableCharacter,
  ) {
    super(`${method}: ${path} ${describeUnencodable(character)}; the request was not sent`);
  }
}
