/** Property maps between protobuf's wire format and JavaScript without google-protobuf's Struct objects. */
import { InternalError } from "../../provider/src/resources/errors";
import { protocol, resourceProviderService, STRUCT_FIELDS } from "../../provider/src/server/protocol";
import {
  decodeStruct,
  encodeStruct,
  readStructRequest,
  StructWireError,
  writeStructResponse,
} from "../../provider/src/server/struct-wire";

const { Struct } = protocol().struct;
const { provider } = protocol();

/** google-protobuf's encoding of an object, the reference. */
function referenceBytes(object: Record<string, unknown>): Buffer {
  return Buffer.from(Struct.fromJavaScript(object as never).serializeBinary());
}

/** google-protobuf's decoding of a Struct message, the reference. */
function referenceObject(bytes: Uint8Array): unknown {
  return Struct.deserializeBinary(new Uint8Array(bytes)).toJavaScript();
}

/** A deterministic generator of property maps: nested objects and lists, every scalar kind. */
function generatedMaps(count: number): Record<string, unknown>[] {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const strings = [
    "",
    "a",
    "name",
    "é",
    "日本語",
    "😀x",
    "\u0000",
    "k".repeat(200),
    "mixé".repeat(40),
    "10",
    "2",
    "B",
  ];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.4)
      return pick([null, random() * 1e6 - 5e5, pick(strings), random() < 0.5, 0, -0, 2 ** 60]);
    if (r < 0.7) return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
    return map(depth + 1);
  };
  const map = (depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const n = Math.floor(random() * 6);
    for (let i = 0; i < n; i++) out[pick(strings) + (random() < 0.5 ? "" : String(i))] = value(depth);
    return out;
  };
  return Array.from({ length: count }, () => map(0));
}

describe("a property map encoded as a Struct", () => {
  test("is byte for byte what google-protobuf writes, for 5,000 generated maps", () => {
    for (const map of generatedMaps(5000)) {
      expect(encodeStruct(map).toString("hex")).toBe(referenceBytes(map).toString("hex"));
    }
  });

  test("of every kind of value reads back as google-protobuf reads it", () => {
    const map = {
      name: "bench-c1",
      count: 3,
      ratio: -0.5,
      big: 2 ** 60,
      on: true,
      off: false,
      nothing: null,
      command: ["nginx", "-g", "daemon off;"],
      env: { B: "two", A: "1", "": "empty key" },
      nested: [{ z: [[]], a: {} }],
      text: "ü€😀".repeat(30),
    };
    const bytes = encodeStruct(map);
    expect(JSON.stringify(decodeStruct(bytes))).toBe(JSON.stringify(referenceObject(bytes)));
    expect(decodeStruct(bytes)).toEqual(map);
  });

  test("with a property that is undefined is refused, naming the property", () => {
    expect(() => encodeStruct({ outer: { list: [1, undefined] } })).toThrow(
      new InternalError("property outer.list[1] is undefined, which a protobuf Struct cannot carry"),
    );
    expect(() => encodeStruct({ f: () => 1 })).toThrow(
      new InternalError("property f is a function, which a protobuf Struct cannot carry"),
    );
  });

  test("carries a lone surrogate as U+FFFD (valid UTF-8, which the engine requires)", () => {
    expect(decodeStruct(encodeStruct({ "a\ud800": "\udc00b" }))).toEqual({ "a\ufffd": "\ufffdb" });
  });
});

describe("a Struct message decoded", () => {
  test("gives google-protobuf's objects, keys in its (sorted) order, for 5,000 generated maps", () => {
    for (const map of generatedMaps(5000)) {
      const bytes = referenceBytes(map);
      expect(JSON.stringify(decodeStruct(bytes))).toBe(JSON.stringify(referenceObject(bytes)));
    }
  });

  /** One map entry `key: "value"` of a Struct message, as a Go encoder may order them. */
  const entry = (key: string, value: string): Buffer => {
    const valueMessage = Buffer.concat([Buffer.from([0x1a, value.length]), Buffer.from(value)]);
    const body = Buffer.concat([
      Buffer.from([0x0a, key.length]),
      Buffer.from(key),
      Buffer.from([0x12, valueMessage.length]),
      valueMessage,
    ]);
    return Buffer.concat([Buffer.from([0x0a, body.length]), body]);
  };

  test("sorts keys that came unsorted, and of a key sent twice keeps the last, as google-protobuf does", () => {
    const bytes = Buffer.concat([
      entry("zeta", "1"),
      entry("alpha", "2"),
      entry("mid", "3"),
      entry("alpha", "4"),
    ]);
    expect(JSON.stringify(decodeStruct(bytes))).toBe('{"alpha":"4","mid":"3","zeta":"1"}');
    expect(JSON.stringify(decodeStruct(bytes))).toBe(JSON.stringify(referenceObject(bytes)));
  });

  test("with a value of no kind, or cut short, is refused", () => {
    // fields { key: "a", value: {} }
    expect(() => decodeStruct(Buffer.from("0a050a01611200", "hex"))).toThrow(
      new StructWireError("a google.protobuf.Value has no kind"),
    );
    const whole = entry("key", "value");
    expect(() => decodeStruct(whole.subarray(0, whole.length - 2))).toThrow(
      new StructWireError("a protobuf field runs past its message"),
    );
  });
});

describe("Check and Create over the wire", () => {
  test("a CheckRequest's olds and news come decoded and its other fields from the generated class", () => {
    const request = new provider.CheckRequest();
    request.setUrn("urn:pulumi:s::p::bonneville:index:ContainerVM::c1");
    request.setName("c1");
    request.setType("bonneville:index:ContainerVM");
    request.setRandomseed(new Uint8Array([1, 2, 3]));
    request.setNews(Struct.fromJavaScript({ image: "nginx", labels: { b: "2", a: "1" } }));
    const autonaming = new provider.CheckRequest.AutonamingOptions();
    autonaming.setProposedName("c1-abc");
    request.setAutonaming(autonaming);
    const call = readStructRequest(
      Buffer.from(request.serializeBinary()),
      STRUCT_FIELDS.checkRequest,
      (rest) => provider.CheckRequest.deserializeBinary(rest),
    );
    expect(call.structs).toEqual({ olds: {}, news: { image: "nginx", labels: { a: "1", b: "2" } } });
    expect(call.message.getUrn()).toBe("urn:pulumi:s::p::bonneville:index:ContainerVM::c1");
    expect(call.message.getName()).toBe("c1");
    expect(call.message.getType()).toBe("bonneville:index:ContainerVM");
    expect([...call.message.getRandomseed_asU8()]).toEqual([1, 2, 3]);
    expect(call.message.getAutonaming()?.getProposedName()).toBe("c1-abc");
    expect(call.message.hasNews()).toBe(false);
  });

  test("a CreateResponse written with its properties reads back through the generated class", () => {
    const service = resourceProviderService();
    const response = new provider.CreateResponse();
    response.setId("vm-42");
    const properties = { name: "c1", ipAddress: "10.0.0.2", ports: [80, 443] };
    const bytes = service.create!.responseSerialize({
      message: response,
      structs: { properties: encodeStruct(properties) },
    });
    const read = provider.CreateResponse.deserializeBinary(new Uint8Array(bytes));
    expect(read.getId()).toBe("vm-42");
    expect(read.getProperties()?.toJavaScript()).toEqual(properties);
  });

  test("a CheckResponse with failures and inputs reads back through the generated class", () => {
    const response = new provider.CheckResponse();
    const failure = new provider.CheckFailure();
    failure.setProperty("image");
    failure.setReason("missing");
    response.setFailuresList([failure]);
    const bytes = writeStructResponse(
      { message: response, structs: { inputs: encodeStruct({ name: "c1" }) } },
      STRUCT_FIELDS.checkResponse,
      (message) => message.serializeBinary(),
    );
    const read = provider.CheckResponse.deserializeBinary(new Uint8Array(bytes));
    expect(read.getInputs()?.toJavaScript()).toEqual({ name: "c1" });
    expect(read.getFailuresList().map((f) => [f.getProperty(), f.getReason()])).toEqual([
      ["image", "missing"],
    ]);
  });
});
