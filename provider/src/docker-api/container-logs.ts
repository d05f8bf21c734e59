/**
 * A container's output for Docker clients: `docker logs` (GET /containers/:id/logs,
 * with follow, tail, since, until and timestamps) and attach (POST
 * /containers/:id/attach upgraded to a raw stream, as `docker run` without -d and
 * `docker start -a` use it). Both read the VM's console file (container-output.ts);
 * neither carries input: a container VM has no stdin channel, so `-i` is refused.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { AbortedError } from "../vsphere";
import type { ContainerVmView } from "./container-host-view";
import { containerId, containerName, stateOf, type Container } from "./container-json";
import {
  ContainerConsole,
  containerStopped,
  frame,
  nanosOfUnixTime,
  pumpConsole,
  type OutputRecord,
} from "./container-output";
import { findContainer } from "./containers";
import type { DockerEndpoint } from "./endpoint";
import {
  badRequest,
  conflict,
  dockerErrorOf,
  messageOf,
  notFound,
  notSupported,
  unsupportedOption,
} from "./errors";
import { booleanParam } from "./http";
import { API_VERSION, compareVersions, versionedPath, type RequestContext, type Router } from "./routing";
import { unsupportedEndpoint } from "./unsupported";

/** The content type of a non-TTY output stream (API 1.42 and later name it; older clients get raw-stream). */
function streamType(apiVersion: string): string {
  return compareVersions(apiVersion, "1.42") >= 0
    ? "application/vnd.docker.multiplexed-stream"
    : "application/vnd.docker.raw-stream";
}

const NO_STDIN =
  "a container VM has no channel for input: its output reaches the endpoint through a serial port file, read-only";

/** Registers the logs route and the answer to an attach that was not upgraded. */
export function outputRoutes(router: Router, endpoint: DockerEndpoint): void {
  router.add("GET", "/containers/:id/logs", (ctx) => logs(endpoint, ctx));
  router.add("POST", "/containers/:id/attach", () => {
    throw badRequest(
      "attach needs an upgraded connection (Connection: Upgrade, Upgrade: tcp), as the docker CLI sends it",
    );
  });
}

/** Once a created container is forked, the VM that is the container; undefined when it was removed. */
async function forkedVm(
  endpoint: DockerEndpoint,
  container: Container,
  signal: AbortSignal,
): Promise<ContainerVmView | undefined> {
  if (container.kind === "vm") return container.vm;
  const how = await endpoint.created.whenEnded(container.spec.name, signal);
  if (how === "removed") return undefined;
  const { container: now } = await findContainer(endpoint, container.spec.id);
  return now.kind === "vm" ? now.vm : undefined;
}

async function logs(endpoint: DockerEndpoint, ctx: RequestContext): Promise<"streamed"> {
  const { query, res, clientSignal } = ctx;
  const follow = booleanParam(query, "follow");
  const stdout = booleanParam(query, "stdout");
  const stderr = booleanParam(query, "stderr");
  const timestamps = booleanParam(query, "timestamps");
  if (!stdout && !stderr) throw badRequest("Bad parameters: you must choose at least one stream");
  const tailText = query.get("tail") || "all";
  if (tailText !== "all" && !/^\d+$/.test(tailText)) {
    throw badRequest(`tail=${JSON.stringify(tailText)} must be "all" or a number of lines`);
  }
  const tail = tailText === "all" ? undefined : Number(tailText);
  const since = query.get("since") ? nanosOfUnixTime(query.get("since")!, "since") : undefined;
  const until = query.get("until") ? nanosOfUnixTime(query.get("until")!, "until") : undefined;
  const { container } = await findContainer(endpoint, ctx.params.id!);
  const name = containerName(container);
  const vm = container.kind === "vm" ? container.vm : undefined;
  const console = vm ? await ContainerConsole.of(endpoint.host, vm.vmId, name) : undefined;

  res.writeHead(200, { "Content-Type": streamType(ctx.apiVersion) });
  res.flushHeaders();
  const wanted = (r: OutputRecord) =>
    (r.stream === "stdout" ? stdout : stderr) &&
    (since === undefined || r.nanos >= since) &&
    (until === undefined || r.nanos <= until);
  const send = (records: OutputRecord[], first: boolean) => {
    let shown = records.filter(wanted);
    if (first && tail !== undefined) shown = tail === 0 ? [] : shown.slice(-tail);
    for (const r of shown) res.write(frame(r, timestamps));
  };
  const local = new AbortController();
  const signal = AbortSignal.any([clientSignal, local.signal]);
  try {
    if (console && vm) {
      const following = follow && until === undefined && stateOf(container).status === "running";
      await pumpConsole({
        console,
        from: 0,
        follow: following,
        ...(following ? { stopped: containerStopped(endpoint.host, vm.vmId, signal) } : {}),
        signal,
        onRecords: send,
      });
    } else if (follow && container.kind === "created") {
      // Follow a created container from its fork on.
      const forked = await forkedVm(endpoint, container, signal);
      if (forked) {
        await pumpConsole({
          console: await ContainerConsole.of(endpoint.host, forked.vmId, name),
          from: 0,
          follow: true,
          stopped: containerStopped(endpoint.host, forked.vmId, signal),
          signal,
          onRecords: send,
        });
      }
    }
  } catch (error) {
    if (!clientSignal.aborted) endpoint.host.progress(`logs of ${name} ended: ${messageOf(error)}`);
  } finally {
    local.abort(new AbortedError("the logs stream ended"));
    res.end();
  }
  return "streamed";
}

/**
 * Serves an upgraded attach request on its socket: `101 UPGRADED`, then the container's output from
 * its start (a created container, once `docker start` forks it; or with `logs=1`) or from now, until
 * the container stops. Any other upgrade request is answered with an error and closed.
 */
export async function serveUpgrade(
  endpoint: DockerEndpoint,
  req: IncomingMessage,
  socket: Duplex,
  lifetime: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? "/", "http://docker");
  const gone = new AbortController();
  socket.on("close", () => gone.abort(new AbortedError("the client closed the connection")));
  socket.on("error", () => gone.abort(new AbortedError("the client connection failed")));
  const signal = AbortSignal.any([lifetime, gone.signal]);
  let status = 101;
  let upgraded = false;
  let release = () => undefined as void;
  try {
    const { path } = versionedPath(url.pathname);
    const m = /^\/containers\/([^/]+)\/attach$/.exec(path);
    if (req.method !== "POST" || !m) {
      // Other upgrades (BuildKit's /session, /grpc) get the answer the route table gives them.
      const unsupported = unsupportedEndpoint(req.method ?? "GET", path);
      throw unsupported ? notSupported(unsupported.feature, unsupported.reason) : notFound("page not found");
    }
    const query = url.searchParams;
    if (booleanParam(query, "stdin"))
      throw unsupportedOption("attaching stdin (docker run -i, docker attach)", NO_STDIN);
    const stdout = booleanParam(query, "stdout");
    const stderr = booleanParam(query, "stderr");
    const withLogs = booleanParam(query, "logs");
    const { container } = await findContainer(endpoint, decodeURIComponent(m[1]!));
    const name = containerName(container);
    if (container.kind === "vm" && stateOf(container).status !== "running" && !withLogs) {
      // As Docker answers; `docker start -a` of a stopped container therefore fails before it starts.
      throw conflict(`You cannot attach to a stopped container, start it first (container ${name})`);
    }
    release = endpoint.attached.hold(containerId(container));
    socket.write(
      [
        "HTTP/1.1 101 UPGRADED",
        `Content-Type: ${streamType(versionedPath(url.pathname).apiVersion)}`,
        "Connection: Upgrade",
        "Upgrade: tcp",
        `Api-Version: ${API_VERSION}`,
        "",
        "",
      ].join("\r\n"),
    );
    upgraded = true;
    const vm = await forkedVm(endpoint, container, signal);
    if (vm) {
      const console = await ContainerConsole.of(endpoint.host, vm.vmId, name);
      const running = container.kind === "created" || stateOf(container).status === "running";
      const from = container.kind === "created" || withLogs ? 0 : (await console.read(0, signal)).length;
      if (running || withLogs) {
        await pumpConsole({
          console,
          from,
          follow: running,
          stopped: containerStopped(endpoint.host, vm.vmId, signal),
          signal,
          onRecords: (records) => {
            for (const r of records) {
              if (r.stream === "stdout" ? stdout : stderr) socket.write(frame(r, false));
            }
          },
        });
      }
    }
  } catch (error) {
    if (!upgraded && !socket.writableEnded) {
      const answer = dockerErrorOf(error);
      status = answer.status;
      const body = JSON.stringify({ message: answer.message });
      socket.write(
        [
          `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? "Error"}`,
          "Content-Type: application/json",
          `Content-Length: ${Buffer.byteLength(body)}`,
          "Connection: close",
          "",
          body,
        ].join("\r\n"),
      );
    } else if (!gone.signal.aborted) {
      // The stream has begun: say on its stderr why the output stops (a VM without a console port).
      socket.write(frame({ nanos: 0n, stream: "stderr", text: `bonneville: ${messageOf(error)}` }, false));
      log(`attach ended: ${messageOf(error)}`);
    }
  } finally {
    release();
    socket.end();
    log(`${req.method ?? "POST"} ${url.pathname} ${status} ${Date.now() - started}ms`);
  }
}
