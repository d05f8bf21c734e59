/**
 * ContainerVM: one container, one VM, made by one InstantClone_Task from a
 * powered-on (frozen or running) ParentTemplate. The clone spec carries the name, the location (with
 * NIC backing edits to the wanted port groups) and the container spec as
 * guestinfo option values; the guest agent starts the container. Containers
 * are immutable: image, command, env, parent and networks replace the VM;
 * name, labels and power state update in place. A replacement the engine
 * creates before deleting the VM that holds its fixed name is forked under a
 * temporary name and renamed by the delete of that VM.
 */
import { randomUUID } from "node:crypto";
import {
  isVimFault,
  LookupCache,
  MoRef,
  objectKinds,
  PropertyWaitTimeoutError,
  extraConfigOf,
  nicsOf,
  NotFoundError,
  VirtualMachine,
  vmInfoOf,
  vmInfoPaths,
  type NicInfo,
  type VirtualMachineInfo,
  type VSphereClient,
} from "../vsphere";
import {
  creationDigest,
  deepEqual,
  INSTANT_CLONE,
  settleEarlierTasks,
  destroyVm,
  diffInputs,
  isManaged,
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
  renameReplacement,
  replacementVmName,
  SPEC_DIGEST_KEY,
  URN_KEY,
  wasMadeFor,
  withDefaults,
  type MadeFor,
  type MadeVm,
} from "./common";
import { BonnevilleError, ResourceInitError, ValidationError, WaitTimeoutError } from "./errors";
import { prefetchChain, reserveFork } from "./clone-chain";
import {
  contractKeys,
  contractValues,
  containerStatusOf,
  decodeJson,
  encodeJson,
  providerKeys,
  reportedIpOf,
} from "./guest-contract";
import { guestinfoSizeFailures } from "./guestinfo-size";
import { nicPlan } from "./parent-template";
import {
  placementFolders,
  placementPaths,
  settlePlacement,
  vmNamedIn,
  type WantedPlacement,
} from "./placement";
import { childConsoleChange, consolePortOf, type ConsolePort } from "./console-port";
import type {
  CheckInfo,
  CheckResult,
  CreateOptions,
  OperationContext,
  PropertyMap,
  ReadResult,
  ResourceSchema,
  ResourceType,
} from "./resource";
import { containerName, envName, imageReference, inventoryReference, labelKey } from "./validation";

export const CONTAINER_VM_TOKEN = "bonneville:index:ContainerVM";

const POWER_STATES = ["poweredOn", "poweredOff"] as const;

/** A container name is also the guest's host name: at most 63 characters. */
const NAME_MAX_LENGTH = 63;

export interface ContainerVMInputs {
  readonly name: string;
  readonly parentId: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly networks?: readonly string[];
  readonly resourcePoolId?: string;
  readonly folderId?: string;
  readonly powerState: "poweredOn" | "poweredOff";
  readonly waitForRunning: boolean;
  readonly waitForIp: boolean;
  readonly waitTimeoutSeconds: number;
}

const schema: ResourceSchema = {
  description:
    "A container that is its own VM: forked from a ParentTemplate (frozen by default, or running) by one InstantClone_Task, sharing its parent's memory and disk copy-on-write. The container spec travels to the guest agent as `guestinfo.bonneville.*` values (docs/guest-contract.md), which are readable inside the guest and by vCenter users with read access to the VM. Image, command, env, parent and networks replace the VM; name, labels and power state update in place.",
  inputProperties: {
    name: {
      type: "string",
      description:
        "Container (and VM) name, also the guest's hostname: letters, digits, `_`, `.`, `-`, at most 63 characters, unique in the folder. Default: the resource's name plus a random suffix. Renamed in place.",
    },
    parentId: {
      reference: { types: objectKinds.virtualMachine, kind: "vm" },
      type: "string",
      description:
        "The ParentTemplate to fork, powered on and frozen or running (its `vmId`, or a VM path or ID). Changing it replaces the VM.",
      replaceOnChanges: true,
    },
    image: {
      type: "string",
      description:
        "Image reference the guest agent runs: `[registry/]repository[:tag][@sha256:digest]`, e.g. `nginx:1.27`. Changing it replaces the VM.",
      replaceOnChanges: true,
    },
    command: {
      type: "array",
      description:
        "Command and arguments, replacing the image's default command. Changing it replaces the VM.",
      items: { type: "string", description: "One argument." },
      replaceOnChanges: true,
    },
    env: {
      type: "object",
      description:
        "Environment variables. Values may be secrets: they stay secret in Pulumi's state and outputs and are never logged, but the guest and vCenter readers of the VM can read them. Changing it replaces the VM.",
      additionalProperties: { type: "string", description: "The variable's value." },
      replaceOnChanges: true,
    },
    labels: {
      type: "object",
      description: "Labels, as Docker has them (for filtering and inventory). Updated in place.",
      additionalProperties: { type: "string", description: "The label's value." },
    },
    networks: {
      reference: { types: objectKinds.portGroup, kind: "network" },
      type: "array",
      description:
        "Port group for each of the parent's network cards, in order (IDs such as a ContainerHost's `networks.bridge`, or paths). Default: the parent's networks. Changing it replaces the VM.",
      items: { type: "string", description: "A port group: ID or inventory path." },
      replaceOnChanges: true,
    },
    resourcePoolId: {
      reference: { types: objectKinds.resourcePool, kind: "host" },
      type: "string",
      description: "Resource pool of the container VM. Default: its parent's. Changing it replaces the VM.",
      replaceOnChanges: true,
    },
    folderId: {
      reference: { types: objectKinds.folder, kind: "vm" },
      type: "string",
      description: "VM folder of the container VM. Default: its parent's. Changing it replaces the VM.",
      replaceOnChanges: true,
    },
    powerState: {
      type: "string",
      description: "`poweredOn` (default) or `poweredOff`; the VM is powered on or off in place.",
      enum: POWER_STATES,
      default: "poweredOn",
    },
    waitForRunning: {
      type: "boolean",
      description:
        "Wait, on create, until the guest agent reports the container running for this clone, and fail when it reports `error` or `exited` (an initialisation failure: the VM stays in the state, to be retried or deleted; the message quotes the agent's error). Default true; false returns as soon as the clone exists. No wait when `powerState` is `poweredOff`.",
      default: true,
    },
    waitForIp: {
      type: "boolean",
      description:
        "Also wait, on create, until the agent reports the container's own IP address for this clone (`ipAddress`), with the container running. Default false.",
      default: false,
    },
    waitTimeoutSeconds: {
      type: "integer",
      description: "Longest wait for `waitForRunning` and `waitForIp`, in seconds (1..3600). Default 300.",
      default: 300,
    },
  },
  requiredInputs: ["parentId", "image"],
  outputProperties: {
    vmId: { type: "string", description: "Managed object ID of the container VM (also its ID)." },
    uuid: { type: "string", description: "The VM's BIOS UUID." },
    hostId: { type: "string", description: "Managed object ID of the ESXi host it runs on (its parent's)." },
    macAddresses: {
      type: "array",
      description: "MAC address of each network card, in device order.",
      items: { type: "string", description: "A MAC address." },
    },
    portGroupIds: {
      type: "array",
      description: "Port group ID each network card is connected to, in device order.",
      items: { type: "string", description: "A port group ID." },
    },
    ipAddress: {
      type: "string",
      description:
        "The container's IP address as its guest agent reports it for this clone (`guestinfo.bonneville.ipAddress` with `ipGeneration` equal to the VM's generation), else empty. Never the address VMware Tools shows first: a fresh fork shows its parent's until the guest resets its network.",
    },
    cloneSeconds: {
      type: "number",
      description: "Seconds the InstantClone_Task took (0 when read back from vSphere).",
    },
    containerStatus: {
      type: "string",
      description:
        "The container's state as the guest agent reports it: `starting` (nothing reported yet), `running`, `exited` or `error`.",
    },
    containerExitCode: { type: "integer", description: "The container's exit code, when it has exited." },
    containerError: {
      type: "string",
      description: "What failed, when `containerStatus` is `error` (else empty).",
    },
  },
};

function check(news: PropertyMap, olds: PropertyMap | undefined, info: CheckInfo): CheckResult {
  const { inputs, checker: c } = startCheck(schema, news, olds, info, NAME_MAX_LENGTH);
  c.string("name", containerName);
  c.required("parentId", "give the ParentTemplate to fork, e.g. parent.vmId");
  c.string("parentId", inventoryReference);
  c.required("image", "name the image to run, e.g. nginx:1.27");
  c.string("image", imageReference);
  c.stringList("command", undefined, { nonEmpty: true });
  c.stringMap("env", envName, (v) => (v.includes("\0") ? "must not contain NUL characters" : undefined));
  c.stringMap("labels", labelKey);
  c.stringList("networks", inventoryReference, { nonEmpty: true, max: 10 });
  c.string("resourcePoolId", inventoryReference);
  c.string("folderId", inventoryReference);
  c.oneOf("powerState", POWER_STATES);
  c.boolean("waitForRunning");
  c.boolean("waitForIp");
  c.integer("waitTimeoutSeconds", 1, 3600, "seconds");
  if (inputs.waitForIp === true && inputs.powerState === "poweredOff") {
    c.fail("waitForIp", 'cannot be true while powerState is "poweredOff": a powered-off VM reports no IP');
  }
  for (const failure of guestinfoSizeFailures(inputs)) c.fail(failure.property, failure.reason);
  return { inputs, failures: c.failures };
}

/** What a fork needs to know about its parent, read once per process per parent. */
interface ParentShape {
  readonly ref: MoRef;
  readonly name: string;
  readonly nics: readonly NicInfo[];
  readonly pool: MoRef | undefined;
  readonly folder: MoRef | undefined;
  /** The parent's ESXi host, where its forks run (for admission control). */
  readonly host: MoRef | undefined;
  /** Its console serial port, whose backing each fork edits to its own file (console-port.ts). */
  readonly console: ConsolePort | undefined;
}

const parentShapes = new WeakMap<VSphereClient, LookupCache<ParentShape>>();

function parentShape(client: VSphereClient, ref: MoRef): Promise<ParentShape> {
  let cache = parentShapes.get(client);
  if (!cache) parentShapes.set(client, (cache = new LookupCache()));
  return cache.get(ref.value, async () => {
    const p = await new VirtualMachine(client, ref).read([
      "name",
      "resourcePool",
      "parent",
      "config.hardware.device",
      "runtime.host",
    ]);
    if (!p)
      throw new ValidationError([
        { property: "parentId", reason: `the parent VM ${ref.value} does not exist` },
      ]);
    return {
      ref,
      name: String(p.name ?? ref.value),
      nics: nicsOf(p["config.hardware.device"]),
      pool: p.resourcePool instanceof MoRef ? p.resourcePool : undefined,
      folder: p.parent instanceof MoRef ? p.parent : undefined,
      host: p["runtime.host"] instanceof MoRef ? p["runtime.host"] : undefined,
      console: consolePortOf(p["config.hardware.device"]),
    };
  });
}

function forgetParent(client: VSphereClient): void {
  parentShapes.get(client)?.clear();
}

const managedIndexes = new WeakMap<VSphereClient, LookupCache<Map<string, MadeVm[]>>>();

/**
 * VMs this process was told (by Diff) are being replaced. A replacement has the old VM's URN, and
 * often its spec digest too (a moved network, `--replace`), but must never adopt the VM it replaces.
 */
const replacedVms = new Set<string>();

/**
 * The Bonneville VMs in a folder by URN, read once per process: a create that
 * an earlier, interrupted run already sent finds its VM here instead of
 * making a second one.
 */
function managedVmsIn(client: VSphereClient, folder: MoRef): Promise<Map<string, MadeVm[]>> {
  let cache = managedIndexes.get(client);
  if (!cache) managedIndexes.set(client, (cache = new LookupCache()));
  return cache.get(folder.value, async () => {
    const byUrn = new Map<string, MadeVm[]>();
    for (const vm of await madeVmsIn(client, folder, "container")) {
      const urn = vm.extraConfig.get(URN_KEY)!;
      byUrn.set(urn, [...(byUrn.get(urn) ?? []), vm]);
    }
    return byUrn;
  });
}

function immutableSpec(inputs: PropertyMap): Record<string, unknown> {
  return {
    parentId: inputs.parentId,
    image: inputs.image,
    command: inputs.command,
    env: inputs.env,
    networks: inputs.networks,
    resourcePoolId: inputs.resourcePoolId,
    folderId: inputs.folderId,
  };
}

function outputsOf(inputs: PropertyMap, vm: VirtualMachineInfo, cloneSeconds: number): PropertyMap {
  const status = containerStatusOf(vm.extraConfig);
  const out: Record<string, unknown> = {
    ...inputs,
    name: vm.name,
    powerState: vm.powerState,
    vmId: vm.ref.value,
    uuid: vm.uuid,
    hostId: vm.host?.value ?? "",
    macAddresses: vm.nics.map((n) => n.macAddress),
    portGroupIds: vm.nics.map((n) => n.network?.value ?? ""),
    ipAddress: reportedIpOf(vm.extraConfig),
    cloneSeconds,
    containerStatus: status.status,
    containerError: status.error,
  };
  if (status.exitCode !== undefined) out.containerExitCode = status.exitCode;
  return out;
}

async function create(
  ctx: OperationContext,
  given: PropertyMap,
  options: CreateOptions = {},
): Promise<{ id: string; outputs: PropertyMap }> {
  const client = await ctx.client();
  const { signal } = ctx;
  const fixedName = String(given.name);
  // The first create of a run pays for each look-up below once (later ones find them cached), and
  // the independent ones go out together: this account's unfinished clones (see adoption below),
  // the parent's shape and the parent's delta-disk chain.
  const earlierClones = settleEarlierTasks(ctx, client, INSTANT_CLONE, 120);
  earlierClones.catch(() => undefined); // awaited below; a create that fails first must not leave it unhandled
  const parentRef = await resolveInput(
    client,
    ctx,
    "parentId",
    String(given.parentId),
    objectKinds.virtualMachine,
    "vm",
  );
  prefetchChain(client, parentRef);
  const parent = await parentShape(client, parentRef);
  const [nicNetworks, pool, folder] = await Promise.all([
    nicPlan(
      ctx,
      client,
      "networks",
      (given.networks ?? []) as string[],
      parent.nics,
      `parent ${parent.name}`,
    ),
    given.resourcePoolId !== undefined
      ? resolveInput(
          client,
          ctx,
          "resourcePoolId",
          String(given.resourcePoolId),
          objectKinds.resourcePool,
          "host",
        )
      : Promise.resolve(parent.pool),
    given.folderId !== undefined
      ? resolveInput(client, ctx, "folderId", String(given.folderId), objectKinds.folder, "vm")
      : Promise.resolve(parent.folder),
  ]);
  const digest = creationDigest(ctx, immutableSpec(given));
  // A replacement made while the VM it replaces still holds the fixed name in the same folder is
  // made under a temporary name; the delete of that VM renames it (deleteVm).
  const name = options.replacing
    ? await replacementVmName(client, ctx.urn, fixedName, options.replacing.id, folder, NAME_MAX_LENGTH)
    : fixedName;
  const inputs = name === fixedName ? given : { ...given, name };
  const answer = (result: { id: string; outputs: PropertyMap }) => {
    if (name === fixedName) return result;
    ctx.progress(
      `${name} (${result.id}) replaces ${options.replacing!.id}, which holds the name ${fixedName} until it is deleted; it is then renamed ${fixedName}`,
    );
    return { ...result, outputs: { ...result.outputs, name: fixedName } };
  };

  // A VM with this URN and spec left by an interrupted create is adopted, not duplicated; a clone
  // such a create asked for that vCenter is still making is waited for first.
  await earlierClones;
  const adopted = folder ? await adoptable(client, folder, ctx.urn, digest) : undefined;
  if (adopted) {
    ctx.progress(
      `adopting ${adopted.name} (${adopted.ref.value}), made for this resource by an earlier interrupted create`,
    );
    return answer(
      await finishCreate(ctx, new VirtualMachine(client, adopted.ref), inputs, 0, true, undefined, {
        folder,
        pool,
      }),
    );
  }

  const networks = parent.nics.map((nic, i) => ({
    name: `nic${i}`,
    portGroupId: nicNetworks.get(nic.key)?.target.ref.value ?? nic.network?.value ?? "",
  }));
  const extraConfig: Record<string, string> = {
    ...contractValues({
      name: fixedName,
      image: String(inputs.image),
      ...(inputs.command ? { command: inputs.command as string[] } : {}),
      ...(inputs.env ? { env: inputs.env as Record<string, string> } : {}),
      ...(inputs.labels ? { labels: inputs.labels as Record<string, string> } : {}),
      networks,
      generation: randomUUID(),
    }),
    [MANAGED_KEY]: "true",
    [URN_KEY]: ctx.urn,
    [ROLE_KEY]: "container",
    [PARENT_KEY]: parent.ref.value,
    [SPEC_DIGEST_KEY]: digest,
  };
  // A running parent's delta-disk chain grows with each fork: refuse before vSphere fails.
  const release = await reserveFork(ctx, client, parent.ref, parent.name);
  const started = Date.now();
  let vm: VirtualMachine;
  try {
    vm = await new VirtualMachine(client, parent.ref).instantClone(
      name,
      {
        ...(folder ? { folder } : {}),
        ...(pool ? { pool } : {}),
        nicNetworks,
        ...(parent.console ? { deviceChanges: [childConsoleChange(parent.console, name)] } : {}),
      },
      extraConfig,
      { signal, ...(parent.host ? { host: parent.host } : {}) },
    );
  } catch (error) {
    release();
    const explained = await explainCloneFailure(client, error, parent, name, folder, ctx, digest);
    if (explained instanceof MoRef) {
      ctx.progress(
        `adopting ${name} (${explained.value}), made for this resource by an earlier interrupted create`,
      );
      return answer(
        await finishCreate(ctx, new VirtualMachine(client, explained), inputs, 0, true, undefined, {
          folder,
          pool,
        }),
      );
    }
    throw explained;
  }
  return answer(
    await finishCreate(ctx, vm, inputs, seconds(Date.now() - started), false, extraConfig, { folder, pool }),
  );
}

async function adoptable(
  client: VSphereClient,
  folder: MoRef,
  urn: string,
  digest: string,
): Promise<MadeVm | undefined> {
  const index = await managedVmsIn(client, folder);
  const candidates = index.get(urn) ?? [];
  const made: MadeFor = { urn, role: "container", digest };
  const match = candidates.find((c) => wasMadeFor(c.extraConfig, made) && !replacedVms.has(c.ref.value));
  if (!match) return undefined;
  // Adopt once: a later create of the same URN (a replacement) must not take it again.
  index.set(
    urn,
    candidates.filter((c) => c !== match),
  );
  const still = await new VirtualMachine(client, match.ref).read(["name"]);
  return still ? match : undefined;
}

/** Turns the faults users meet when forking into messages that say what to do. */
async function explainCloneFailure(
  client: VSphereClient,
  error: unknown,
  parent: ParentShape,
  name: string,
  folder: MoRef | undefined,
  { urn, config: { datacenter } }: OperationContext,
  digest: string,
): Promise<unknown> {
  // Returns the error to throw, or the VM to adopt (a same-named VM this resource made earlier).
  if (isVimFault(error, "InvalidState") || isVimFault(error, "InvalidPowerState")) {
    return new BonnevilleError(
      `cannot fork parent ${parent.name} (${parent.ref.value}): it is not powered on; instant clone needs a running parent (check the ParentTemplate, then run up again)`,
      { cause: error },
    );
  }
  if (isVimFault(error, "ManagedObjectNotFound")) {
    forgetParent(client);
    return new ValidationError([
      { property: "parentId", reason: `the parent VM ${parent.ref.value} no longer exists` },
    ]);
  }
  if (isVimFault(error, "DuplicateName")) {
    const holder = await vmNamedIn(client, name, await placementFolders(client, datacenter, folder));
    if (holder) {
      const extra = extraConfigOf(
        (await new VirtualMachine(client, holder.ref).read(["config.extraConfig"]))?.["config.extraConfig"],
      );
      const ours = wasMadeFor(extra, { urn, role: "container", digest });
      if (ours && !replacedVms.has(holder.ref.value)) return holder.ref;
    }
    return new ValidationError([
      {
        property: "name",
        reason: `a VM named "${name}" already exists in folder ${folder?.value ?? "(the parent's)"}${holder ? ` (${holder.ref.value})` : ""}: choose another name`,
      },
    ]);
  }
  return error;
}

/** After the fork (or the adoption of an earlier attempt's VM): the power state wanted, the optional IP wait, then the outputs. */
async function finishCreate(
  ctx: OperationContext,
  vm: VirtualMachine,
  inputs: PropertyMap,
  cloneSeconds: number,
  adopted = false,
  written?: Readonly<Record<string, string>>,
  placement: WantedPlacement = {},
): Promise<{ id: string; outputs: PropertyMap }> {
  try {
    if (adopted) await settleAdopted(ctx, vm, inputs);
    else if (inputs.powerState === "poweredOff") await vm.powerOff({ signal: ctx.signal });
    // A guest wait watches every property the outputs need, so its answer is the VM's state then,
    // without another read.
    const guest = waitsForGuest(inputs)
      ? await waitForGuest(
          ctx,
          vm,
          String(inputs.name),
          Number(inputs.waitTimeoutSeconds ?? 300),
          inputs.waitForIp === true,
        )
      : undefined;
    const info = guest ?? (written ? await freshCloneInfo(vm, inputs, written) : await vm.info());
    if (!info) throw new BonnevilleError(`${vm.id} vanished right after it was created`);
    const placed = await settlePlacement(ctx, vm, info, placement);
    return { id: vm.id, outputs: outputsOf(inputs, placed, cloneSeconds) };
  } catch (error) {
    const info = await vm.info().catch(() => undefined);
    const partial = info ? outputsOf(inputs, info, cloneSeconds) : { ...inputs, vmId: vm.id };
    throw new ResourceInitError(vm.id, partial, [messageOf(error)], { cause: error });
  }
}

/**
 * What outputs of a clone this create just forked need from vSphere: its UUID, network cards, power
 * state, host and IP. The name and extra config are what the clone spec set (the agent cannot have
 * reported on this generation yet, so the container is `starting`): reading them back, the extra
 * config with the parent's inherited keys, would more than double what a create parses.
 */
async function freshCloneInfo(
  vm: VirtualMachine,
  inputs: PropertyMap,
  written: Readonly<Record<string, string>>,
): Promise<VirtualMachineInfo | undefined> {
  const info = await vm.info([
    "config.uuid",
    "config.hardware.device",
    "runtime.powerState",
    "runtime.host",
    ...placementPaths,
  ]);
  return info && { ...info, name: String(inputs.name), extraConfig: new Map(Object.entries(written)) };
}

/**
 * Gives a VM adopted from an interrupted create what this create asks for: its name (a retried
 * create of an auto-named container picks a new one) and its power state.
 */
async function settleAdopted(ctx: OperationContext, vm: VirtualMachine, inputs: PropertyMap): Promise<void> {
  const { signal } = ctx;
  const name = String(inputs.name);
  const p = await vm.read(["name", "runtime.powerState"]);
  if (!p) throw new BonnevilleError(`${vm.id} vanished while it was being adopted`);
  if (p.name !== name) {
    ctx.progress(`renaming the adopted ${String(p.name)} (${vm.id}) to ${name}`);
    await vm.rename(name, { signal });
    await vm.setExtraConfig({ [providerKeys.name]: name }, { signal });
  }
  const on = p["runtime.powerState"] === "poweredOn";
  if (inputs.powerState === "poweredOff" && on) await vm.powerOff({ signal });
  if (inputs.powerState !== "poweredOff" && !on) await vm.powerOn(undefined, { signal });
}

/** Whether a create waits for the agent: by default, unless opted out or created powered off. */
function waitsForGuest(inputs: PropertyMap): boolean {
  if (inputs.powerState === "poweredOff") return false;
  return inputs.waitForRunning !== false || inputs.waitForIp === true;
}

/**
 * Waits until the agent reports the container running for this clone's generation (and, with
 * `withIp`, its own address for this generation), or reports it failed. Resolves with the VM's
 * info as of that report: the wait watches all of {@link vmInfoPaths}.
 */
async function waitForGuest(
  ctx: OperationContext,
  vm: VirtualMachine,
  name: string,
  timeoutSeconds: number,
  withIp: boolean,
): Promise<VirtualMachineInfo> {
  const client = await ctx.client();
  const what = withIp ? "a running container and its IP address" : "a running container";
  let props: Record<string, unknown>;
  try {
    props = await client.waits.waitFor(
      vm.ref,
      vmInfoPaths,
      (p) => {
        const extra = extraConfigOf(p["config.extraConfig"]);
        const status = containerStatusOf(extra).status;
        return (
          status === "error" ||
          status === "exited" ||
          (status === "running" && (!withIp || reportedIpOf(extra) !== ""))
        );
      },
      {
        signal: ctx.signal,
        timeoutMs: timeoutSeconds * 1000,
        progressEveryMs: progressInterval(timeoutSeconds),
        onProgress: (ms, p) =>
          ctx.progress(
            `waiting for ${name} (${vm.id}) to report ${what}: ${Math.round(ms / 1000)} s of ${timeoutSeconds} s (container: ${containerStatusOf(extraConfigOf(p["config.extraConfig"])).status})`,
          ),
      },
    );
  } catch (error) {
    if (error instanceof PropertyWaitTimeoutError) {
      throw new WaitTimeoutError(
        `${name} (${vm.id}) did not report ${what} within waitTimeoutSeconds (${timeoutSeconds} s): check the parent's guest agent (contract version 2), or set waitForRunning: false to return as soon as the clone exists`,
        { cause: error },
      );
    }
    throw error;
  }
  const status = containerStatusOf(extraConfigOf(props["config.extraConfig"]));
  if (status.status === "error") {
    throw new BonnevilleError(
      `the container in ${name} (${vm.id}) failed to start: ${status.error || "the agent gave no reason"}`,
    );
  }
  if (status.status === "exited") {
    throw new BonnevilleError(
      `the container in ${name} (${vm.id}) exited with code ${status.exitCode ?? "unknown"} right after it started${status.error ? `: ${status.error}` : ""}`,
    );
  }
  return vmInfoOf(vm.ref, props);
}

async function read(
  ctx: OperationContext,
  id: string,
  state: PropertyMap | undefined,
): Promise<ReadResult | undefined> {
  const client = await ctx.client();
  const vm = await new VirtualMachine(client, new MoRef("VirtualMachine", id)).info();
  if (!vm) return undefined;
  if (!isManaged(vm.extraConfig)) {
    throw new BonnevilleError(
      `${id} (${vm.name}) was not created by Bonneville (no ${MANAGED_KEY}=true in its extra config): it cannot be managed as a ContainerVM`,
    );
  }
  const spec = { ...contractOf(vm.extraConfig), parentId: vm.extraConfig.get(PARENT_KEY) };
  const actualNetworks = vm.nics.map((n) => n.network?.value ?? "");
  // Import (no state) leaves networks at the parent's default, as a program that omits them has it.
  let networks: unknown = state ? state.networks : undefined;
  if (state) {
    if (Array.isArray(state.networks)) {
      const wanted = await Promise.all(
        (state.networks as string[]).map((n) =>
          client.find.resolve(n, objectKinds.portGroup, "network", ctx.config.datacenter).then(
            (r) => r.value,
            (error: unknown) => {
              // A port group that no longer exists cannot be the one the card is on.
              if (error instanceof NotFoundError) return n;
              throw error;
            },
          ),
        ),
      );
      if (!deepEqual(wanted, actualNetworks.slice(0, wanted.length))) networks = actualNetworks;
    } else if (Array.isArray(state.portGroupIds) && !deepEqual(state.portGroupIds, actualNetworks)) {
      // Default networks moved out of band: show the drift so the next up replaces the VM.
      networks = actualNetworks;
    }
  }
  const inputs: Record<string, unknown> = {
    name: vm.name,
    parentId: state?.parentId ?? spec.parentId ?? "",
    image: state?.image ?? spec.image,
    ...(state ? pick(state, ["command", "env", "resourcePoolId", "folderId"]) : spec.rest),
    ...(spec.labels || state?.labels !== undefined ? { labels: spec.labels ?? {} } : {}),
    ...(networks !== undefined ? { networks } : {}),
    powerState: vm.powerState === "poweredOn" ? "poweredOn" : "poweredOff",
    waitForRunning: state?.waitForRunning ?? true,
    waitForIp: state?.waitForIp ?? false,
    waitTimeoutSeconds: state?.waitTimeoutSeconds ?? 300,
  };
  const cloneSeconds = typeof state?.cloneSeconds === "number" ? state.cloneSeconds : 0;
  // Env read back from the guest contract (an import) may hold secrets: keep it secret.
  const secretKeys = !state && inputs.env !== undefined ? ["env"] : [];
  return { id, inputs, outputs: outputsOf(inputs, vm, cloneSeconds), secretKeys };
}

function pick(from: PropertyMap, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

/** The container spec as written into the VM (for import and drift of labels). */
function contractOf(extra: ReadonlyMap<string, string>): {
  image: string;
  labels?: Record<string, string>;
  rest: Record<string, unknown>;
} {
  const decode = (key: string) => decodeJson(extra.get(key));
  const rest: Record<string, unknown> = {};
  const command = decode(contractKeys.command);
  if (Array.isArray(command)) rest.command = command;
  const env = decode(contractKeys.env);
  if (env && typeof env === "object") rest.env = env;
  // The labels an update set live outside guestinfo; VMs from contract version 1 have only the fork-time copy.
  const decoded = (decode(providerKeys.labels) ?? decode(contractKeys.labels)) as
    Record<string, string> | undefined;
  const labels = decoded && Object.keys(decoded).length > 0 ? decoded : undefined;
  return { image: extra.get(contractKeys.image) ?? "", ...(labels ? { labels } : {}), rest };
}

async function update(
  ctx: OperationContext,
  id: string,
  olds: PropertyMap,
  news: PropertyMap,
): Promise<PropertyMap> {
  const client = await ctx.client();
  const { signal } = ctx;
  const vm = new VirtualMachine(client, new MoRef("VirtualMachine", id));
  const before = await vm.info();
  if (!before) throw new BonnevilleError(`${id} no longer exists: run refresh, then up to create it again`);
  const name = String(news.name);
  if (before.name !== name) {
    ctx.progress(`renaming ${before.name} to ${name}`);
    await vm.rename(name, { signal });
  }
  // Outside guestinfo: a guestinfo key changed while the VM runs is lost at power-off.
  const extra: Record<string, string> = {};
  if (!deepEqual(olds.labels, news.labels)) {
    // Written even when empty ("{}"), so the fork-time copy in guestinfo is not read instead.
    extra[providerKeys.labels] = encodeJson(news.labels ?? {});
  }
  if (before.extraConfig.get(providerKeys.name) !== name) extra[providerKeys.name] = name;
  if (Object.keys(extra).length > 0) await vm.setExtraConfig(extra, { signal });
  const wanted = news.powerState ?? "poweredOn";
  if (wanted === "poweredOn" && before.powerState !== "poweredOn") {
    ctx.progress(`powering on ${name} (${id})`);
    await vm.powerOn(undefined, { signal });
  } else if (wanted === "poweredOff" && before.powerState === "poweredOn") {
    ctx.progress(`powering off ${name} (${id})`);
    await vm.powerOff({ signal });
  }
  const after = await vm.info();
  if (!after) throw new BonnevilleError(`${id} vanished during the update`);
  const cloneSeconds = typeof olds.cloneSeconds === "number" ? olds.cloneSeconds : 0;
  return outputsOf(withDefaults(schema, news), after, cloneSeconds);
}

async function deleteVm(ctx: OperationContext, id: string, state: PropertyMap): Promise<void> {
  const client = await ctx.client();
  const vm = new VirtualMachine(client, new MoRef("VirtualMachine", id));
  const p = await vm.read(["name", "config.extraConfig", "runtime.powerState", "parent"]);
  if (p) {
    if (!isManaged(extraConfigOf(p["config.extraConfig"]))) {
      throw new BonnevilleError(
        `refusing to delete ${id} (${String(p.name)}): it lacks ${MANAGED_KEY}=true, so Bonneville did not create it`,
      );
    }
    await destroyVm(vm, String(p["runtime.powerState"] ?? ""), ctx.signal);
  }
  if (typeof state.name === "string") {
    const folders =
      p?.parent instanceof MoRef ? [p.parent] : await foldersOfGone(ctx, client, state).catch(() => []);
    await renameReplacement(ctx, client, id, state.name, folders, NAME_MAX_LENGTH);
  }
}

/** Where the replacement of a VM that is already gone may be: its folder input, else its parent's folder. */
async function foldersOfGone(
  ctx: OperationContext,
  client: VSphereClient,
  state: PropertyMap,
): Promise<MoRef[]> {
  const folder =
    typeof state.folderId === "string"
      ? await resolveInput(client, ctx, "folderId", state.folderId, objectKinds.folder, "vm")
      : typeof state.parentId === "string"
        ? (
            await parentShape(
              client,
              await resolveInput(client, ctx, "parentId", state.parentId, objectKinds.virtualMachine, "vm"),
            )
          ).folder
        : undefined;
  return placementFolders(client, ctx.config.datacenter, folder);
}

export const containerVm: ResourceType = {
  token: CONTAINER_VM_TOKEN,
  schema,
  check,
  diff: (id, olds, news) => {
    const result = diffInputs(schema, olds, news);
    if (result.replaces.length > 0) replacedVms.add(id);
    return result;
  },
  preview: (news, olds) =>
    previewOutputs(
      schema,
      news,
      olds,
      olds ? ["vmId", "uuid", "hostId", "macAddresses", "portGroupIds", "cloneSeconds"] : [],
    ),
  create,
  renamesReplacements: true,
  read,
  update,
  delete: deleteVm,
};
