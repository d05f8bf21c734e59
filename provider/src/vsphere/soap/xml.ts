/**
 * vim25 SOAP encoding: request bodies built from typed values with
 * fast-xml-parser's builder; responses are decoded by ./xml-decode. Polymorphic values
 * carry their vim25 type in `xsi:type`; here that is the `$type` field of a
 * {@link DataObject}. Managed object references are {@link MoRef}s.
 */
import { XMLBuilder } from "fast-xml-parser";
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

export { decodeResponse, type ParsedFault, type ParsedResponse } from "./xml-decode";

/** A field that vim25 defines as a list, whatever the XML held: absent → [], one → [one]. */
export function list<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}
