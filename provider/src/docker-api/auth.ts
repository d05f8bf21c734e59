/**
 * Who may talk to the endpoint. Whoever reaches it acts on vSphere with the
 * endpoint's vCenter credentials, so it listens on loopback or a unix socket
 * (mode 0600) by default, and refuses a non-loopback TCP address unless TLS with
 * client-certificate verification is configured: the server presents
 * `--tls-cert`/`--tls-key` and accepts only clients whose certificate `--tls-ca`
 * signed (`requestCert` and `rejectUnauthorized`).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import type * as tls from "node:tls";
import { BonnevilleError } from "../resources/errors";

/** The default listen address: Docker's unencrypted port, on loopback only. */
export const DEFAULT_LISTEN = "tcp://127.0.0.1:2375";

/** Where the endpoint listens. */
export type ListenAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/** The TLS files given on the command line (all optional until checked). */
export interface TlsFiles {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

/** A listen address or TLS setting that cannot be used, or a listen the policy refuses. */
export class ListenConfigError extends BonnevilleError {}

/** Parses `tcp://host:port` (`[::1]:port` for IPv6) or `unix:///absolute/path.sock`. */
export function parseListenAddress(text: string): ListenAddress {
  const allowed =
    "expected tcp://<address>:<port> (e.g. tcp://127.0.0.1:2375) or unix:///<path> (e.g. unix:///run/bonneville/docker.sock)";
  if (text.startsWith("unix://")) {
    const path = text.slice("unix://".length);
    if (!path.startsWith("/"))
      throw new ListenConfigError(
        `--listen ${JSON.stringify(text)}: the socket path must be absolute; ${allowed}`,
      );
    return { kind: "unix", path };
  }
  if (text.startsWith("tcp://")) {
    const rest = text.slice("tcp://".length).replace(/\/$/, "");
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})$/.exec(rest);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) throw new ListenConfigError(`--listen ${JSON.stringify(text)}: ${allowed}`);
    return { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port };
  }
  throw new ListenConfigError(`--listen ${JSON.stringify(text)}: ${allowed}`);
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 or `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) return host === "::1" || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * Checks the listen address against the TLS settings: the three TLS files come together or not at all,
 * and a non-loopback TCP address needs them. Returns whether TLS is on.
 */
export function checkListenPolicy(address: ListenAddress, files: TlsFiles): boolean {
  const given = (["cert", "key", "ca"] as const).filter((k) => files[k] !== undefined);
  if (given.length > 0 && given.length < 3) {
    const missing = (["cert", "key", "ca"] as const).filter((k) => files[k] === undefined);
    throw new ListenConfigError(
      `TLS needs --tls-cert, --tls-key and --tls-ca together; missing ${missing.map((k) => `--tls-${k}`).join(", ")} (--tls-ca is the CA that signs the client certificates the endpoint accepts)`,
    );
  }
  const tlsOn = given.length === 3;
  if (address.kind === "tcp" && !isLoopback(address.host) && !tlsOn) {
    throw new ListenConfigError(
      `refusing to listen on ${address.host}:${address.port} without TLS client-certificate verification: anyone who reaches this address would act on vSphere with the endpoint's credentials. Give --tls-cert, --tls-key and --tls-ca (clients then need a certificate signed by that CA: docker --tlsverify), or listen on loopback (tcp://127.0.0.1:${address.port}) or a unix socket`,
    );
  }
  return tlsOn;
}

/** TLS server options: the files read, client certificates required and verified against the CA. */
export function tlsServerOptions(files: Required<TlsFiles>): tls.TlsOptions {
  const read = (flag: string, path: string): Buffer => {
    try {
      return fs.readFileSync(path);
    } catch (error) {
      throw new ListenConfigError(`${flag} ${path}: ${(error as Error).message}`);
    }
  };
  return {
    cert: read("--tls-cert", files.cert),
    key: read("--tls-key", files.key),
    ca: read("--tls-ca", files.ca),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  };
}

/** How a client reaches the address, as DOCKER_HOST takes it. */
export function dockerHostOf(address: ListenAddress): string {
  if (address.kind === "unix") return `unix://${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}
