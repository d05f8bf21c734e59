/**
 * vim25 SOAP encoding: request bodies written from typed values; responses are decoded by ./xml-decode. Polymorphic values
 * carry their vim25 type in `xsi:type`; here that is the `$type` field of a
 * {@link DataObject}. Managed object references are {@link MoRef}s.
 */
import { MoRef } from "../types";
import { firstUnencodableCharacter, UnencodableCharacterError } from "./xml-characters";

/** A vim25 data object: `$type` names its type when the wire needs `xsi:type`. Field order is wire order. */
export interface DataObject {
  readonly $type?: string;
  readonly [field: string]: unknown;
}

/** A value typed for the wire as an XSD primitive (for `anyType` slots such as option values). */
export class XsdValue {
  constructor(
    readonly xsdType: "xsd:string" | "xsd:int" | "xsd:long" | "xsd:boolean",
    readonly value: string | number | boolean,
  ) {}
  static string(value: string): XsdValue {
    return new XsdValue("xsd:string", value);
  }
}

/** Text for an element or attribute, with XML's five special characters escaped. */
function escapeXml(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(SPECIAL_ALL, (c) => ESCAPES[c]!);
}
const SPECIAL = /[&<>'"]/;
const SPECIAL_ALL = /[&<>'"]/g;
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "'": "&apos;",
  '"': "&quot;",
};

/** A string for the wire, refused (naming the method and where) when XML 1.0 cannot carry it. */
function wireText(text: string, method: string, path: string): string {
  const found = firstUnencodableCharacter(text);
  if (found) throw new UnencodableCharacterError(method, path, found);
  return escapeXml(text);
}

/**
 * Appends `<tag …>…</tag>` for one value to `out` (nothing for undefined, null or an empty list;
 * one element per item for a list; nested lists are not vim25 and are dropped). Written straight
 * to strings: an object tree for a generic XML builder cost a create about a sixth of its CPU.
 */
function writeElement(out: string[], tag: string, value: unknown, method: string, path: string): void {
  if (value === undefined || value === null) return;
  if (value instanceof MoRef) {
    out.push(
      `<${tag} type="${wireText(value.type, method, path)}">${wireText(value.value, method, path)}</${tag}>`,
    );
    return;
  }
  if (value instanceof XsdValue) {
    out.push(`<${tag} xsi:type="${value.xsdType}">${wireText(String(value.value), method, path)}</${tag}>`);
    return;
  }
  if (typeof value === "string") {
    out.push(`<${tag}>${wireText(value, method, path)}</${tag}>`);
    return;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    out.push(`<${tag}>${escapeXml(String(value))}</${tag}>`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (!Array.isArray(item)) writeElement(out, tag, item, method, `${path}[${i}]`);
    }
    return;
  }
  if (typeof value === "object") {
    const obj = value as DataObject;
    const type = obj.$type ? ` xsi:type="${wireText(obj.$type, method, `${path} (xsi:type)`)}"` : "";
    out.push(`<${tag}${type}>`);
    for (const k in obj) {
      if (k === "$type" || !Object.prototype.hasOwnProperty.call(obj, k)) continue;
      writeElement(out, k, obj[k], method, path ? `${path}.${k}` : k);
    }
    out.push(`</${tag}>`);
    return;
  }
  throw new TypeError(`cannot encode ${typeof value} for SOAP`);
}

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const ENVELOPE_CLOSE = "</soapenv:Body></soapenv:Envelope>";

/**
 * Builds the SOAP envelope of one vim25 method call. Arguments are in wire order. A string that XML
 * 1.0 cannot carry (a control character other than tab, LF, CR) is an {@link UnencodableCharacterError}.
 */
export function encodeRequest(method: string, thisRef: MoRef, args: DataObject): string {
  const out: string[] = [ENVELOPE_OPEN, `<${method} xmlns="urn:vim25">`];
  writeElement(out, "_this", thisRef, method, "_this");
  for (const k in args) {
    if (Object.prototype.hasOwnProperty.call(args, k)) writeElement(out, k, args[k], method, k);
  }
  out.push(`</${method}>`, ENVELOPE_CLOSE);
  return out.join("");
}

export { decodeResponse, type ParsedFault, type ParsedResponse } from "./xml-decode";

/** A field that vim25 defines as a list, whatever the XML held: absent → [], one → [one]. */
export function list<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}
