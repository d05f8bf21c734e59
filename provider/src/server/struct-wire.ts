/**
 * `google.protobuf.Struct` straight between protobuf's wire format and JavaScript values, for the
 * property maps of the hot requests (Check, Create). google-protobuf's path builds a message object
 * per value and a `jspb.Map` per object and then walks them again (`toJavaScript`,
 * `fromJavaScript`); this reads and writes the bytes once.
 *
 * The values are google-protobuf's, exactly: `null`, numbers (doubles), strings, booleans, arrays
 * and plain objects whose keys come out sorted (`jspb.Map` sorts them); a Value with no kind is an
 * error, as in `Value.toJavaScript`; `undefined`, functions, symbols and bigints cannot be sent, as
 * in `Value.fromJavaScript`. Encoded Structs are byte-identical to google-protobuf's (keys sorted).
 */
import { InternalError } from "../resources/errors";
import { UnsupportedRequestError } from "./errors";

/** A JavaScript value a Struct can carry. */
export type StructValue = null | number | string | boolean | StructValue[] | { [key: string]: StructValue };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** A malformed message from the engine. */
export class StructWireError extends UnsupportedRequestError {}

/** Reads protobuf fields from a byte range. */
class WireReader {
  pos: number;
  constructor(
    readonly bytes: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as a number (exact up to 2^53; lengths and tags are far below). */
  varint(): number {
    const bytes = this.bytes;
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new StructWireError("a protobuf varint runs past its message");
      const byte = bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 70) throw new StructWireError("a protobuf varint is longer than 10 bytes");
    }
  }

  /** The end of a length-delimited field whose length comes next; the reader moves to its start. */
  lengthEnd(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.end) throw new StructWireError("a protobuf field runs past its message");
    return end;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LENGTH:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new StructWireError(`protobuf wire type ${wireType} is not expected in a property map`);
    }
    if (this.pos > this.end) throw new StructWireError("a protobuf field runs past its message");
  }
}

function expectWireType(field: string, wireType: number, expected: number): void {
  if (wireType !== expected) {
    throw new StructWireError(`google.protobuf.${field} came with wire type ${wireType}, not ${expected}`);
  }
}

/** Decodes the Struct message in `bytes[start, end)` to an object (keys sorted, as google-protobuf gives them). */
export function decodeStruct(bytes: Buffer, start = 0, end = bytes.length): Record<string, StructValue> {
  return readStruct(new WireReader(bytes, start, end), end);
}

function readStruct(reader: WireReader, end: number): Record<string, StructValue> {
  const keys: string[] = [];
  const values: StructValue[] = [];
  let sorted = true;
  while (reader.pos < end) {
    const tag = reader.varint();
    if (tag >>> 3 !== 1) {
      reader.skip(tag & 7);
      continue;
    }
    expectWireType("Struct.fields", tag & 7, WIRE_LENGTH);
    const entryEnd = reader.lengthEnd();
    let key = "";
    let value: StructValue | undefined;
    while (reader.pos < entryEnd) {
      const entryTag = reader.varint();
      const field = entryTag >>> 3;
      if (field === 1) {
        expectWireType("Struct.fields key", entryTag & 7, WIRE_LENGTH);
        const keyEnd = reader.lengthEnd();
        key = reader.bytes.toString("utf8", reader.pos, keyEnd);
        reader.pos = keyEnd;
      } else if (field === 2) {
        expectWireType("Struct.fields value", entryTag & 7, WIRE_LENGTH);
        const valueEnd = reader.lengthEnd();
        value = readValue(reader, valueEnd);
      } else {
        reader.skip(entryTag & 7);
      }
    }
    if (value === undefined) throw new StructWireError(`property "${key}" has no value`);
    if (sorted && keys.length > 0 && keys[keys.length - 1]! > key) sorted = false;
    keys.push(key);
    values.push(value);
  }
  const object: Record<string, StructValue> = {};
  if (sorted) {
    for (let i = 0; i < keys.length; i++) object[keys[i]!] = values[i]!;
    return object;
  }
  // Stable: of two entries with one key the later wins, as in a map.
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  for (const i of order) object[keys[i]!] = values[i]!;
  return object;
}

function readValue(reader: WireReader, end: number): StructValue {
  let value: StructValue | undefined;
  while (reader.pos < end) {
    const tag = reader.varint();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1: // null_value
        expectWireType("Value.null_value", wireType, WIRE_VARINT);
        reader.varint();
        value = null;
        break;
      case 2: // number_value
        expectWireType("Value.number_value", wireType, WIRE_FIXED64);
        if (reader.pos + 8 > end) throw new StructWireError("a protobuf double runs past its message");
        value = reader.bytes.readDoubleLE(reader.pos);
        reader.pos += 8;
        break;
      case 3: {
        // string_value
        expectWireType("Value.string_value", wireType, WIRE_LENGTH);
        const stringEnd = reader.lengthEnd();
        value = reader.bytes.toString("utf8", reader.pos, stringEnd);
        reader.pos = stringEnd;
        break;
      }
      case 4: // bool_value
        expectWireType("Value.bool_value", wireType, WIRE_VARINT);
        value = reader.varint() !== 0;
        break;
      case 5: {
        // struct_value
        expectWireType("Value.struct_value", wireType, WIRE_LENGTH);
        const structEnd = reader.lengthEnd();
        value = readStruct(reader, structEnd);
        break;
      }
      case 6: {
        // list_value
        expectWireType("Value.list_value", wireType, WIRE_LENGTH);
        const listEnd = reader.lengthEnd();
        value = readList(reader, listEnd);
        break;
      }
      default:
        reader.skip(wireType);
    }
  }
  if (value === undefined) throw new StructWireError("a google.protobuf.Value has no kind");
  return value;
}

function readList(reader: WireReader, end: number): StructValue[] {
  const list: StructValue[] = [];
  while (reader.pos < end) {
    const tag = reader.varint();
    if (tag >>> 3 !== 1) {
      reader.skip(tag & 7);
      continue;
    }
    expectWireType("ListValue.values", tag & 7, WIRE_LENGTH);
    const valueEnd = reader.lengthEnd();
    list.push(readValue(reader, valueEnd));
  }
  return list;
}

/**
 * Encodes an object as a Struct message (the bytes google-protobuf's `Struct.fromJavaScript(o)
 * .serializeBinary()` gives). Throws an {@link InternalError} for a value a Struct cannot carry.
 */
export function encodeStruct(object: Readonly<Record<string, unknown>>): Buffer {
  const plan = new EncodingPlan();
  const size = plan.sizeStruct(object, "");
  const writer = new WireWriter(Buffer.allocUnsafe(size), plan);
  writer.writeStruct(object);
  if (writer.pos !== size) throw new InternalError(`a Struct encoded to ${writer.pos} bytes, not ${size}`);
  return writer.bytes;
}

/** The first pass: every length the second pass writes before its content, in writing order. */
class EncodingPlan {
  /** Sizes (message and string lengths) in the order the writer meets them. */
  readonly lengths: number[] = [];
  /** Each object's keys, sorted, in the order the writer meets the objects. */
  readonly keyLists: string[][] = [];

  sizeStruct(object: Readonly<Record<string, unknown>>, path: string): number {
    const keys: string[] = [];
    for (const key in object) keys.push(key);
    keys.sort();
    this.keyLists.push(keys);
    let size = 0;
    for (const key of keys) {
      const slot = this.lengths.length;
      this.lengths.push(0, 0, 0);
      const keyLength = utf8Length(key);
      const valueSize = this.sizeValue(object[key], path ? `${path}.${key}` : key);
      const entrySize = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueSize) + valueSize;
      this.lengths[slot] = entrySize;
      this.lengths[slot + 1] = keyLength;
      this.lengths[slot + 2] = valueSize;
      size += 1 + varintSize(entrySize) + entrySize;
    }
    return size;
  }

  /** The size of a Value message holding `value`. */
  sizeValue(value: unknown, path: string): number {
    switch (typeof value) {
      case "string": {
        const length = utf8Length(value);
        this.lengths.push(length);
        return 1 + varintSize(length) + length;
      }
      case "number":
        return 9;
      case "boolean":
        return 2;
      case "object": {
        if (value === null) return 2;
        const slot = this.lengths.length;
        this.lengths.push(0);
        let size = 0;
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const itemSlot = this.lengths.length;
            this.lengths.push(0);
            const itemSize = this.sizeValue(value[i], `${path}[${i}]`);
            this.lengths[itemSlot] = itemSize;
            size += 1 + varintSize(itemSize) + itemSize;
          }
        } else {
          size = this.sizeStruct(value as Record<string, unknown>, path);
        }
        this.lengths[slot] = size;
        return 1 + varintSize(size) + size;
      }
      default:
        throw new InternalError(
          `property ${path || "(top level)"} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which a protobuf Struct cannot carry`,
        );
    }
  }
}

class WireWriter {
  pos = 0;
  private next = 0;
  private nextKeys = 0;
  constructor(
    readonly bytes: Buffer,
    private readonly plan: EncodingPlan,
  ) {}

  private varint(value: number): void {
    while (value >= 0x80) {
      this.bytes[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.bytes[this.pos++] = value;
  }

  private string(value: string, length: number): void {
    this.varint(length);
    if (length === value.length && length <= 64) {
      // ASCII: faster by hand than a call into the encoder for short strings.
      for (let i = 0; i < length; i++) this.bytes[this.pos + i] = value.charCodeAt(i);
    } else {
      this.bytes.write(value, this.pos, length, "utf8");
    }
    this.pos += length;
  }

  writeStruct(object: Readonly<Record<string, unknown>>): void {
    const keys = this.plan.keyLists[this.nextKeys++]!;
    const lengths = this.plan.lengths;
    for (const key of keys) {
      const entrySize = lengths[this.next]!;
      const keyLength = lengths[this.next + 1]!;
      const valueSize = lengths[this.next + 2]!;
      this.next += 3;
      this.bytes[this.pos++] = (1 << 3) | WIRE_LENGTH;
      this.varint(entrySize);
      this.bytes[this.pos++] = (1 << 3) | WIRE_LENGTH;
      this.string(key, keyLength);
      this.bytes[this.pos++] = (2 << 3) | WIRE_LENGTH;
      this.varint(valueSize);
      this.writeValue(object[key]);
    }
  }

  private writeValue(value: unknown): void {
    const lengths = this.plan.lengths;
    switch (typeof value) {
      case "string":
        this.bytes[this.pos++] = (3 << 3) | WIRE_LENGTH;
        this.string(value, lengths[this.next++]!);
        return;
      case "number":
        this.bytes[this.pos++] = (2 << 3) | WIRE_FIXED64;
        this.bytes.writeDoubleLE(value, this.pos);
        this.pos += 8;
        return;
      case "boolean":
        this.bytes[this.pos++] = (4 << 3) | WIRE_VARINT;
        this.bytes[this.pos++] = value ? 1 : 0;
        return;
      default: {
        if (value === null) {
          this.bytes[this.pos++] = (1 << 3) | WIRE_VARINT;
          this.bytes[this.pos++] = 0;
          return;
        }
        const size = lengths[this.next++]!;
        if (Array.isArray(value)) {
          this.bytes[this.pos++] = (6 << 3) | WIRE_LENGTH;
          this.varint(size);
          for (const item of value) {
            const itemSize = lengths[this.next++]!;
            this.bytes[this.pos++] = (1 << 3) | WIRE_LENGTH;
            this.varint(itemSize);
            this.writeValue(item);
          }
        } else {
          this.bytes[this.pos++] = (5 << 3) | WIRE_LENGTH;
          this.varint(size);
          this.writeStruct(value as Record<string, unknown>);
        }
      }
    }
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** The UTF-8 length of a string as Buffer writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  const n = text.length;
  let length = n;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < n) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        length += 2; // 4 bytes for 2 code units
        i++;
      } else {
        length += 2;
      }
    } else {
      length += 2;
    }
  }
  return length;
}

/** Writes a varint field tag and length prefix for a length-delimited field of `length` bytes. */
export function lengthDelimitedHeader(field: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(varintSize(field << 3) + varintSize(length));
  let pos = 0;
  for (let value of [(field << 3) | WIRE_LENGTH, length]) {
    while (value >= 0x80) {
      header[pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    header[pos++] = value;
  }
  return header;
}

/** A request whose Struct fields were decoded straight to objects (and left out of `message`). */
export interface StructRequest<M, K extends string> {
  readonly message: M;
  /** Each Struct field as an object; `{}` when the request did not carry it. */
  readonly structs: Readonly<Record<K, Record<string, StructValue>>>;
}

/** A response whose Struct fields are sent as encoded bytes ({@link encodeStruct}) after `message`. */
export interface StructResponse<M, K extends string> {
  readonly message: M;
  readonly structs: Readonly<Partial<Record<K, Buffer>>>;
}

/**
 * Splits a serialized message: the Struct fields named in `fields` (name → field number) are
 * decoded to objects, every other field is left to `deserialize` (the generated class's, which
 * then sees no Struct). As in the generated code, of a field sent twice the last wins.
 */
export function readStructRequest<M, K extends string>(
  bytes: Buffer,
  fields: Readonly<Record<K, number>>,
  deserialize: (rest: Uint8Array) => M,
): StructRequest<M, K> {
  const names = new Map<number, K>();
  for (const name of Object.keys(fields) as K[]) names.set(fields[name], name);
  const ranges: [number, number][] = [];
  const found = new Map<K, [number, number]>();
  const reader = new WireReader(bytes, 0, bytes.length);
  let keptFrom = 0;
  while (reader.pos < bytes.length) {
    const fieldStart = reader.pos;
    const tag = reader.varint();
    const name = names.get(tag >>> 3);
    if (name === undefined || (tag & 7) !== WIRE_LENGTH) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.lengthEnd();
    found.set(name, [reader.pos, end]);
    if (fieldStart > keptFrom) ranges.push([keptFrom, fieldStart]);
    reader.pos = keptFrom = end;
  }
  if (keptFrom < bytes.length) ranges.push([keptFrom, bytes.length]);
  const rest =
    ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === bytes.length
      ? bytes
      : Buffer.concat(ranges.map(([start, end]) => bytes.subarray(start, end)));
  const structs = {} as Record<K, Record<string, StructValue>>;
  for (const name of names.values()) {
    const range = found.get(name);
    structs[name] = range ? decodeStruct(bytes, range[0], range[1]) : {};
  }
  return {
    message: deserialize(new Uint8Array(rest.buffer, rest.byteOffset, rest.length)),
    structs,
  };
}

/**
 * Serializes a response: `serialize(message)` (whose Struct fields are unset), then each encoded
 * Struct as field `fields[name]` (protobuf readers accept fields in any order).
 */
export function writeStructResponse<M, K extends string>(
  response: StructResponse<M, K>,
  fields: Readonly<Record<K, number>>,
  serialize: (message: M) => Uint8Array,
): Buffer {
  const head = serialize(response.message);
  const parts: Uint8Array[] = [head];
  for (const name of Object.keys(fields) as K[]) {
    const struct = response.structs[name];
    if (struct === undefined) continue;
    parts.push(lengthDelimitedHeader(fields[name], struct.length), struct);
  }
  return Buffer.concat(parts);
}
