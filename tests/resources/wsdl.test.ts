/**
 * Every request Bonneville sends is valid against the vim25 schema: the SOAP bodies of a lifecycle
 * run (host, parent, containers on two networks, in-place updates, a placement correction, refresh,
 * destroy), recorded by the embedded vSphere, are checked for sequence order, required elements,
 * `xsi:type` on polymorphic values and enumeration values (schema: tests/support/vim25-schema.ts).
 */
import { encodeRequest } from "../../provider/src/vsphere/soap/xml";
import { MoRef, XsdValue } from "../../provider/src/vsphere";
import { insecureFetch, Sim } from "../support/sim";
import { Vim25Schema } from "../support/vim25-schema";
import { networkOf, output, resource, simStack, HOST, PARENT, VM } from "../harness";

const schema = Vim25Schema.load();
const vm1 = new MoRef("VirtualMachine", "vm-1");

describe("the vim25 schema check", () => {
  it("reads govmomi's generated types", () => {
    expect(schema.size).toBeGreaterThan(3000);
    expect(schema.elementsOf("VirtualMachineInstantCloneSpec").map((f) => f.name)).toEqual([
      "name",
      "location",
      "config",
      "biosUuid",
    ]);
  });

  it("accepts a well-formed request", () => {
    const xml = encodeRequest("InstantClone_Task", vm1, {
      spec: {
        $type: "VirtualMachineInstantCloneSpec",
        name: "c1",
        location: { $type: "VirtualMachineRelocateSpec", pool: new MoRef("ResourcePool", "resgroup-7") },
        config: [{ $type: "OptionValue", key: "guestinfo.a", value: XsdValue.string("b") }],
      },
    });
    expect(schema.validateRequest(xml)).toEqual([]);
  });

  it("finds elements out of sequence order, unknown or missing elements, and missing or wrong xsi:type", () => {
    const bad = (args: Record<string, unknown>, method = "InstantClone_Task") =>
      schema.validateRequest(encodeRequest(method, vm1, args));
    expect(bad({ spec: { location: {}, name: "c1" } })).toContain(
      "InstantClone_Task.spec.name: out of sequence order in VirtualMachineInstantCloneSpec (name, location, config, biosUuid)",
    );
    expect(bad({ spec: { name: "c1", location: {}, colour: "red" } })).toContain(
      "InstantClone_Task.spec.colour: VirtualMachineInstantCloneSpec has no element colour",
    );
    expect(bad({ spec: { name: "c1" } })).toContain(
      "InstantClone_Task.spec: VirtualMachineInstantCloneSpec.location is required",
    );
    expect(
      bad({ spec: { name: "c1", location: {}, config: [{ $type: "OptionValue", key: "k", value: "v" }] } }),
    ).toContain("InstantClone_Task.spec.config.value: a anyType slot needs xsi:type naming the value's type");
    expect(
      bad({ spec: { name: "c1", location: {}, config: [{ key: "k", value: XsdValue.string("v") }] } }),
    ).toContain("InstantClone_Task.spec.config: a OptionValue slot needs xsi:type naming the value's type");
    expect(
      bad({
        spec: {
          name: "c1",
          location: {
            deviceChange: [{ $type: "VirtualDeviceConfigSpec", operation: "edit", device: { key: 1 } }],
          },
        },
      }),
    ).toContain(
      "InstantClone_Task.spec.location.deviceChange.device: a VirtualDevice slot needs xsi:type naming the value's type",
    );
    expect(
      bad({
        spec: {
          name: "c1",
          location: {
            deviceChange: [
              {
                $type: "VirtualDeviceConfigSpec",
                operation: "change",
                device: { $type: "VirtualVmxnet3", key: 1 },
              },
            ],
          },
        },
      }),
    ).toContain(
      'InstantClone_Task.spec.location.deviceChange.operation: "change" is not a VirtualDeviceConfigSpecOperation value',
    );
    expect(bad({ spec: { name: "c1", location: { $type: "OptionValue" } } })).toContain(
      "InstantClone_Task.spec.location: xsi:type OptionValue is not a VirtualMachineRelocateSpec",
    );
  });
});

describe("a lifecycle run", () => {
  let sim: Sim;

  beforeAll(async () => {
    sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "100" });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  it("sends only requests that are valid against the vim25 schema", async () => {
    const record = await insecureFetch(`${sim.controlUrl}/requests/record`, "POST");
    expect(record.status).toBe(200);

    const stack = simStack(sim);
    const host = resource(HOST, "wsdl-host", {
      name: "wsdl",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      bridgeVlanId: 12,
      containerNetworks: { frontend: "DC0_DVPG1" },
      cpuLimitMhz: 4000,
    });
    const parent = resource(PARENT, "wsdl-parent", {
      source: "bonneville-source",
      resourcePoolId: output(host, "resourcePoolId"),
      folderId: output(host, "folderId"),
      host: "DC0_C0_H1",
      networks: [networkOf(host, "bridge")],
      extraConfig: { "guestinfo.team": "platform\ttab\nline" },
    });
    const containers = (labels: Record<string, string>, powerState = "poweredOn") => [
      resource(VM, "wsdl-a", {
        parentId: output(parent, "vmId"),
        image: "nginx:1.27",
        command: ["nginx", "-g", "daemon off;"],
        env: { MODE: "wsdl" },
        labels,
        networks: [networkOf(host, "frontend")],
        waitForIp: powerState === "poweredOn",
      }),
      resource(VM, "wsdl-b", { parentId: output(parent, "vmId"), image: "redis:7", labels, powerState }),
    ];
    await stack.up([host, parent, ...containers({ tier: "web" })]);
    await stack.up([host, parent, ...containers({ tier: "cache" }, "poweredOff")]);
    await stack.up([
      { ...host, inputs: { ...host.inputs, bridgeVlanId: 13, cpuLimitMhz: 5000 } },
      parent,
      ...containers({ tier: "cache" }, "poweredOff"),
    ]);
    // vCenter ignoring an instant clone's location: the provider moves the clone.
    expect((await insecureFetch(`${sim.controlUrl}/modes`, "POST", { ignoreLocation: true })).status).toBe(
      200,
    );
    await stack.up([
      host,
      parent,
      ...containers({ tier: "cache" }, "poweredOff"),
      resource(VM, "wsdl-c", {
        parentId: output(parent, "vmId"),
        image: "busybox",
        resourcePoolId: "DC0_C0/Resources",
      }),
    ]);
    await insecureFetch(`${sim.controlUrl}/modes`, "DELETE");
    await stack.refresh();
    await stack.destroy();

    const recorded = await insecureFetch(`${sim.controlUrl}/requests`, "GET");
    const requests = (JSON.parse(recorded.body) as { requests: string[] }).requests.filter((r) =>
      r.includes("urn:vim25"),
    );
    const methods = new Set(requests.map((r) => /<soapenv:Body><(\w+)/.exec(r)?.[1] ?? "?"));
    // The run covers what a create, an update and a delete send.
    for (const method of [
      "Login",
      "RetrievePropertiesEx",
      "WaitForUpdatesEx",
      "CreateResourcePool",
      "UpdateConfig",
      "CreateFolder",
      "CreateDVPortgroup_Task",
      "ReconfigureDVPortgroup_Task",
      "CloneVM_Task",
      "PowerOnVM_Task",
      "InstantClone_Task",
      "ReconfigVM_Task",
      "PowerOffVM_Task",
      "MoveIntoFolder_Task",
      "MoveIntoResourcePool",
      "Destroy_Task",
      "Logout",
    ]) {
      expect([...methods]).toContain(method);
    }
    const problems = requests.flatMap((r) =>
      schema.validateRequest(r).map((p) => `${p}\n    in ${r.slice(0, 400)}`),
    );
    expect(problems).toEqual([]);
  });
});
