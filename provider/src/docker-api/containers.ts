/**
 * Containers: create, start, stop, kill, restart, remove, list, inspect and wait,
 * each on the ContainerVM resource functions (`containerVm.check/create/read/
 * update/delete`) with an OperationContext whose URN is the container's
 * `urn:bonneville:docker-api::<hostId>::<name>`.
 *
 * `docker create` checks the spec and records it; `docker start` forks the VM
 * (one InstantClone_Task, which starts the container at once) and waits for the
 * guest agent to report the container running or failed. A fork cannot be made
 * without starting its container, so the honest place for the fork is start.
 * Stop asks the guest to shut down (VMware Tools) and powers the VM off after
 * the timeout; kill powers it off. Containers a Pulumi program owns are listed
 * and inspected but never changed here.
 */
import { containerVm } from "../resources";
import { ResourceInitError } from "../resources/errors";
import { containerStatusOf } from "../resources/guest-contract";
import type { PropertyMap } from "../resources/resource";
import {
  extraConfigOf,
  isVimFault,
  MoRef,
  PropertyWaitTimeoutError,
  WaitedObjectGoneError,
} from "../vsphere";
import type { ContainerVmView, HostNetwork } from "./container-host-view";
import {
  containerId,
  containerName,
  inspectJson,
  labelsOf,
  listEntry,
  stateOf,
  stateOfVm,
  type Container,
} from "./container-json";
import { describeFailure, parseCreateRequest } from "./create-request";
import type { CreatedContainer } from "./created-containers";
import type { DockerEndpoint } from "./endpoint";
import { containerStopped } from "./container-output";
import { badRequest, conflict, DockerApiError, messageOf, notFound, unsupportedOption } from "./errors";
import { labelsMatch, nameMatches, parseFilters } from "./filters";
import { booleanParam, empty, integerParam, json, readJsonBody, type Reply } from "./http";
import { containerIdOf, dockerApiUrn } from "./identity";
import { imageKnown } from "./images";
import type { RequestContext, Router } from "./routing";

/** Docker's default stop timeout, seconds. */
const DEFAULT_STOP_SECONDS = 10;
const STATUSES: readonly string[] = [
  "created",
  "restarting",
  "running",
  "removing",
  "paused",
  "exited",
  "dead",
];

/** Registers the container routes. */
export function containerRoutes(router: Router, endpoint: DockerEndpoint): void {
  const handlers = new ContainerHandlers(endpoint);
  router
    .add("GET", "/containers/json", (ctx) => handlers.list(ctx))
    .add("POST", "/containers/create", (ctx) => handlers.create(ctx))
    .add("GET", "/containers/:id/json", (ctx) => handlers.inspect(ctx))
    .add("POST", "/containers/:id/start", (ctx) => handlers.start(ctx))
    .add("POST", "/containers/:id/stop", (ctx) => handlers.stop(ctx))
    .add("POST", "/containers/:id/kill", (ctx) => handlers.kill(ctx))
    .add("POST", "/containers/:id/restart", (ctx) => handlers.restart(ctx))
    .add("POST", "/containers/:id/wait", (ctx) => handlers.wait(ctx))
    .add("DELETE", "/containers/:id", (ctx) => handlers.remove(ctx));
}

/** Finds a container by full ID, name (`web` or `/web`) or unique ID prefix. */
export function findContainer(
  endpoint: DockerEndpoint,
  ref: string,
): Promise<{ container: Container; vms: ContainerVmView[] }> {
  return new ContainerHandlers(endpoint).find(ref);
}

class ContainerHandlers {
  constructor(private readonly endpoint: DockerEndpoint) {}

  private get host() {
    return this.endpoint.host;
  }

  /** Every container: the VMs of the host and the created ones not forked yet. */
  private async all(): Promise<{ containers: Container[]; vms: ContainerVmView[] }> {
    const vms = await this.host.containers();
    const taken = new Set(vms.map((v) => v.name));
    const created = this.endpoint.created.all().filter((c) => !taken.has(c.name));
    return {
      vms,
      containers: [
        ...created.map((spec): Container => ({ kind: "created", spec })),
        ...vms.map((vm): Container => ({ kind: "vm", vm })),
      ],
    };
  }

  /** Finds a container by full ID, name (`web` or `/web`) or unique ID prefix. */
  async find(ref: string): Promise<{ container: Container; vms: ContainerVmView[] }> {
    const { containers, vms } = await this.all();
    const name = ref.replace(/^\//, "");
    const exact = containers.find((c) => containerId(c) === ref || containerName(c) === name);
    if (exact) return { container: exact, vms };
    if (/^[0-9a-f]+$/.test(ref)) {
      const byPrefix = containers.filter((c) => containerId(c).startsWith(ref));
      if (byPrefix.length === 1) return { container: byPrefix[0]!, vms };
      if (byPrefix.length > 1) {
        throw badRequest(
          `container ID prefix ${ref} is ambiguous: it matches ${byPrefix.map(containerName).join(", ")}; give more digits or the name`,
        );
      }
    }
    throw notFound(`No such container: ${ref}`);
  }

  /** Runs `body` holding the lock of the container `ref` names, on a fresh read of it. */
  private async withContainer<T>(ref: string, body: (c: Container) => Promise<T>): Promise<T> {
    const { container } = await this.find(ref);
    const name = containerName(container);
    return this.endpoint.locks.run(name, async () => {
      const { container: current } = await this.find(containerId(container));
      return body(current);
    });
  }

  async list({ query }: RequestContext) {
    const all = booleanParam(query, "all");
    const limit = integerParam(query, "limit", -1, 1_000_000);
    const filters = parseFilters(query.get("filters"), ["label", "name", "status", "id"]);
    for (const status of filters.get("status") ?? []) {
      if (!STATUSES.includes(status)) {
        throw badRequest(`invalid filter 'status=${status}': expected one of ${STATUSES.join(", ")}`);
      }
    }
    const { containers, vms } = await this.all();
    const networks = await this.host.networks(vms);
    const now = new Date();
    let shown = containers.filter((c) => {
      const state = stateOf(c);
      const statuses = filters.get("status");
      if (statuses && statuses.length > 0) {
        if (!statuses.includes(state.status)) return false;
      } else if (!all && limit === undefined && state.status !== "running" && state.status !== "paused") {
        return false;
      }
      const labels = filters.get("label");
      if (labels && !labelsMatch(labels, labelsOf(c))) return false;
      const names = filters.get("name");
      if (names && names.length > 0 && !nameMatches(names, containerName(c))) return false;
      const ids = filters.get("id");
      if (ids && ids.length > 0 && !ids.some((id) => containerId(c).startsWith(id))) return false;
      return true;
    });
    shown.sort((a, b) => createdOf(b).getTime() - createdOf(a).getTime());
    if (limit !== undefined && limit > 0) shown = shown.slice(0, limit);
    return json(
      200,
      shown.map((c) => listEntry(c, networks, this.host.hostId, now)),
    );
  }

  async inspect({ params }: RequestContext) {
    const { container, vms } = await this.find(params.id!);
    const networks = await this.host.networks(vms);
    return json(200, inspectJson(container, networks, this.host.hostId, this.host.parent.id));
  }

  async create({ req, query }: RequestContext) {
    const request = parseCreateRequest(await readJsonBody(req), query);
    const { name, image, command, env, labels, networkNames } = request;
    return this.endpoint.locks.run(name, async () => {
      const { containers, vms } = await this.all();
      const holder = containers.find((c) => containerName(c) === name);
      if (holder) {
        throw conflict(
          `the container name "/${name}" is already in use by container ${containerId(holder)}: remove that container or choose another name`,
        );
      }
      const other = (await this.host.vmsInFolder()).find((v) => v.name === name);
      if (other) {
        throw conflict(
          `the name "${name}" is taken by VM ${other.id} in the ContainerHost's folder (VM names are unique in a folder): choose another name`,
        );
      }
      // Networks before the image: the docker CLI pulls on a 404 and creates again, so a missing
      // network must fail first, and not as a 404 (see portGroupOf).
      const hostNetworks = await this.host.networks(vms);
      const portGroups = networkNames.map((n) => portGroupOf(n, hostNetworks));
      if (!imageKnown(this.endpoint, image, vms)) throw notFound(`No such image: ${image}`);
      const nicCount = this.host.parent.nicCount;
      if (portGroups.length > nicCount) {
        throw badRequest(
          `the container asks for ${portGroups.length} networks (${networkNames.join(", ")}) but its parent ${this.host.parent.name} has ${nicCount} network card(s): a container VM joins at most ${nicCount}`,
        );
      }
      const urn = dockerApiUrn(this.host.hostId, name);
      const inputs: PropertyMap = {
        name,
        parentId: this.host.parent.id,
        image,
        ...(command ? { command } : {}),
        ...(env ? { env } : {}),
        ...(labels ? { labels } : {}),
        networks: portGroups,
        resourcePoolId: this.host.hostId,
        ...(this.host.folderId ? { folderId: this.host.folderId } : {}),
        powerState: "poweredOn",
        // The endpoint follows the agent's status itself (docker run / start semantics).
        waitForRunning: false,
        waitForIp: false,
      };
      const checked = containerVm.check(inputs, undefined, { name });
      if (checked.failures.length > 0) {
        throw badRequest(`invalid container spec: ${checked.failures.map(describeFailure).join("; ")}`);
      }
      const spec: CreatedContainer = {
        id: containerIdOf(urn),
        urn,
        name,
        inputs: checked.inputs,
        networkNames,
        created: new Date(),
        autoRemove: request.autoRemove,
      };
      this.endpoint.created.add(spec);
      return json(201, { Id: spec.id, Warnings: request.warnings });
    });
  }

  async start({ params, signal }: RequestContext) {
    return this.withContainer(params.id!, async (c) => {
      if (c.kind === "created") {
        await this.fork(c.spec, signal);
        return empty(204);
      }
      refusePulumiOwned(c.vm, "start");
      const state = stateOf(c);
      if (state.status === "running") return empty(304);
      if (c.vm.outputs.powerState === "poweredOn") await this.setPower(c.vm, "poweredOff", signal);
      await this.setPower(c.vm, "poweredOn", signal);
      return empty(204);
    });
  }

  async stop({ params, query, signal }: RequestContext) {
    const seconds = stopSeconds(query);
    return this.withContainer(params.id!, async (c) => {
      if (c.kind === "created") return empty(304);
      refusePulumiOwned(c.vm, "stop");
      if (c.vm.outputs.powerState !== "poweredOn") return empty(304);
      await this.shutdown(c.vm, seconds, signal);
      return empty(204);
    });
  }

  async kill({ params, query, signal }: RequestContext) {
    const wanted = (query.get("signal") || "KILL").toUpperCase().replace(/^SIG/, "");
    // SIGTERM and SIGINT (what a foreground `docker run` forwards at Ctrl-C) ask the guest to shut
    // down, as docker stop does first; SIGKILL powers the VM off.
    const graceful = ["TERM", "15", "INT", "2"].includes(wanted);
    if (!graceful && wanted !== "KILL" && wanted !== "9") {
      throw unsupportedOption(
        `signal ${query.get("signal")}`,
        "a container VM can be asked to shut down (SIGTERM, SIGINT) or powered off (SIGKILL), nothing else",
      );
    }
    return this.withContainer(params.id!, async (c) => {
      if (c.kind === "created" || c.vm.outputs.powerState !== "poweredOn") {
        throw conflict(`cannot kill container ${containerName(c)}: it is not running`);
      }
      refusePulumiOwned(c.vm, "kill");
      if (!graceful) {
        await this.setPower(c.vm, "poweredOff", signal);
        return empty(204);
      }
      this.host.progress(`asking the guest of ${c.vm.name} (${c.vm.vmId}) to shut down (SIG${wanted})`);
      try {
        await this.host.client.invoke(
          "ShutdownGuest",
          new MoRef("VirtualMachine", c.vm.vmId),
          {},
          { signal },
        );
      } catch (error) {
        if (!isVimFault(error, "ToolsUnavailable") && !isVimFault(error, "InvalidState")) throw error;
        throw conflict(
          `cannot send SIG${wanted} to container ${c.vm.name}: its guest cannot be asked to shut down (${messageOf(error)}); docker kill (SIGKILL) powers it off`,
        );
      }
      return empty(204);
    });
  }

  async restart({ params, query, signal }: RequestContext) {
    const seconds = stopSeconds(query);
    return this.withContainer(params.id!, async (c) => {
      if (c.kind === "created") {
        await this.fork(c.spec, signal);
        return empty(204);
      }
      refusePulumiOwned(c.vm, "restart");
      if (c.vm.outputs.powerState === "poweredOn") await this.shutdown(c.vm, seconds, signal);
      await this.setPower(c.vm, "poweredOn", signal);
      return empty(204);
    });
  }

  async remove({ params, query, signal }: RequestContext) {
    const force = booleanParam(query, "force");
    if (booleanParam(query, "link")) {
      throw unsupportedOption("removing links (docker rm --link)", "container VMs have no links");
    }
    return this.withContainer(params.id!, async (c) => {
      if (c.kind === "created") {
        this.endpoint.created.end(c.spec.name, "removed");
        return empty(204);
      }
      refusePulumiOwned(c.vm, "remove");
      if (c.vm.outputs.powerState === "poweredOn" && !force) {
        throw conflict(
          `cannot remove container "/${c.vm.name}": it is running; stop it first (docker stop) or force the removal (docker rm -f)`,
        );
      }
      this.host.progress(`removing ${c.vm.name} (${c.vm.vmId})`);
      await containerVm.delete(this.host.context(c.vm.urn, signal), c.vm.vmId, c.vm.outputs);
      return empty(204);
    });
  }

  /**
   * Docker's wait: the 200 and headers go out at once (the docker CLI sends its wait before it starts
   * a container, and blocks until the headers arrive); the body follows when the condition holds.
   */
  async wait({ params, query, clientSignal, res }: RequestContext): Promise<Reply> {
    const condition = query.get("condition") || "not-running";
    if (!["not-running", "next-exit", "removed"].includes(condition)) {
      throw badRequest(`condition=${condition} is not one of not-running, next-exit, removed`);
    }
    const { container } = await this.find(params.id!);
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    let result: { StatusCode: number; Error: { Message: string } | null };
    try {
      const outcome = await this.waitFor(container, condition, clientSignal);
      result = { StatusCode: outcome.exitCode, Error: outcome.error ? { Message: outcome.error } : null };
    } catch (error) {
      if (clientSignal.aborted) {
        res.end();
        return "streamed";
      }
      result = { StatusCode: -1, Error: { Message: messageOf(error) } };
    }
    res.end(JSON.stringify(result));
    return "streamed";
  }

  private async waitFor(
    found: Container,
    condition: string,
    signal: AbortSignal,
  ): Promise<{ exitCode: number; error: string }> {
    let container = found;
    if (container.kind === "created") {
      if (condition === "not-running") return { exitCode: 0, error: "" };
      const how = await this.endpoint.created.whenEnded(container.spec.name, signal);
      if (how === "removed") {
        if (condition === "removed") return { exitCode: 0, error: "" };
        throw notFound(`container ${container.spec.name} was removed before it started`);
      }
      const id = container.spec.id;
      const now = await this.find(id).catch((error: unknown) => {
        if (error instanceof DockerApiError && error.status === 404) return undefined;
        throw error;
      });
      if (!now || now.container.kind === "created") {
        const ended = this.endpoint.autoRemoved.get(id);
        if (ended) return ended;
        throw notFound(`container ${found.kind === "created" ? found.spec.name : ""} is gone`);
      }
      container = now.container;
      // Its first start was the one waited for: the next exit is the first stop after it.
      return this.waitForVm(container.vm, condition === "next-exit" ? "not-running" : condition, signal);
    }
    return this.waitForVm(container.vm, condition, signal);
  }

  /** Forks a created container's VM and waits for its agent; afterwards the VM is the container. */
  private async fork(spec: CreatedContainer, signal: AbortSignal): Promise<void> {
    const ctx = this.host.context(spec.urn, signal);
    this.host.progress(`forking ${spec.name} from ${this.host.parent.name} (${this.host.parent.id})`);
    let vmId: string;
    try {
      vmId = (await containerVm.create(ctx, spec.inputs)).id;
    } catch (error) {
      if (error instanceof ResourceInitError) {
        this.host.noteCreated(error.id, spec.created);
        this.endpoint.created.end(spec.name, "started");
        if (spec.autoRemove) this.removeWhenExited(spec, error.id, signal);
        throw new DockerApiError(
          500,
          `container ${spec.name} was forked as ${error.id} but did not finish starting: ${error.message}`,
          { cause: error },
        );
      }
      // No VM was made: a failed run leaves no "Created" container behind.
      this.host.progress(
        `${spec.name} was not forked (${messageOf(error)}); its created container is removed`,
      );
      this.endpoint.created.end(spec.name, "removed");
      throw error;
    }
    this.host.noteCreated(vmId, spec.created);
    this.endpoint.created.end(spec.name, "started");
    if (spec.autoRemove) this.removeWhenExited(spec, vmId, signal);
    await this.waitForAgent(spec.name, vmId, signal);
  }

  /**
   * `--rm`: removes the container's VM once its container stops running (exits, fails, or the VM is
   * powered off). This endpoint process does it: if it stops first, the VM stays, exited.
   */
  private removeWhenExited(spec: CreatedContainer, vmId: string, signal: AbortSignal): void {
    void (async () => {
      try {
        await containerStopped(this.host, vmId, signal);
        const p = await this.host.client.properties.retrieveOne(new MoRef("VirtualMachine", vmId), [
          "runtime.powerState",
          "config.extraConfig",
        ]);
        if (p) {
          const state = stateOfVm(
            String(p.props["runtime.powerState"] ?? ""),
            containerStatusOf(extraConfigOf(p.props["config.extraConfig"])),
            undefined,
          );
          this.endpoint.autoRemoved.set(spec.id, { exitCode: state.exitCode, error: state.error });
        }
        await this.endpoint.attached.drained(spec.id, signal);
        await this.endpoint.locks.run(spec.name, async () => {
          this.host.progress(
            `removing ${spec.name} (${vmId}): its container stopped and it was run with --rm`,
          );
          await containerVm.delete(this.host.context(spec.urn, signal), vmId, {});
        });
      } catch (error) {
        if (!signal.aborted) this.host.progress(`--rm of ${spec.name} (${vmId}) failed: ${messageOf(error)}`);
      }
    })();
  }

  /** Waits until the agent of a fresh fork reports its container running, exited or failed. */
  private async waitForAgent(name: string, vmId: string, signal: AbortSignal): Promise<void> {
    const timeout = this.endpoint.startTimeoutSeconds;
    let props: Record<string, unknown>;
    try {
      props = await this.host.client.waits.waitFor(
        new MoRef("VirtualMachine", vmId),
        ["config.extraConfig"],
        (p) => containerStatusOf(extraConfigOf(p["config.extraConfig"])).status !== "starting",
        {
          signal,
          timeoutMs: timeout * 1000,
          progressEveryMs: 10_000,
          onProgress: (ms) =>
            this.host.progress(
              `waiting for the agent of ${name} (${vmId}) to start it: ${Math.round(ms / 1000)} s of ${timeout} s`,
            ),
        },
      );
    } catch (error) {
      if (error instanceof PropertyWaitTimeoutError) {
        throw new DockerApiError(
          500,
          `container ${name} was forked as ${vmId}, but its guest agent reported nothing within ${timeout} s (--start-timeout); the VM keeps running: docker inspect ${name} shows its state`,
          { cause: error },
        );
      }
      throw error;
    }
    const status = containerStatusOf(extraConfigOf(props["config.extraConfig"]));
    if (status.status === "error") {
      throw new DockerApiError(
        500,
        `container ${name} was forked as ${vmId}, but its guest agent could not start it: ${status.error || "the agent gave no reason"}`,
      );
    }
  }

  /** Powers a container VM on or off through `containerVm.update`. */
  private async setPower(
    vm: ContainerVmView,
    powerState: "poweredOn" | "poweredOff",
    signal: AbortSignal,
  ): Promise<void> {
    this.host.progress(
      `${powerState === "poweredOn" ? "powering on" : "powering off"} ${vm.name} (${vm.vmId})`,
    );
    const ctx = this.host.context(vm.urn, signal);
    await containerVm.update(ctx, vm.vmId, vm.outputs, { ...vm.inputs, powerState });
  }

  /**
   * Docker's stop: asks the guest OS to shut down (VMware Tools), waits up to `seconds` for the VM to
   * power off, then powers it off.
   */
  private async shutdown(vm: ContainerVmView, seconds: number, signal: AbortSignal): Promise<void> {
    const client = this.host.client;
    const ref = new MoRef("VirtualMachine", vm.vmId);
    if (seconds > 0) {
      let asked = false;
      try {
        await client.invoke("ShutdownGuest", ref, {}, { signal });
        asked = true;
      } catch (error) {
        if (
          !isVimFault(error, "ToolsUnavailable") &&
          !isVimFault(error, "InvalidState") &&
          !isVimFault(error, "InvalidPowerState")
        ) {
          throw error;
        }
        this.host.progress(
          `${vm.name}: the guest cannot be asked to shut down (${messageOf(error)}); powering it off`,
        );
      }
      if (asked) {
        try {
          await client.waits.waitFor(
            ref,
            ["runtime.powerState"],
            (p) => p["runtime.powerState"] === "poweredOff",
            {
              signal,
              timeoutMs: seconds * 1000,
            },
          );
        } catch (error) {
          if (!(error instanceof PropertyWaitTimeoutError)) throw error;
          this.host.progress(`${vm.name} did not shut down within ${seconds} s; powering it off`);
        }
      }
    }
    const after = await this.host.refresh(vm);
    if (after && after.outputs.powerState === "poweredOn") await this.setPower(after, "poweredOff", signal);
  }

  /** Waits for a container VM to reach a wait condition; resolves with its exit code. */
  private async waitForVm(
    vm: ContainerVmView,
    condition: string,
    signal: AbortSignal,
  ): Promise<{ exitCode: number; error: string }> {
    const ref = new MoRef("VirtualMachine", vm.vmId);
    const paths = ["runtime.powerState", "config.extraConfig"];
    const waits = this.host.client.waits;
    const stateIn = (p: Readonly<Record<string, unknown>>) =>
      stateOfVm(
        String(p["runtime.powerState"] ?? ""),
        containerStatusOf(extraConfigOf(p["config.extraConfig"])),
        undefined,
      );
    let last = stateOf({ kind: "vm", vm });
    try {
      if (condition === "next-exit" && last.status !== "running") {
        await waits.waitFor(ref, paths, (p) => stateIn(p).status === "running", { signal });
      }
      const props = await waits.waitFor(ref, paths, (p) => stateIn(p).status !== "running", { signal });
      last = stateIn(props);
      if (condition === "removed") {
        // Until the VM is gone: the wait ends with WaitedObjectGoneError.
        await waits.waitFor(ref, paths, () => false, { signal });
      }
      return { exitCode: last.exitCode, error: last.error };
    } catch (error) {
      // Gone while waited for, or before the wait began.
      if (error instanceof WaitedObjectGoneError || isVimFault(error, "ManagedObjectNotFound"))
        return this.endpoint.autoRemoved.get(vm.id) ?? { exitCode: last.exitCode, error: last.error };
      throw error;
    }
  }
}

function createdOf(c: Container): Date {
  return c.kind === "vm" ? c.vm.created : c.spec.created;
}

function refusePulumiOwned(vm: ContainerVmView, action: string): void {
  if (vm.madeByEndpoint) return;
  throw conflict(
    `cannot ${action} container ${vm.name}: a Pulumi program owns it (${vm.urn}); change it there (powerState, or remove the resource) and run pulumi up`,
  );
}

/** The stop timeout: `t` (or `timeout`), -1 meaning wait forever is capped at one hour. */
function stopSeconds(query: URLSearchParams): number {
  const signal = query.get("signal");
  if (signal && !["TERM", "SIGTERM", "15", "KILL", "SIGKILL", "9"].includes(signal.toUpperCase())) {
    throw unsupportedOption(
      `stop signal ${signal}`,
      "the guest is asked to shut down (SIGTERM to its processes), then the VM is powered off (SIGKILL)",
    );
  }
  if (signal && ["KILL", "SIGKILL", "9"].includes(signal.toUpperCase())) return 0;
  const t = integerParam(query, "t", -1, 3600) ?? integerParam(query, "timeout", -1, 3600);
  if (t === undefined) return DEFAULT_STOP_SECONDS;
  return t < 0 ? 3600 : t;
}

/**
 * The port group of a Docker network name (`default` is `bridge`). A missing network is a 400, not
 * Docker's 404: the docker CLI answers any 404 of a create by pulling the image and creating again.
 */
function portGroupOf(name: string, networks: readonly HostNetwork[]): string {
  const found = networks.find((n) => n.name === name);
  if (!found) {
    throw badRequest(
      `network ${name} not found: this ContainerHost has ${networks.map((n) => n.name).join(", ")} (more with the endpoint's --network flag)`,
    );
  }
  return found.portGroupId;
}
