/**
 * The vim25 request schema, for checking the SOAP bodies Bonneville sends: each data type's
 * elements in `xsd:sequence` order (base type first), which may repeat, which are required, which
 * need `xsi:type` (polymorphic slots), and the values of enumerations.
 *
 * VMware's WSDL files (vim.wsdl, vim-types.xsd, …) come with the vSphere Web Services SDK under
 * VMware's SDK licence, which this project does not vendor. The schema is derived instead from
 * govmomi's generated Go types (Apache-2.0, `vim25/types/types.go` of the Debian package the
 * simulator is built from): the generator writes every complex type's elements in the WSDL's
 * sequence order, marks optional elements with `omitempty` or a pointer, repeated ones with a
 * slice, polymorphic ones with an interface (`BaseX`, `AnyType`), and each enumeration's values.
 * The check is stricter than XSD in one way: a value in a polymorphic slot must name its type with
 * `xsi:type` even when it is the slot's declared type, as govmomi's encoder always does.
 */
import * as fs from "node:fs";
import { XMLParser } from "fast-xml-parser";

export const govmomiTypesFile = "/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types/types.go";
const govmomiEnumFile = "/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types/enum.go";

interface Field {
  readonly name: string;
  /** Element type: a data type, an enumeration, or an XSD primitive. */
  readonly type: string;
  readonly repeated: boolean;
  readonly required: boolean;
  /** The slot holds a subtype named by `xsi:type` (an abstract base or anyType). */
  readonly polymorphic: boolean;
}

interface DataType {
  readonly base: string | undefined;
  readonly fields: readonly Field[];
}

const primitives: Readonly<Record<string, RegExp>> = {
  string: /^[\s\S]*$/,
  bool: /^(true|false|1|0)$/,
  int8: /^-?\d+$/,
  int16: /^-?\d+$/,
  int32: /^-?\d+$/,
  int64: /^-?\d+$/,
  float32: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/,
  float64: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/,
  "time.Time": /^\d{4}-\d\d-\d\dT/,
  byte: /^[A-Za-z0-9+/=]*$/,
};

/** `xsi:type` names of XSD primitives allowed in an anyType slot. */
const xsdTypes: Readonly<Record<string, RegExp>> = {
  "xsd:string": primitives.string!,
  "xsd:boolean": primitives.bool!,
  "xsd:int": primitives.int32!,
  "xsd:long": primitives.int64!,
  "xsd:short": primitives.int16!,
  "xsd:byte": primitives.int8!,
  "xsd:float": primitives.float32!,
  "xsd:double": primitives.float64!,
};

/** The schema: data types, method request types, enumerations. */
export class Vim25Schema {
  private constructor(
    private readonly types: ReadonlyMap<string, DataType>,
    /** Method element name (`InstantClone_Task`) → its request type. */
    private readonly requests: ReadonlyMap<string, string>,
    private readonly enums: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  /** Reads govmomi's generated types. */
  static load(typesFile = govmomiTypesFile, enumFile = govmomiEnumFile): Vim25Schema {
    const source = fs.readFileSync(typesFile, "utf8");
    const types = new Map<string, DataType>();
    for (const m of source.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
      let base: string | undefined;
      const fields: Field[] = [];
      for (const line of m[2]!.split("\n")) {
        const embedded = /^\t(\w+)$/.exec(line);
        if (embedded) {
          base = embedded[1];
          continue;
        }
        const f = /^\t\w+\s+(\S+)\s+`xml:"([^",]*)((?:,[a-z]+)*)"/.exec(line);
        const options = f ? f[3]!.split(",") : [];
        if (!f || f[2] === "" || options.includes("attr") || options.includes("chardata")) continue;
        const goType = f[1]!;
        const repeated = goType.startsWith("[]") && goType !== "[]byte";
        const pointer = goType.startsWith("*");
        const bare = goType.replace(/^\[\]|^\*/g, "");
        const polymorphic = bare.startsWith("Base") || bare === "AnyType";
        fields.push({
          name: f[2]!,
          type:
            bare === "AnyType"
              ? "anyType"
              : polymorphic
                ? bare.slice(4)
                : goType === "[]byte"
                  ? "byte"
                  : bare,
          repeated,
          required: !options.includes("omitempty") && !pointer,
          polymorphic,
        });
      }
      types.set(m[1]!, { base, fields });
    }
    const requests = new Map<string, string>();
    for (const m of source.matchAll(/^type (\w+) (\w+RequestType)$/gm)) requests.set(m[1]!, m[2]!);
    const enums = new Map<string, Set<string>>();
    const enumSource = fs.existsSync(enumFile) ? fs.readFileSync(enumFile, "utf8") : "";
    for (const m of enumSource.matchAll(/^\t\w+\s*=\s*(\w+)\("([^"]*)"\)$/gm)) {
      let set = enums.get(m[1]!);
      if (!set) enums.set(m[1]!, (set = new Set()));
      set.add(m[2]!);
    }
    return new Vim25Schema(types, requests, enums);
  }

  /** Number of data types read (a sanity check of the parse). */
  get size(): number {
    return this.types.size;
  }

  /** The elements of a data type, base type's first (the order of its `xsd:sequence`). */
  elementsOf(type: string): Field[] {
    const t = this.types.get(type);
    if (!t) return [];
    return [...(t.base ? this.elementsOf(t.base) : []), ...t.fields];
  }

  /** True when `type` is `base` or derives from it. */
  derivesFrom(type: string, base: string): boolean {
    for (let t: string | undefined = type; t; t = this.types.get(t)?.base) if (t === base) return true;
    return false;
  }

  /**
   * Every way `xml` (one SOAP request envelope) breaks the schema: elements out of sequence order,
   * unknown or repeated elements, missing required ones, a missing or wrong `xsi:type`, a value
   * that is not of its type. Empty when the request is valid.
   */
  validateRequest(xml: string): string[] {
    const doc = requestParser.parse(xml) as Node[];
    const envelope = children(doc).find((n) => localName(tagOf(n)) === "Envelope");
    const body = envelope && children(childNodes(envelope)).find((n) => localName(tagOf(n)) === "Body");
    const call = body && children(childNodes(body))[0];
    if (!call) return ["not a SOAP request envelope"];
    const method = localName(tagOf(call));
    const request = this.requests.get(method);
    if (!request) return [`${method}: no such vim25 method`];
    const problems: string[] = [];
    this.validateElement(call, request, false, method, problems);
    return problems;
  }

  private validateElement(
    node: Node,
    type: string,
    polymorphic: boolean,
    path: string,
    problems: string[],
  ): void {
    const attrs = (node[":@"] ?? {}) as Record<string, string>;
    const xsiType = attrs["@_xsi:type"];
    let actual = type;
    if (polymorphic && !xsiType) {
      problems.push(`${path}: a ${type} slot needs xsi:type naming the value's type`);
      return;
    }
    if (xsiType) {
      if (type === "anyType" && xsdTypes[xsiType]) {
        if (!xsdTypes[xsiType].test(textOf(node)))
          problems.push(`${path}: "${textOf(node)}" is not an ${xsiType}`);
        return;
      }
      const named = xsiType.replace(/^vim25:/, "");
      if (!this.types.has(named)) {
        problems.push(`${path}: xsi:type ${xsiType} is not a vim25 type`);
        return;
      }
      if (type !== "anyType" && !this.derivesFrom(named, type)) {
        problems.push(`${path}: xsi:type ${named} is not a ${type}`);
        return;
      }
      actual = named;
    }
    if (actual === "ManagedObjectReference") {
      if (!attrs["@_type"] || !textOf(node))
        problems.push(`${path}: a managed object reference needs a type and a value`);
      return;
    }
    const pattern = primitives[actual];
    if (pattern) {
      if (children(childNodes(node)).length > 0) problems.push(`${path}: a ${actual} has no child elements`);
      else if (!pattern.test(textOf(node))) problems.push(`${path}: "${textOf(node)}" is not a ${actual}`);
      return;
    }
    const values = this.enums.get(actual);
    if (values) {
      if (!values.has(textOf(node))) problems.push(`${path}: "${textOf(node)}" is not a ${actual} value`);
      return;
    }
    if (!this.types.has(actual)) {
      problems.push(`${path}: the schema has no type ${actual}`);
      return;
    }
    const fields = this.elementsOf(actual);
    let at = -1;
    const seen = new Set<string>();
    for (const child of children(childNodes(node))) {
      const name = localName(tagOf(child));
      const index = fields.findIndex((f, i) => i >= Math.max(at, 0) && f.name === name);
      const childPath = `${path}.${name}`;
      if (index < 0) {
        problems.push(
          fields.some((f) => f.name === name)
            ? `${childPath}: out of sequence order in ${actual} (${fields.map((f) => f.name).join(", ")})`
            : `${childPath}: ${actual} has no element ${name}`,
        );
        continue;
      }
      const field = fields[index]!;
      if (index === at && !field.repeated) problems.push(`${childPath}: ${actual}.${name} may appear once`);
      at = index;
      seen.add(name);
      this.validateElement(child, field.type, field.polymorphic, childPath, problems);
    }
    for (const f of fields) {
      if (f.required && !seen.has(f.name)) problems.push(`${path}: ${actual}.${f.name} is required`);
    }
  }
}

type Node = Record<string, unknown>;

const requestParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
});

function tagOf(node: Node): string {
  return Object.keys(node).find((k) => k !== ":@")!;
}

function childNodes(node: Node): Node[] {
  return (node[tagOf(node)] ?? []) as Node[];
}

/** Element children (not text). */
function children(nodes: Node[]): Node[] {
  return nodes.filter((n) => !("#text" in n) && !("?xml" in n));
}

function textOf(node: Node): string {
  return childNodes(node)
    .filter((n) => "#text" in n)
    .map((n) => String(n["#text"]))
    .join("");
}

function localName(tag: string): string {
  const i = tag.indexOf(":");
  return i < 0 ? tag : tag.slice(i + 1);
}
