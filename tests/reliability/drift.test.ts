/**
 * Drift: container VMs changed behind Bonneville's back in the vSphere client (deleted,
 * powered off, moved to another network) are seen by refresh and repaired by the next up:
 * a deleted VM is created again, a powered-off one powered on in place, a moved one replaced.
 */
import {
  list,
  MoRef,
  networkTarget,
  nicBacking,
  nicsOf,
  VirtualMachine,
  type DataObject,
  type VSphereClient,
} from "../../provider/src/vsphere";
import { account, base, container, Lab, networkOf } from "./support";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
});

afterAll(async () => {
  await lab?.stop();
});

function vmOf(client: VSphereClient, id: string): VirtualMachine {
  return new VirtualMachine(client, new MoRef("VirtualMachine", id));
}

/** Moves every network card of the VM to `portGroupId`, as an operator editing its NICs would. */
async function moveNetwork(client: VSphereClient, id: string, portGroupId: string): Promise<void> {
  const vm = vmOf(client, id);
  const devices = list(
    (await vm.read(["config.hardware.device"]))!["config.hardware.device"] as DataObject[],
  );
  const target = await networkTarget(client, new MoRef("DistributedVirtualPortgroup", portGroupId));
  // The vSphere client sends each card whole, with only its backing changed.
  const nicKeys = new Set(nicsOf(devices).map((nic) => nic.key));
  await vm.reconfigure({
    $type: "VirtualMachineConfigSpec",
    deviceChange: devices
      .filter((device) => nicKeys.has(Number(device.key)))
      .map((device) => ({
        $type: "VirtualDeviceConfigSpec",
        operation: "edit",
        device: { ...device, backing: nicBacking(target) },
      })),
  });
}

describe("drift made in the vSphere client", () => {
  const { host, parent } = base("drift");
  const program = [
    host,
    parent,
    container("gone", parent),
    container("off", parent),
    container("moved", parent, { networks: [networkOf(host, "bridge")] }),
    container("moved-default", parent),
  ];
  const stack = () => lab.stacks[0]!;

  beforeAll(async () => {
    await lab.stack().up(program);
  });

  it("refresh reports what vSphere has now", async () => {
    const ids = {
      gone: stack().get("gone")!.id,
      off: stack().get("off")!.id,
      moved: stack().get("moved")!.id,
      movedDefault: stack().get("moved-default")!.id,
    };
    const frontend = (stack().outputs("drift-host").networks as Record<string, string>).frontend!;
    await lab.operator(async (client) => {
      await vmOf(client, ids.gone).powerOff();
      await vmOf(client, ids.gone).destroy();
      await vmOf(client, ids.off).powerOff();
      await moveNetwork(client, ids.moved, frontend);
      await moveNetwork(client, ids.movedDefault, frontend);
    });

    const refreshed = await stack().refresh();
    expect(refreshed.steps.find((s) => s.name === "gone")!.op).toBe("read-gone");
    expect(stack().get("gone")).toBeUndefined();
    expect(stack().outputs("off").powerState).toBe("poweredOff");
    expect(stack().get("off")!.inputs.powerState).toBe("poweredOff");
    expect(stack().outputs("moved").portGroupIds).toEqual([frontend]);
    expect(stack().get("moved")!.inputs.networks).toEqual([frontend]);
    expect(stack().outputs("moved-default").portGroupIds).toEqual([frontend]);
    expect(stack().get("moved-default")!.inputs.networks).toEqual([frontend]);
  });

  it("the next up recreates the deleted VM, powers the stopped one on in place and replaces the moved ones", async () => {
    const before = {
      off: stack().get("off")!.id,
      moved: stack().get("moved")!.id,
      movedDefault: stack().get("moved-default")!.id,
    };
    const preview = await stack().preview(program);
    const planned = Object.fromEntries(preview.steps.map((s) => [s.name, s.op]));
    expect(planned).toEqual({
      "drift-host": "same",
      "drift-parent": "same",
      gone: "create",
      off: "update",
      moved: "replace",
      "moved-default": "replace",
    });
    expect(preview.steps.find((s) => s.name === "moved")!.diff!.replaces).toEqual(["networks"]);

    await stack().up(program);
    const bridge = stack().outputs("drift-host").bridgePortGroupId;
    const inventory = await lab.sim.inventory();
    const vm = (name: string) => inventory.virtualMachines.find((v) => v.id === stack().get(name)!.id)!;
    expect(vm("gone").powerState).toBe("poweredOn");
    expect(stack().get("off")!.id).toBe(before.off);
    expect(vm("off").powerState).toBe("poweredOn");
    expect(stack().get("moved")!.id).not.toBe(before.moved);
    expect(stack().get("moved-default")!.id).not.toBe(before.movedDefault);
    expect(stack().outputs("moved").portGroupIds).toEqual([bridge]);
    expect(stack().outputs("moved-default").portGroupIds).toEqual([bridge]);
    for (const id of [before.moved, before.movedDefault]) {
      expect(inventory.virtualMachines.some((v) => v.id === id)).toBe(false);
    }
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });

    // Repaired: nothing is left to do.
    const again = await stack().up(program);
    expect(again.steps.every((s) => s.op === "same")).toBe(true);
  });

  it("destroy leaves nothing behind", async () => {
    await stack().destroy();
    expect(stack().state.size).toBe(0);
    expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  });
});
