/**
 * SOAP over HTTP(S): one keep-alive connection pool per client, the session
 * cookie, TLS verification (default), opt-in unverified TLS, and certificate
 * pinning by SHA-256 thumbprint. Counts every call by method.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Duplex } from "node:stream";
import { urlToHttpOptions } from "node:url";
import { AbortedError, CertificateError, TransportError } from "../faults";
import { CallCounter } from "./call-counter";

/** How to reach and trust the server. */
export interface TransportOptions {
  /** The SDK URL, `https://host/sdk` (plain `http://` is allowed for proxies and tests). */
  readonly url: URL;
  /** Accept any certificate. Default false. */
  readonly allowUnverifiedSsl?: boolean;
  /** Accept exactly the certificate with this SHA-256 thumbprint. */
  readonly thumbprint?: string;
  /** Most connections kept open to the server. Default 64. */
  readonly maxSockets?: number;
  /** The vim25 API version sent in SOAPAction. Default 7.0.0.0. */
  readonly apiVersion?: string;
  /**
   * Longest silence on a call's connection before it is given up, milliseconds. Default 300000:
   * far beyond any answer (task methods answer at once, long polls within their wait), so only a
   * hung server or a half-open connection reaches it.
   */
  readonly requestTimeoutMs?: number;
}

/** Normalises a thumbprint to upper-case hex pairs joined by colons. */
export function normaliseThumbprint(thumbprint: string): string {
  const hex = thumbprint.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  return hex.match(/.{2}/g)?.join(":") ?? "";
}

const certificateErrorCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_UNTRUSTED",
]);

export class SoapTransport {
  readonly calls = new CallCounter();
  private readonly agent: http.Agent;
  private cookie: string | undefined;
  private readonly soapAction: string;
  /** Where SOAP calls go, as request options (worked out once: Node would redo it from the URL per call). */
  private readonly sdk: http.RequestOptions;
  private readonly silence: SilenceWatch;

  constructor(private readonly options: TransportOptions) {
    const secure = options.url.protocol === "https:";
    this.sdk = urlToHttpOptions(options.url);
    this.silence = new SilenceWatch(options.requestTimeoutMs ?? 300_000);
    this.soapAction = `urn:vim25/${options.apiVersion ?? "7.0.0.0"}`;
    const common = { keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: "lifo" as const };
    if (!secure) {
      this.agent = new http.Agent(common);
      return;
    }
    const pinned = options.thumbprint ? normaliseThumbprint(options.thumbprint) : undefined;
    const agent = new https.Agent({
      ...common,
      rejectUnauthorized: !(options.allowUnverifiedSsl || pinned),
      // One TLS context for every connection (Node would otherwise build one per connection, with the
      // same default trust store: a burst opening 64 connections paid about 0.5 ms for each).
      secureContext: tls.createSecureContext(),
      // A resumed TLS session shows no peer certificate; pinning needs a full handshake.
      ...(pinned ? { maxCachedSessions: 0 } : {}),
    });
    if (pinned) {
      const create = agent.createConnection.bind(agent) as (o: tls.ConnectionOptions, cb?: unknown) => Duplex;
      (agent as unknown as { createConnection: unknown }).createConnection = (
        o: tls.ConnectionOptions,
        cb?: unknown,
      ) => {
        const socket = create(o, cb) as tls.TLSSocket;
        socket.once("secureConnect", () => {
          const presented = normaliseThumbprint(socket.getPeerCertificate().fingerprint256 ?? "");
          if (presented !== pinned) {
            socket.destroy(
              new CertificateError(
                `the server's certificate (SHA-256 ${presented}) does not match the pinned thumbprint ${pinned}`,
                presented,
              ),
            );
          }
        });
        return socket;
      };
    }
    this.agent = agent;
  }

  /** host:port of the server, for messages. */
  get sessionHost(): string {
    return this.options.url.host;
  }

  /** The session cookie, once the server set one. */
  get sessionCookie(): string | undefined {
    return this.cookie;
  }

  /** Forgets the session cookie (after logout or expiry). */
  clearSession(): void {
    this.cookie = undefined;
  }

  /** Sends one SOAP envelope; resolves with the status and body (faults come back as HTTP 500 bodies). */
  async post(
    method: string,
    envelope: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: string }> {
    this.calls.record(method);
    const lib = this.sdk.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError(`${method} was not sent: ${abortReason(signal)}`));
        return;
      }
      const fail = (err: Error & { code?: string }) => {
        this.wrapError(method, err).then(reject, reject);
      };
      const headers: http.OutgoingHttpHeaders = {
        "content-type": "text/xml; charset=utf-8",
        soapaction: this.soapAction,
        "content-length": Buffer.byteLength(envelope),
        "user-agent": "bonneville",
      };
      if (this.cookie) headers.cookie = `vmware_soap_session=${this.cookie}`;
      const req = lib.request({ ...this.sdk, method: "POST", headers, agent: this.agent }, (res) => {
        const setCookie = res.headers["set-cookie"];
        for (const c of setCookie ?? []) {
          const m = /vmware_soap_session=("?)([^";]*)\1/.exec(c);
          if (m) this.cookie = m[2];
        }
        this.collect(req, res, fail, (body) =>
          resolve({ status: res.statusCode ?? 0, body: body.toString("utf8") }),
        );
      });
      this.bound(req, method, signal);
      req.on("error", fail);
      req.end(envelope);
    });
  }

  /**
   * GETs a non-SOAP path of the server (vCenter's datastore file access, `/folder/…`) with the
   * session cookie and the same TLS trust as the SOAP calls. `headers` adds request headers
   * (`range`). Resolves with the status, the response headers and the body.
   */
  async get(
    pathAndQuery: string,
    headers: http.OutgoingHttpHeaders = {},
    signal?: AbortSignal,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const url = new URL(pathAndQuery, this.options.url);
    const what = `GET ${url.pathname}`;
    this.calls.record("GET /folder");
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError(`${what} was not sent: ${abortReason(signal)}`));
        return;
      }
      const fail = (err: Error & { code?: string }) => {
        this.wrapError(what, err).then(reject, reject);
      };
      const sent: http.OutgoingHttpHeaders = { "user-agent": "bonneville", ...headers };
      if (this.cookie) sent.cookie = `vmware_soap_session=${this.cookie}`;
      const req = lib.request(url, { method: "GET", headers: sent, agent: this.agent }, (res) => {
        this.collect(req, res, fail, (body) =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
        );
      });
      this.bound(req, what, signal);
      req.on("error", fail);
      req.end();
    });
  }

  /**
   * Reads an answer's body and hands it to `done`; each part of it counts as the server speaking
   * ({@link SilenceWatch}), and a broken answer goes to `fail`.
   */
  private collect(
    req: http.ClientRequest,
    res: http.IncomingMessage,
    fail: (err: Error) => void,
    done: (body: Buffer) => void,
  ): void {
    this.silence.heard(req);
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => {
      this.silence.heard(req);
      chunks.push(chunk);
    });
    res.on("end", () => done(Buffer.concat(chunks)));
    res.on("error", fail);
  }

  /**
   * Bounds a request: it fails with ETIMEDOUT after the call timeout of silence, and is destroyed
   * (an AbortedError naming `what`) when `signal` aborts.
   */
  private bound(req: http.ClientRequest, what: string, signal: AbortSignal | undefined): void {
    this.silence.watch(req);
    // The clock starts again when the call gets its connection: time queued for one is not silence.
    req.once("socket", () => this.silence.heard(req));
    const onAbort = () => req.destroy(new AbortedError(`${what} was cancelled: ${abortReason(signal!)}`));
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("close", () => {
      this.silence.forget(req);
      signal?.removeEventListener("abort", onAbort);
    });
  }

  private async wrapError(method: string, err: Error & { code?: string }): Promise<Error> {
    if (err instanceof AbortedError || err instanceof CertificateError) return err;
    const url = this.options.url;
    if (err.code && certificateErrorCodes.has(err.code)) {
      const presented = await presentedThumbprint(url).catch(() => undefined);
      return new CertificateError(
        `the certificate of ${url.host} is not trusted (${err.code})` +
          (presented ? `; its SHA-256 thumbprint is ${presented}` : "") +
          ": set `thumbprint` to pin it, or `allowUnverifiedSsl` to accept any certificate",
        presented,
      );
    }
    return new TransportError(`${method}: cannot reach ${url.host}: ${err.message}`, err.code, {
      cause: err,
    });
  }

  /** Closes idle connections. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * The call timeout: a call whose server has been silent (no answer, no further part of one) for
 * `timeoutMs` since it got its connection is destroyed with ETIMEDOUT. One timer checks every call in flight, every
 * quarter of the timeout (at most every 5 s): a socket timeout per call, as `req.setTimeout` sets,
 * re-arms a timer on every read and write, which cost a burst of creates about 3 % of its CPU.
 */
export class SilenceWatch {
  private readonly lastHeard = new Map<http.ClientRequest, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {
    if (!(timeoutMs > 0)) throw new RangeError(`the call timeout must be positive, got ${timeoutMs} ms`);
  }

  /** Calls being watched. */
  get watching(): number {
    return this.lastHeard.size;
  }

  /** Starts the clock of a call just sent. */
  watch(req: http.ClientRequest): void {
    this.lastHeard.set(req, Date.now());
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), Math.min(5000, Math.max(10, this.timeoutMs / 4)));
      this.timer.unref();
    }
  }

  /** The server said something on this call. */
  heard(req: http.ClientRequest): void {
    if (this.lastHeard.has(req)) this.lastHeard.set(req, Date.now());
  }

  /** The call ended. */
  forget(req: http.ClientRequest): void {
    this.lastHeard.delete(req);
    if (this.lastHeard.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private check(): void {
    const now = Date.now();
    for (const [req, heard] of this.lastHeard) {
      if (now - heard < this.timeoutMs) continue;
      this.forget(req);
      const err = new Error(`no answer within ${Math.round(this.timeoutMs / 1000)} s`) as Error & {
        code?: string;
      };
      err.code = "ETIMEDOUT";
      req.destroy(err);
    }
  }
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.message;
  return typeof r === "string" ? r : "aborted";
}

/** Connects once without verification to learn the certificate's SHA-256 thumbprint (for error messages). */
export function presentedThumbprint(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: url.hostname,
        port: Number(url.port || 443),
        ...(net.isIP(url.hostname) ? {} : { servername: url.hostname }),
        rejectUnauthorized: false,
      },
      () => {
        const fp = socket.getPeerCertificate().fingerprint256;
        socket.end();
        resolve(normaliseThumbprint(fp ?? ""));
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
    socket.on("error", reject);
  });
}
