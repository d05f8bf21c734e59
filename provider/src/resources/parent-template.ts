/**
 * ParentTemplate: a running VM that container VMs are forked from. Created by
 * a full clone of a template (or VM) into the host's pool and folder, powered
 * on, then held until its guest agent signals `guestinfo.bonneville.ready=true`:
 * the moment it is safe to fork. Its ID is the VM's.
 */
import {
  isVimFault,
  MoRef,
  networkTarget,
  objectKinds,
  PropertyWaitTimeoutError,
  extraConfigOf,
  VirtualMachine,
  type NicInfo,
  type NetworkTarget,
  type VirtualMachineInfo,
} from "../vsphere";
import {
  creationDigest,
  deepEqual,
  FULL_CLONE,
  settleEarlierTasks,
  destroyVm,
  renameReplacement,
  replacementVmName,
  diffInputs,
  madeVmsIn,
  MANAGED_KEY,
  messageOf,
  PARENT_KEY,
  previewOutputs,
  progressInterval,
  resolveInput,
  startCheck,
  ROLE_KEY,
  seconds,
  SOURCE_KEY,
  SPEC_DIGEST_KEY,
  URN_KEY,
  wasMadeFor,
  type MadeFor,
} from "./common";
import { BonnevilleError, ResourceInitError, ValidationError, WaitTimeoutError } from "./errors";
import type {
  CreateOptions,
  CheckInfo,
  CheckResult,
  DiffResult,
  OperationContext,
  PropertyMap,
  ReadResult,
  ResourceSchema,
  ResourceType,
} from "./resource";
import { extraConfigKey, inventoryReference, vsphereName } from "./validation";
import { contractKeys, guestValue, NIL } from "./guest-contract";
import { chainDepthOf, forgetChain, parentChainLimits } from "./clone-chain";
import { parentConsoleChange } from "./console-port";
import { placementFolders } from "./placement";

export const PARENT_TEMPLATE_TOKEN = "bonneville:index:ParentTemplate";

/** A vSphere VM name holds at most 80 characters. */
const NAME_MAX_LENGTH = 80;

/** The key the parent's guest agent sets to `true` once it is safe to fork. */
export const READY_KEY = contractKeys.ready;

export interface ParentTemplateInputs {
  readonly name: string;
  readonly source: string;
  readonly resourcePoolId: string;
  readonly folderId?: string;
  readonly datastore?: string;
  readonly host?: string;
  readonly networks?: readonly string[];
  readonly numCpus?: number;
  readonly memoryMb?: number;
  readonly extraConfig?: Readonly<Record<string, string>>;
  readonly freeze: boolean;
  readonly readyTimeoutSeconds: number;
}

const schema: ResourceSchema = {
  description:
    "A parent VM that container VMs are instant-cloned from. Bonneville clones `source` into the given pool and folder, powers the clone on and waits until its guest agent reports that it is safe to fork (`guestinfo.bonneville.ready=true`) and, by default, has frozen the VM (`runtime.instantCloneFrozen`): clones of a frozen parent do not deepen its delta-disk chain, so one parent can fork thousands of containers. Instant clones land on their parent's ESXi host, so run one parent per host to spread containers. Any change to the VM but its name (renamed in place) replaces it (children already forked keep running).",
  inputProperties: {
    name: {
      type: "string",
      description:
        "VM name, unique in its folder; at most 80 characters, without `/`, `\\` or `%`. Default: the resource's name plus a random suffix. Renamed in place.",
    },
    source: {
      reference: { types: objectKinds.virtualMachine, kind: "vm" },
      type: "string",
      description:
        "The template or VM to clone (path such as `templates/photon-bonneville` or an ID such as `vm-47`). Its guest must run the Bonneville agent (see guest/README.md).",
      replaceOnChanges: true,
    },
    resourcePoolId: {
      reference: { types: objectKinds.resourcePool, kind: "host" },
      type: "string",
      description: "Resource pool for the parent, usually a ContainerHost's `resourcePoolId` (ID or path).",
      replaceOnChanges: true,
    },
    folderId: {
      reference: { types: objectKinds.folder, kind: "vm" },
      type: "string",
      description:
        "VM folder for the parent, usually a ContainerHost's `folderId` (ID or path). Default: the datacenter's VM folder.",
      replaceOnChanges: true,
    },
    datastore: {
      reference: { types: objectKinds.datastore, kind: "datastore" },
      type: "string",
      description: "Datastore for the parent's disks (name, path or ID). Default: the source's.",
      replaceOnChanges: true,
    },
    host: {
      reference: { types: objectKinds.host, kind: "host" },
      type: "string",
      description:
        "ESXi host to run the parent on (name, path such as `DC0_C0/DC0_C0_H0`, or an ID such as `host-25`). Its container VMs run there too. Default: chosen by vSphere.",
      replaceOnChanges: true,
    },
    networks: {
      reference: { types: objectKinds.portGroup, kind: "network" },
      type: "array",
      description:
        "Port group for each of the source's network cards, in device order (IDs such as a ContainerHost's `networks.bridge`, or paths). Fewer entries than cards leave the rest as they are. Default: the source's networks.",
      items: { type: "string", description: "A port group: ID or inventory path." },
      replaceOnChanges: true,
    },
    numCpus: {
      type: "integer",
      description: "Virtual CPUs of the parent (and so of its container VMs), 1..128. Default: the source's.",
      replaceOnChanges: true,
    },
    memoryMb: {
      type: "integer",
      description: "Memory of the parent (and its container VMs) in MB, 4..6291456. Default: the source's.",
      replaceOnChanges: true,
    },
    extraConfig: {
      type: "object",
      description:
        "Extra configuration (VMX options such as `guestinfo.dns`) for the parent; children inherit it. Keys under `bonneville.` and `guestinfo.bonneville.` are reserved.",
      additionalProperties: { type: "string", description: "The option's value." },
      replaceOnChanges: true,
    },
    freeze: {
      type: "boolean",
      description:
        "Whether the parent's agent freezes the VM once warm (`vmware-rpctool instantclone.freeze`; the provider writes `guestinfo.bonneville.freeze`). Default true: clones of a frozen parent do not deepen its delta-disk chain (VMware KB 67186). False keeps the parent running, for templates that cannot freeze: each clone then adds a delta disk to the parent and the child, vSphere warns past 100 and fails at 255, so Bonneville warns from 100 forks and refuses a fork past 250 (freeze the parent, or add another). Changing it replaces the parent.",
      default: true,
      replaceOnChanges: true,
    },
    readyTimeoutSeconds: {
      type: "integer",
      description:
        "How long to wait for the parent's guest to signal it is ready to fork (and, with `freeze`, to freeze), in seconds (1..3600). Default 300. The operation's own timeout, when shorter, wins.",
      default: 300,
    },
  },
  requiredInputs: ["source", "resourcePoolId"],
  outputProperties: {
    vmId: { type: "string", description: "Managed object ID of the parent VM (also its ID)." },
    uuid: { type: "string", description: "The VM's BIOS UUID." },
    hostId: { type: "string", description: "Managed object ID of the ESXi host the parent runs on." },
    powerState: {
      type: "string",
      description: "The VM's power state: `poweredOn`, `poweredOff` or `suspended`.",
    },
    readySeconds: {
      type: "number",
      description:
        "Seconds from power-on until the guest signalled it was ready to fork (0 when read back from vSphere).",
    },
    frozen: {
      type: "boolean",
      description:
        "Whether vSphere reports the parent frozen for instant clone (`runtime.instantCloneFrozen`).",
    },
    chainDepth: {
      type: "integer",
      description:
        "Delta-disk (redo log) levels of the parent's disk, as its disk backing's parent chain shows: 0 for a fresh parent, one more for each fork while it runs unfrozen (vSphere fails forks at 255).",
    },
    containersForked: {
      type: "integer",
      description:
        "ContainerVMs forked from this parent that exist in its folder, as of the last create, update or refresh.",
    },
  },
};

function check(news: PropertyMap, olds: PropertyMap | undefined, info: CheckInfo): CheckResult {
  const { inputs, checker: c } = startCheck(schema, news, olds, info, NAME_MAX_LENGTH);
  c.string("name", vsphereName);
  c.required("source", "name the template or VM to clone the parent from");
  c.string("source", inventoryReference);
  c.required(
    "resourcePoolId",
    "give the resource pool for the parent, e.g. a ContainerHost's resourcePoolId",
  );
  c.string("resourcePoolId", inventoryReference);
  c.string("folderId", inventoryReference);
  c.string("datastore", inventoryReference);
  c.string("host", inventoryReference);
  c.stringList("networks", inventoryReference, { max: 10 });
  c.integer("numCpus", 1, 128);
  c.integer("memoryMb", 4, 6_291_456, "MB");
  c.stringMap("extraConfig", extraConfigKey);
  c.boolean("freeze");
  c.integer("readyTimeoutSeconds", 1, 3600, "seconds");
  return { inputs, failures: c.failures };
}

/** Maps the wanted networks onto the source's cards, in order. */
export async function nicPlan(
  ctx: OperationContext,
  client: Awaited<ReturnType<OperationContext["client"]>>,
  property: string,
  wanted: readonly string[],
  nics: readonly NicInfo[],
  owner: string,
): Promise<Map<number, { nic: NicInfo; target: NetworkTarget }>> {
  if (wanted.length > nics.length) {
    throw new ValidationError([
      {
        property,
        reason: `has ${wanted.length} entries but ${owner} has ${nics.length} network card(s): give at most ${nics.length}`,
      },
    ]);
  }
  const refs = await Promise.all(
    wanted.map((w, i) => resolveInput(client, ctx, `${property}[${i}]`, w, objectKinds.portGroup, "network")),
  );
  const targets = await Promise.all(refs.map((ref) => networkTarget(client, ref)));
  const plan = new Map<number, { nic: NicInfo; target: NetworkTarget }>();
  targets.forEach((target, i) => {
    const nic = nics[i]!;
    if (nic.network?.value !== target.ref.value) plan.set(nic.key, { nic, target });
  });
  return plan;
}

/** What the parent's outputs need beyond {@link VirtualMachineInfo}. */
interface ParentFacts {
  readonly frozen: boolean;
  readonly chainDepth: number;
  readonly containersForked: number;
}

function outputsOf(
  inputs: PropertyMap,
  vm: VirtualMachineInfo,
  readySeconds: number,
  facts: ParentFacts,
): PropertyMap {
  return {
    ...inputs,
    vmId: vm.ref.value,
    uuid: vm.uuid,
    hostId: vm.host?.value ?? "",
    powerState: vm.powerState,
    readySeconds,
    frozen: facts.frozen,
    chainDepth: facts.chainDepth,
    containersForked: facts.containersForked,
  };
}

const NO_FACTS: ParentFacts = { frozen: false, chainDepth: 0, containersForked: 0 };

/** Reads whether the parent is frozen, its chain depth and its children in its folder. */
async function parentFacts(
  client: Awaited<ReturnType<OperationContext["client"]>>,
  vm: VirtualMachineInfo,
): Promise<ParentFacts> {
  const p = await new VirtualMachine(client, vm.ref).read([
    "runtime.instantCloneFrozen",
    "config.hardware.device",
  ]);
  const children = vm.folder
    ? (await madeVmsIn(client, vm.folder, "container")).filter(
        (c) => c.extraConfig.get(PARENT_KEY) === vm.ref.value,
      )
    : [];
  return {
    frozen: p?.["runtime.instantCloneFrozen"] === true,
    chainDepth: chainDepthOf(p?.["config.hardware.device"]),
    containersForked: children.length,
  };
}

/** True when a parent is ready to fork: its agent said so and, in freeze mode, vSphere shows it frozen. */
function isReady(props: Record<string, unknown>, freeze: boolean): boolean {
  const ready = guestValue(extraConfigOf(props["config.extraConfig"]), READY_KEY) === "true";
  return ready && (!freeze || props["runtime.instantCloneFrozen"] === true);
}

async function create(
  ctx: OperationContext,
  given: PropertyMap,
  options: CreateOptions = {},
): Promise<{ id: string; outputs: PropertyMap }> {
  const fixedName = String(given.name);
  let inputs = given;
  const client = await ctx.client();
  const { signal } = ctx;
  const dc = await client.find.datacenter(ctx.config.datacenter);
  const [sourceRef, pool, folder, datastore, host] = await Promise.all([
    resolveInput(client, ctx, "source", String(inputs.source), objectKinds.virtualMachine, "vm"),
    resolveInput(
      client,
      ctx,
      "resourcePoolId",
      String(inputs.resourcePoolId),
      objectKinds.resourcePool,
      "host",
    ),
    inputs.folderId !== undefined
      ? resolveInput(client, ctx, "folderId", String(inputs.folderId), objectKinds.folder, "vm")
      : Promise.resolve(dc.vmFolder),
    inputs.datastore !== undefined
      ? resolveInput(client, ctx, "datastore", String(inputs.datastore), objectKinds.datastore, "datastore")
      : Promise.resolve(undefined),
    inputs.host !== undefined
      ? resolveInput(client, ctx, "host", String(inputs.host), objectKinds.host, "host")
      : Promise.resolve(undefined),
  ]);
  // A replacement made while the parent it replaces still holds the fixed name in the same folder is
  // made under a temporary name; the delete of that parent renames it (deleteParent).
  const name = options.replacing
    ? await replacementVmName(client, ctx.urn, fixedName, options.replacing.id, folder, NAME_MAX_LENGTH)
    : fixedName;
  if (name !== fixedName) inputs = { ...given, name };
  const answer = (result: { id: string; outputs: PropertyMap }) => {
    if (name === fixedName) return result;
    ctx.progress(
      `parent ${name} (${result.id}) replaces ${options.replacing!.id}, which holds the name ${fixedName} until it is deleted; it is then renamed ${fixedName}`,
    );
    return { ...result, outputs: { ...result.outputs, name: fixedName } };
  };
  const source = new VirtualMachine(client, sourceRef);
  const sourceInfo = await source.info();
  if (!sourceInfo)
    throw new ValidationError([
      { property: "source", reason: `${sourceRef.value} vanished while being read` },
    ]);
  const nicNetworks = await nicPlan(
    ctx,
    client,
    "networks",
    (inputs.networks ?? []) as string[],
    sourceInfo.nics,
    `source ${sourceInfo.name}`,
  );
  const digest = creationDigest(ctx, { ...inputs, name: undefined, readyTimeoutSeconds: undefined });
  const extraConfig: Record<string, string> = {
    ...((inputs.extraConfig ?? {}) as Record<string, string>),
    [MANAGED_KEY]: "true",
    [URN_KEY]: ctx.urn,
    [ROLE_KEY]: "parent",
    [SOURCE_KEY]: sourceRef.value,
    [SPEC_DIGEST_KEY]: digest,
    [contractKeys.freeze]: inputs.freeze === false ? "false" : "true",
    // Pre-created, so what the agent writes survives power cycles; and a source that was itself a
    // ready parent must not make the wait end at once.
    [READY_KEY]: NIL,
    [contractKeys.frozen]: NIL,
  };
  // A full clone an interrupted create of this resource left behind is adopted, not made twice
  // (one vCenter is still making is waited for first: full clones take minutes).
  await settleEarlierTasks(ctx, client, FULL_CLONE, 1800);
  const leftover = await leftoverClone(client, folder, ctx.urn, digest);
  if (leftover) {
    ctx.progress(
      `adopting ${leftover.name} (${leftover.vm.id}), cloned for this resource by an earlier interrupted create`,
    );
    if (leftover.name !== name) await leftover.vm.rename(name, { signal });
    return answer(await bringUp(ctx, leftover.vm, inputs, host));
  }
  const consoleChange = await parentConsoleChange(client, sourceRef, datastore, name, ctx.progress);
  ctx.progress(`cloning ${sourceInfo.name} (${sourceRef.value}) to parent ${name}`);
  const vm = await source
    .clone(
      folder,
      name,
      {
        location: {
          pool,
          ...(datastore ? { datastore } : {}),
          ...(host ? { host } : {}),
          nicNetworks,
        },
        ...(typeof inputs.numCpus === "number" ? { numCpus: inputs.numCpus } : {}),
        ...(typeof inputs.memoryMb === "number" ? { memoryMb: inputs.memoryMb } : {}),
        extraConfig,
        ...(consoleChange ? { deviceChanges: [consoleChange] } : {}),
        powerOn: false,
      },
      { signal },
    )
    .catch((error: unknown) => {
      if (!isVimFault(error, "DuplicateName")) throw error;
      throw new ValidationError([
        {
          property: "name",
          reason: `a VM named "${name}" already exists in folder ${folder.value}: choose another name, or import the existing VM`,
        },
      ]);
    });
  // From here the VM exists: any failure is an initialisation failure carrying its ID.
  return answer(await bringUp(ctx, vm, inputs, host));
}

/** Parents a Diff of this process is replacing: never adopted by the replacement's create. */
const replacedParents = new Set<string>();

/**
 * A parent VM in `folder` that a create of this same resource and spec made and did not finish
 * recording (the plugin stopped, or the clone outlived its wait).
 */
async function leftoverClone(
  client: Awaited<ReturnType<OperationContext["client"]>>,
  folder: MoRef,
  urn: string,
  digest: string,
): Promise<{ vm: VirtualMachine; name: string } | undefined> {
  const made: MadeFor = { urn, role: "parent", digest };
  const found = (await madeVmsIn(client, folder, "parent")).find(
    (c) => wasMadeFor(c.extraConfig, made) && !replacedParents.has(c.ref.value),
  );
  return found ? { vm: new VirtualMachine(client, found.ref), name: found.name } : undefined;
}

/**
 * Powers the parent on (when it is not) and waits until its guest is ready to fork. A failure is
 * an initialisation failure carrying the VM's ID and what vSphere has, so the engine keeps the VM
 * and the next `up` retries through {@link update}.
 */
async function bringUp(
  ctx: OperationContext,
  vm: VirtualMachine,
  inputs: PropertyMap,
  host?: MoRef,
): Promise<{ id: string; outputs: PropertyMap }> {
  const name = String(inputs.name);
  const freeze = inputs.freeze !== false;
  const client = await ctx.client();
  let readySeconds: number;
  try {
    const before = await vm.read(["runtime.powerState", "runtime.instantCloneFrozen", "config.extraConfig"]);
    if (!before)
      throw new BonnevilleError(`parent ${vm.id} no longer exists: run refresh, then up to create it again`);
    const started = Date.now();
    if (before["runtime.powerState"] !== "poweredOn") {
      // A readiness left from before the power-off must not end the wait before the guest is back.
      if (guestValue(extraConfigOf(before["config.extraConfig"]), READY_KEY) !== "") {
        await vm.setExtraConfig({ [READY_KEY]: NIL, [contractKeys.frozen]: NIL }, { signal: ctx.signal });
      }
      ctx.progress(`powering on parent ${name} (${vm.id})`);
      await vm.powerOn(host, { signal: ctx.signal });
      forgetChain(vm.id);
    } else if (isReady(before, freeze)) {
      const info = await vm.info();
      if (info)
        return {
          id: vm.id,
          outputs: outputsOf(inputs, info, Number(inputs.readySeconds ?? 0), await parentFacts(client, info)),
        };
    }
    await waitUntilReady(ctx, vm, name, Number(inputs.readyTimeoutSeconds ?? 300), freeze);
    readySeconds = seconds(Date.now() - started);
  } catch (error) {
    const info = await vm.info().catch(() => undefined);
    const partial = info
      ? outputsOf(inputs, info, 0, NO_FACTS)
      : { ...inputs, vmId: vm.id, uuid: "", hostId: "", powerState: "", readySeconds: 0, ...NO_FACTS };
    throw new ResourceInitError(vm.id, partial, [messageOf(error)], { cause: error });
  }
  const info = await vm.info();
  if (!info)
    throw new ResourceInitError(vm.id, { ...inputs, vmId: vm.id }, [
      `parent ${vm.id} vanished right after it became ready`,
    ]);
  const facts = await parentFacts(client, info);
  ctx.progress(
    `parent ${name} (${vm.id}) is ready to fork after ${readySeconds} s${facts.frozen ? " (frozen)" : ` (running, not frozen: at most ${parentChainLimits.refuseAt} forks before it must be replaced)`}`,
  );
  return { id: vm.id, outputs: outputsOf(inputs, info, readySeconds, facts) };
}

/**
 * Waits for `guestinfo.bonneville.ready=true` (and, in freeze mode, `runtime.instantCloneFrozen`)
 * with the property collector, reporting progress.
 */
async function waitUntilReady(
  ctx: OperationContext,
  vm: VirtualMachine,
  name: string,
  timeoutSeconds: number,
  freeze: boolean,
): Promise<void> {
  const client = await ctx.client();
  let last: Record<string, unknown> = {};
  try {
    await client.waits.waitFor(
      vm.ref,
      ["config.extraConfig", "runtime.powerState", "runtime.instantCloneFrozen"],
      (props) => {
        last = props;
        return isReady(props, freeze);
      },
      {
        signal: ctx.signal,
        timeoutMs: timeoutSeconds * 1000,
        progressEveryMs: progressInterval(timeoutSeconds),
        onProgress: (ms, props) =>
          ctx.progress(
            `waiting for parent ${name} (${vm.id}) to signal it is ready to fork${freeze ? " and freeze" : ""}: ${Math.round(ms / 1000)} s of ${timeoutSeconds} s (power: ${String(props["runtime.powerState"] ?? "unknown")}, ready: ${guestValue(extraConfigOf(props["config.extraConfig"]), READY_KEY) || "not yet"}, frozen: ${props["runtime.instantCloneFrozen"] === true ? "yes" : "no"})`,
          ),
      },
    );
  } catch (error) {
    if (error instanceof PropertyWaitTimeoutError) {
      const extraConfig = extraConfigOf(last["config.extraConfig"]);
      const ready = guestValue(extraConfig, READY_KEY) === "true";
      // An agent that could not warm up or freeze says why in guestinfo.bonneville.error.
      const agentError = guestValue(extraConfig, contractKeys.error);
      const reported = agentError ? `; its agent reports: ${agentError}` : "";
      throw new WaitTimeoutError(
        ready && freeze
          ? `parent ${name} (${vm.id}) signalled ${READY_KEY}=true but vSphere did not show it frozen (runtime.instantCloneFrozen) within readyTimeoutSeconds (${timeoutSeconds} s): its agent must run \`vmware-rpctool "instantclone.freeze"\` (guest contract version 2), or set freeze: false for a template that cannot freeze${reported}`
          : `parent ${name} (${vm.id}) did not signal ${READY_KEY}=true within readyTimeoutSeconds (${timeoutSeconds} s): check that its guest runs the Bonneville agent and VMware Tools (guest/README.md)${reported}`,
        { cause: error },
      );
    }
    throw error;
  }
}

async function read(
  ctx: OperationContext,
  id: string,
  state: PropertyMap | undefined,
): Promise<ReadResult | undefined> {
  const client = await ctx.client();
  const vm = await new VirtualMachine(client, new MoRef("VirtualMachine", id)).info();
  if (!vm) return undefined;
  const networks = vm.nics.map((n) => n.network?.value ?? "");
  // Import (no state) returns what a program must give; hardware and networks stay the source's defaults.
  const inputs: Record<string, unknown> = {
    name: vm.name,
    source: state?.source ?? vm.extraConfig.get(SOURCE_KEY) ?? "",
    resourcePoolId: state?.resourcePoolId ?? vm.resourcePool?.value ?? "",
    ...(state?.folderId !== undefined || !state ? { folderId: state?.folderId ?? vm.folder?.value } : {}),
    ...(state?.datastore !== undefined ? { datastore: state.datastore } : {}),
    ...(state?.host !== undefined ? { host: state.host } : {}),
    ...(state?.networks !== undefined
      ? { networks: sameNetworks(state.networks, networks) ? state.networks : networks }
      : {}),
    ...(state?.numCpus !== undefined ? { numCpus: vm.numCpus } : {}),
    ...(state?.memoryMb !== undefined ? { memoryMb: vm.memoryMb } : {}),
    ...(state?.extraConfig !== undefined ? { extraConfig: state.extraConfig } : {}),
    // Import reads the mode from the VM (a parent without the key is running, contract version 1).
    ...(state?.freeze !== undefined || !state
      ? { freeze: state?.freeze ?? vm.extraConfig.get(contractKeys.freeze) === "true" }
      : {}),
    readyTimeoutSeconds: state?.readyTimeoutSeconds ?? 300,
  };
  const readySeconds = typeof state?.readySeconds === "number" ? state.readySeconds : 0;
  return { id, inputs, outputs: outputsOf(inputs, vm, readySeconds, await parentFacts(client, vm)) };
}

/** True when the state's network inputs (paths or IDs) still describe the VM's cards (by ID, when IDs were given). */
function sameNetworks(given: unknown, actual: readonly string[]): boolean {
  if (!Array.isArray(given)) return false;
  return given.every(
    (g, i) => typeof g !== "string" || !/^(dvportgroup|network)-/.test(g) || deepEqual(g, actual[i]),
  );
}

/**
 * Only readyTimeoutSeconds changes in place; an update also finishes a parent whose create was
 * interrupted (powered off, or not yet ready), which is how the engine retries an init failure.
 */
async function update(
  ctx: OperationContext,
  id: string,
  olds: PropertyMap,
  news: PropertyMap,
): Promise<PropertyMap> {
  const client = await ctx.client();
  // Every other input replaces the parent, save a reference written another way (a path for its ID).
  const inputs = {
    ...olds,
    ...news,
    freeze: news.freeze ?? true,
    readyTimeoutSeconds: news.readyTimeoutSeconds ?? 300,
  };
  const vm = new VirtualMachine(client, new MoRef("VirtualMachine", id));
  const name = String(news.name);
  const before = await vm.read(["name"]);
  if (before && before.name !== name) {
    ctx.progress(`renaming parent ${String(before.name)} (${id}) to ${name}`);
    await vm.rename(name, { signal: ctx.signal });
  }
  const { outputs } = await bringUp(ctx, vm, inputs);
  return outputs;
}

async function deleteParent(ctx: OperationContext, id: string, state: PropertyMap): Promise<void> {
  const client = await ctx.client();
  const vm = new VirtualMachine(client, new MoRef("VirtualMachine", id));
  const info = await vm.info();
  if (info) {
    ctx.progress(`deleting parent ${info.name} (${id})`);
    await destroyVm(vm, info.powerState, ctx.signal);
    forgetChain(id);
  }
  if (typeof state.name !== "string") return;
  // The replacement made beside it under a temporary name takes the fixed name, also when this
  // delete comes from a later process (the parent is gone: its folder input, else the root VM folder).
  const folders = info?.folder
    ? [info.folder]
    : await (async () => {
        const folder =
          typeof state.folderId === "string"
            ? await resolveInput(client, ctx, "folderId", state.folderId, objectKinds.folder, "vm")
            : undefined;
        return placementFolders(client, ctx.config.datacenter, folder);
      })().catch(() => []);
  await renameReplacement(ctx, client, id, state.name, folders, NAME_MAX_LENGTH);
}

/**
 * The inputs' diff; and a parent that a refresh found not running (powered off behind Bonneville's
 * back) is an in-place update, which powers it on and waits until it is ready to fork again.
 */
function diff(id: string, olds: PropertyMap, news: PropertyMap): DiffResult {
  const inputs = diffInputs(schema, olds, news);
  if (inputs.replaces.length > 0) replacedParents.add(id);
  if (inputs.replaces.length > 0 || olds.powerState === undefined || olds.powerState === "poweredOn")
    return inputs;
  return {
    ...inputs,
    changes: true,
    detailedDiff: { ...inputs.detailedDiff, powerState: "update" },
  };
}

export const parentTemplate: ResourceType = {
  token: PARENT_TEMPLATE_TOKEN,
  schema,
  check,
  diff,
  preview: (news, olds) =>
    previewOutputs(
      schema,
      news,
      olds,
      olds
        ? ["vmId", "uuid", "hostId", "powerState", "readySeconds", "frozen", "chainDepth", "containersForked"]
        : [],
    ),
  create,
  renamesReplacements: true,
  read,
  update,
  delete: deleteParent,
};
