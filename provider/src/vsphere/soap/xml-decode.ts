/**
 * vim25 SOAP responses decoded into plain values, in one pass of {@link readXml} and one walk of
 * its elements: text → string (or number/boolean per `xsi:type`), a reference → MoRef,
 * `ArrayOfX` → array, anything else → an object whose `$type` is its `xsi:type` when present.
 * Repeated child elements become arrays; a single one stays a value (use `list()` where a field is
 * a list).
 */
import { MoRef } from "../types";
import { readXml, type XmlElement } from "./xml-reader";

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

const numericXsd = new Set(["int", "long", "short", "byte", "float", "double"]);

/** Child elements grouped by name, in order of each name's first appearance. */
function groups(children: readonly XmlElement[]): XmlElement[][] {
  if (children.length === 1) return [[children[0]!]];
  const byName = new Map<string, XmlElement[]>();
  for (const child of children) {
    const group = byName.get(child.name);
    if (group) group.push(child);
    else byName.set(child.name, [child]);
  }
  return [...byName.values()];
}

/** Turns one element into a plain value (see the module comment). */
export function decodeElement(e: XmlElement): unknown {
  if (e.refType !== undefined) return new MoRef(e.refType, e.text);
  const type = e.xsiType;
  if (type !== undefined) {
    if (numericXsd.has(type)) return Number(e.text);
    if (type === "boolean") return e.text === "true" || e.text === "1";
  }
  const children = e.children;
  if (type !== undefined && type.startsWith("ArrayOf")) {
    const items: unknown[] = [];
    if (children) {
      for (const group of groups(children)) {
        if (group.length === 1) items.push(decodeElement(group[0]!));
        else for (const item of group) items.push(decodeElement(item));
      }
    }
    return items;
  }
  if (!children) {
    // Enumerations (TaskInfoState, …) and xsd:string arrive as typed text: plain strings.
    if (e.text !== "") return e.text;
    return type !== undefined ? { $type: type } : "";
  }
  const out: Record<string, unknown> = {};
  if (type !== undefined) out.$type = type;
  for (const group of groups(children)) {
    out[group[0]!.name] = group.length === 1 ? decodeElement(group[0]!) : group.map(decodeElement);
  }
  return out;
}

function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children?.find((c) => c.name === name);
}

/** Parses a SOAP response envelope into the method's return value or its fault. */
export function decodeResponse(xml: string): ParsedResponse {
  const envelope = readXml(xml);
  if (envelope.name !== "Envelope") throw new SyntaxError("response is not a SOAP envelope");
  const body = child(envelope, "Body");
  if (!body) throw new SyntaxError("response is not a SOAP envelope");
  const first = body.children?.[0];
  if (!first) throw new SyntaxError("SOAP body is empty");
  if (first.name === "Fault") {
    const code = child(first, "faultcode");
    const text = child(first, "faultstring");
    const detail = child(first, "detail")?.children?.[0];
    let vimType: string | undefined;
    let decodedDetail: Record<string, unknown> | undefined;
    if (detail) {
      vimType = detail.xsiType ?? detail.name.replace(/Fault$/, "");
      const decoded = decodeElement(detail);
      decodedDetail = (typeof decoded === "object" && decoded !== null ? decoded : {}) as Record<
        string,
        unknown
      >;
    }
    return {
      ok: false,
      fault: {
        faultCode: String((code && decodeElement(code)) ?? ""),
        faultString: String((text && decodeElement(text)) ?? ""),
        ...(vimType ? { vimType } : {}),
        ...(decodedDetail ? { detail: decodedDetail } : {}),
      },
    };
  }
  const values = first.children?.filter((c) => c.name === "returnval") ?? [];
  if (values.length === 0) return { ok: true, returnval: undefined };
  return { ok: true, returnval: values.length === 1 ? decodeElement(values[0]!) : values.map(decodeElement) };
}
