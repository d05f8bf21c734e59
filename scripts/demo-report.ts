/**
 * What `make demo` prints and checks: the table of container VMs the example program exports, and
 * the comparison of the embedded vSphere's inventory before and after (nothing made may be left).
 */
import type { SimInventory } from "../tests/support/sim";

/** One row of the table: a container VM, from the example's `containerTable` or from its resource outputs. */
export interface ContainerRow {
  readonly name: string;
  readonly vmId: string;
  /** The host's name, when the program knows it (else empty). */
  readonly host: string;
  readonly hostId: string;
  /** The network's name in the pool (`bridge`, `frontend`), when the program knows it (else empty). */
  readonly network: string;
  readonly mac: string;
  /** Seconds of the InstantClone_Task; undefined when unknown. */
  readonly cloneSeconds: number | undefined;
  /** The agent's report: `starting`, `running`, `exited` or `error`. */
  readonly status: string;
  /** The agent's error, when status is `error`. */
  readonly error: string;
  readonly ipAddress: string;
  readonly image: string;
}

/** The output is not the table the example exports. */
export class DemoOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoOutputError";
  }
}

/** At least one container VM's agent reported that its container could not start. */
export class ContainerFailedError extends Error {
  constructor(readonly failed: readonly ContainerRow[]) {
    super(
      failed
        .map(
          (row) =>
            `container ${row.name} (${row.vmId}) failed: ${row.error || "the agent reported an error"}`,
        )
        .join("; "),
    );
    this.name = "ContainerFailedError";
  }
}

/** Reads and checks the `containerTable` stack output. */
export function containerRows(outputs: Readonly<Record<string, unknown>>): ContainerRow[] {
  const table = outputs.containerTable;
  if (!Array.isArray(table)) {
    throw new DemoOutputError(
      `the program exported no containerTable list; its outputs: ${Object.keys(outputs).join(", ") || "none"}`,
    );
  }
  return table.map((row: unknown, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    const text = (key: string): string => {
      if (typeof r[key] !== "string") {
        throw new DemoOutputError(`containerTable[${i}].${key} is ${JSON.stringify(r[key])}, not a string`);
      }
      return r[key];
    };
    if (typeof r.cloneSeconds !== "number") {
      throw new DemoOutputError(`containerTable[${i}].cloneSeconds is ${JSON.stringify(r.cloneSeconds)}`);
    }
    return {
      name: text("name"),
      vmId: text("vmId"),
      host: text("host"),
      hostId: text("hostId"),
      network: text("network"),
      mac: text("mac"),
      cloneSeconds: r.cloneSeconds,
      status: text("status"),
      error: text("error"),
      ipAddress: text("ipAddress"),
      image: text("image"),
    };
  });
}

/**
 * Rows from ContainerVM resource outputs (wire form, as the plugin returned them or as the state
 * holds them): what a failed deployment leaves to show, the container that failed among them.
 */
export function rowsFromResourceOutputs(
  outputs: readonly Readonly<Record<string, unknown>>[],
): ContainerRow[] {
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  return outputs.map((o) => ({
    name: text(o.name),
    vmId: text(o.vmId),
    host: "",
    hostId: text(o.hostId),
    network: "",
    mac: Array.isArray(o.macAddresses) ? text(o.macAddresses[0]) : "",
    cloneSeconds: typeof o.cloneSeconds === "number" ? o.cloneSeconds : undefined,
    status: text(o.containerStatus),
    error: text(o.containerError),
    ipAddress: text(o.ipAddress),
    image: text(o.image),
  }));
}

/** The rows whose agent reported an error. */
export function failedRows(rows: readonly ContainerRow[]): ContainerRow[] {
  return rows.filter((row) => row.status === "error");
}

/** `1 VM`, `2 VMs`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** The rows as an aligned text table; a container whose agent reported an error shows as `failed`. */
export function formatContainerTable(rows: readonly ContainerRow[]): string {
  const lines: string[][] = [
    ["CONTAINER", "STATUS", "IP", "IMAGE", "VM ID", "HOST", "NETWORK", "MAC", "CLONE"],
  ];
  for (const row of rows) {
    lines.push([
      row.name,
      row.status === "error" ? "failed" : row.status || "-",
      row.ipAddress || "-",
      row.image || "-",
      row.vmId || "-",
      row.host ? `${row.host} (${row.hostId})` : row.hostId || "-",
      row.network || "-",
      row.mac || "-",
      row.cloneSeconds === undefined
        ? "-"
        : row.cloneSeconds < 1
          ? `${Math.round(row.cloneSeconds * 1000)} ms`
          : `${row.cloneSeconds.toFixed(2)} s`,
    ]);
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const table = lines.map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  const errors = rows.filter((row) => row.status === "error").map((row) => `${row.name}: ${row.error}`);
  return [...table, ...(errors.length > 0 ? ["", "failed:", ...errors.map((e) => `  ${e}`)] : [])].join("\n");
}

/** Objects in `after` that `before` did not have, and objects of `before` that are gone. */
export function inventoryChanges(
  before: SimInventory,
  after: SimInventory,
): { added: string[]; removed: string[] } {
  const kinds = [
    ["VM", (inv: SimInventory) => inv.virtualMachines],
    ["resource pool", (inv: SimInventory) => inv.resourcePools],
    ["folder", (inv: SimInventory) => inv.folders],
    ["port group", (inv: SimInventory) => inv.portGroups],
  ] as const;
  const added: string[] = [];
  const removed: string[] = [];
  for (const [kind, list] of kinds) {
    const beforeIds = new Set(list(before).map((o) => o.id));
    const afterIds = new Set(list(after).map((o) => o.id));
    for (const o of list(after)) if (!beforeIds.has(o.id)) added.push(`${kind} ${o.name} (${o.id})`);
    for (const o of list(before)) if (!afterIds.has(o.id)) removed.push(`${kind} ${o.name} (${o.id})`);
  }
  return { added, removed };
}
