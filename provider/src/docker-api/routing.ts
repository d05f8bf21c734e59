/**
 * Routing: the API version in the path (`/v1.47/containers/json` or unprefixed
 * `/containers/json`), the route table, and what an unmatched path answers (the
 * unsupported-feature table's 501, else Docker's 404 `page not found`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, notFound, notSupported } from "./errors";
import type { Reply } from "./http";
import { unsupportedEndpoint } from "./unsupported";

/** The Docker Engine API version this endpoint implements (and answers `_ping` with). */
export const API_VERSION = "1.47";
/** The oldest API version clients may use. */
export const MIN_API_VERSION = "1.24";

/** One request as a handler sees it. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path without the version prefix, e.g. `/containers/web/json`. */
  readonly path: string;
  /** The API version the client asked for in the path, else {@link API_VERSION}. */
  readonly apiVersion: string;
  readonly query: URLSearchParams;
  /** Path parameters by name (`:id` → `params.id`), URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Aborted when the endpoint shuts down. Operations on vSphere run to completion otherwise. */
  readonly signal: AbortSignal;
  /** Aborted when the client goes away (or the endpoint shuts down); for long waits only. */
  readonly clientSignal: AbortSignal;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: Handler;
}

/**
 * Compiles a path template: `:name` matches one path segment, `*name` one or more
 * (image names hold slashes: `/images/*name/json`).
 */
function compile(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      if (segment.startsWith("*")) {
        names.push(segment.slice(1));
        return "(.+)";
      }
      return segment.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { pattern: new RegExp(`^${source}/?$`), names };
}

/** The route table; the first matching route wins. */
export class Router {
  private readonly routes: Route[] = [];

  /** Adds a route; `method` GET also serves HEAD. */
  add(method: string, template: string, handler: Handler): this {
    const { pattern, names } = compile(template);
    this.routes.push({ method, pattern, names, handler });
    return this;
  }

  /** Finds the handler of a request, or throws the error the request answers. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } {
    let pathKnown = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method !== method && !(method === "HEAD" && route.method === "GET")) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      return { handler: route.handler, params };
    }
    const unsupported = unsupportedEndpoint(method, path);
    if (unsupported) throw notSupported(unsupported.feature, unsupported.reason);
    if (pathKnown) throw notSupported(`${method} ${path}`, "this method is not served on this path");
    throw notFound("page not found");
  }
}

/**
 * Splits `/v1.47/containers/json` into the version and the path; an unprefixed path uses
 * {@link API_VERSION}. A version newer than ours or older than {@link MIN_API_VERSION} is refused,
 * as the Docker daemon refuses it.
 */
export function versionedPath(rawPath: string): { apiVersion: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)?$/.exec(rawPath);
  if (!m) return { apiVersion: API_VERSION, path: rawPath || "/" };
  const apiVersion = m[1]!;
  if (compareVersions(apiVersion, API_VERSION) > 0) {
    throw badRequest(
      `client API version ${apiVersion} is newer than this endpoint's: it serves API versions ${MIN_API_VERSION} to ${API_VERSION} (docker clients negotiate this through /_ping)`,
    );
  }
  if (compareVersions(apiVersion, MIN_API_VERSION) < 0) {
    throw badRequest(
      `client API version ${apiVersion} is too old: this endpoint serves API versions ${MIN_API_VERSION} to ${API_VERSION}`,
    );
  }
  return { apiVersion, path: m[2] ?? "/" };
}

/** Compares `major.minor` versions numerically. */
export function compareVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split(".").map(Number);
  const [bmaj = 0, bmin = 0] = b.split(".").map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}
