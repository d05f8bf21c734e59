/**
 * vim25 SOAP encoding: request bodies built from typed values, responses
 * parsed into plain objects, both with fast-xml-parser. Polymorphic values
 * carry their vim25 type in `xsi:type`; here that is the `$type` field of a
 * {@link DataObject}. Managed object references are {@link MoRef}s.
 */
import { XMLBuilder, XMLParser } from "fast-xml-parser";
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

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: false,
  suppressBooleanAttributes: false,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  // A disk backing nests one `parent` per delta-disk level, up to 255 (VMware KB 67186), inside
  // the envelope: the parser's default cap of 100 nested tags would reject a running parent's devices.
  maxNestedTags: 1024,
});

type BuilderNode = Record<string, unknown> | string;

/** A string for the wire, refused (naming the method and where) when XML 1.0 cannot carry it. */
function wireText(text: string, method: string, path: string): string {
  const found = firstUnencodableCharacter(text);
  if (found) throw new UnencodableCharacterError(method, path, found);
  return text;
}

function toBuilderNode(
  value: unknown,
  method: string,
  path: string,
): BuilderNode | BuilderNode[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof MoRef)
    return { "@_type": wireText(value.type, method, path), "#text": wireText(value.value, method, path) };
  if (value instanceof XsdValue)
    return { "@_xsi:type": value.xsdType, "#text": wireText(String(value.value), method, path) };
  if (typeof value === "string") return wireText(value, method, path);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Array.isArray(value)) {
    return value
      .map((v, i) => toBuilderNode(v, method, `${path}[${i}]`))
      .filter((v): v is BuilderNode => v !== undefined && !Array.isArray(v));
  }
  if (typeof value === "object") {
    const node: Record<string, unknown> = {};
    const obj = value as DataObject;
    if (obj.$type) node["@_xsi:type"] = wireText(obj.$type, method, `${path} (xsi:type)`);
    for (const [k, v] of Object.entries(obj)) {
      if (k === "$type") continue;
      const child = toBuilderNode(v, method, path ? `${path}.${k}` : k);
      if (child === undefined) continue;
      if (Array.isArray(child) && child.length === 0) continue;
      node[k] = child;
    }
    return node;
  }
  throw new TypeError(`cannot encode ${typeof value} for SOAP`);
}

/**
 * Builds the SOAP envelope of one vim25 method call. Arguments are in wire order. A string that XML
 * 1.0 cannot carry (a control character other than tab, LF, CR) is an {@link UnencodableCharacterError}.
 */
export function encodeRequest(method: string, thisRef: MoRef, args: DataObject): string {
  const body: Record<string, unknown> = {
    "@_xmlns": "urn:vim25",
    _this: toBuilderNode(thisRef, method, "_this"),
  };
  for (const [k, v] of Object.entries(args)) {
    const child = toBuilderNode(v, method, k);
    if (child !== undefined && !(Array.isArray(child) && child.length === 0)) body[k] = child;
  }
  const envelope = {
    "soapenv:Envelope": {
      "@_xmlns:soapenv": "http://schemas.xmlsoap.org/soap/envelope/",
      "@_xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
      "@_xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
      "soapenv:Body": { [method]: body },
    },
  };
  return '<?xml version="1.0" encoding="UTF-8"?>' + builder.build(envelope);
}

/** A parsed SOAP fault: its fault string and, for vim faults, the decoded detail. */
export interface ParsedFault {
  readonly faultCode: string;
  readonly faultString: string;
  /** The vim fault type (`InvalidLogin`, `ManagedObjectNotFound`), when the detail names one. */
  readonly vimType?: string;
  readonly detail?: Record<string, unknown>;
}

export type ParsedResponse =
  { readonly ok: true; readonly returnval: unknown } | { readonly ok: false; readonly fault: ParsedFault };

function localName(key: string): string {
  const i = key.indexOf(":");
  return i < 0 ? key : key.slice(i + 1);
}

function xsiType(node: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("@_") && k.endsWith(":type") && typeof v === "string") return localName(v);
  }
  return undefined;
}

const numericXsd = new Set(["int", "long", "short", "byte", "float", "double"]);

/**
 * Turns a parsed element into a plain value: text → string (or number/boolean
 * per `xsi:type`), a reference → MoRef, `ArrayOfX` → array, anything else →
 * an object whose `$type` is its `xsi:type` when present. Repeated child
 * elements become arrays; a single one stays a value (use `list()` where a
 * field is a list).
 */
export function decodeNode(node: unknown): unknown {
  if (node === undefined || node === null) return undefined;
  if (typeof node !== "object") return node;
  if (Array.isArray(node)) return node.map(decodeNode);
  const obj = node as Record<string, unknown>;
  const type = xsiType(obj);
  const refType = obj["@_type"];
  if (typeof refType === "string") {
    return new MoRef(refType, String(obj["#text"] ?? ""));
  }
  if (type && numericXsd.has(type)) return Number(obj["#text"]);
  if (type === "boolean") return obj["#text"] === "true" || obj["#text"] === "1";
  if (type && type.startsWith("ArrayOf")) {
    const items: unknown[] = [];
    for (const [k, v] of Object.entries(obj)) {
      if (k.startsWith("@_") || k === "#text") continue;
      const decoded = decodeNode(v);
      if (Array.isArray(v)) items.push(...(decoded as unknown[]));
      else items.push(decoded);
    }
    return items;
  }
  const children = Object.entries(obj).filter(([k]) => !k.startsWith("@_"));
  if (children.length === 1 && children[0]![0] === "#text") {
    // Enumerations (TaskInfoState, …) and xsd:string arrive as typed text: plain strings.
    return obj["#text"];
  }
  if (children.length === 0) return type ? { $type: type } : "";
  const out: Record<string, unknown> = {};
  if (type) out.$type = type;
  for (const [k, v] of children) {
    if (k === "#text") continue;
    out[localName(k)] = decodeNode(v);
  }
  return out;
}

/** Parses a SOAP response envelope into the method's return value or its fault. */
export function decodeResponse(xml: string): ParsedResponse {
  const doc = parser.parse(xml) as Record<string, unknown>;
  const envelope = Object.entries(doc).find(([k]) => localName(k) === "Envelope")?.[1] as
    Record<string, unknown> | undefined;
  const body =
    envelope &&
    (Object.entries(envelope).find(([k]) => localName(k) === "Body")?.[1] as Record<string, unknown>);
  if (!body || typeof body !== "object") throw new SyntaxError("response is not a SOAP envelope");
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith("@_")) continue;
    if (localName(key) === "Fault") {
      const f = value as Record<string, unknown>;
      const detail = f.detail as Record<string, unknown> | undefined;
      let vimType: string | undefined;
      let decodedDetail: Record<string, unknown> | undefined;
      if (detail && typeof detail === "object") {
        const entry = Object.entries(detail).find(([k]) => !k.startsWith("@_") && k !== "#text");
        if (entry) {
          const [name, raw] = entry;
          const rawObj = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
          vimType = xsiType(rawObj) ?? localName(name).replace(/Fault$/, "");
          const decoded = decodeNode(rawObj);
          decodedDetail = (typeof decoded === "object" && decoded !== null ? decoded : {}) as Record<
            string,
            unknown
          >;
        }
      }
      return {
        ok: false,
        fault: {
          faultCode: String(decodeNode(f.faultcode) ?? ""),
          faultString: String(decodeNode(f.faultstring) ?? ""),
          ...(vimType ? { vimType } : {}),
          ...(decodedDetail ? { detail: decodedDetail } : {}),
        },
      };
    }
    const response = value as Record<string, unknown> | string;
    if (typeof response !== "object" || response === null) return { ok: true, returnval: undefined };
    const rv = response.returnval;
    return { ok: true, returnval: rv === undefined ? undefined : decodeNode(rv) };
  }
  throw new SyntaxError("SOAP body is empty");
}

/** A field that vim25 defines as a list, whatever the XML held: absent → [], one → [one]. */
export function list<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}
