/**
 * Finds inventory objects by inventory path (`/DC0/vm/team/parents`, or
 * relative to the datacenter's folder for the kind: `team/parents`) or by
 * managed object ID (`vm-42`, or `VirtualMachine:vm-42`).
 */
import { isVimFault, VSphereError } from "../faults";
import { LookupCache } from "../lookup-cache";
import type { PropertyReader } from "../property-collector";
import type { ServiceContent } from "../session";
import type { CallOptions } from "../soap/client";
import { list, type DataObject } from "../soap/xml";
import { MoRef, typeOfId } from "../types";

/**
 * What the finder uses of a vSphere client (VSphereClient provides it): the service content,
 * property reads and plain calls. Named here so the finder does not depend on the client that owns it.
 */
export interface InventoryAccess {
  readonly properties: PropertyReader;
  serviceContent(options?: CallOptions): Promise<ServiceContent>;
  invoke(method: string, target: MoRef, args?: DataObject, options?: CallOptions): Promise<unknown>;
}

/** Which datacenter folder a relative path starts from. */
export type InventoryKind = "vm" | "host" | "network" | "datastore";

/** An object the user named that does not exist (or is of the wrong kind). */
export class NotFoundError extends VSphereError {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
  }
}

/**
 * The datacenter that relative paths are resolved in cannot be determined (named but missing, or
 * not named while vCenter has several). Not a {@link NotFoundError}: it is about the connection's
 * datacenter setting, not about the input being resolved.
 */
export class DatacenterNotFoundError extends VSphereError {}

/** Groups of vim25 types that the same input may name. */
export const objectKinds = {
  virtualMachine: ["VirtualMachine"],
  folder: ["Folder"],
  resourcePool: ["ResourcePool", "VirtualApp"],
  cluster: ["ClusterComputeResource", "ComputeResource"],
  host: ["HostSystem"],
  datastore: ["Datastore"],
  switch: ["VmwareDistributedVirtualSwitch", "DistributedVirtualSwitch"],
  portGroup: ["DistributedVirtualPortgroup", "Network", "OpaqueNetwork"],
  datacenter: ["Datacenter"],
} as const;

export interface DatacenterInfo {
  readonly ref: MoRef;
  readonly name: string;
  readonly vmFolder: MoRef;
  readonly hostFolder: MoRef;
  readonly networkFolder: MoRef;
  readonly datastoreFolder: MoRef;
}

/** True when the input has the shape of a managed object ID rather than a path. */
export function looksLikeId(input: string): boolean {
  return /^[A-Za-z]+:[A-Za-z0-9-]+$/.test(input) || typeOfId(input) !== undefined;
}

export class Finder {
  private readonly datacenters = new LookupCache<DatacenterInfo>();
  private readonly resolved = new LookupCache<MoRef>();

  constructor(private readonly client: InventoryAccess) {}

  /** The datacenter named by path or ID; without one, the only datacenter there is. */
  datacenter(nameOrId?: string): Promise<DatacenterInfo> {
    return this.datacenters.get(nameOrId ?? "", () => this.lookupDatacenter(nameOrId));
  }

  private async lookupDatacenter(nameOrId?: string): Promise<DatacenterInfo> {
    const content = await this.client.serviceContent();
    let ref: MoRef;
    if (nameOrId) {
      try {
        ref = await this.resolveAbsolute(
          nameOrId.startsWith("/") || looksLikeId(nameOrId) ? nameOrId : `/${nameOrId}`,
          objectKinds.datacenter,
        );
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        const names = await this.datacenterNames();
        throw new DatacenterNotFoundError(
          `the datacenter "${nameOrId}" (the provider's \`datacenter\`) does not exist: ${error.message}; vCenter has ${names.length ? names.join(", ") : "no datacenter"}`,
        );
      }
    } else {
      const all = await this.client.properties.retrieveView({
        container: content.rootFolder,
        types: ["Datacenter"],
        recursive: true,
        paths: ["name"],
      });
      const dcs = [...all.values()];
      if (dcs.length !== 1) {
        throw new DatacenterNotFoundError(
          dcs.length === 0
            ? "vCenter has no datacenter"
            : `vCenter has ${dcs.length} datacenters (${dcs.map((d) => String(d.props.name)).join(", ")}): set the provider's \`datacenter\``,
        );
      }
      ref = dcs[0]!.obj;
    }
    const c = await this.client.properties.retrieveOne(ref, [
      "name",
      "vmFolder",
      "hostFolder",
      "networkFolder",
      "datastoreFolder",
    ]);
    if (!c) throw new DatacenterNotFoundError(`the datacenter "${nameOrId}" does not exist`);
    return {
      ref,
      name: String(c.props.name),
      vmFolder: c.props.vmFolder as MoRef,
      hostFolder: c.props.hostFolder as MoRef,
      networkFolder: c.props.networkFolder as MoRef,
      datastoreFolder: c.props.datastoreFolder as MoRef,
    };
  }

  private async datacenterNames(): Promise<string[]> {
    const content = await this.client.serviceContent();
    const all = await this.client.properties.retrieveView({
      container: content.rootFolder,
      types: ["Datacenter"],
      recursive: true,
      paths: ["name"],
    });
    return [...all.values()].map((d) => String(d.props.name));
  }

  /**
   * Resolves a path or ID to a reference of one of `types`. A relative path
   * starts at the datacenter's folder for `kind`.
   */
  resolve(input: string, types: readonly string[], kind: InventoryKind, datacenter?: string): Promise<MoRef> {
    const key = `${datacenter ?? ""}|${kind}|${types.join(",")}|${input}`;
    return this.resolved.get(key, async () => {
      if (looksLikeId(input) || input.startsWith("/")) return this.resolveAbsolute(input, types);
      const dc = await this.datacenter(datacenter);
      const relative = input.replace(/^\.?\//, "");
      try {
        return await this.resolveAbsolute(`/${dc.name}/${kind}/${relative}`, types, input);
      } catch (error) {
        // A bare name (an ESXi host inside a cluster, a VM in a subfolder) is found by name when unique.
        if (!(error instanceof NotFoundError) || relative.includes("/")) throw error;
        return this.findByName(dc, relative, types, error);
      }
    });
  }

  /** The one object of `types` named `name` in the datacenter; none or several is a NotFoundError. */
  private async findByName(
    dc: DatacenterInfo,
    name: string,
    types: readonly string[],
    notAtPath: NotFoundError,
  ): Promise<MoRef> {
    const found = await this.client.properties.retrieveView({
      container: dc.ref,
      types,
      recursive: true,
      paths: ["name"],
    });
    const matches = [...found.values()].filter((c) => c.props.name === name).map((c) => c.obj);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw notAtPath;
    throw new NotFoundError(
      `"${name}" names ${matches.length} objects in datacenter ${dc.name} (${matches.map((m) => m.value).join(", ")}): give an inventory path or an ID`,
      name,
    );
  }

  /** Forgets cached lookups (after objects were deleted or renamed). */
  forget(): void {
    this.resolved.clear();
    this.datacenters.clear();
  }

  private async resolveAbsolute(input: string, types: readonly string[], shown = input): Promise<MoRef> {
    const wanted = types.join(" or ");
    if (looksLikeId(input)) {
      const colon = input.indexOf(":");
      const type = colon > 0 ? input.slice(0, colon) : typeOfId(input)!;
      const id = colon > 0 ? input.slice(colon + 1) : input;
      const candidates = types.includes(type) ? [type, ...types.filter((t) => t !== type)] : [...types];
      // An ID's prefix tells its type; DVS and folder IDs have several types, so try each allowed one.
      for (const t of candidates) {
        const c = await this.client.properties
          .retrieveOne(new MoRef(t, id), ["name"])
          .catch((error: unknown) => {
            // The ID is not an object of this type; anything else (a dropped connection) is no answer.
            if (wrongTypeOrMissing(error)) return undefined;
            throw error;
          });
        if (c) return c.obj;
      }
      throw new NotFoundError(`no ${wanted} with ID "${id}" exists`, shown);
    }
    const content = await this.client.serviceContent();
    const ref = await this.client.invoke("FindByInventoryPath", content.searchIndex, {
      inventoryPath: input,
    });
    if (!(ref instanceof MoRef)) throw new NotFoundError(`no object at inventory path "${input}"`, shown);
    if (!types.includes(ref.type)) {
      throw new NotFoundError(`"${shown}" is a ${ref.type}, not a ${wanted}`, shown);
    }
    return ref;
  }

  /**
   * The direct child of `folder` named `name`, if any: one SearchIndex.FindChild call, whatever
   * the folder holds.
   */
  async childNamed(folder: MoRef, name: string): Promise<MoRef | undefined> {
    const content = await this.client.serviceContent();
    const ref = await this.client.invoke("FindChild", content.searchIndex, { entity: folder, name });
    return ref instanceof MoRef ? ref : undefined;
  }

  /** Lists the children of a folder (IDs and names), optionally of one type. */
  async children(folder: MoRef, type?: string): Promise<{ ref: MoRef; name: string }[]> {
    const c = await this.client.properties.retrieveOne(folder, ["childEntity"]);
    const refs = list(c?.props.childEntity as MoRef[] | MoRef | undefined).filter(
      (r) => !type || r.type === type,
    );
    const names = await this.client.properties.retrieve(refs, ["name"]);
    return refs.map((ref) => ({ ref, name: String(names.get(ref.value)?.props.name ?? "") }));
  }
}

/** The fault a read gives for an ID that is not an object of the type asked. */
function wrongTypeOrMissing(error: unknown): boolean {
  return ["ManagedObjectNotFound", "InvalidType", "InvalidArgument", "InvalidProperty"].some((type) =>
    isVimFault(error, type),
  );
}
