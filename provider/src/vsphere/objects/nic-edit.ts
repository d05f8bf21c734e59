/**
 * The device of a NIC edit in a clone's `location.deviceChange`: the VM's own
 * VirtualEthernetCard as vCenter reported it, whole, with only its backing and
 * connection replaced — the form govc's `vm.instantclone` sends (it edits the
 * device it read from the source). InstantClone_Task allows only such edits of
 * Ethernet cards (API reference, VirtualMachineInstantCloneSpec.location).
 */
import type { DataObject } from "../soap/xml";

/** VirtualDevice's fields in the vim25 schema's sequence order; a card's own fields follow. */
const virtualDeviceFields = [
  "key",
  "deviceInfo",
  "backing",
  "connectable",
  "slotInfo",
  "controllerKey",
  "unitNumber",
  "numaNode",
  "deviceGroupInfo",
] as const;

/** VirtualDeviceConnectInfo's fields in sequence order. */
const connectInfoFields = [
  "migrateConnect",
  "startConnected",
  "allowGuestControl",
  "connected",
  "status",
] as const;

/**
 * The whole card `device` (as decoded from `config.hardware.device`, its `$type` the card's type)
 * with `backing` replaced and connected at power-on and now (guest control as the card had it, else
 * allowed). Field order follows the schema, so the request stays valid against the vim25 WSDL.
 */
export function wholeNicEdit(device: Readonly<Record<string, unknown>>, backing: DataObject): DataObject {
  const was = (device.connectable ?? {}) as Record<string, unknown>;
  const connectable: Record<string, unknown> = { $type: "VirtualDeviceConnectInfo" };
  for (const field of connectInfoFields) {
    const value =
      field === "startConnected" || field === "connected"
        ? true
        : field === "allowGuestControl"
          ? (was.allowGuestControl ?? true)
          : was[field];
    if (value !== undefined && value !== "") connectable[field] = value;
  }
  const replaced: Record<string, unknown> = { backing, connectable };
  const out: Record<string, unknown> = { $type: device.$type };
  for (const field of virtualDeviceFields) {
    const value = field in replaced ? replaced[field] : device[field];
    if (value !== undefined) out[field] = value;
  }
  for (const [field, value] of Object.entries(device)) {
    if (field === "$type" || (virtualDeviceFields as readonly string[]).includes(field)) continue;
    if (value !== undefined) out[field] = value;
  }
  return out;
}
