/**
 * The console serial port: how a container's output leaves its VM (guest
 * contract, "Container output"). Every ParentTemplate gets a serial port backed
 * by a file in its own datastore folder, `[<datastore>] <name>/bonneville-console.log`
 * (added by its CloneVM_Task when the source has none); every ContainerVM's
 * InstantClone_Task edits that port's backing to the child's own file
 * (file-backed serial ports are among the device edits InstantClone's
 * `location.deviceChange` allows, API reference VirtualMachineInstantCloneSpec).
 * The guest agent writes one record a line, `<RFC3339Nano UTC> <stdout|stderr> <text>`;
 * the Docker endpoint reads the file through vCenter's datastore file access.
 * This is the path vSphere Integrated Containers took (a file-backed serial
 * port per container VM, next to its .vmx).
 */
import {
  Datastore,
  list,
  parseDatastorePath,
  formatDatastorePath,
  VirtualMachine,
  type DataObject,
  type DatastorePath,
  type MoRef,
  type VSphereClient,
} from "../vsphere";

/** The console file's name in a VM's datastore folder. */
export const CONSOLE_FILE_NAME = "bonneville-console.log";

/**
 * The serial port unit Bonneville adds: `serial1`, COM2, `/dev/ttyS1` in a Linux guest (COM1
 * stays free for a kernel console). The agent writes to `/dev/ttyS1` unless told otherwise.
 */
export const CONSOLE_UNIT_NUMBER = 1;

/** A VM's console serial port, as its device list has it. */
export interface ConsolePort {
  readonly key: number;
  readonly controllerKey: number | undefined;
  readonly unitNumber: number | undefined;
  /** The backing file. */
  readonly file: DatastorePath;
}

type Device = Record<string, unknown>;

function devicesOf(raw: unknown): Device[] {
  return list(raw as Device[] | Device | undefined).filter(
    (d): d is Device => typeof d === "object" && d !== null,
  );
}

function fileOf(device: Device): string | undefined {
  const backing = device.backing as Device | undefined;
  return backing && typeof backing.fileName === "string" ? backing.fileName : undefined;
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined || value === null || value === "" ? undefined : Number(value);
}

/** The console serial port in a device list (`config.hardware.device`); undefined when there is none. */
export function consolePortOf(devices: unknown): ConsolePort | undefined {
  for (const d of devicesOf(devices)) {
    if (d.$type !== "VirtualSerialPort") continue;
    const fileName = fileOf(d);
    const file = fileName ? parseDatastorePath(fileName) : undefined;
    if (!file || !file.path.endsWith(`/${CONSOLE_FILE_NAME}`)) continue;
    return {
      key: Number(d.key),
      controllerKey: optionalNumber(d.controllerKey),
      unitNumber: optionalNumber(d.unitNumber),
      file,
    };
  }
  return undefined;
}

/** The console file of a VM named `vmName` on `datastore`: `<vmName>/bonneville-console.log`. */
export function consoleFileFor(datastore: string, vmName: string): DatastorePath {
  return { datastore, path: `${vmName}/${CONSOLE_FILE_NAME}` };
}

function serialPort(
  key: number,
  file: DatastorePath,
  controllerKey: number | undefined,
  unitNumber: number | undefined,
): DataObject {
  // Field order is the vim25 WSDL's: VirtualDevice, then VirtualSerialPort's yieldOnPoll.
  return {
    $type: "VirtualSerialPort",
    key,
    backing: { $type: "VirtualSerialPortFileBackingInfo", fileName: formatDatastorePath(file) },
    connectable: {
      $type: "VirtualDeviceConnectInfo",
      startConnected: true,
      allowGuestControl: false,
      connected: true,
    },
    controllerKey,
    unitNumber,
    // Without it, a guest polling the port spins a host CPU (API reference, VirtualSerialPort).
    yieldOnPoll: true,
  };
}

/**
 * The device change a ParentTemplate's CloneVM_Task carries for its console: an edit of the
 * source's console port to the parent's own file, or a new port at COM2 on the source's SIO
 * controller. Undefined (with a progress note) when the source has no SIO controller or its COM2
 * is another serial port: the parent then has no console and `docker logs` is not available for
 * its containers.
 */
export async function parentConsoleChange(
  client: VSphereClient,
  source: MoRef,
  datastore: MoRef | undefined,
  parentName: string,
  progress: (message: string) => void,
): Promise<DataObject | undefined> {
  const p = await new VirtualMachine(client, source).read([
    "config.hardware.device",
    "config.files.vmPathName",
  ]);
  if (!p) return undefined;
  const dsName = datastore
    ? (await new Datastore(client, datastore).info())?.name
    : parseDatastorePath(String(p["config.files.vmPathName"] ?? ""))?.datastore;
  if (!dsName) {
    progress(`no console serial port for ${parentName}: the datastore of its files is unknown`);
    return undefined;
  }
  const file = consoleFileFor(dsName, parentName);
  const devices = devicesOf(p["config.hardware.device"]);
  const existing = consolePortOf(devices);
  if (existing) {
    return {
      $type: "VirtualDeviceConfigSpec",
      operation: "edit",
      device: serialPort(existing.key, file, existing.controllerKey, existing.unitNumber),
    };
  }
  const sio = devices.find((d) => d.$type === "VirtualSIOController");
  if (!sio) {
    progress(
      `no console serial port for ${parentName}: its source has no SIO controller; docker logs will not be available for its containers`,
    );
    return undefined;
  }
  const taken = devices.find(
    (d) =>
      d.$type === "VirtualSerialPort" &&
      Number(d.controllerKey) === Number(sio.key) &&
      Number(d.unitNumber) === CONSOLE_UNIT_NUMBER,
  );
  if (taken) {
    progress(
      `no console serial port for ${parentName}: its source's COM2 is already a serial port (${fileOf(taken) ?? "not file-backed"}); docker logs will not be available for its containers`,
    );
    return undefined;
  }
  return {
    $type: "VirtualDeviceConfigSpec",
    operation: "add",
    device: serialPort(-1, file, Number(sio.key), CONSOLE_UNIT_NUMBER),
  };
}

/**
 * The InstantClone `location.deviceChange` entry that gives a ContainerVM its own console file: the
 * parent's port, whole, with its backing on the same datastore under the child's folder.
 */
export function childConsoleChange(parentPort: ConsolePort, childName: string): DataObject {
  return {
    $type: "VirtualDeviceConfigSpec",
    operation: "edit",
    device: serialPort(
      parentPort.key,
      consoleFileFor(parentPort.file.datastore, childName),
      parentPort.controllerKey,
      parentPort.unitNumber,
    ),
  };
}
