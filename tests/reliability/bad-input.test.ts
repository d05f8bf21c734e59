/**
 * Bad input that needs the plugin and vSphere to be found: provider configuration, credentials,
 * an unreachable server, certificates, and inputs naming objects that do not exist or are of the
 * wrong kind. Each is answered with an error naming the property (or config key) and the value,
 * at preview when it can be known there; a missing object is found before anything is created.
 */
import { resource, secret, type ResourceDeclaration, type WireValue } from "../harness";
import { account, base, failureOf, HOST, Lab, PARENT, VM } from "./support";

let lab: Lab;
/** IDs of a good host and parent the cases refer to. */
let good: { pool: string; folder: string; parent: string; bridge: string };

beforeAll(async () => {
  lab = await Lab.start();
  const { host, parent } = base("good");
  const stack = lab.stack();
  await stack.up([host, parent]);
  good = {
    pool: stack.get("good-host")!.id,
    folder: stack.outputs("good-host").folderId as string,
    parent: stack.get("good-parent")!.id,
    bridge: stack.outputs("good-host").bridgePortGroupId as string,
  };
});

afterAll(async () => {
  await lab?.stop();
});

/** One bad input: what is deployed, with which config, where it must fail, and what the error says. */
interface Case {
  readonly what: string;
  readonly config?: Record<string, WireValue>;
  /** Config keys removed from the lab's good configuration. */
  readonly without?: readonly string[];
  readonly program?: () => ResourceDeclaration[];
  /** `preview`: the preview fails; `up`: the preview passes and the up fails. */
  readonly at: "preview" | "up";
  readonly says: readonly (string | RegExp)[];
}

const hostInputs = { name: "bad-pool", cluster: "DC0_C0", bridgeSwitch: "DVS0" };
const badHost = (inputs: Record<string, unknown>) => () => [
  resource(HOST, "bad-host", { ...hostInputs, ...inputs }),
];
const parentInputs = () => ({
  source: "bonneville-source",
  resourcePoolId: good.pool,
  folderId: good.folder,
});
const badParent = (inputs: Record<string, unknown>) => () => [
  resource(PARENT, "bad-parent", { ...parentInputs(), ...inputs }),
];
const badVm = (inputs: Record<string, unknown>) => () => [
  resource(VM, "bad-vm", { parentId: good.parent, image: "nginx:1.27", ...inputs }),
];
const WRONG_PASSWORD = "Wr0ng-pa55word-9c1d";

const cases: Case[] = [
  // Provider configuration, rejected by CheckConfig at preview.
  {
    what: "a server URL with another scheme",
    config: { vsphereServer: "ftp://vc.example.com" },
    at: "preview",
    says: ["vsphereServer", `"ftp://vc.example.com"`, "https URL"],
  },
  {
    what: "a server with a space in it",
    config: { vsphereServer: "vc example com" },
    at: "preview",
    says: ["vsphereServer", `"vc example com"`],
  },
  {
    what: "a thumbprint that is not a SHA-256 fingerprint",
    config: { thumbprint: "AB:CD:EF" },
    at: "preview",
    says: ["thumbprint", `"AB:CD:EF"`, "32 hexadecimal bytes"],
  },
  {
    what: "allowUnverifiedSsl that is not a boolean",
    config: { allowUnverifiedSsl: "maybe" },
    at: "preview",
    says: ["allowUnverifiedSsl", `"maybe"`, "a boolean"],
  },
  {
    what: "an unknown configuration key",
    config: { vsphereHost: "vc.example.com" },
    at: "preview",
    says: [`unknown configuration key "vsphereHost"`, "vsphereServer"],
  },
  {
    what: "no password",
    without: ["password"],
    at: "preview",
    says: [`missing required configuration "password"`, "pulumi config set bonneville:password --secret"],
  },
  {
    what: "an empty user",
    config: { user: "" },
    at: "preview",
    says: ["user", "a non-empty string"],
  },
  // Reaching vSphere: found at the first operation that needs it.
  {
    what: "a wrong password",
    config: { password: secret(WRONG_PASSWORD) },
    program: badHost({}),
    at: "up",
    says: [
      /cannot log in to 127\.0\.0\.1:\d+ as "administrator@vsphere\.local": the user name or password is wrong/,
    ],
  },
  {
    what: "a wrong user",
    config: { user: "nobody@vsphere.local" },
    program: badHost({}),
    at: "up",
    says: [`as "nobody@vsphere.local": the user name or password is wrong`],
  },
  {
    what: "an unreachable server",
    config: { vsphereServer: "127.0.0.1:1" },
    program: badHost({}),
    at: "up",
    says: ["cannot reach 127.0.0.1:1", "ECONNREFUSED"],
  },
  {
    what: "a wrong thumbprint",
    config: { thumbprint: "00".repeat(32) },
    program: badHost({}),
    at: "up",
    says: ["does not match the pinned thumbprint", "00:00:00"],
  },
  {
    what: "a self-signed certificate with neither thumbprint nor allowUnverifiedSsl",
    without: ["thumbprint"],
    program: badHost({}),
    at: "up",
    says: ["is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)", "set `thumbprint` to pin it"],
  },
  {
    what: "a datacenter that does not exist",
    config: { datacenter: "DC9" },
    program: badHost({}),
    at: "up",
    says: [`the datacenter "DC9" (the provider's \`datacenter\`) does not exist`, "vCenter has DC0"],
  },
  // ContainerHost inputs naming objects that are not there.
  {
    what: "a missing cluster",
    program: badHost({ cluster: "DC0_C9" }),
    at: "up",
    says: ["cluster:", "DC0_C9"],
  },
  {
    what: "a missing cluster ID",
    program: badHost({ cluster: "domain-c999" }),
    at: "up",
    says: ["cluster:", `"domain-c999"`],
  },
  {
    what: "a missing resource pool instead of a cluster",
    program: badHost({ cluster: undefined, resourcePool: "DC0_C0/Resources/nope" }),
    at: "up",
    says: ["resourcePool:", "DC0_C0/Resources/nope"],
  },
  {
    what: "a missing switch",
    program: badHost({ bridgeSwitch: "DVS9" }),
    at: "up",
    says: ["bridgeSwitch:", "DVS9"],
  },
  {
    what: "a port group given as the switch",
    program: badHost({ bridgeSwitch: "DC0_DVPG0" }),
    at: "up",
    says: ["bridgeSwitch:", `"DC0_DVPG0" is a DistributedVirtualPortgroup`],
  },
  {
    what: "a missing container network",
    program: badHost({ containerNetworks: { frontend: "DC0_DVPG9" } }),
    at: "up",
    says: ["containerNetworks.frontend:", "DC0_DVPG9"],
  },
  {
    what: "a missing parent folder",
    program: badHost({ folder: "teams/nope" }),
    at: "up",
    says: ["folder:", "teams/nope"],
  },
  // ParentTemplate inputs.
  {
    what: "a missing source",
    program: badParent({ source: "no-such-template" }),
    at: "up",
    says: ["source:", "no-such-template"],
  },
  {
    what: "a missing ESXi host",
    program: badParent({ host: "DC0_C0/DC0_C0_H9" }),
    at: "up",
    says: ["host:", "DC0_C0/DC0_C0_H9"],
  },
  {
    what: "a missing datastore",
    program: badParent({ datastore: "LocalDS_9" }),
    at: "up",
    says: ["datastore:", "LocalDS_9"],
  },
  {
    what: "a missing resource pool ID",
    program: badParent({ resourcePoolId: "resgroup-999" }),
    at: "up",
    says: ["resourcePoolId:", `"resgroup-999"`],
  },
  {
    what: "a missing folder ID",
    program: badParent({ folderId: "group-v999" }),
    at: "up",
    says: ["folderId:", `"group-v999"`],
  },
  {
    what: "a missing port group for the parent's card",
    program: badParent({ networks: ["DC0_DVPG9"] }),
    at: "up",
    says: ["networks[0]:", "DC0_DVPG9"],
  },
  {
    what: "more networks than the source has cards",
    program: badParent({ networks: ["DC0_DVPG0", "DC0_DVPG1"] }),
    at: "up",
    says: ["networks:", "has 2 entries but source bonneville-source has 1 network card(s)"],
  },
  // ContainerVM inputs.
  {
    what: "a missing parent",
    program: badVm({ parentId: "vm-9999" }),
    at: "up",
    says: ["parentId:", `"vm-9999"`],
  },
  {
    what: "a cluster given as the parent",
    program: badVm({ parentId: "/DC0/host/DC0_C0" }),
    at: "up",
    says: ["parentId:", `is a ClusterComputeResource, not a VirtualMachine`],
  },
  {
    what: "a missing port group for the container",
    program: badVm({ networks: ["DC0_DVPG9"] }),
    at: "up",
    says: ["networks[0]:", "DC0_DVPG9"],
  },
  {
    what: "more networks than the parent has cards",
    program: badVm({ networks: ["DC0_DVPG0", "DC0_DVPG1"] }),
    at: "up",
    says: ["networks:", "has 2 entries but parent", "has 1 network card(s)"],
  },
  {
    what: "a missing resource pool for the container",
    program: badVm({ resourcePoolId: "resgroup-999" }),
    at: "up",
    says: ["resourcePoolId:", `"resgroup-999"`],
  },
  {
    what: "a missing folder for the container",
    program: badVm({ folderId: "group-v999" }),
    at: "up",
    says: ["folderId:", `"group-v999"`],
  },
  {
    what: "two containers with the same name",
    program: () => [
      ...badVm({ name: "twin" })(),
      resource(VM, "bad-vm-2", { parentId: good.parent, image: "nginx:1.27", name: "twin" }),
    ],
    at: "up",
    says: [`name: a VM named "twin" already exists in folder`, "choose another name"],
  },
  // Inputs that Check rejects: the preview stops there, before any plugin call reaches vSphere.
  {
    what: "an image reference with capitals",
    program: badVm({ image: "NGINX:Latest!" }),
    at: "preview",
    says: ["image", "NGINX:Latest!"],
  },
  {
    what: "a VLAN out of range",
    program: badHost({ bridgeVlanId: 5000 }),
    at: "preview",
    says: ["bridgeVlanId", "5000", "4094"],
  },
  {
    what: "an environment variable name starting with a digit",
    program: badVm({ env: { "1BAD": "x" } }),
    at: "preview",
    says: ["env", "1BAD"],
  },
  {
    what: "an unknown power state",
    program: badVm({ powerState: "sleeping" }),
    at: "preview",
    says: ["powerState", "sleeping", "poweredOn"],
  },
  {
    what: "a property of another resource",
    program: badVm({ cluster: "DC0_C0" }),
    at: "preview",
    says: ["cluster"],
  },
];

describe("bad input is answered with an error naming the property and the value", () => {
  it("has a table of at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.what, c] as const))("%s", async (_what, c) => {
    const config = { ...lab.config(), ...(c.config ?? {}) };
    for (const key of c.without ?? []) delete config[key];
    const stack = lab.stack(config);
    const program = c.program?.() ?? badHost({})();
    await lab.sim.resetStats();
    let error: Error;
    if (c.at === "preview") {
      error = await failureOf(() => stack.preview(program));
    } else {
      await stack.preview(program);
      error = await failureOf(() => stack.up(program));
    }
    for (const fragment of c.says) {
      if (typeof fragment === "string") expect(error.message).toContain(fragment);
      else expect(error.message).toMatch(fragment);
    }
    expect(error.message).not.toContain(WRONG_PASSWORD);
    expect(error.message).not.toContain(lab.sim.password);
    // Nothing was made for the failed resource, and vSphere holds what the states say.
    // Two twins are independent steps, which the engine runs in parallel: either may take the name
    // first, and exactly that one stands.
    const made = [...stack.state.values()].filter((e) => e.name.startsWith("bad-")).map((e) => e.name);
    if (c.what === "two containers with the same name") {
      expect(made).toHaveLength(1);
      expect(["bad-vm", "bad-vm-2"]).toContain(made[0]);
    } else {
      expect(made).toEqual([]);
    }
    const writes = Object.keys((await lab.sim.stats()).calls).filter((m) =>
      /_Task$|^Create(ResourcePool|Folder)$/.test(m),
    );
    if (c.what !== "two containers with the same name") expect(writes).toEqual([]);
    if (stack.state.size > 0) await stack.destroy();
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});
