import { MoRef } from "../../provider/src/vsphere";
import { encodeRequest, XsdValue } from "../../provider/src/vsphere/soap/xml";
import { readXml } from "../../provider/src/vsphere/soap/xml-reader";

const open =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const close = "</soapenv:Body></soapenv:Envelope>";

describe("SOAP request encoding", () => {
  it("writes the method, _this, typed objects, lists, references and xsd values in wire order", () => {
    const xml = encodeRequest("ReconfigVM_Task", new MoRef("VirtualMachine", "vm-1"), {
      spec: {
        $type: "VirtualMachineConfigSpec",
        numCPUs: 2,
        memoryHotAddEnabled: false,
        annotation: "",
        deviceChange: [],
        extraConfig: [
          { $type: "OptionValue", key: "guestinfo.a", value: XsdValue.string("1") },
          { $type: "OptionValue", key: "guestinfo.b", value: new XsdValue("xsd:int", 3) },
        ],
        cpuAllocation: undefined,
        files: null,
      },
      host: new MoRef("HostSystem", "host-9"),
    });
    expect(xml).toBe(
      open +
        '<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this>' +
        '<spec xsi:type="VirtualMachineConfigSpec"><numCPUs>2</numCPUs><memoryHotAddEnabled>false</memoryHotAddEnabled><annotation></annotation>' +
        '<extraConfig xsi:type="OptionValue"><key>guestinfo.a</key><value xsi:type="xsd:string">1</value></extraConfig>' +
        '<extraConfig xsi:type="OptionValue"><key>guestinfo.b</key><value xsi:type="xsd:int">3</value></extraConfig>' +
        '</spec><host type="HostSystem">host-9</host></ReconfigVM_Task>' +
        close,
    );
  });

  it("escapes XML's special characters in text and attributes, and they read back unchanged", () => {
    const text = `a & b < c > d 'e' "f" ✓`;
    const xml = encodeRequest("M", new MoRef(`g<&>"'`, `g<&>"'`), { name: text, tag: [text, ""] });
    expect(xml).toContain(
      `<_this type="g&lt;&amp;&gt;&quot;&apos;">g&lt;&amp;&gt;&quot;&apos;</_this>` +
        `<name>a &amp; b &lt; c &gt; d &apos;e&apos; &quot;f&quot; ✓</name>`,
    );
    const method = readXml(xml).children![0]!.children![0]!;
    const fields = method.children!.map((c) => [c.name, c.refType, c.text]);
    expect(fields).toEqual([
      ["_this", `g<&>"'`, `g<&>"'`],
      ["name", undefined, text],
      ["tag", undefined, text],
      ["tag", undefined, ""],
    ]);
  });
});
