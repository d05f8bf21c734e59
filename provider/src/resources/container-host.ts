/**
 * ContainerHost: where a pool of container VMs lives. Its ID is its resource
 * pool; it also owns a VM folder and a bridge port group on a distributed
 * switch, and names the existing port groups its containers may join.
 */
import {
  ClusterComputeResource,
  isVimFault,
  DistributedVirtualPortgroup,
  DistributedVirtualSwitch,
  Folder,
  MoRef,
  objectKinds,
  ResourcePool,
  type Allocation,
  type VSphereClient,
} from "../vsphere";
import {
  describeVms,
  destroyVm,
  diffInputs,
  listObjects,
  messageOf,
  previewOutputs,
  resolveInput,
  startCheck,
  unlessGone,
  withDefaults,
} from "./common";
import { BonnevilleError, HostNotEmptyError, ResourceInitError, ValidationError } from "./errors";
import type {
  CheckInfo,
  CheckResult,
  OperationContext,
  PropertyMap,
  ReadResult,
  ResourceSchema,
  ResourceType,
} from "./resource";
import { inventoryReference, VSPHERE_NAME_MAX, vsphereName } from "./validation";

export const CONTAINER_HOST_TOKEN = "bonneville:index:ContainerHost";

/** The suffix of the bridge port group's name. */
const BRIDGE_SUFFIX = "-bridge";
/** The name of the bridge network in `networks`. */
export const BRIDGE_NETWORK = "bridge";
const NAME_MAX = VSPHERE_NAME_MAX - BRIDGE_SUFFIX.length;

export interface ContainerHostInputs {
  readonly name: string;
  readonly cluster?: string;
  readonly resourcePool?: string;
  readonly folder?: string;
  readonly bridgeSwitch: string;
  readonly bridgeVlanId: number;
  readonly containerNetworks?: Readonly<Record<string, string>>;
  readonly cpuLimitMhz?: number;
  readonly memoryLimitMb?: number;
  readonly cpuReservationMhz?: number;
  readonly memoryReservationMb?: number;
  readonly forceDestroy: boolean;
}

export interface ContainerHostOutputs extends ContainerHostInputs {
  readonly resourcePoolId: string;
  readonly folderId: string;
  readonly bridgePortGroupId: string;
  readonly networks: Readonly<Record<string, string>>;
}

const schema: ResourceSchema = {
  description:
    "A place for container VMs: a resource pool (its ID) with CPU and memory limits, a VM folder, and a bridge port group on a distributed switch, plus the existing port groups its containers may join. Deleting it refuses while it still holds VMs, unless `forceDestroy` is set; even then it never touches VMs that Bonneville did not create.",
  inputProperties: {
    name: {
      type: "string",
      description:
        "Name of the resource pool and VM folder (the bridge port group is named `<name>-bridge`). At most 73 characters, without `/`, `\\` or `%`. Default: the resource's name plus a random suffix. Changing it replaces the host.",
      replaceOnChanges: true,
    },
    cluster: {
      reference: { types: objectKinds.cluster, kind: "host" },
      type: "string",
      description:
        "The cluster whose root resource pool holds the host's pool (inventory path such as `/DC0/host/DC0_C0` or `DC0_C0`, or an ID such as `domain-c8`). Give this or `resourcePool`. Changing it replaces the host.",
      replaceOnChanges: true,
    },
    resourcePool: {
      reference: { types: objectKinds.resourcePool, kind: "host" },
      type: "string",
      description:
        "An existing resource pool to create the host's pool in (path or ID). Give this or `cluster`. Changing it replaces the host.",
      replaceOnChanges: true,
    },
    folder: {
      reference: { types: objectKinds.folder, kind: "vm" },
      type: "string",
      description:
        "Parent VM folder of the host's folder (path such as `team/containers`, or an ID such as `group-v3`). Default: the datacenter's VM folder. Changing it replaces the host.",
      replaceOnChanges: true,
    },
    bridgeSwitch: {
      reference: { types: objectKinds.switch, kind: "network" },
      type: "string",
      description:
        "The distributed switch on which the host's bridge port group is created (path such as `DC0_DVS` or an ID such as `dvs-9`). Changing it replaces the host.",
      replaceOnChanges: true,
    },
    bridgeVlanId: {
      type: "integer",
      description: "VLAN ID of the bridge port group, 0..4094 (0: no VLAN). Updated in place.",
      default: 0,
    },
    containerNetworks: {
      reference: { types: objectKinds.portGroup, kind: "network" },
      type: "object",
      description:
        "Existing port groups containers of this host may join, by network name (`frontend: DC0_DVPG0`); each value is a path or ID. `bridge` is reserved for the host's own port group. Updated in place.",
      additionalProperties: { type: "string", description: "A port group: inventory path or ID." },
    },
    cpuLimitMhz: {
      type: "integer",
      description: "CPU limit of the resource pool in MHz. Default: unlimited. Updated in place.",
    },
    memoryLimitMb: {
      type: "integer",
      description: "Memory limit of the resource pool in MB. Default: unlimited. Updated in place.",
    },
    cpuReservationMhz: {
      type: "integer",
      description: "CPU reserved for the pool in MHz (expandable). Default 0. Updated in place.",
    },
    memoryReservationMb: {
      type: "integer",
      description: "Memory reserved for the pool in MB (expandable). Default 0. Updated in place.",
    },
    forceDestroy: {
      type: "boolean",
      description:
        "Let deletion destroy the container VMs and parents still in the host (only VMs Bonneville created: any other VM in it makes deletion fail, naming it). Default false: deletion fails while the host holds any VM.",
      default: false,
    },
  },
  requiredInputs: ["bridgeSwitch"],
  outputProperties: {
    resourcePoolId: {
      type: "string",
      description: "Managed object ID of the host's resource pool (also its ID).",
    },
    folderId: { type: "string", description: "Managed object ID of the host's VM folder." },
    bridgePortGroupId: { type: "string", description: "Managed object ID of the bridge port group." },
    networks: {
      type: "object",
      description:
        "Port group ID of each network containers may join: `bridge` and each of `containerNetworks`.",
      additionalProperties: { type: "string", description: "A port group ID." },
    },
  },
};

function check(news: PropertyMap, olds: PropertyMap | undefined, info: CheckInfo): CheckResult {
  const { inputs, checker: c } = startCheck(schema, news, olds, info, NAME_MAX);
  c.string(
    "name",
    (v) =>
      vsphereName(v) ??
      (v.length > NAME_MAX
        ? `is ${v.length} characters long; at most ${NAME_MAX} are allowed (the bridge port group adds "${BRIDGE_SUFFIX}")`
        : undefined),
  );
  const cluster = c.string("cluster", inventoryReference);
  const pool = c.string("resourcePool", inventoryReference);
  if (inputs.cluster === undefined && inputs.resourcePool === undefined) {
    c.fail(
      "cluster",
      "is required unless resourcePool is given: name the cluster (or resource pool) the host's pool goes in",
    );
  } else if (cluster !== undefined && pool !== undefined) {
    c.fail("resourcePool", "cannot be given together with cluster: give one of them");
  }
  c.string("folder", inventoryReference);
  c.required("bridgeSwitch", "name the distributed switch for the host's bridge port group");
  c.string("bridgeSwitch", inventoryReference);
  c.integer("bridgeVlanId", 0, 4094);
  c.stringMap(
    "containerNetworks",
    (k) =>
      k === "bridge"
        ? `"bridge" is the host's own network; give the other networks other names`
        : /^[a-z0-9][a-z0-9_.-]{0,62}$/.test(k)
          ? undefined
          : `"${k}" is not a valid network name: lower-case letters, digits, "_", "." and "-", at most 63`,
    (v) => inventoryReference(v),
  );
  const cpuLimit = c.integer("cpuLimitMhz", 1, 10_000_000, "MHz");
  const memLimit = c.integer("memoryLimitMb", 4, 100_000_000, "MB");
  const cpuRes = c.integer("cpuReservationMhz", 0, 10_000_000, "MHz");
  const memRes = c.integer("memoryReservationMb", 0, 100_000_000, "MB");
  if (cpuLimit !== undefined && cpuRes !== undefined && cpuRes > cpuLimit) {
    c.fail("cpuReservationMhz", `${cpuRes} MHz is more than cpuLimitMhz (${cpuLimit} MHz)`);
  }
  if (memLimit !== undefined && memRes !== undefined && memRes > memLimit) {
    c.fail("memoryReservationMb", `${memRes} MB is more than memoryLimitMb (${memLimit} MB)`);
  }
  c.boolean("forceDestroy");
  return { inputs, failures: c.failures };
}

function allocations(inputs: PropertyMap): { cpu: Partial<Allocation>; memory: Partial<Allocation> } {
  const n = (v: unknown) => (typeof v === "number" ? v : undefined);
  return {
    cpu: {
      limit: n(inputs.cpuLimitMhz) ?? -1,
      reservation: n(inputs.cpuReservationMhz) ?? 0,
    },
    memory: {
      limit: n(inputs.memoryLimitMb) ?? -1,
      reservation: n(inputs.memoryReservationMb) ?? 0,
    },
  };
}

async function resolveNetworks(
  client: VSphereClient,
  ctx: OperationContext,
  containerNetworks: unknown,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = Object.entries((containerNetworks ?? {}) as Record<string, string>);
  const refs = await Promise.all(
    entries.map(([name, value]) =>
      resolveInput(client, ctx, `containerNetworks.${name}`, value, objectKinds.portGroup, "network"),
    ),
  );
  entries.forEach(([name], i) => (out[name] = refs[i]!.value));
  return out;
}

async function create(
  ctx: OperationContext,
  inputs: PropertyMap,
): Promise<{ id: string; outputs: PropertyMap }> {
  const client = await ctx.client();
  const name = String(inputs.name);
  const { signal } = ctx;
  const dc = await client.find.datacenter(ctx.config.datacenter);
  // Resolve every reference before creating anything, so a typo fails with nothing made.
  const [parentPool, folderParent, dvs, containerNetworks] = await Promise.all([
    inputs.cluster !== undefined
      ? resolveInput(client, ctx, "cluster", String(inputs.cluster), objectKinds.cluster, "host").then(
          async (ref) => {
            const info = await new ClusterComputeResource(client, ref).info();
            if (!info)
              throw new BonnevilleError(`cluster ${ref.value} vanished while being read; run up again`);
            return info.rootPool;
          },
        )
      : resolveInput(
          client,
          ctx,
          "resourcePool",
          String(inputs.resourcePool),
          objectKinds.resourcePool,
          "host",
        ),
    inputs.folder !== undefined
      ? resolveInput(client, ctx, "folder", String(inputs.folder), objectKinds.folder, "vm")
      : Promise.resolve(dc.vmFolder),
    resolveInput(client, ctx, "bridgeSwitch", String(inputs.bridgeSwitch), objectKinds.switch, "network"),
    resolveNetworks(client, ctx, inputs.containerNetworks),
  ]);
  const { cpu, memory } = allocations(inputs);
  ctx.progress(`creating resource pool ${name}`);
  const pool = await new ResourcePool(client, parentPool)
    .createChild(name, cpu, memory, { signal })
    .catch((error: unknown) => {
      if (!isVimFault(error, "DuplicateName")) throw error;
      throw new ValidationError([
        {
          property: "name",
          reason: `a resource pool named "${name}" already exists in ${parentPool.value}: choose another name, or import the existing ContainerHost`,
        },
      ]);
    });
  const partial: Record<string, unknown> = {
    ...inputs,
    resourcePoolId: pool.id,
    folderId: "",
    bridgePortGroupId: "",
    networks: {},
  };
  try {
    const folder = await new Folder(client, folderParent).createFolder(name, { signal });
    partial.folderId = folder.id;
    const pg = await new DistributedVirtualSwitch(client, dvs).createPortGroup(
      {
        name: `${name}${BRIDGE_SUFFIX}`,
        vlanId: Number(inputs.bridgeVlanId ?? 0),
        description: `Bonneville bridge network of ContainerHost ${name} (${pool.id})`,
      },
      { signal },
    );
    partial.bridgePortGroupId = pg.id;
    partial.networks = { [BRIDGE_NETWORK]: pg.id, ...containerNetworks };
  } catch (error) {
    throw new ResourceInitError(
      pool.id,
      partial,
      [`setting up ContainerHost ${name} failed: ${messageOf(error)}`],
      {
        cause: error,
      },
    );
  }
  return { id: pool.id, outputs: partial };
}

async function read(
  ctx: OperationContext,
  id: string,
  state: PropertyMap | undefined,
): Promise<ReadResult | undefined> {
  const client = await ctx.client();
  const pool = await new ResourcePool(client, new MoRef("ResourcePool", id)).info();
  if (!pool) return undefined;
  const name = pool.name;
  let folderId = typeof state?.folderId === "string" ? state.folderId : "";
  let bridgePortGroupId = typeof state?.bridgePortGroupId === "string" ? state.bridgePortGroupId : "";
  if (!state) {
    // Import from the ID alone: the folder and port group carry the pool's name.
    ({ folderId, bridgePortGroupId } = await findByName(client, name));
  }
  const [[folder, pg], parentInfo] = await Promise.all([
    readParts(client, folderId, bridgePortGroupId),
    pool.parent ? new ResourcePool(client, pool.parent).info() : undefined,
  ]);
  const containerNetworks = (state?.containerNetworks ?? undefined) as Record<string, string> | undefined;
  const resolvedNetworks = (state?.networks ?? {}) as Record<string, string>;
  const networks: Record<string, string> = {};
  if (pg) networks[BRIDGE_NETWORK] = bridgePortGroupId;
  for (const [k, v] of Object.entries(resolvedNetworks)) if (k !== BRIDGE_NETWORK) networks[k] = v;
  const defaultFolder = state
    ? undefined
    : (await client.find.datacenter(ctx.config.datacenter)).vmFolder.value;
  const placement: Record<string, unknown> = {};
  if (state && (state.cluster !== undefined || state.resourcePool !== undefined)) {
    if (state.cluster !== undefined) placement.cluster = state.cluster;
    if (state.resourcePool !== undefined) placement.resourcePool = state.resourcePool;
  } else if (
    pool.parent &&
    parentInfo &&
    parentInfo.owner &&
    pool.parent.value === (await rootPoolOf(client, parentInfo.owner))
  ) {
    placement.cluster = parentInfo.owner.value;
  } else if (pool.parent) {
    placement.resourcePool = pool.parent.value;
  }
  const inputs: Record<string, unknown> = {
    name,
    ...placement,
    ...(state?.folder !== undefined
      ? { folder: state.folder }
      : !state && folder?.parent && folder.parent.value !== defaultFolder
        ? { folder: folder.parent.value }
        : {}),
    bridgeSwitch: state?.bridgeSwitch ?? pg?.switchRef?.value ?? "",
    bridgeVlanId: pg?.vlanId ?? 0,
    ...(containerNetworks ? { containerNetworks } : {}),
    ...(pool.cpu.limit >= 0 ? { cpuLimitMhz: pool.cpu.limit } : {}),
    ...(pool.memory.limit >= 0 ? { memoryLimitMb: pool.memory.limit } : {}),
    ...(pool.cpu.reservation > 0 || state?.cpuReservationMhz !== undefined
      ? { cpuReservationMhz: pool.cpu.reservation }
      : {}),
    ...(pool.memory.reservation > 0 || state?.memoryReservationMb !== undefined
      ? { memoryReservationMb: pool.memory.reservation }
      : {}),
    forceDestroy: state?.forceDestroy ?? false,
  };
  const outputs = {
    ...inputs,
    resourcePoolId: id,
    folderId: folder ? folderId : "",
    bridgePortGroupId: pg ? bridgePortGroupId : "",
    networks,
  };
  return { id, outputs, inputs };
}

async function rootPoolOf(client: VSphereClient, owner: MoRef): Promise<string | undefined> {
  if (owner.type !== "ClusterComputeResource" && owner.type !== "ComputeResource") return undefined;
  const info = await new ClusterComputeResource(client, owner).info();
  return info?.rootPool.value;
}

/** Finds the folder and bridge port group of an imported host by their names. */
async function findByName(
  client: VSphereClient,
  name: string,
): Promise<{ folderId: string; bridgePortGroupId: string }> {
  const content = await client.serviceContent();
  const [folders, pgs] = await Promise.all([
    client.properties.retrieveView({
      container: content.rootFolder,
      types: ["Folder"],
      recursive: true,
      paths: ["name"],
    }),
    client.properties.retrieveView({
      container: content.rootFolder,
      types: ["DistributedVirtualPortgroup"],
      recursive: true,
      paths: ["name"],
    }),
  ]);
  const folder = [...folders.values()].filter((f) => f.props.name === name);
  const pg = [...pgs.values()].filter((p) => p.props.name === `${name}${BRIDGE_SUFFIX}`);
  return {
    folderId: folder.length === 1 ? folder[0]!.obj.value : "",
    bridgePortGroupId: pg.length === 1 ? pg[0]!.obj.value : "",
  };
}

async function update(
  ctx: OperationContext,
  id: string,
  olds: PropertyMap,
  news: PropertyMap,
): Promise<PropertyMap> {
  const client = await ctx.client();
  const { signal } = ctx;
  const pool = new ResourcePool(client, new MoRef("ResourcePool", id));
  const limitKeys = ["cpuLimitMhz", "memoryLimitMb", "cpuReservationMhz", "memoryReservationMb"];
  const outputs: Record<string, unknown> = { ...olds, ...withDefaults(schema, news) };
  Object.assign(outputs, await completeParts(ctx, id, news, olds));
  for (const key of limitKeys) if (news[key] === undefined) delete outputs[key];
  if (limitKeys.some((k) => olds[k] !== news[k])) {
    const { cpu, memory } = allocations(news);
    ctx.progress(`updating the limits of resource pool ${id}`);
    await pool.updateAllocation(cpu, memory, { signal });
  }
  const pgId = String(outputs.bridgePortGroupId ?? "");
  if ((olds.bridgeVlanId ?? 0) !== (news.bridgeVlanId ?? 0) && pgId) {
    ctx.progress(`setting VLAN ${String(news.bridgeVlanId)} on ${pgId}`);
    await new DistributedVirtualPortgroup(client, new MoRef("DistributedVirtualPortgroup", pgId)).setVlan(
      Number(news.bridgeVlanId ?? 0),
      { signal },
    );
  }
  const containerNetworks = await resolveNetworks(client, ctx, news.containerNetworks);
  outputs.networks = { ...(pgId ? { [BRIDGE_NETWORK]: pgId } : {}), ...containerNetworks };
  if (news.containerNetworks === undefined) delete outputs.containerNetworks;
  return outputs;
}

/** The host's folder and bridge port group by their recorded IDs (`undefined` for none or gone). */
function readParts(client: VSphereClient, folderId: string, bridgePortGroupId: string) {
  return Promise.all([
    folderId ? new Folder(client, new MoRef("Folder", folderId)).info() : undefined,
    bridgePortGroupId
      ? new DistributedVirtualPortgroup(
          client,
          new MoRef("DistributedVirtualPortgroup", bridgePortGroupId),
        ).info()
      : undefined,
  ]);
}

/**
 * The host's folder and bridge port group, made now when a create stopped before making them (the
 * engine retries such a create through Update): one already there under the host's name (made by
 * the interrupted create) is taken, else a new one is made. Fails as an initialisation failure.
 */
async function completeParts(
  ctx: OperationContext,
  id: string,
  inputs: PropertyMap,
  olds: PropertyMap,
): Promise<{ folderId: string; bridgePortGroupId: string }> {
  const client = await ctx.client();
  const { signal } = ctx;
  const name = String(inputs.name);
  let folderId = typeof olds.folderId === "string" ? olds.folderId : "";
  let bridgePortGroupId = typeof olds.bridgePortGroupId === "string" ? olds.bridgePortGroupId : "";
  const [folder, pg] = await readParts(client, folderId, bridgePortGroupId);
  if (folder && pg) return { folderId, bridgePortGroupId };
  try {
    if (!folder) {
      const parent =
        inputs.folder !== undefined
          ? await resolveInput(client, ctx, "folder", String(inputs.folder), objectKinds.folder, "vm")
          : (await client.find.datacenter(ctx.config.datacenter)).vmFolder;
      const existing = (await client.find.children(parent, "Folder")).find((c) => c.name === name);
      ctx.progress(`${existing ? "taking" : "creating"} folder ${name} of ContainerHost ${id}`);
      folderId = existing
        ? existing.ref.value
        : (await new Folder(client, parent).createFolder(name, { signal })).id;
    }
    if (!pg) {
      const dvs = await resolveInput(
        client,
        ctx,
        "bridgeSwitch",
        String(inputs.bridgeSwitch),
        objectKinds.switch,
        "network",
      );
      const pgName = `${name}${BRIDGE_SUFFIX}`;
      const groups = (await new DistributedVirtualSwitch(client, dvs).info())?.portGroups ?? [];
      const names = await client.properties.retrieve(groups, ["name"]);
      const existing = [...names.values()].find((c) => c.props.name === pgName);
      ctx.progress(`${existing ? "taking" : "creating"} port group ${pgName} of ContainerHost ${id}`);
      bridgePortGroupId = existing
        ? existing.obj.value
        : (
            await new DistributedVirtualSwitch(client, dvs).createPortGroup(
              {
                name: pgName,
                vlanId: Number(inputs.bridgeVlanId ?? 0),
                description: `Bonneville bridge network of ContainerHost ${name} (${id})`,
              },
              { signal },
            )
          ).id;
    }
  } catch (error) {
    throw new ResourceInitError(
      id,
      { ...olds, folderId, bridgePortGroupId },
      [`completing ContainerHost ${name} failed: ${messageOf(error)}`],
      { cause: error },
    );
  }
  return { folderId, bridgePortGroupId };
}

async function deleteHost(ctx: OperationContext, id: string, state: PropertyMap): Promise<void> {
  const client = await ctx.client();
  const { signal } = ctx;
  const name = String(state.name ?? id);
  const pool = new ResourcePool(client, new MoRef("ResourcePool", id));
  const folderId = typeof state.folderId === "string" ? state.folderId : "";
  const folder = folderId ? new Folder(client, new MoRef("Folder", folderId)) : undefined;
  const [poolInfo, folderInfo] = await Promise.all([pool.info(), folder?.info()]);
  const vmRefs = new Map<string, MoRef>();
  for (const ref of [...(poolInfo?.vms ?? []), ...(folderInfo?.children ?? [])]) {
    if (ref.type === "VirtualMachine") vmRefs.set(ref.value, ref);
  }
  const vms = await describeVms(client, [...vmRefs.values()]);
  if (vms.length > 0) {
    const unmanaged = vms.filter((v) => !v.managed);
    const managed = vms.filter((v) => v.managed);
    // forceDestroy deletes what Bonneville made, even when other VMs then block the host's deletion.
    const forced = state.forceDestroy === true && managed.length > 0;
    if (forced) {
      ctx.progress(`forceDestroy: deleting ${managed.length} VM(s) in ContainerHost ${name}`);
      // Children before the parents they were forked from (their disks link to the parents').
      const parents = managed.filter((v) => v.role === "parent");
      await Promise.all(
        managed.filter((v) => v.role !== "parent").map((v) => destroyVm(v.vm, v.powerState, signal)),
      );
      await Promise.all(parents.map((v) => destroyVm(v.vm, v.powerState, signal)));
    }
    if (unmanaged.length > 0) {
      throw new HostNotEmptyError(
        `ContainerHost ${name} (${id}) holds ${unmanaged.length} VM(s) that Bonneville did not create: ${listObjects(unmanaged.map((v) => ({ name: v.name, id: v.vm.id })))}. Bonneville never deletes them: move or delete them in vSphere, then retry${forced ? ` (forceDestroy deleted the ${managed.length} VM(s) Bonneville made)` : ""}`,
      );
    }
    if (state.forceDestroy !== true) {
      throw new HostNotEmptyError(
        `ContainerHost ${name} (${id}) still holds ${vms.length} VM(s): ${listObjects(vms.map((v) => ({ name: v.name, id: v.vm.id })))}. Delete their ContainerVM and ParentTemplate resources first, or set forceDestroy: true`,
      );
    }
  }
  if (poolInfo && poolInfo.childPools.length > 0) {
    throw new HostNotEmptyError(
      `ContainerHost ${name} (${id}) holds resource pools it did not create: ${poolInfo.childPools.map((p) => p.value).join(", ")}; delete them first`,
    );
  }
  const pgId = typeof state.bridgePortGroupId === "string" ? state.bridgePortGroupId : "";
  if (pgId) {
    await unlessGone(() =>
      new DistributedVirtualPortgroup(client, new MoRef("DistributedVirtualPortgroup", pgId)).destroy({
        signal,
      }),
    );
  }
  if (folder && folderInfo) {
    const rest = (await folder.info())?.children ?? [];
    if (rest.length > 0) {
      throw new HostNotEmptyError(
        `the folder ${folderId} of ContainerHost ${name} holds objects Bonneville did not create (${rest.map((r) => r.value).join(", ")}); delete them first`,
      );
    }
    await unlessGone(() => folder.destroy({ signal }));
  }
  if (poolInfo) await unlessGone(() => pool.destroy({ signal }));
}

export const containerHost: ResourceType = {
  token: CONTAINER_HOST_TOKEN,
  schema,
  check,
  diff: (_id, olds, news) => diffInputs(schema, olds, news),
  preview: (news, olds) =>
    previewOutputs(schema, news, olds, olds ? ["resourcePoolId", "folderId", "bridgePortGroupId"] : []),
  create,
  read,
  update,
  delete: deleteHost,
};
