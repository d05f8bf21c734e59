/**
 * Reading datastore files through vCenter's datastore file access:
 * `GET https://<vcenter>/folder/<path>?dcPath=<datacenter>&dsName=<datastore>`
 * with the session cookie (vSphere Web Services SDK programming guide, "HTTP
 * access to vSphere server files"), from a byte offset with a `Range` header,
 * as govmomi's `object.DatastoreFile` (behind `govc datastore.tail -f`) does.
 */
import type { VSphereClient } from "./client";
import { VSphereError } from "./faults";

/** A file as vSphere names it: `[datastore] folder/file`. */
export interface DatastorePath {
  readonly datastore: string;
  /** The path inside the datastore, `folder/file`. */
  readonly path: string;
}

/** Parses `[datastore] folder/file`; undefined for anything else. */
export function parseDatastorePath(text: string): DatastorePath | undefined {
  const m = /^\[([^\]]+)\]\s*(.*)$/.exec(text.trim());
  if (!m || !m[2]) return undefined;
  return { datastore: m[1]!, path: m[2] };
}

/** `[datastore] folder/file`. */
export function formatDatastorePath(p: DatastorePath): string {
  return `[${p.datastore}] ${p.path}`;
}

/** What a read returned. */
export interface DatastoreFileChunk {
  /** The bytes from the offset asked for to the end of the file (empty when nothing is new). */
  readonly bytes: Buffer;
  /** False when the file does not exist (yet). */
  readonly exists: boolean;
}

/** Reads datastore files in the client's session. */
export class DatastoreFileReader {
  constructor(private readonly client: VSphereClient) {}

  /**
   * Reads `file` on a datastore of `datacenter` (its name or inventory path) from byte `offset` to
   * its end. A file that does not exist reads as empty with `exists: false`. An expired session is
   * renewed once (by an authenticated SOAP call, which logs in again).
   */
  async readFrom(
    datacenter: string,
    file: DatastorePath,
    offset: number,
    signal?: AbortSignal,
  ): Promise<DatastoreFileChunk> {
    const target = folderUrl(datacenter, file);
    const headers = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const transport = this.client.session.transport;
    if (!transport.sessionCookie) await this.renewSession(signal);
    let answer = await transport.get(target, headers, signal);
    if (answer.status === 401) {
      await this.renewSession(signal);
      answer = await transport.get(target, headers, signal);
    }
    switch (answer.status) {
      case 200:
        // A server that ignores Range sends the whole file.
        return { bytes: offset > 0 ? answer.body.subarray(offset) : answer.body, exists: true };
      case 206:
        return { bytes: answer.body, exists: true };
      case 416:
        // Range Not Satisfiable: nothing past the offset yet.
        return { bytes: Buffer.alloc(0), exists: true };
      case 404:
        return { bytes: Buffer.alloc(0), exists: false };
      default:
        throw new VSphereError(
          `reading ${formatDatastorePath(file)} through vCenter's datastore file access failed: HTTP ${answer.status}${answer.status === 401 || answer.status === 403 ? " (the user needs the Datastore.Browse privilege on the datastore)" : ""}`,
        );
    }
  }

  /** Makes an authenticated call, so the session logs in again when it expired. */
  private async renewSession(signal?: AbortSignal): Promise<void> {
    const content = await this.client.serviceContent(signal ? { signal } : {});
    await this.client.properties.retrieveOne(content.sessionManager, ["currentSession"]);
  }
}

/** `/folder/<path>?dcPath=<datacenter>&dsName=<datastore>`, each path segment encoded. */
export function folderUrl(datacenter: string, file: DatastorePath): string {
  const encoded = file.path.split("/").map(encodeURIComponent).join("/");
  const query = new URLSearchParams({ dcPath: datacenter, dsName: file.datastore });
  return `/folder/${encoded}?${query.toString()}`;
}
