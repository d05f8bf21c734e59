/**
 * One vCenter session per client: logged in lazily on the first call, renewed
 * once on NotAuthenticated (and the call replayed), logged out on close.
 */
import { AbortedError, isVimFault, TransportError, untilAborted, VSphereError } from "./faults";
import { SoapClient, serviceInstance, type CallOptions } from "./soap/client";
import type { SoapTransport } from "./soap/transport";
import type { DataObject } from "./soap/xml";
import { MoRef } from "./types";
import { requireVCenter } from "./vcenter-only";

/** Methods that only read, so a call lost to a dropped connection may be sent again. */
const retriableReads = new Set([
  "RetrieveServiceContent",
  "RetrievePropertiesEx",
  "ContinueRetrievePropertiesEx",
  "RetrieveProperties",
  "FindByInventoryPath",
  "FindChild",
  "WaitForUpdatesEx",
]);

/** The connection broke after the request went out (not: refused, unknown host, TLS refusal). */
function droppedConnection(err: unknown): boolean {
  return (
    err instanceof TransportError &&
    (err.code === "ECONNRESET" || err.code === "EPIPE" || /socket hang up/.test(err.message))
  );
}

/** The parts of ServiceContent the client uses. */
export interface ServiceContent {
  readonly rootFolder: MoRef;
  readonly propertyCollector: MoRef;
  readonly viewManager: MoRef;
  readonly sessionManager: MoRef;
  readonly searchIndex: MoRef;
  readonly taskManager: MoRef;
  readonly customFieldsManager?: MoRef;
  readonly about: {
    /** `VirtualCenter`, or `HostAgent` for an ESXi host (refused: see vcenter-only.ts). */
    readonly apiType: string;
    readonly apiVersion: string;
    readonly fullName: string;
    readonly instanceUuid?: string;
  };
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export class Session {
  private readonly soap: SoapClient;
  private content: ServiceContent | undefined;
  private login: Promise<void> | undefined;
  /** Aborted by close(): ends a login still on the wire. */
  private readonly closing = new AbortController();
  private loggedIn = false;
  private closed = false;
  /** Incremented at every login: objects made in an older session (collectors, filters) are gone. */
  generation = 0;

  constructor(
    readonly transport: SoapTransport,
    private readonly credentials: Credentials,
  ) {
    this.soap = new SoapClient(transport);
  }

  /** The service content (fetched once, no login needed). */
  async serviceContent(options: CallOptions = {}): Promise<ServiceContent> {
    if (!this.content) {
      const raw = (await this.soap.invoke("RetrieveServiceContent", serviceInstance, {}, options)) as Record<
        string,
        unknown
      >;
      const about = (raw.about ?? {}) as Record<string, unknown>;
      this.content = {
        rootFolder: raw.rootFolder as MoRef,
        propertyCollector: raw.propertyCollector as MoRef,
        viewManager: raw.viewManager as MoRef,
        sessionManager: raw.sessionManager as MoRef,
        searchIndex: raw.searchIndex as MoRef,
        taskManager: raw.taskManager as MoRef,
        ...(raw.customFieldsManager ? { customFieldsManager: raw.customFieldsManager as MoRef } : {}),
        about: {
          apiType: String(about.apiType ?? ""),
          apiVersion: String(about.apiVersion ?? ""),
          fullName: String(about.fullName ?? ""),
          ...(about.instanceUuid ? { instanceUuid: String(about.instanceUuid) } : {}),
        },
      };
    }
    requireVCenter(this.transport.sessionHost, this.content.about);
    return this.content;
  }

  /**
   * Logs in once for every caller. The login itself is not tied to any caller's signal (one
   * operation's cancel or timeout must not fail the others waiting on it); each caller stops
   * waiting when its own signal aborts.
   */
  private ensureLogin(options: CallOptions): Promise<void> {
    if (this.closed) return Promise.reject(new AbortedError("the vSphere client was closed"));
    if (this.loggedIn) return Promise.resolve();
    if (!this.login) {
      this.login = (async () => {
        const content = await this.serviceContent({ signal: this.closing.signal });
        try {
          await this.soap.invoke("Login", content.sessionManager, {
            userName: this.credentials.user,
            password: this.credentials.password,
          });
        } catch (err) {
          if (isVimFault(err, "InvalidLogin")) {
            throw new VSphereError(
              `cannot log in to ${this.transport.sessionHost} as "${this.credentials.user}": the user name or password is wrong`,
              { cause: err },
            );
          }
          throw err;
        }
        this.loggedIn = true;
        this.generation++;
      })().finally(() => {
        this.login = undefined;
      });
    }
    return untilAborted(this.login, options.signal, "logging in to vCenter");
  }

  /** Calls a method in the session, logging in first and renewing once if the session expired. */
  async invoke(
    method: string,
    target: MoRef,
    args: DataObject = {},
    options: CallOptions = {},
  ): Promise<unknown> {
    await this.ensureLogin(options);
    const generation = this.generation;
    try {
      return await this.invokeOnce(method, target, args, options);
    } catch (err) {
      if (!isVimFault(err, "NotAuthenticated") || this.closed) throw err;
      // Renew once: only the first caller to notice logs in again.
      if (this.generation === generation) {
        this.loggedIn = false;
        this.transport.clearSession();
      }
      await this.ensureLogin(options);
      return this.invokeOnce(method, target, args, options);
    }
  }

  /**
   * One call; a read whose connection broke after it was sent is sent once more, on a fresh
   * connection (reads change nothing, so a second try cannot do anything twice).
   */
  private async invokeOnce(
    method: string,
    target: MoRef,
    args: DataObject,
    options: CallOptions,
  ): Promise<unknown> {
    try {
      return await this.soap.invoke(method, target, args, options);
    } catch (err) {
      if (!retriableReads.has(method) || !droppedConnection(err) || options.signal?.aborted || this.closed) {
        throw err;
      }
      return this.soap.invoke(method, target, args, options);
    }
  }

  /**
   * Logs out (if logged in); later calls fail. `signal` bounds the wait for a login still on the
   * wire and for the Logout call: once it aborts, the session is left to expire on vCenter and the
   * connections are closed, whatever vCenter does.
   */
  async close(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.closed) return;
    this.closing.abort(new AbortedError("the vSphere client was closed"));
    this.closed = true;
    try {
      if (this.login) {
        await untilAborted(this.login, options.signal, "waiting for the login before logging out").catch(
          () => undefined,
        );
      }
      // Calls still on the wire end now (none is sent again: the session is closed); Logout
      // goes out on a fresh connection.
      this.transport.close();
      const wasLoggedIn = this.loggedIn;
      this.loggedIn = false;
      if (wasLoggedIn && this.content && !options.signal?.aborted) {
        const logout = options.signal ? { signal: options.signal } : {};
        await this.soap.invoke("Logout", this.content.sessionManager, {}, logout).catch(() => undefined);
      }
    } finally {
      this.transport.clearSession();
      this.transport.close();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
