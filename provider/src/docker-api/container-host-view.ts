/**
 * The ContainerHost as the endpoint sees it, read through the same resource code
 * Pulumi runs: the host (`containerHost.read`), its parent (`parentTemplate.read`),
 * its networks and its container VMs (`containerVm.read`). Every container VM in
 * the host's resource pool that Bonneville made is listed, whether Pulumi or the
 * endpoint made it: both see one inventory.
 */
import {
  MoRef,
  networkTarget,
  VirtualMachine,
  objectKinds,
  extraConfigOf,
  NotFoundError,
  ResourcePool,
  type VSphereClient,
} from "../vsphere";
import { containerHost, containerVm, parentTemplate } from "../resources";
import { isManaged, ROLE_KEY, URN_KEY } from "../resources/common";
import type { OperationContext, PropertyMap, ProviderConfig } from "../resources/resource";
import { BonnevilleError } from "../resources/errors";
import { containerIdOf, isDockerApiUrn } from "./identity";

/** The name of the host's own network, as Docker calls its default network. */
export const BRIDGE = "bridge";

/** One network containers of the host can join. */
export interface HostNetwork {
  /** The Docker network name. */
  readonly name: string;
  readonly portGroupId: string;
  /** The port group's name in vSphere. */
  readonly portGroupName: string;
  /**
   * `bridge`: the host's bridge port group; `configured`: given with `--network name=portgroup`;
   * `discovered`: a port group a VM of the host is on, named by its vSphere name.
   */
  readonly source: "bridge" | "configured" | "discovered";
}

/** A container VM of the host, as `containerVm.read` reports it. */
export interface ContainerVmView {
  /** The Docker ID (SHA-256 of the URN). */
  readonly id: string;
  readonly urn: string;
  readonly vmId: string;
  readonly name: string;
  /** True when the endpoint made it (its URN is a docker-api URN); false for Pulumi's. */
  readonly madeByEndpoint: boolean;
  /** The ContainerVM inputs as read back from vSphere (image, command, env, labels, powerState…). */
  readonly inputs: PropertyMap;
  /** The ContainerVM outputs (containerStatus, ipAddress, portGroupIds, macAddresses…). */
  readonly outputs: PropertyMap;
  /** When the VM was created (vCenter's createDate), else when this endpoint first saw it. */
  readonly created: Date;
  /** When the VM last powered on; undefined while it is off. */
  readonly bootTime: Date | undefined;
}

/** The parent the host's containers fork from, as read at start. */
export interface ParentShape {
  readonly id: string;
  readonly name: string;
  /** Its network cards: a container joins at most this many networks. */
  readonly nicCount: number;
  readonly numCpus: number;
  readonly memoryMb: number;
}

/** What the endpoint was started with. */
export interface ContainerHostViewOptions {
  readonly client: VSphereClient;
  readonly config: ProviderConfig;
  /** The ContainerHost's ID: its resource pool. */
  readonly hostId: string;
  /** The ParentTemplate's VM ID. */
  readonly parentId: string;
  /** Extra networks by Docker name: a port group path or ID each. */
  readonly networks?: Readonly<Record<string, string>>;
  /** Where progress messages of long operations go. */
  readonly progress?: (message: string) => void;
}

/** The endpoint's view of one ContainerHost. Safe for concurrent requests. */
export class ContainerHostView {
  private readonly firstSeen = new Map<string, Date>();

  private constructor(
    readonly client: VSphereClient,
    readonly config: ProviderConfig,
    readonly hostId: string,
    /** The host's name (its resource pool's). */
    readonly hostName: string,
    /** The host's VM folder; undefined when it was not found (containers then go to the parent's). */
    readonly folderId: string | undefined,
    readonly parent: ParentShape,
    private readonly fixedNetworks: readonly HostNetwork[],
    private readonly progressSink: (message: string) => void,
  ) {}

  /**
   * Reads the host, its bridge port group, the parent and the configured networks; fails with a
   * message naming the flag when one of them does not exist.
   */
  static async open(options: ContainerHostViewOptions): Promise<ContainerHostView> {
    const progress = options.progress ?? (() => undefined);
    const ctx = operationContext(
      options.client,
      options.config,
      "urn:bonneville:docker-api",
      undefined,
      progress,
    );
    const host = await containerHost.read(ctx, options.hostId, undefined);
    if (!host) {
      throw new BonnevilleError(
        `--host-id ${options.hostId}: no resource pool with this ID exists; give the ContainerHost's ID (its resourcePoolId output, e.g. resgroup-48)`,
      );
    }
    const bridgeId = String(host.outputs.bridgePortGroupId ?? "");
    if (!bridgeId) {
      throw new BonnevilleError(
        `--host-id ${options.hostId}: the resource pool ${String(host.outputs.name)} has no bridge port group named "${String(host.outputs.name)}-bridge"; is it a ContainerHost's pool?`,
      );
    }
    const [parent, parentVm] = await Promise.all([
      parentTemplate.read(ctx, options.parentId, undefined),
      new VirtualMachine(options.client, new MoRef("VirtualMachine", options.parentId)).info(),
    ]);
    if (!parent || !parentVm) {
      throw new BonnevilleError(
        `--parent-id ${options.parentId}: no VM with this ID exists; give the ParentTemplate's vmId (e.g. vm-52)`,
      );
    }
    const networks: HostNetwork[] = [
      {
        name: BRIDGE,
        portGroupId: bridgeId,
        portGroupName: await portGroupName(options.client, bridgeId),
        source: "bridge",
      },
    ];
    for (const [name, reference] of Object.entries(options.networks ?? {})) {
      let ref: MoRef;
      try {
        ref = await options.client.find.resolve(
          reference,
          objectKinds.portGroup,
          "network",
          options.config.datacenter,
        );
      } catch (error) {
        if (error instanceof NotFoundError) {
          throw new BonnevilleError(`--network ${name}=${reference}: ${error.message}`);
        }
        throw error;
      }
      networks.push({
        name,
        portGroupId: ref.value,
        portGroupName: await portGroupName(options.client, ref.value),
        source: "configured",
      });
    }
    if (parentVm.extraConfig.get(ROLE_KEY) !== "parent") {
      progress(
        `warning: --parent-id ${options.parentId} (${parentVm.name}) is not a ParentTemplate made by Bonneville (no ${ROLE_KEY}=parent); containers fork from it all the same`,
      );
    }
    const folderId = String(host.outputs.folderId ?? "") || undefined;
    return new ContainerHostView(
      options.client,
      options.config,
      options.hostId,
      String(host.outputs.name ?? options.hostId),
      folderId,
      {
        id: options.parentId,
        name: parentVm.name,
        nicCount: parentVm.nics.length,
        numCpus: parentVm.numCpus,
        memoryMb: parentVm.memoryMb,
      },
      networks,
      progress,
    );
  }

  /** The OperationContext a resource function runs with for the container of `urn`. */
  context(urn: string, signal?: AbortSignal): OperationContext {
    return operationContext(this.client, this.config, urn, signal, this.progressSink);
  }

  /** Every container VM Bonneville made in the host's resource pool, read by `containerVm.read`. */
  async containers(): Promise<ContainerVmView[]> {
    const pool = await new ResourcePool(this.client, new MoRef("ResourcePool", this.hostId)).info();
    if (!pool) throw new BonnevilleError(`the ContainerHost's resource pool ${this.hostId} no longer exists`);
    const found = await this.client.properties.retrieve(pool.vms, [
      "config.extraConfig",
      "config.createDate",
      "runtime.bootTime",
      "summary.runtime.bootTime",
    ]);
    const candidates = [...found.values()].flatMap((c) => {
      const extra = extraConfigOf(c.props["config.extraConfig"]);
      const urn = extra.get(URN_KEY);
      if (!urn || !isManaged(extra) || extra.get(ROLE_KEY) !== "container") return [];
      return [{ ref: c.obj, urn, props: c.props }];
    });
    const reads = await Promise.all(
      candidates.map((c) => containerVm.read(this.context(c.urn), c.ref.value, undefined)),
    );
    const views: ContainerVmView[] = [];
    candidates.forEach((c, i) => {
      const read = reads[i];
      if (!read) return;
      views.push({
        id: containerIdOf(c.urn),
        urn: c.urn,
        vmId: c.ref.value,
        name: String(read.outputs.name ?? ""),
        madeByEndpoint: isDockerApiUrn(c.urn),
        inputs: read.inputs,
        outputs: read.outputs,
        created: dateOf(c.props["config.createDate"]) ?? this.seen(c.ref.value, c.props),
        bootTime: dateOf(c.props["runtime.bootTime"]) ?? dateOf(c.props["summary.runtime.bootTime"]),
      });
    });
    return views.sort((a, b) => b.created.getTime() - a.created.getTime() || a.name.localeCompare(b.name));
  }

  /** The VMs in the host's folder (the parent's when the host has none), by name: names are unique there. */
  async vmsInFolder(): Promise<{ name: string; id: string }[]> {
    const folder =
      this.folderId ??
      (await new VirtualMachine(this.client, new MoRef("VirtualMachine", this.parent.id)).info())?.folder
        ?.value;
    if (!folder) return [];
    const children = await this.client.find.children(new MoRef("Folder", folder), "VirtualMachine");
    return children.map((c) => ({ name: c.name, id: c.ref.value }));
  }

  /** Reads one container VM again (after a change); undefined when it is gone. */
  async refresh(view: ContainerVmView): Promise<ContainerVmView | undefined> {
    const ref = new MoRef("VirtualMachine", view.vmId);
    const [read, props] = await Promise.all([
      containerVm.read(this.context(view.urn), view.vmId, undefined),
      this.client.properties.retrieve([ref], ["runtime.bootTime", "summary.runtime.bootTime"]),
    ]);
    if (!read) return undefined;
    const p = props.get(view.vmId)?.props ?? {};
    return {
      ...view,
      name: String(read.outputs.name ?? view.name),
      inputs: read.inputs,
      outputs: read.outputs,
      bootTime: dateOf(p["runtime.bootTime"]) ?? dateOf(p["summary.runtime.bootTime"]),
    };
  }

  /** The host's networks: bridge, the configured ones, and port groups its VMs use under their vSphere names. */
  async networks(containers?: readonly ContainerVmView[]): Promise<HostNetwork[]> {
    const networks = [...this.fixedNetworks];
    const known = new Set(networks.map((n) => n.portGroupId));
    const names = new Set(networks.map((n) => n.name));
    for (const c of containers ?? (await this.containers())) {
      for (const id of portGroupIdsOf(c)) {
        if (!id || known.has(id)) continue;
        known.add(id);
        const name = await portGroupName(this.client, id);
        if (names.has(name)) continue;
        names.add(name);
        networks.push({ name, portGroupId: id, portGroupName: name, source: "discovered" });
      }
    }
    return networks;
  }

  /** Remembers when a container VM this endpoint forked was created (vCenter may not record it). */
  noteCreated(vmId: string, when: Date): void {
    if (!this.firstSeen.has(vmId)) this.firstSeen.set(vmId, when);
  }

  /** Reports progress of a long operation. */
  progress(message: string): void {
    this.progressSink(message);
  }

  private seen(vmId: string, props: Readonly<Record<string, unknown>>): Date {
    let first = this.firstSeen.get(vmId);
    if (!first) {
      first = dateOf(props["runtime.bootTime"]) ?? dateOf(props["summary.runtime.bootTime"]) ?? new Date();
      this.firstSeen.set(vmId, first);
    }
    return first;
  }
}

/** The port group IDs a container VM's network cards are on, in device order. */
export function portGroupIdsOf(container: ContainerVmView): string[] {
  const ids = container.outputs.portGroupIds;
  return Array.isArray(ids) ? ids.map(String) : [];
}

function operationContext(
  client: VSphereClient,
  config: ProviderConfig,
  urn: string,
  signal: AbortSignal | undefined,
  progress: (message: string) => void,
): OperationContext {
  return {
    client: () => Promise.resolve(client),
    urn,
    signal: signal ?? new AbortController().signal,
    progress,
    config,
  };
}

async function portGroupName(client: VSphereClient, id: string): Promise<string> {
  const type = id.startsWith("dvportgroup-") ? "DistributedVirtualPortgroup" : "Network";
  try {
    return (await networkTarget(client, new MoRef(type, id))).name;
  } catch {
    return id;
  }
}

function dateOf(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== "string" || value === "") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
