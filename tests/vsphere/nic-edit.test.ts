/**
 * A NIC edit sends the card vCenter reported, whole, in the order vCenter sent its fields (newer
 * fields included), with only the backing and the connection replaced.
 */
import { wholeNicEdit } from "../../provider/src/vsphere/objects/nic-edit";

const backing = {
  $type: "VirtualEthernetCardDistributedVirtualPortBackingInfo",
  port: { $type: "DistributedVirtualSwitchPortConnection", switchUuid: "u", portgroupKey: "dvportgroup-9" },
};

describe("a whole-card NIC edit", () => {
  it("keeps every field and its order, replacing backing and connectable in place", () => {
    const card = {
      $type: "VirtualVmxnet3",
      key: "4000",
      deviceInfo: { $type: "Description", label: "Network adapter 1", summary: "DC0_DVPG0" },
      backing: { $type: "VirtualEthernetCardNetworkBackingInfo", deviceName: "VM Network" },
      connectable: {
        $type: "VirtualDeviceConnectInfo",
        migrateConnect: "unset",
        startConnected: "false",
        allowGuestControl: "false",
        connected: "false",
        status: "ok",
      },
      slotInfo: { $type: "VirtualDevicePciBusSlotInfo", pciSlotNumber: "192" },
      controllerKey: "100",
      unitNumber: "7",
      numaNode: "0",
      addressType: "assigned",
      macAddress: "00:50:56:80:00:01",
      wakeOnLanEnabled: "true",
      uptv2Enabled: "false",
    };
    const edit = wholeNicEdit(card, backing);
    expect(Object.keys(edit)).toEqual(Object.keys(card));
    expect(edit).toEqual({
      ...card,
      backing,
      connectable: {
        $type: "VirtualDeviceConnectInfo",
        migrateConnect: "unset",
        startConnected: true,
        allowGuestControl: "false",
        connected: true,
        status: "ok",
      },
    });
  });

  it("puts a connection right after the backing when the card had none", () => {
    const edit = wholeNicEdit(
      {
        $type: "VirtualE1000",
        key: "4000",
        backing: {},
        controllerKey: "100",
        macAddress: "00:50:56:80:00:02",
      },
      backing,
    );
    expect(Object.keys(edit)).toEqual([
      "$type",
      "key",
      "backing",
      "connectable",
      "controllerKey",
      "macAddress",
    ]);
    expect(edit.connectable).toEqual({
      $type: "VirtualDeviceConnectInfo",
      startConnected: true,
      allowGuestControl: true,
      connected: true,
    });
  });
});
