/**
 * The device of a NIC edit in a clone's `location.deviceChange`: the VM's own
 * VirtualEthernetCard as vCenter reported it, whole, with only its backing and
 * connection replaced — the form govc's `vm.instantclone` sends (it edits the
 * device it read from the source). InstantClone_Task allows only such edits of
 * Ethernet cards (API reference, VirtualMachineInstantCloneSpec.location).
 */
import type { DataObject } from "../soap/xml";

/** VirtualDevice's first fields in the vim25 schema's sequence order: where backing and connectable go. */
const leadingFields = ["key", "deviceInfo", "backing", "connectable"] as const;

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
  // The card's fields stay in the order vCenter sent them (its own schema order, including fields
  // newer than this client); backing and connection are replaced in place, or put where the
  // sequence has them when the card had none.
  const out: Record<string, unknown> = { $type: device.$type };
  const put = (field: string) => {
    if (field === "backing") out.backing = backing;
    else if (field === "connectable") out.connectable = connectable;
    else if (device[field] !== undefined) out[field] = device[field];
  };
  for (const field of leadingFields)
    if (field in device || field === "backing" || field === "connectable") put(field);
  for (const field of Object.keys(device)) {
    if (field === "$type" || (leadingFields as readonly string[]).includes(field)) continue;
    put(field);
  }
  return out;
}
