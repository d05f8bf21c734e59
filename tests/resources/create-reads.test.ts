/**
 * What a ContainerVM create asks of vSphere once the process has its look-ups: the fork, the task
 * wait and the guest wait, and no read of the new VM after them. The guest wait watches every
 * property the outputs need (vmInfoPaths), so its answer is the VM's state when the agent reported.
 */
import {
  checkAndCreate,
  containerInputs,
  startWorld,
  VM_TOKEN,
  type FleetWorld,
} from "../../bench/src/fleet";
import { removeShims } from "../../bench/src/plugin-env";

let world: FleetWorld;

beforeAll(async () => {
  world = await startWorld({}, { hosts: 1 });
}, 60_000);

afterAll(async () => {
  await world?.close();
  removeShims();
});

it("takes a new container's outputs from its guest wait, without reading the VM again", async () => {
  await checkAndCreate(world.plugin, VM_TOKEN, "first", containerInputs(world, 0));
  await world.sim.resetStats();
  const second = await checkAndCreate(world.plugin, VM_TOKEN, "second", containerInputs(world, 1));
  const { calls } = await world.sim.stats();
  expect(calls.InstantClone_Task).toBe(1);
  expect(calls.RetrievePropertiesEx ?? 0).toBe(0);

  const vm = (await world.sim.inventory()).virtualMachines.find((v) => v.id === second.id)!;
  expect(second.outputs).toMatchObject({
    vmId: vm.id,
    name: vm.name,
    powerState: "poweredOn",
    hostId: vm.host,
    containerStatus: "running",
  });
  expect(second.outputs.portGroupIds).toEqual(vm.networks);
  // The same outputs as a Read (a refresh) of the VM gives now.
  const read = await world.plugin.rpc.read({
    urn: second.urn,
    id: second.id,
    properties: second.outputs,
    inputs: second.inputs,
  });
  for (const key of ["uuid", "macAddresses", "hostId", "ipAddress", "containerStatus", "powerState"]) {
    expect([key, second.outputs[key]]).toEqual([key, read.properties[key]]);
  }
  expect(second.outputs.uuid).toMatch(/^[0-9a-f-]{36}$/);
  expect(second.outputs.macAddresses).toEqual([expect.stringMatching(/^00:50:56:/)]);
}, 60_000);
