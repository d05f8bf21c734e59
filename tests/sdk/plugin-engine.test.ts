/**
 * The engine behind `make demo`'s mock path (scripts/demo-plugin-engine.ts), driven directly as
 * Pulumi's mock runtime drives it: registrations become Check → Create on the real plugin, explicit
 * providers get a plugin of their own, calls go to Invoke, failures name the resource and the
 * plugin's reason, and destroy deletes dependents first.
 */
import { PluginEngine, ResourceOperationError } from "../../scripts/demo-plugin-engine";
import { providerConfig } from "../../scripts/demo-mock-runtime";
import { sharedSim, type Sim } from "../support/sim";
import { SECRET_SIG, SPECIAL_SIG_KEY } from "../harness";

let sim: Sim;
let engine: PluginEngine;

beforeAll(async () => {
  sim = sharedSim();
  engine = await PluginEngine.start({
    project: "engine-test",
    stack: "test",
    providerConfig: providerConfig(sim),
  });
});

afterAll(async () => {
  await engine?.close();
});

describe("the demo's plugin engine", () => {
  it("creates resources through the plugin and deletes them again, dependents first", async () => {
    const host = await engine.newResource({
      type: "bonneville:index:ContainerHost",
      name: "engine-pool",
      inputs: { cluster: "DC0_C0", bridgeSwitch: "DVS0" },
      custom: true,
    });
    expect(host.id).toMatch(/^resgroup-\d+$/);
    expect(host.state.networks).toEqual({ bridge: expect.stringMatching(/^dvportgroup-\d+$/) });
    const parent = await engine.newResource({
      type: "bonneville:index:ParentTemplate",
      name: "engine-parent",
      inputs: {
        source: "bonneville-source",
        resourcePoolId: host.state.resourcePoolId,
        host: "DC0_C0/DC0_C0_H2",
      },
      custom: true,
    });
    expect(parent.state.hostId).toBe("host-41");
    expect(engine.created.map((r) => r.urn)).toEqual([
      "urn:pulumi:test::engine-test::bonneville:index:ContainerHost::engine-pool",
      "urn:pulumi:test::engine-test::bonneville:index:ParentTemplate::engine-parent",
    ]);
    // Registered outside the monitor hook, a resource depends on every one created before it.
    expect(engine.created[1]!.dependencies).toEqual([engine.created[0]!.urn]);

    expect(await engine.destroy()).toBe(2);
    const inventory = await sim.inventory();
    expect(inventory.virtualMachines.some((vm) => vm.id === parent.id)).toBe(false);
    expect(inventory.resourcePools.some((pool) => pool.id === host.id)).toBe(false);
  });

  it("configures a plugin of its own for an explicit provider and creates through it", async () => {
    const provider = await engine.newResource({
      type: "pulumi:providers:bonneville",
      name: "lab",
      inputs: providerConfig(sim),
      custom: true,
    });
    // The provider's state keeps the password secret.
    expect(provider.state.password).toEqual({ [SPECIAL_SIG_KEY]: SECRET_SIG, value: sim.password });
    const reference = `urn:pulumi:test::engine-test::pulumi:providers:bonneville::lab::${provider.id}`;
    const host = await engine.newResource({
      type: "bonneville:index:ContainerHost",
      name: "via-lab",
      inputs: { cluster: "DC0_C0", bridgeSwitch: "DVS0" },
      custom: true,
      provider: reference,
    });
    expect(host.id).toMatch(/^resgroup-\d+$/);
    expect(await engine.destroy()).toBe(1);
  });

  it("fails a registration the plugin's Check refuses, with the property and the reason", async () => {
    const failed = engine.newResource({
      type: "bonneville:index:ContainerHost",
      name: "bad-vlan",
      inputs: { cluster: "DC0_C0", bridgeSwitch: "DVS0", bridgeVlanId: 5000 },
      custom: true,
    });
    await expect(failed).rejects.toThrow(ResourceOperationError);
    await expect(failed).rejects.toThrow(
      /^Check of urn:pulumi:test::engine-test::bonneville:index:ContainerHost::bad-vlan failed: bridgeVlanId: /,
    );
    expect(await engine.failed).toBe(engine.failures[0]);
    // As the engine does after a failed step, nothing new starts.
    await expect(
      engine.newResource({ type: "bonneville:index:ContainerHost", name: "later", inputs: {}, custom: true }),
    ).rejects.toThrow(
      "Create of urn:pulumi:test::engine-test::bonneville:index:ContainerHost::later failed: not attempted, an earlier operation failed",
    );
    expect(engine.skipped).toBe(1);
  });

  it("sends function calls to the plugin's Invoke, which has no functions", async () => {
    await expect(engine.call({ token: "bonneville:index:getHosts", inputs: {} })).rejects.toThrow(
      /^Invoke of bonneville:index:getHosts failed: gRPC 12: /,
    );
  });
});
