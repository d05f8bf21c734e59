/**
 * What `make demo` prints and checks: the table of container VMs the example program exports, and
 * the comparison of the embedded vSphere's inventory before and after (nothing made may be left).
 */
import type { SimInventory } from "../tests/support/sim";

/** One row of the example's `containerTable` output. */
export interface ContainerRow {
  readonly name: string;
  readonly vmId: string;
  readonly host: string;
  readonly hostId: string;
  readonly network: string;
  readonly mac: string;
  readonly cloneSeconds: number;
}

/** The output is not the table the example exports. */
export class DemoOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoOutputError";
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
    };
  });
}

/** The rows as an aligned text table. */
export function formatContainerTable(rows: readonly ContainerRow[]): string {
  const lines: string[][] = [["CONTAINER", "VM ID", "HOST", "NETWORK", "MAC", "CLONE"]];
  for (const row of rows) {
    lines.push([
      row.name,
      row.vmId,
      `${row.host} (${row.hostId})`,
      row.network,
      row.mac,
      row.cloneSeconds < 1 ? `${Math.round(row.cloneSeconds * 1000)} ms` : `${row.cloneSeconds.toFixed(2)} s`,
    ]);
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  return lines
    .map((line) =>
      line
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
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
