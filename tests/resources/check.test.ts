/**
 * `check` and `diff` of the three resources, without vSphere: bad input is
 * rejected with its property path and what is allowed; names are generated
 * as Pulumi does; diffs say what updates and what replaces.
 */
import { containerHost, containerVm, parentTemplate, UNKNOWN } from "../../provider/src/resources";
import type { PropertyMap, ResourceType } from "../../provider/src/resources";

const seed = new Uint8Array(32).fill(7);
const info = (name = "res") => ({ name, randomSeed: seed });

const goodHost: PropertyMap = { name: "pool", cluster: "DC0_C0", bridgeSwitch: "DVS0" };
const goodParent: PropertyMap = { source: "bonneville-source", resourcePoolId: "resgroup-50" };
const goodVm: PropertyMap = { parentId: "vm-60", image: "nginx:1.27" };

type Case = [label: string, type: ResourceType, inputs: PropertyMap, property: string, reason: RegExp];

const cases: Case[] = [
  // ContainerHost
  ["unknown key", containerHost, { ...goodHost, clustr: "x" }, "clustr", /is not a property.*cluster/],
  [
    "name too long",
    containerHost,
    { ...goodHost, name: "h".repeat(74) },
    "name",
    /74 characters.*at most 73/,
  ],
  ["name with slash", containerHost, { ...goodHost, name: "a/b" }, "name", /must not contain "\/"/],
  ["name with control char", containerHost, { ...goodHost, name: "a\u0007b" }, "name", /control characters/],
  [
    "name not a string",
    containerHost,
    { ...goodHost, name: 42 },
    "name",
    /must be a string, not the number 42/,
  ],
  ["no cluster or pool", containerHost, { bridgeSwitch: "DVS0" }, "cluster", /required unless resourcePool/],
  [
    "cluster and pool",
    containerHost,
    { ...goodHost, resourcePool: "rp" },
    "resourcePool",
    /cannot be given together with cluster/,
  ],
  ["missing switch", containerHost, { cluster: "DC0_C0" }, "bridgeSwitch", /is required/],
  [
    "empty switch",
    containerHost,
    { ...goodHost, bridgeSwitch: "  " },
    "bridgeSwitch",
    /is required|must name/,
  ],
  [
    "VLAN too high",
    containerHost,
    { ...goodHost, bridgeVlanId: 4095 },
    "bridgeVlanId",
    /0\.\.4094, not 4095/,
  ],
  ["VLAN negative", containerHost, { ...goodHost, bridgeVlanId: -1 }, "bridgeVlanId", /0\.\.4094/],
  ["VLAN fractional", containerHost, { ...goodHost, bridgeVlanId: 1.5 }, "bridgeVlanId", /whole number/],
  [
    "network named bridge",
    containerHost,
    { ...goodHost, containerNetworks: { bridge: "DC0_DVPG0" } },
    "containerNetworks.bridge",
    /host's own network/,
  ],
  [
    "network name invalid",
    containerHost,
    { ...goodHost, containerNetworks: { "Front End": "DC0_DVPG0" } },
    "containerNetworks.Front End",
    /not a valid network name/,
  ],
  [
    "network value not string",
    containerHost,
    { ...goodHost, containerNetworks: { front: 3 } },
    "containerNetworks.front",
    /must be a string/,
  ],
  [
    "networks not a map",
    containerHost,
    { ...goodHost, containerNetworks: ["a"] },
    "containerNetworks",
    /map/,
  ],
  ["cpu limit zero", containerHost, { ...goodHost, cpuLimitMhz: 0 }, "cpuLimitMhz", /1\.\.10000000 MHz/],
  [
    "reservation above limit",
    containerHost,
    { ...goodHost, memoryLimitMb: 1024, memoryReservationMb: 2048 },
    "memoryReservationMb",
    /more than memoryLimitMb/,
  ],
  [
    "forceDestroy string",
    containerHost,
    { ...goodHost, forceDestroy: "yes" },
    "forceDestroy",
    /true or false/,
  ],
  // ParentTemplate
  ["no source", parentTemplate, { resourcePoolId: "rp" }, "source", /is required/],
  ["no pool", parentTemplate, { source: "t" }, "resourcePoolId", /is required/],
  ["parent name too long", parentTemplate, { ...goodParent, name: "p".repeat(81) }, "name", /at most 80/],
  ["cpus zero", parentTemplate, { ...goodParent, numCpus: 0 }, "numCpus", /1\.\.128/],
  ["memory too small", parentTemplate, { ...goodParent, memoryMb: 2 }, "memoryMb", /4\.\.6291456 MB/],
  [
    "network entry empty",
    parentTemplate,
    { ...goodParent, networks: ["dvportgroup-13", ""] },
    "networks[1]",
    /must name/,
  ],
  [
    "reserved extra config",
    parentTemplate,
    { ...goodParent, extraConfig: { "bonneville.urn": "x" } },
    "extraConfig.bonneville.urn",
    /reserved/,
  ],
  [
    "bad extra config key",
    parentTemplate,
    { ...goodParent, extraConfig: { "has space": "x" } },
    "extraConfig.has space",
    /not a valid extra config key/,
  ],
  [
    "timeout too long",
    parentTemplate,
    { ...goodParent, readyTimeoutSeconds: 7200 },
    "readyTimeoutSeconds",
    /1\.\.3600/,
  ],
  // ContainerVM
  ["no image", containerVm, { parentId: "vm-60" }, "image", /is required.*nginx/],
  ["no parent", containerVm, { image: "nginx" }, "parentId", /is required/],
  [
    "image upper case",
    containerVm,
    { ...goodVm, image: "Nginx:1.27" },
    "image",
    /not a valid image reference/,
  ],
  [
    "image with space",
    containerVm,
    { ...goodVm, image: "nginx 1.27" },
    "image",
    /not a valid image reference/,
  ],
  [
    "image bad digest",
    containerVm,
    { ...goodVm, image: "nginx@sha256:xyz" },
    "image",
    /not a valid image reference/,
  ],
  [
    "container name with space",
    containerVm,
    { ...goodVm, name: "my web" },
    "name",
    /not a valid container name/,
  ],
  ["container name too long", containerVm, { ...goodVm, name: "c".repeat(64) }, "name", /at most 63/],
  [
    "env key invalid",
    containerVm,
    { ...goodVm, env: { "1BAD": "x" } },
    "env.1BAD",
    /environment variable name/,
  ],
  [
    "env value number",
    containerVm,
    { ...goodVm, env: { PORT: 80 } },
    "env.PORT",
    /must be a string, not the number 80/,
  ],
  ["command not a list", containerVm, { ...goodVm, command: "nginx -g" }, "command", /list of strings/],
  ["command empty", containerVm, { ...goodVm, command: [] }, "command", /empty list/],
  [
    "command entry number",
    containerVm,
    { ...goodVm, command: ["sleep", 5] },
    "command[1]",
    /must be a string/,
  ],
  ["label key with space", containerVm, { ...goodVm, labels: { "a b": "c" } }, "labels.a b", /spaces/],
  [
    "power state",
    containerVm,
    { ...goodVm, powerState: "on" },
    "powerState",
    /"poweredOn", "poweredOff", not "on"/,
  ],
  [
    "ip wait while off",
    containerVm,
    { ...goodVm, powerState: "poweredOff", waitForIp: true },
    "waitForIp",
    /poweredOff/,
  ],
  ["too many networks", containerVm, { ...goodVm, networks: Array(11).fill("n") }, "networks", /at most 10/],
  ["networks empty list", containerVm, { ...goodVm, networks: [] }, "networks", /empty list/],
];

describe("check rejects bad input with the property path and what is allowed", () => {
  it("has a table of at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("%s", (_label, type, inputs, property, reason) => {
    const result = type.check(inputs, undefined, info());
    const failure = result.failures.find((f) => f.property === property);
    if (!failure) throw new Error(`no failure on ${property}; got ${JSON.stringify(result.failures)}`);
    expect(failure.reason).toMatch(reason);
  });

  it("accepts good input for each resource, with defaults filled in", () => {
    expect(containerHost.check(goodHost, undefined, info()).failures).toEqual([]);
    expect(parentTemplate.check(goodParent, undefined, info()).failures).toEqual([]);
    const vm = containerVm.check(
      {
        ...goodVm,
        image: "registry.example.com:5000/team/app@sha256:" + "a".repeat(64),
        env: { API_TOKEN: "x" },
        labels: { "com.example/tier": "web" },
      },
      undefined,
      info(),
    );
    expect(vm.failures).toEqual([]);
    expect(vm.inputs).toMatchObject({ powerState: "poweredOn", waitForIp: false, waitTimeoutSeconds: 300 });
  });

  it("does not report a secret value in a failure", () => {
    const result = containerVm.check({ ...goodVm, env: { TOKEN: 12345 } }, undefined, info());
    expect(JSON.stringify(result.failures)).not.toContain("12345 ");
    expect(result.failures[0]!.property).toBe("env.TOKEN");
  });

  it("lets unknown values (a preview) through", () => {
    const result = containerVm.check(
      { parentId: UNKNOWN, image: "nginx", networks: [UNKNOWN] },
      undefined,
      info(),
    );
    expect(result.failures).toEqual([]);
  });
});

describe("auto-naming", () => {
  it("names from the resource name and a suffix from the engine's seed, stable for the same seed", () => {
    const a = containerVm.check(goodVm, undefined, info("web server")).inputs.name;
    const b = containerVm.check(goodVm, undefined, info("web server")).inputs.name;
    expect(a).toBe(b);
    expect(a).toMatch(/^web-server-[0-9a-f]{7}$/);
    const other = containerVm.check(goodVm, undefined, {
      name: "web server",
      randomSeed: new Uint8Array(32),
    });
    expect(other.inputs.name).not.toBe(a);
  });

  it("keeps the current name on update, and picks a fresh one when the change replaces", () => {
    const olds = { ...goodVm, name: "web-1234567" };
    expect(containerVm.check({ ...goodVm, labels: { a: "b" } }, olds, info("web")).inputs.name).toBe(
      "web-1234567",
    );
    const replaced = containerVm.check({ ...goodVm, image: "nginx:1.28" }, olds, info("web")).inputs.name;
    expect(replaced).not.toBe("web-1234567");
  });
});

describe("diff", () => {
  const olds = { ...goodVm, name: "web", labels: { a: "1" }, powerState: "poweredOn" };

  it("replaces a ContainerVM on image, command, env, parent or networks", () => {
    for (const [key, value] of Object.entries({
      image: "nginx:1.28",
      command: ["sh"],
      env: { A: "b" },
      parentId: "vm-61",
      networks: ["dvportgroup-15"],
    })) {
      const diff = containerVm.diff("vm-70", olds, { ...olds, [key]: value, name: "web-2" });
      expect(diff.replaces).toEqual([key]);
      expect(diff.detailedDiff[key]).toMatch(/-replace$/);
      expect(diff.deleteBeforeReplace).toBe(false);
    }
  });

  it("updates labels, power state and name in place", () => {
    const diff = containerVm.diff("vm-70", olds, {
      ...olds,
      name: "web2",
      labels: { a: "2" },
      powerState: "poweredOff",
    });
    expect(diff.replaces).toEqual([]);
    expect(diff.detailedDiff).toEqual({ name: "update", labels: "update", powerState: "update" });
  });

  it("deletes before replacing when the replacement keeps a fixed name", () => {
    const diff = containerVm.diff("vm-70", olds, { ...olds, image: "nginx:1.28" });
    expect(diff.deleteBeforeReplace).toBe(true);
  });

  it("updates a ContainerHost's limits, VLAN and networks in place, and replaces on placement", () => {
    const host = { ...goodHost, bridgeVlanId: 0, forceDestroy: false };
    const inPlace = containerHost.diff("resgroup-50", host, {
      ...host,
      bridgeVlanId: 12,
      cpuLimitMhz: 4000,
      containerNetworks: { front: "DC0_DVPG1" },
    });
    expect(inPlace.replaces).toEqual([]);
    expect(inPlace.detailedDiff).toEqual({
      bridgeVlanId: "update",
      cpuLimitMhz: "add",
      containerNetworks: "add",
    });
    expect(containerHost.diff("resgroup-50", host, { ...host, cluster: "DC1_C0" }).replaces).toEqual([
      "cluster",
    ]);
  });

  it("reports no change for equal inputs, whatever the key order", () => {
    const diff = containerVm.diff(
      "vm-70",
      { ...olds, env: { A: "1", B: "2" } },
      { ...olds, env: { B: "2", A: "1" } },
    );
    expect(diff.changes).toBe(false);
  });
});
