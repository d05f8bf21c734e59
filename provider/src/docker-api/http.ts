/**
 * The HTTP side of a request: reading a JSON body, query parameters as Docker
 * encodes them, and writing replies (JSON, empty, or a stream of JSON messages).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, type DockerApiError } from "./errors";

/** Largest request body accepted (a container create is a few kilobytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What a handler answers: a status and an optional JSON body, or `streamed` when it wrote the reply itself. */
export type Reply = { readonly status: number; readonly body?: unknown } | "streamed";

/** A JSON reply. */
export function json(status: number, body: unknown): Reply {
  return { status, body };
}

/** A reply without a body (204 No Content, 304 Not Modified). */
export function empty(status: number): Reply {
  return { status };
}

/** Reads and parses a JSON body; an absent body is `undefined`. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw badRequest(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** A boolean query parameter as Docker clients send it (`1`, `true`, `True`); absent is `fallback`. */
export function booleanParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const text = raw.toLowerCase();
  if (text === "1" || text === "true") return true;
  if (text === "0" || text === "false") return false;
  throw badRequest(`query parameter ${name}=${JSON.stringify(raw)} is not a boolean; use 1/0 or true/false`);
}

/** An integer query parameter within bounds; absent is `undefined`. */
export function integerParam(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRequest(
      `query parameter ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Writes a reply (JSON or empty). HEAD requests get the headers only. */
export function writeReply(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Exclude<Reply, "streamed">,
): void {
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    res.writeHead(reply.status);
    res.end();
    return;
  }
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "Content-Type": typeof reply.body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(req.method === "HEAD" ? undefined : text);
}

/** Writes an error in Docker's form, `{"message": "..."}`, unless the reply has already begun. */
export function writeError(req: IncomingMessage, res: ServerResponse, error: DockerApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  writeReply(req, res, { status: error.status, body: { message: error.message } });
}

/** Starts a stream of JSON messages (one per line), as `docker pull` reads them. */
export function startJsonStream(res: ServerResponse): (message: Record<string, unknown>) => void {
  res.writeHead(200, { "Content-Type": "application/json" });
  return (message) => {
    res.write(`${JSON.stringify(message)}\r\n`);
  };
}
