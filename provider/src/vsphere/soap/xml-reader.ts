/**
 * A small, allocation-lean XML reader for SOAP responses: one pass over the text into elements
 * that keep only what vim25 decoding reads (local name, the `type` attribute of a managed object
 * reference, the local name of an `xsi:type`, text and child elements). Namespaces are not
 * resolved (prefixes are dropped, as vim25 decoding only ever compares local names); comments,
 * processing instructions and the DOCTYPE are skipped; CDATA is text; the five XML entities and
 * numeric character references are decoded.
 */

/** One element of a response. */
export interface XmlElement {
  /** Local name (prefix dropped). */
  readonly name: string;
  /** The unprefixed `type` attribute (a ManagedObjectReference's type). */
  readonly refType: string | undefined;
  /** Local name of the value of a `<prefix>:type` attribute (`xsi:type`). */
  readonly xsiType: string | undefined;
  /** Text content (entities decoded), "" when none. */
  text: string;
  /** Child elements in document order; undefined when none. */
  children: XmlElement[] | undefined;
}

/** Thrown for text that is not well-formed enough to read. */
export class XmlSyntaxError extends SyntaxError {}

const GT = 62; // >
const SLASH = 47; // /
const QMARK = 63; // ?
const BANG = 33; // !
const EQ = 61; // =
const AMP = "&";

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function localName(name: string): string {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
}

const namedEntities: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the XML entities and character references of a text or attribute value. */
export function decodeEntities(text: string): string {
  if (text.indexOf(AMP) < 0) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) === 35 /* # */) {
      const code =
        ref.charCodeAt(1) === 120 /* x */ ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return namedEntities[ref] ?? whole;
  });
}

/** Reads a document and returns its root element. */
export function readXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  const len = xml.length;
  while (pos < len) {
    const lt = xml.indexOf("<", pos);
    if (lt < 0) break;
    if (lt > pos && stack.length > 0) {
      const top = stack[stack.length - 1]!;
      top.text += decodeEntities(xml.slice(pos, lt));
    }
    const next = xml.charCodeAt(lt + 1);
    if (next === QMARK) {
      const end = xml.indexOf("?>", lt + 2);
      if (end < 0) throw new XmlSyntaxError("unterminated processing instruction");
      pos = end + 2;
      continue;
    }
    if (next === BANG) {
      if (xml.startsWith("<!--", lt)) {
        const end = xml.indexOf("-->", lt + 4);
        if (end < 0) throw new XmlSyntaxError("unterminated comment");
        pos = end + 3;
      } else if (xml.startsWith("<![CDATA[", lt)) {
        const end = xml.indexOf("]]>", lt + 9);
        if (end < 0) throw new XmlSyntaxError("unterminated CDATA section");
        if (stack.length > 0) stack[stack.length - 1]!.text += xml.slice(lt + 9, end);
        pos = end + 3;
      } else {
        const end = xml.indexOf(">", lt + 2);
        if (end < 0) throw new XmlSyntaxError("unterminated declaration");
        pos = end + 1;
      }
      continue;
    }
    if (next === SLASH) {
      const end = xml.indexOf(">", lt + 2);
      if (end < 0) throw new XmlSyntaxError("unterminated end tag");
      const closing = localName(xml.slice(lt + 2, end).trim());
      const open = stack.pop();
      if (!open || open.name !== closing) {
        throw new XmlSyntaxError(`end tag </${closing}> does not match <${open?.name ?? "(none)"}>`);
      }
      pos = end + 1;
      continue;
    }
    // A start tag: its name, then attributes, then > or />.
    let i = lt + 1;
    while (i < len) {
      const c = xml.charCodeAt(i);
      if (isSpace(c) || c === GT || c === SLASH) break;
      i++;
    }
    if (i === lt + 1) throw new XmlSyntaxError(`a tag without a name at offset ${lt}`);
    const name = localName(xml.slice(lt + 1, i));
    let refType: string | undefined;
    let xsiType: string | undefined;
    let selfClosing = false;
    for (;;) {
      while (i < len && isSpace(xml.charCodeAt(i))) i++;
      if (i >= len) throw new XmlSyntaxError(`unterminated start tag <${name}>`);
      const c = xml.charCodeAt(i);
      if (c === GT) {
        i++;
        break;
      }
      if (c === SLASH) {
        if (xml.charCodeAt(i + 1) !== GT) throw new XmlSyntaxError(`bad start tag <${name}>`);
        selfClosing = true;
        i += 2;
        break;
      }
      const attrStart = i;
      while (i < len) {
        const a = xml.charCodeAt(i);
        if (a === EQ || isSpace(a) || a === GT || a === SLASH) break;
        i++;
      }
      const attr = xml.slice(attrStart, i);
      while (i < len && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== EQ) throw new XmlSyntaxError(`attribute ${attr} of <${name}> has no value`);
      i++;
      while (i < len && isSpace(xml.charCodeAt(i))) i++;
      const quote = xml[i];
      if (quote !== '"' && quote !== "'")
        throw new XmlSyntaxError(`attribute ${attr} of <${name}> is not quoted`);
      const valueEnd = xml.indexOf(quote, i + 1);
      if (valueEnd < 0) throw new XmlSyntaxError(`unterminated attribute ${attr} of <${name}>`);
      if (attr === "type") {
        refType = decodeEntities(xml.slice(i + 1, valueEnd));
      } else if (xsiType === undefined && attr.endsWith(":type")) {
        xsiType = localName(decodeEntities(xml.slice(i + 1, valueEnd)));
      }
      i = valueEnd + 1;
    }
    const element: XmlElement = { name, refType, xsiType, text: "", children: undefined };
    if (stack.length > 0) {
      const parent = stack[stack.length - 1]!;
      (parent.children ??= []).push(element);
    } else if (root === undefined) {
      root = element;
    } else {
      throw new XmlSyntaxError("more than one root element");
    }
    if (!selfClosing) stack.push(element);
    pos = i;
  }
  if (!root) throw new XmlSyntaxError("no element");
  if (stack.length > 0) throw new XmlSyntaxError(`unterminated element <${stack[stack.length - 1]!.name}>`);
  return root;
}
