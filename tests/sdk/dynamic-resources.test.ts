/**
 * The SDK's dynamic resource classes as a program registers them (Pulumi's mock runtime): their type, the
 * serialized provider and URN they send, the connection kept secret, every schema property an output, and
 * their declared outputs the same as the plugin classes'.
 */
import * as pulumi from "@pulumi/pulumi";
import * as schema from "../../schema.json";
import * as dynamic from "../../sdk/nodejs/src/dynamic";
import type { ContainerHost, ContainerVM, ParentTemplate } from "../../sdk/nodejs/src";
import { secret } from "../harness/values";

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const registered: Registration[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "proj",
    "dev",
    false,
  );
});

/** The value of an output, once the mock engine has registered its resource. */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

const connection = {
  vsphereServer: "vcenter.example.com",
  user: "administrator@vsphere.local",
  password: pulumi.secret("correct horse battery staple"),
  thumbprint: "AB".repeat(32),
};

class Team extends pulumi.ComponentResource {
  readonly web: dynamic.ContainerVM;
  constructor(name: string) {
    super("example:index:Team", name);
    this.web = new dynamic.ContainerVM(
      `${name}-web`,
      { parentId: "vm-47", image: "nginx:1.27" },
      { parent: this },
    );
  }
}

describe("the dynamic resource classes", () => {
  it("register as pulumi-nodejs:dynamic/bonneville:<Kind> with the serialized provider and their URN", async () => {
    const vm = new dynamic.ContainerVM("web", {
      parentId: "vm-47",
      image: "nginx:1.27",
      env: { TOKEN: pulumi.secret("hunter22") },
      connection,
    });
    const urn = await valueOf(vm.urn);
    const registration = registered.find((r) => r.name === "web")!;
    expect(registration.type).toBe("pulumi-nodejs:dynamic/bonneville:ContainerVM");
    expect(urn).toBe("urn:pulumi:dev::proj::pulumi-nodejs:dynamic/bonneville:ContainerVM::web");
    expect(registration.inputs.__urn).toBe(urn);
    const provider = dynamic.dynamicProvider("ContainerVM");
    const text = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
    expect(registration.inputs.__provider).toBe(text);
    // The whole connection is registered as a secret.
    expect(registration.inputs.connection).toEqual(
      secret({ ...connection, password: "correct horse battery staple" }),
    );
    expect(await valueOf(vm.image)).toBe("nginx:1.27");
    expect(await valueOf(vm.vmId)).toBeUndefined(); // an output the mock engine did not compute
  });

  it("keep the connection secret", async () => {
    const host = new dynamic.ContainerHost("pool", { cluster: "DC0_C0", bridgeSwitch: "DVS0", connection });
    const output = (host as unknown as { connection: pulumi.Output<unknown> }).connection;
    expect(await pulumi.isSecret(output)).toBe(true);
  });

  it("send the URN of a child with its parent's type in it, as the engine names it", async () => {
    const team = new Team("blue");
    const urn = await valueOf(team.web.urn);
    expect(urn).toBe(
      "urn:pulumi:dev::proj::example:index:Team$pulumi-nodejs:dynamic/bonneville:ContainerVM::blue-web",
    );
    expect(registered.find((r) => r.name === "blue-web")!.inputs.__urn).toBe(urn);
  });

  it("serialize each kind's provider to the same text for every resource", async () => {
    new dynamic.ParentTemplate("p1", { source: "bonneville-source", resourcePoolId: "resgroup-1" });
    const p2 = new dynamic.ParentTemplate("p2", {
      source: "bonneville-source",
      resourcePoolId: "resgroup-1",
    });
    await valueOf(p2.urn);
    const [first, second] = ["p1", "p2"].map((name) => registered.find((r) => r.name === name)!.inputs);
    expect(first!.__provider).toBe(second!.__provider);
    expect(first!.__provider).toMatch(/require\("@bonneville\/provider"\)/);
    expect(first!.__provider).toMatch(/"bonneville:index:ParentTemplate"/);
  });

  it.each([
    ["ContainerHost", () => new dynamic.ContainerHost("h", { cluster: "DC0_C0", bridgeSwitch: "DVS0" })],
    ["ParentTemplate", () => new dynamic.ParentTemplate("t", { source: "s", resourcePoolId: "resgroup-1" })],
    ["ContainerVM", () => new dynamic.ContainerVM("v", { parentId: "vm-1", image: "nginx" })],
  ] as const)("%s has an output for every property of the package schema", (kind, make) => {
    const resource = make() as unknown as Record<string, unknown>;
    const properties = Object.keys(schema.resources[`bonneville:index:${kind}`].properties);
    for (const property of properties) {
      expect([property, pulumi.Output.isInstance(resource[property])]).toEqual([property, true]);
    }
  });
});

// The dynamic classes declare the same outputs as the plugin's generated classes (checked by the compiler).
type Outputs<T> = Exclude<keyof T, keyof pulumi.CustomResource>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameHost: Same<Outputs<dynamic.ContainerHost>, Outputs<ContainerHost>> = true;
const sameParent: Same<Outputs<dynamic.ParentTemplate>, Outputs<ParentTemplate>> = true;
const sameVm: Same<Outputs<dynamic.ContainerVM>, Outputs<ContainerVM>> = true;
void [sameHost, sameParent, sameVm];
