/**
 * The endpoint's HTTP server: Docker Engine API over TCP (plain on loopback, TLS
 * with client certificates elsewhere) or a unix socket, every request routed to
 * the handlers and every failure answered in Docker's error form. Closing it
 * aborts operations in flight and removes its unix socket.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { AbortedError } from "../vsphere";
import {
  checkListenPolicy,
  dockerHostOf,
  ListenConfigError,
  tlsServerOptions,
  type ListenAddress,
  type TlsFiles,
} from "./auth";
import { AttachedStreams } from "./attached-streams";
import type { ContainerHostView } from "./container-host-view";
import { outputRoutes, serveUpgrade } from "./container-logs";
import { containerRoutes } from "./containers";
import { CreatedContainers, NameLocks } from "./created-containers";
import type { DockerEndpoint } from "./endpoint";
import { dockerErrorOf } from "./errors";
import { writeError, writeReply } from "./http";
import { imageRoutes, ImageRecords } from "./images";
import { networkRoutes } from "./networks";
import { API_VERSION, Router, versionedPath } from "./routing";
import { systemRoutes } from "./system";

/** How to run the endpoint. */
export interface DockerApiServerOptions {
  readonly host: ContainerHostView;
  readonly listen: ListenAddress;
  /** TLS files; required (all three) for a non-loopback TCP address. */
  readonly tls?: TlsFiles;
  /** Bonneville's version, shown as the engine's. */
  readonly version: string;
  /** Longest wait for a forked container's agent to report it running, seconds. Default 300. */
  readonly startTimeoutSeconds?: number;
  /** Where request and progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** A running endpoint. */
export interface RunningDockerApi {
  /** The address it listens on (the port filled in when 0 was asked for). */
  readonly address: ListenAddress;
  /** What a client sets DOCKER_HOST to. */
  readonly dockerHost: string;
  readonly tls: boolean;
  /** Stops listening, aborts operations in flight and removes the unix socket. */
  close(): Promise<void>;
}

/** Starts the endpoint; refuses a non-loopback address without TLS client verification. */
export async function startDockerApi(options: DockerApiServerOptions): Promise<RunningDockerApi> {
  const tlsOn = checkListenPolicy(options.listen, options.tls ?? {});
  const log = options.log ?? (() => undefined);
  const endpoint: DockerEndpoint = {
    host: options.host,
    created: new CreatedContainers(),
    images: new ImageRecords(),
    locks: new NameLocks(),
    attached: new AttachedStreams(),
    autoRemoved: new Map(),
    version: options.version,
    startTimeoutSeconds: options.startTimeoutSeconds ?? 300,
  };
  const router = new Router();
  systemRoutes(router, endpoint);
  containerRoutes(router, endpoint);
  outputRoutes(router, endpoint);
  networkRoutes(router, endpoint);
  imageRoutes(router, endpoint);

  const lifetime = new AbortController();
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handle(req, res);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = Date.now();
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://docker");
    res.setHeader("Api-Version", API_VERSION);
    res.setHeader("Docker-Experimental", "false");
    res.setHeader("Ostype", "linux");
    res.setHeader("Server", `Bonneville/${options.version} (linux)`);
    const gone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) gone.abort(new AbortedError("the client closed the connection"));
    });
    try {
      const { apiVersion, path } = versionedPath(url.pathname);
      const { handler, params } = router.match(method, path);
      const reply = await handler({
        req,
        res,
        method,
        path,
        apiVersion,
        query: url.searchParams,
        params,
        signal: lifetime.signal,
        clientSignal: AbortSignal.any([lifetime.signal, gone.signal]),
      });
      if (reply !== "streamed") writeReply(req, res, reply);
    } catch (error) {
      const dockerError = dockerErrorOf(error);
      if (dockerError.status >= 500 && dockerError.status !== 501)
        log(`error: ${method} ${url.pathname}: ${dockerError.message}`);
      writeError(req, res, dockerError);
    } finally {
      log(`${method} ${url.pathname} ${res.statusCode} ${Date.now() - started}ms`);
    }
  };

  // allowHalfOpen: an attaching docker CLI closes its sending side at once (it sends no input) and
  // reads the output until the endpoint ends the stream (http.Server is half-open already).
  const server = tlsOn
    ? https.createServer(
        { ...tlsServerOptions(options.tls as Required<TlsFiles>), allowHalfOpen: true },
        listener,
      )
    : http.createServer(listener);
  server.keepAliveTimeout = 65_000;
  // Attach (docker run without -d) upgrades its connection to a raw stream.
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    void serveUpgrade(endpoint, req, socket, lifetime.signal, log);
  });

  const address = await listen(server, options.listen);
  return {
    address,
    dockerHost: dockerHostOf(address),
    tls: tlsOn,
    close: async () => {
      lifetime.abort(new AbortedError("the Docker API endpoint is shutting down"));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (address.kind === "unix") fs.rmSync(address.path, { force: true });
    },
  };
}

async function listen(server: net.Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === "unix") await clearStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = address.kind === "unix" ? address.path : `${address.host}:${address.port}`;
      reject(new ListenConfigError(`cannot listen on ${where}: ${error.code ?? ""} ${error.message}`.trim()));
    };
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (address.kind === "unix") server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  if (address.kind === "unix") {
    fs.chmodSync(address.path, 0o600);
    return address;
  }
  const bound = server.address() as net.AddressInfo;
  return { kind: "tcp", host: address.host, port: bound.port };
}

/** Removes a socket file that no server answers on; refuses one that a live server holds. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!fs.existsSync(path)) return;
  const stat = fs.statSync(path);
  if (!stat.isSocket())
    throw new ListenConfigError(`cannot listen on ${path}: it exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new ListenConfigError(`cannot listen on ${path}: another server is listening on it`);
  fs.rmSync(path, { force: true });
}
