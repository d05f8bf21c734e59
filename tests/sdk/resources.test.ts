/**
 * The SDK's resource classes under Pulumi's mock runtime: what they register (type token, inputs,
 * secret wrapping, plugin version, additional secret outputs), how outputs come back, lookups by ID,
 * and the errors for missing required properties.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { ContainerHost } from "../../sdk/nodejs/src/container-host";
import { ContainerVM } from "../../sdk/nodejs/src/container-vm";
import { MissingRequiredPropertyError } from "../../sdk/nodejs/src/errors";
import { packageVersion } from "../../sdk/nodejs/src/package-defaults";
import { ParentTemplate } from "../../sdk/nodejs/src/parent-template";
import { Provider } from "../../sdk/nodejs/src/provider";
import { SECRET_SIG, SPECIAL_SIG_KEY } from "../harness";

/** What the monitor saw for one registration. */
interface Registered {
  readonly args: MockResourceArgs;
  readonly version: string;
  readonly additionalSecretOutputs: string[];
}

const registered: Registered[] = [];
let pendingRequest: { version: string; additionalSecretOutputs: string[] } | undefined;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ args, ...pendingRequest! });
        const outputs: Record<string, unknown> = { ...args.inputs };
        if (args.type === ContainerVM.__pulumiType) {
          Object.assign(outputs, { vmId: "vm-101", macAddresses: ["00:50:56:aa:bb:cc"], cloneSeconds: 0.4 });
        }
        if (args.type === ContainerHost.__pulumiType) {
          Object.assign(outputs, { resourcePoolId: "resgroup-9", networks: { bridge: "dvportgroup-20" } });
        }
        return { id: args.id || `${args.name}-id`, state: outputs };
      },
      call: () => ({}),
    },
    "sdk-test",
    "test",
  );
  // Record the request fields the mocks do not receive.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    pendingRequest = {
      version: request.getVersion(),
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    };
    return register(request, callback);
  };
});

interface RegisterRequest {
  getVersion(): string;
  getAdditionalsecretoutputsList(): string[];
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

async function registration(name: string): Promise<Registered> {
  for (let i = 0; i < 100; i++) {
    const found = registered.find((r) => r.args.name === name);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(
    `${name} was never registered; registered: ${registered.map((r) => r.args.name).join(", ")}`,
  );
}

describe("the SDK's resource classes", () => {
  it("register a ContainerHost with its token, inputs and the plugin version, and resolve its outputs", async () => {
    const host = new ContainerHost("pool", {
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      containerNetworks: { frontend: "DC0_DVPG1" },
    });
    const seen = await registration("pool");
    expect(seen.args.type).toBe("bonneville:index:ContainerHost");
    expect(seen.args.custom).toBe(true);
    expect(seen.args.inputs).toEqual({
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      containerNetworks: { frontend: "DC0_DVPG1" },
    });
    expect(seen.version).toBe(packageVersion);
    expect(seen.additionalSecretOutputs).toEqual([]);
    expect(await valueOf(host.id)).toBe("pool-id");
    expect(await valueOf(host.resourcePoolId)).toBe("resgroup-9");
    expect(await valueOf(host.networks)).toEqual({ bridge: "dvportgroup-20" });
    expect(await valueOf(host.cpuLimitMhz)).toBeUndefined();
  });

  it("pass one resource's outputs into another's inputs", async () => {
    const host = new ContainerHost("pool2", { cluster: "DC0_C0", bridgeSwitch: "DVS0" });
    const parent = new ParentTemplate("parent", {
      source: "bonneville-source",
      host: "DC0_C0_H1",
      resourcePoolId: host.resourcePoolId,
      networks: [host.networks.apply((n) => n.bridge!)],
    });
    const vm = new ContainerVM("web", {
      parentId: parent.id,
      image: "nginx:1.27",
      env: { TOKEN: pulumi.secret("s3cret") },
    });
    const seen = await registration("web");
    expect(seen.args.inputs).toEqual({
      parentId: "parent-id",
      image: "nginx:1.27",
      env: { [SPECIAL_SIG_KEY]: SECRET_SIG, value: { TOKEN: "s3cret" } },
    });
    expect((await registration("parent")).args.inputs).toEqual({
      source: "bonneville-source",
      host: "DC0_C0_H1",
      resourcePoolId: "resgroup-9",
      networks: ["dvportgroup-20"],
    });
    expect(await valueOf(vm.vmId)).toBe("vm-101");
    expect(await valueOf(vm.macAddresses)).toEqual(["00:50:56:aa:bb:cc"]);
    expect(await valueOf(vm.cloneSeconds)).toBe(0.4);
    expect(pulumi.Output.isInstance(vm.containerStatus)).toBe(true);
  });

  it("refuse a resource without a required property, naming it and what it takes", () => {
    const missing = (): ContainerVM => new ContainerVM("broken", { image: "nginx" } as never);
    expect(missing).toThrow(MissingRequiredPropertyError);
    expect(missing).toThrow(
      'bonneville:index:ContainerVM "broken": missing required property "parentId" ' +
        "(string: The ParentTemplate to fork, powered on and frozen or running (its `vmId`, or a VM path or ID).)",
    );
    expect(() => new ContainerHost("no-switch", { cluster: "DC0_C0" } as never)).toThrow(
      'bonneville:index:ContainerHost "no-switch": missing required property "bridgeSwitch"',
    );
  });

  it("look up an existing resource by ID with get()", async () => {
    const vm = ContainerVM.get("existing", "vm-77", { image: "nginx:1.27" });
    const seen = await registration("existing");
    expect(seen.args.id).toBe("vm-77");
    expect(seen.args.type).toBe("bonneville:index:ContainerVM");
    expect(seen.args.inputs).toEqual({ image: "nginx:1.27" });
    expect(await valueOf(vm.id)).toBe("vm-77");
  });

  it("tell their own instances apart with isInstance", () => {
    const host = new ContainerHost("pool3", { bridgeSwitch: "DVS0", cluster: "DC0_C0" });
    expect(ContainerHost.isInstance(host)).toBe(true);
    expect(ContainerVM.isInstance(host)).toBe(false);
    expect(ContainerHost.isInstance({ __pulumiType: "bonneville:index:ContainerHost" })).toBe(true);
    expect(ContainerHost.isInstance(undefined)).toBe(false);
    expect(Provider.isInstance(host)).toBe(false);
  });

  it("declare a Provider with its settings: the password secret, non-strings as JSON text", async () => {
    const provider = new Provider("lab", {
      vsphereServer: "vcenter.lab.example",
      user: "automation@vsphere.local",
      password: "hunter2",
      allowUnverifiedSsl: true,
    });
    const seen = await registration("lab");
    expect(seen.args.type).toBe("pulumi:providers:bonneville");
    expect(seen.args.inputs).toEqual({
      vsphereServer: "vcenter.lab.example",
      user: "automation@vsphere.local",
      password: { [SPECIAL_SIG_KEY]: SECRET_SIG, value: "hunter2" },
      allowUnverifiedSsl: "true",
    });
    expect(seen.version).toBe(packageVersion);
    expect(seen.additionalSecretOutputs).toEqual(["password"]);
    expect(Provider.isInstance(provider)).toBe(true);
    expect(await valueOf(provider.vsphereServer)).toBe("vcenter.lab.example");

    new ContainerHost("on-lab", { cluster: "DC0_C0", bridgeSwitch: "DVS0" }, { provider });
    const host = await registration("on-lab");
    expect(host.args.provider).toMatch(
      /^urn:pulumi:test::sdk-test::pulumi:providers:bonneville::lab::lab-id$/,
    );
  });
});
