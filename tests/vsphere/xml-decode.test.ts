import { MoRef } from "../../provider/src/vsphere";
import { decodeResponse } from "../../provider/src/vsphere/soap/xml";
import { readXml, XmlSyntaxError } from "../../provider/src/vsphere/soap/xml-reader";

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe("SOAP response decoding", () => {
  it("decodes references, typed numbers and booleans, enumerations, arrays and nested objects", () => {
    const xml = envelope(
      `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-42</obj>` +
        `<propSet><name>config.hardware.numCPU</name><val xsi:type="xsd:int">2</val></propSet>` +
        `<propSet><name>config.template</name><val xsi:type="xsd:boolean">false</val></propSet>` +
        `<propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet>` +
        `<propSet><name>network</name><val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Network">network-7</ManagedObjectReference><ManagedObjectReference type="DistributedVirtualPortgroup">dvportgroup-9</ManagedObjectReference></val></propSet>` +
        `<propSet><name>config.extraConfig</name><val xsi:type="ArrayOfOptionValue"><OptionValue xsi:type="OptionValue"><key>guestinfo.a</key><value xsi:type="xsd:string">x &lt;&amp;&gt; &#65;&#x42; &quot;q&quot;</value></OptionValue></val></propSet>` +
        `</objects></returnval></RetrievePropertiesExResponse>`,
    );
    expect(decodeResponse(xml)).toEqual({
      ok: true,
      returnval: {
        objects: {
          obj: new MoRef("VirtualMachine", "vm-42"),
          propSet: [
            { name: "config.hardware.numCPU", val: 2 },
            { name: "config.template", val: false },
            { name: "runtime.powerState", val: "poweredOn" },
            {
              name: "network",
              val: [
                new MoRef("Network", "network-7"),
                new MoRef("DistributedVirtualPortgroup", "dvportgroup-9"),
              ],
            },
            {
              name: "config.extraConfig",
              val: [{ $type: "OptionValue", key: "guestinfo.a", value: 'x <&> AB "q"' }],
            },
          ],
        },
      },
    });
  });

  it("returns several returnvals as a list, none as undefined, and keeps CDATA text and skips comments", () => {
    expect(
      decodeResponse(
        envelope(
          `<R xmlns="urn:vim25"><returnval type="Task">task-1</returnval><returnval type="Task">task-2</returnval></R>`,
        ),
      ),
    ).toEqual({ ok: true, returnval: [new MoRef("Task", "task-1"), new MoRef("Task", "task-2")] });
    expect(decodeResponse(envelope(`<LogoutResponse xmlns="urn:vim25"/>`))).toEqual({
      ok: true,
      returnval: undefined,
    });
    expect(
      decodeResponse(envelope(`<R><!-- note --><returnval><![CDATA[a <b> & c]]></returnval></R>`)),
    ).toEqual({ ok: true, returnval: "a <b> & c" });
  });

  it("decodes a vim fault with its type and detail", () => {
    const xml = envelope(
      `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring>` +
        `<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-9</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault>`,
    );
    expect(decodeResponse(xml)).toEqual({
      ok: false,
      fault: {
        faultCode: "ServerFaultCode",
        faultString: "The object has already been deleted",
        vimType: "ManagedObjectNotFound",
        detail: { $type: "ManagedObjectNotFound", obj: new MoRef("VirtualMachine", "vm-9") },
      },
    });
  });

  it("refuses text that is not a SOAP envelope or not well-formed", () => {
    expect(() => decodeResponse("<html><body>502</body></html>")).toThrow("response is not a SOAP envelope");
    expect(() => decodeResponse(envelope(""))).toThrow("SOAP body is empty");
    expect(() => readXml("<a><b></a>")).toThrow(XmlSyntaxError);
    expect(() => readXml("<a x=1></a>")).toThrow("attribute x of <a> is not quoted");
    expect(() => readXml("<a>")).toThrow("unterminated element <a>");
  });
});
