/**
 * Characters XML 1.0 cannot carry (U+0000–U+001F other than tab, LF, CR): every string input that
 * reaches vSphere fails Check naming its property, and the SOAP encoder refuses them as a last line
 * without sending anything.
 */
import { containerHost, containerVm, parentTemplate } from "../../provider/src/resources";
import type { PropertyMap, ResourceType } from "../../provider/src/resources";
import { checkProviderConfig } from "../../provider/src/provider-config";
import { MoRef, UnencodableCharacterError, XsdValue } from "../../provider/src/vsphere";
import { SoapClient } from "../../provider/src/vsphere/soap/client";
import { encodeRequest } from "../../provider/src/vsphere/soap/xml";
import type { SoapTransport } from "../../provider/src/vsphere/soap/transport";

const info = { name: "res", randomSeed: new Uint8Array(32).fill(7) };
const host: PropertyMap = { name: "pool", cluster: "DC0_C0", bridgeSwitch: "DVS0" };
const parent: PropertyMap = { source: "bonneville-source", resourcePoolId: "resgroup-50" };
const vm: PropertyMap = { parentId: "vm-60", image: "nginx:1.27" };

const SOH = "\u0001";
const reason = /character U\+0001 at position \d+, which a vSphere \(XML 1\.0\) request cannot carry/;

type Case = [what: string, type: ResourceType, inputs: PropertyMap, property: string];

const cases: Case[] = [
  ["a ContainerHost name", containerHost, { ...host, name: `a${SOH}b` }, "name"],
  ["a cluster path", containerHost, { ...host, cluster: `DC0${SOH}/C0` }, "cluster"],
  ["a folder path", containerHost, { ...host, folder: `team/${SOH}` }, "folder"],
  ["a switch name", containerHost, { ...host, bridgeSwitch: `DVS${SOH}` }, "bridgeSwitch"],
  [
    "a container network's port group",
    containerHost,
    { ...host, containerNetworks: { frontend: `DC0_DVPG1${SOH}` } },
    "containerNetworks.frontend",
  ],
  ["a source path", parentTemplate, { ...parent, source: `templates/${SOH}src` }, "source"],
  ["a datastore", parentTemplate, { ...parent, datastore: `LocalDS_0${SOH}` }, "datastore"],
  ["a host path", parentTemplate, { ...parent, host: `DC0_C0/${SOH}` }, "host"],
  ["a network of a list", parentTemplate, { ...parent, networks: ["DC0_DVPG0", `x${SOH}`] }, "networks[1]"],
  [
    "an extra config value",
    parentTemplate,
    { ...parent, extraConfig: { "guestinfo.team": `a${SOH}b` } },
    "extraConfig.guestinfo.team",
  ],
  ["a parent path", containerVm, { ...vm, parentId: `parents/${SOH}p` }, "parentId"],
  ["an image", containerVm, { ...vm, image: `nginx${SOH}:1.27` }, "image"],
  ["a command argument", containerVm, { ...vm, command: ["sh", `-c${SOH}`] }, "command[1]"],
  ["an env value", containerVm, { ...vm, env: { MODE: `a${SOH}` } }, "env.MODE"],
  ["a label value", containerVm, { ...vm, labels: { app: `web${SOH}` } }, "labels.app"],
  ["a folder ID", containerVm, { ...vm, folderId: `group-v3${SOH}` }, "folderId"],
];

describe("control characters in inputs", () => {
  it.each(cases)("%s fails check naming the property, once", (_what, type, inputs, property) => {
    const { failures } = type.check(inputs, undefined, info);
    const mine = failures.filter((f) => f.property === property);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.reason).toMatch(reason);
  });

  it("names a map key that holds one", () => {
    const { failures } = containerVm.check({ ...vm, labels: { [`a${SOH}`]: "x" } }, undefined, info);
    expect(failures).toContainEqual({
      property: 'labels."a\\u0001"',
      reason: expect.stringMatching(/has a key that contains the character U\+0001/) as unknown as string,
    });
  });

  it("does not repeat a secret value in the failure", () => {
    const { failures } = containerVm.check({ ...vm, env: { TOKEN: `s3cr3t${SOH}` } }, undefined, info);
    expect(failures.map((f) => f.property)).toEqual(["env.TOKEN"]);
    expect(JSON.stringify(failures)).not.toContain("s3cr3t");
  });

  it("lets tab, line feed and carriage return through", () => {
    const { failures } = containerVm.check(
      { ...vm, env: { SCRIPT: "a\tb\nc\r\n" }, command: ["sh", "-c", "echo a\necho b"] },
      undefined,
      info,
    );
    expect(failures).toEqual([]);
  });

  it("refuses them in the provider's user, password and datacenter, without echoing the password", () => {
    const check = checkProviderConfig(
      {
        vsphereServer: "vc.example.com",
        user: `ops${SOH}`,
        password: `pw${SOH}secret`,
        datacenter: `DC${SOH}`,
      },
      {},
    );
    expect(check.failures.map((f) => f.property).sort()).toEqual(["datacenter", "password", "user"]);
    for (const f of check.failures) expect(f.reason).toMatch(reason);
    expect(JSON.stringify(check.failures)).not.toContain("secret");
  });
});

describe("the SOAP encoder", () => {
  it("refuses a request holding U+0000–U+001F with a typed error naming the method and where", () => {
    const spec = {
      $type: "VirtualMachineInstantCloneSpec",
      name: "c1",
      config: [{ $type: "OptionValue", key: "guestinfo.x", value: XsdValue.string(`v${SOH}`) }],
    };
    let error: unknown;
    try {
      encodeRequest("InstantClone_Task", new MoRef("VirtualMachine", "vm-1"), { spec });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnencodableCharacterError);
    expect((error as UnencodableCharacterError).path).toBe("spec.config[0].value");
    expect((error as Error).message).toBe(
      "InstantClone_Task: spec.config[0].value contains the character U+0001 at position 1, which a vSphere (XML 1.0) request cannot carry; control characters other than tab, line feed and carriage return are not allowed; the request was not sent",
    );
    for (const c of ["\u0000", "\u0008", "\u000b", "\u000c", "\u001f", "\ud800"]) {
      expect(() =>
        encodeRequest("Rename_Task", new MoRef("VirtualMachine", "vm-1"), { newName: `a${c}` }),
      ).toThrow(UnencodableCharacterError);
    }
  });

  it("encodes tab, line feed, carriage return and astral characters", () => {
    const xml = encodeRequest("Rename_Task", new MoRef("VirtualMachine", "vm-1"), {
      newName: "a\tb\nc\rd 🚀",
    });
    expect(xml).toContain("<newName>a\tb\nc\rd 🚀</newName>");
  });

  it("sends nothing when it refuses", async () => {
    const posted: string[] = [];
    const transport = {
      post: (method: string) => {
        posted.push(method);
        return Promise.resolve({ status: 200, body: "" });
      },
    } as unknown as SoapTransport;
    await expect(
      new SoapClient(transport).invoke("Rename_Task", new MoRef("VirtualMachine", "vm-1"), {
        newName: `x${SOH}`,
      }),
    ).rejects.toThrow(UnencodableCharacterError);
    expect(posted).toEqual([]);
  });
});
