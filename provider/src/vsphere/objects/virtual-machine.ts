/** VirtualMachine: clone, instant clone, power, reconfigure, destroy and typed reads. */
import type { CallOptions } from "../soap/client";
import type { TaskOptions } from "../client";
import { list, XsdValue, type DataObject } from "../soap/xml";
import { VSphereError } from "../faults";
import { MoRef } from "../types";
import { ManagedObject } from "./managed-object";
import { nicBacking, type NetworkTarget } from "./network";
import { wholeNicEdit } from "./nic-edit";

/** One network card as the VM's device list has it. */
export interface NicInfo {
  readonly key: number;
  /** The device's vim25 type (`VirtualVmxnet3`). */
  readonly deviceType: string;
  readonly macAddress: string;
  /** The network the card is on: a port group reference (resolved from the backing). */
  readonly network: MoRef | undefined;
  /** The whole device as vSphere reported it (an edit sends it back with a new backing). */
  readonly device: Readonly<Record<string, unknown>>;
}

export type PowerState = "poweredOn" | "poweredOff" | "suspended";

export interface VirtualMachineInfo {
  readonly ref: MoRef;
  readonly name: string;
  readonly uuid: string;
  readonly template: boolean;
  readonly extraConfig: ReadonlyMap<string, string>;
  readonly nics: readonly NicInfo[];
  readonly powerState: PowerState;
  readonly host: MoRef | undefined;
  readonly resourcePool: MoRef | undefined;
  readonly folder: MoRef | undefined;
  readonly ipAddress: string | undefined;
  readonly numCpus: number;
  readonly memoryMb: number;
}

/** The property paths `info()` reads. */
export const vmInfoPaths = [
  "name",
  "parent",
  "resourcePool",
  "config.uuid",
  "config.template",
  "config.extraConfig",
  "config.hardware.device",
  "config.hardware.numCPU",
  "config.hardware.memoryMB",
  "runtime.powerState",
  "runtime.host",
  "guest.ipAddress",
] as const;

/** A VM's {@link VirtualMachineInfo} from its {@link vmInfoPaths} as the property collector gave them. */
export function vmInfoOf(ref: MoRef, p: Readonly<Record<string, unknown>>): VirtualMachineInfo {
  return {
    ref,
    name: String(p.name ?? ""),
    uuid: String(p["config.uuid"] ?? ""),
    template: p["config.template"] === true || p["config.template"] === "true",
    extraConfig: extraConfigOf(p["config.extraConfig"]),
    nics: nicsOf(p["config.hardware.device"]),
    powerState: String(p["runtime.powerState"] ?? "poweredOff") as PowerState,
    host: p["runtime.host"] instanceof MoRef ? p["runtime.host"] : undefined,
    resourcePool: p.resourcePool instanceof MoRef ? p.resourcePool : undefined,
    folder: p.parent instanceof MoRef ? p.parent : undefined,
    ipAddress:
      typeof p["guest.ipAddress"] === "string" && p["guest.ipAddress"] ? p["guest.ipAddress"] : undefined,
    numCpus: Number(p["config.hardware.numCPU"] ?? 0),
    memoryMb: Number(p["config.hardware.memoryMB"] ?? 0),
  };
}

/** Where a clone goes; every field optional (defaults are the source's). */
export interface CloneLocation {
  readonly folder?: MoRef;
  readonly pool?: MoRef;
  readonly datastore?: MoRef;
  readonly host?: MoRef;
  /** NIC key → network to attach it to. */
  readonly nicNetworks?: ReadonlyMap<number, { nic: NicInfo; target: NetworkTarget }>;
  /** Further device edits (VirtualDeviceConfigSpec), after the NIC edits: a file-backed serial port's backing. */
  readonly deviceChanges?: readonly DataObject[];
}

/** Builds the option values of a config spec (extra config). An empty value deletes the key. */
export function optionValues(values: Readonly<Record<string, string>>): DataObject[] {
  return Object.entries(values).map(([key, value]) => ({
    $type: "OptionValue",
    key,
    value: XsdValue.string(value),
  }));
}

function relocateSpec(location: CloneLocation): DataObject {
  const deviceChange: DataObject[] = [];
  for (const [key, { nic, target }] of location.nicNetworks ?? new Map()) {
    deviceChange.push({
      $type: "VirtualDeviceConfigSpec",
      operation: "edit",
      device: wholeNicEdit({ key, ...nic.device, $type: nic.deviceType }, nicBacking(target)),
    });
  }
  deviceChange.push(...(location.deviceChanges ?? []));
  return {
    $type: "VirtualMachineRelocateSpec",
    folder: location.folder,
    datastore: location.datastore,
    pool: location.pool,
    host: location.host,
    deviceChange,
  };
}

function networkOfBacking(backing: Record<string, unknown> | undefined): MoRef | undefined {
  if (!backing) return undefined;
  if (backing.network instanceof MoRef) return backing.network;
  const port = backing.port as Record<string, unknown> | undefined;
  if (port && typeof port.portgroupKey === "string")
    return new MoRef("DistributedVirtualPortgroup", port.portgroupKey);
  return undefined;
}

/** Parses a VM's device list into its network cards, in device order. */
export function nicsOf(devices: unknown): NicInfo[] {
  const nics: NicInfo[] = [];
  for (const d of list(devices as Record<string, unknown>[] | Record<string, unknown> | undefined)) {
    if (typeof d !== "object" || d === null || !("macAddress" in d || "addressType" in d)) continue;
    nics.push({
      key: Number(d.key),
      deviceType: String(d.$type ?? "VirtualEthernetCard"),
      macAddress: String(d.macAddress ?? ""),
      network: networkOfBacking(d.backing as Record<string, unknown> | undefined),
      device: d,
    });
  }
  return nics;
}

/** Parses `config.extraConfig` into a map (a later duplicate key wins). */
export function extraConfigOf(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of list(raw as Record<string, unknown>[] | Record<string, unknown> | undefined)) {
    if (!o || typeof o !== "object") continue;
    const v = o.value;
    out.set(
      String(o.key),
      v === undefined || v === null
        ? ""
        : typeof v === "object"
          ? String((v as { value?: unknown }).value ?? "")
          : String(v),
    );
  }
  return out;
}

/** The VM a clone task made (its result); a task that succeeded without one is reported, not guessed. */
function madeVm(result: unknown, method: string, source: MoRef, name: string): MoRef {
  if (result instanceof MoRef && result.type === "VirtualMachine") return result;
  throw new VSphereError(
    `${method} of ${source.value} to "${name}" succeeded but reported no VM; look for "${name}" in vSphere`,
  );
}

export class VirtualMachine extends ManagedObject {
  /**
   * Everything Bonneville reads about a VM, in one (batched) call; undefined when it is gone.
   * With `paths`, only those are read, and the fields of the others keep their empty values.
   */
  async info(
    paths: readonly (typeof vmInfoPaths)[number][] = vmInfoPaths,
  ): Promise<VirtualMachineInfo | undefined> {
    const p = await this.props(paths);
    return p ? vmInfoOf(this.ref, p) : undefined;
  }

  /** Reads chosen properties only. */
  read(paths: readonly string[]): Promise<Record<string, unknown> | undefined> {
    return this.props(paths);
  }

  /**
   * Forks this running VM (InstantClone_Task): one task carrying the name,
   * the location (with NIC backing edits) and extra config option values.
   * Resolves with the new VM.
   */
  async instantClone(
    name: string,
    location: CloneLocation,
    extraConfig: Readonly<Record<string, string>>,
    options: TaskOptions = {},
  ): Promise<VirtualMachine> {
    const spec: DataObject = {
      $type: "VirtualMachineInstantCloneSpec",
      name,
      location: relocateSpec(location),
      config: optionValues(extraConfig),
    };
    const ref = await this.client.runTask("InstantClone_Task", this.ref, { spec }, options);
    return new VirtualMachine(this.client, madeVm(ref, "InstantClone_Task", this.ref, name));
  }

  /** Full clone (CloneVM_Task) with hardware and extra config changes; powered off unless `powerOn`. */
  async clone(
    folder: MoRef,
    name: string,
    spec: {
      readonly location: CloneLocation;
      readonly numCpus?: number;
      readonly memoryMb?: number;
      readonly extraConfig?: Readonly<Record<string, string>>;
      /** Device changes of the clone's config (VirtualDeviceConfigSpec): an added serial port. */
      readonly deviceChanges?: readonly DataObject[];
      readonly powerOn?: boolean;
    },
    options: CallOptions = {},
  ): Promise<VirtualMachine> {
    const config: DataObject = {
      $type: "VirtualMachineConfigSpec",
      numCPUs: spec.numCpus,
      memoryMB: spec.memoryMb,
      deviceChange: spec.deviceChanges?.length ? [...spec.deviceChanges] : undefined,
      extraConfig: spec.extraConfig ? optionValues(spec.extraConfig) : undefined,
    };
    const cloneSpec: DataObject = {
      $type: "VirtualMachineCloneSpec",
      location: relocateSpec(spec.location),
      template: false,
      config,
      powerOn: spec.powerOn ?? false,
    };
    const ref = await this.client.runTask(
      "CloneVM_Task",
      this.ref,
      { folder, name, spec: cloneSpec },
      options,
    );
    return new VirtualMachine(this.client, madeVm(ref, "CloneVM_Task", this.ref, name));
  }

  /** Powers on (PowerOnVM_Task), optionally on a given host. */
  powerOn(host?: MoRef, options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("PowerOnVM_Task", this.ref, { host }, options);
  }

  /** Powers off hard (PowerOffVM_Task). */
  powerOff(options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("PowerOffVM_Task", this.ref, {}, options);
  }

  /** Sets extra config (ReconfigVM_Task); an empty value deletes the key. */
  setExtraConfig(values: Readonly<Record<string, string>>, options: CallOptions = {}): Promise<unknown> {
    return this.reconfigure(
      { $type: "VirtualMachineConfigSpec", extraConfig: optionValues(values) },
      options,
    );
  }

  /** Reconfigures with a raw VirtualMachineConfigSpec (ReconfigVM_Task). */
  reconfigure(spec: DataObject, options: CallOptions = {}): Promise<unknown> {
    return this.client.runTask("ReconfigVM_Task", this.ref, { spec }, options);
  }

  /** Marks the VM as a template (MarkAsTemplate). */
  async markAsTemplate(options: CallOptions = {}): Promise<void> {
    await this.client.invoke("MarkAsTemplate", this.ref, {}, options);
  }
}
