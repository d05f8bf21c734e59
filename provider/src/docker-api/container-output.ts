/**
 * A container's output as the endpoint reads it: the records its guest agent
 * writes to the VM's console serial port file (`<RFC3339Nano UTC> <stdout|stderr> <text>`,
 * one a line; resources/console-port.ts), fetched through vCenter's datastore
 * file access, and sent to Docker clients in Docker's multiplexed stream
 * (an 8-byte header per frame: the stream, three zero bytes, the payload size
 * as a big-endian uint32).
 *
 * Following (`docker logs -f`, attach) reads the file again from where the last
 * read ended, with a Range request, every {@link CONSOLE_POLL_MS}: vSphere has
 * no notification for a growing datastore file, so this is the one polled wait
 * in the endpoint. It ends when the container stops running (a property wait
 * on the VM's power state and the agent's status), after a last read.
 */
import { consolePortOf } from "../resources/console-port";
import { containerStatusOf } from "../resources/guest-contract";
import {
  DatastoreFileReader,
  extraConfigOf,
  isVimFault,
  MoRef,
  VirtualMachine,
  WaitedObjectGoneError,
  type DatastorePath,
} from "../vsphere";
import type { ContainerHostView } from "./container-host-view";
import { stateOfVm } from "./container-json";
import { DockerApiError } from "./errors";

/** How often a followed console file is read again, milliseconds. */
export const CONSOLE_POLL_MS = 500;
/** After the container stopped: how long to wait for output the agent is still copying, milliseconds. */
export const CONSOLE_DRAIN_MS = 500;

/** One line of container output. */
export interface OutputRecord {
  /** Nanoseconds since the Unix epoch. */
  readonly nanos: bigint;
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

const RECORD = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z (stdout|stderr) ?(.*)$/;

/** Parses one record line; undefined for a line that is not one (it is skipped). */
export function parseRecord(line: string): OutputRecord | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((m[2] ?? "").padEnd(9, "0"));
  return {
    nanos: BigInt(seconds) * 1_000_000n + fraction,
    stream: m[3] as "stdout" | "stderr",
    text: m[4] ?? "",
  };
}

/** Splits console bytes into records; bytes after the last newline are carried to the next read. */
export function parseConsole(bytes: Buffer, carry: Buffer): { records: OutputRecord[]; carry: Buffer } {
  const all = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
  const end = all.lastIndexOf(0x0a);
  if (end < 0) return { records: [], carry: all };
  const records: OutputRecord[] = [];
  for (const line of all.subarray(0, end).toString("utf8").split("\n")) {
    const record = parseRecord(line.replace(/\r$/, ""));
    if (record) records.push(record);
  }
  return { records, carry: Buffer.from(all.subarray(end + 1)) };
}

/** Docker's timestamp form: RFC 3339 with nine fraction digits, UTC. */
export function timestampOf(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, "0");
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** A Docker `since`/`until` value (Unix seconds with an optional fraction) in nanoseconds. */
export function nanosOfUnixTime(value: string, name: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (!m) {
    throw new DockerApiError(
      400,
      `${name}=${JSON.stringify(value)} is not a Unix time (seconds, optionally with a fraction)`,
    );
  }
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** One frame of Docker's multiplexed stream. */
export function frame(record: OutputRecord, timestamps: boolean): Buffer {
  const payload = Buffer.from(`${timestamps ? `${timestampOf(record.nanos)} ` : ""}${record.text}\n`, "utf8");
  const header = Buffer.alloc(8);
  header[0] = record.stream === "stdout" ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Where one container VM's console file is, and how to read it. */
export class ContainerConsole {
  private constructor(
    private readonly reader: DatastoreFileReader,
    private readonly datacenter: string,
    readonly file: DatastorePath,
  ) {}

  /**
   * The console of container VM `vmId` (named `name` in messages). Fails with a 501 when the VM has
   * no console serial port (its parent was made without one).
   */
  static async of(host: ContainerHostView, vmId: string, name: string): Promise<ContainerConsole> {
    const vm = new VirtualMachine(host.client, new MoRef("VirtualMachine", vmId));
    const [props, dc] = await Promise.all([
      vm.read(["config.hardware.device"]),
      host.client.find.datacenter(host.config.datacenter),
    ]);
    const port = consolePortOf(props?.["config.hardware.device"]);
    if (!port) {
      throw new DockerApiError(
        501,
        `the output of container ${name} is not available: its VM ${vmId} has no console serial port (a file-backed serial port writing bonneville-console.log), because its parent was made without one; recreate the ParentTemplate with this version of Bonneville`,
      );
    }
    return new ContainerConsole(new DatastoreFileReader(host.client), dc.name, port.file);
  }

  /** Reads from byte `offset` to the end (empty when the file does not exist yet). */
  async read(offset: number, signal?: AbortSignal): Promise<Buffer> {
    return (await this.reader.readFrom(this.datacenter, this.file, offset, signal)).bytes;
  }
}

/** Resolves when container VM `vmId` no longer runs its container (or is gone); rejects when `signal` aborts. */
export async function containerStopped(
  host: ContainerHostView,
  vmId: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await host.client.waits.waitFor(
      new MoRef("VirtualMachine", vmId),
      ["runtime.powerState", "config.extraConfig"],
      (p) =>
        stateOfVm(
          String(p["runtime.powerState"] ?? ""),
          containerStatusOf(extraConfigOf(p["config.extraConfig"])),
          undefined,
        ).status !== "running",
      { signal },
    );
  } catch (error) {
    if (error instanceof WaitedObjectGoneError || isVimFault(error, "ManagedObjectNotFound")) return;
    throw error;
  }
}

/** What {@link pumpConsole} does. */
export interface PumpOptions {
  readonly console: ContainerConsole;
  /** The byte offset to start at. */
  readonly from: number;
  /** Keep reading until the container stops. */
  readonly follow: boolean;
  /** With `follow`: resolves when the container stopped running. */
  readonly stopped?: Promise<void>;
  readonly signal: AbortSignal;
  /** Receives each read's records; the first call holds what the file had when the pump began. */
  readonly onRecords: (records: OutputRecord[], first: boolean) => void;
}

/** Reads the console file and hands over its records, following it while the container runs. */
export async function pumpConsole(options: PumpOptions): Promise<void> {
  const { console: source, signal } = options;
  let offset = options.from;
  let carry: Buffer = Buffer.alloc(0);
  let stopped = false;
  void options.stopped?.then(
    () => (stopped = true),
    () => undefined,
  );
  let first = true;
  for (;;) {
    const wasStopped = stopped;
    const bytes = await source.read(offset, signal);
    offset += bytes.length;
    const parsed = parseConsole(bytes, carry);
    carry = parsed.carry;
    options.onRecords(parsed.records, first);
    first = false;
    if (!options.follow) return;
    // Once stopped, read until a read after a pause brings nothing new.
    if (wasStopped && bytes.length === 0) return;
    await pause(
      wasStopped ? CONSOLE_DRAIN_MS : CONSOLE_POLL_MS,
      signal,
      wasStopped ? undefined : options.stopped,
    );
  }
}

/** Waits `ms`, or until `early` settles; rejects when `signal` aborts. */
function pause(ms: number, signal: AbortSignal, early?: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", onAbort, { once: true });
    void early?.then(done, () => undefined);
  });
}
