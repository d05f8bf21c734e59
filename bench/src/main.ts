/**
 * `make bench`: runs the fleet benchmark and writes its figures.
 *
 *   npx ts-node --transpile-only bench/src/main.ts [options]
 *
 *   --sizes 50,500      fleet sizes (default 50,500)
 *   --repeats 5         runs per client and size (default 5)
 *   --starts 20         plugin launches timed (default 20)
 *   --memory 1000       container VMs for the memory figure (default 1000)
 *   --memory-runs 3     runs of the memory measurement (default 3)
 *   --limit-sizes 100,1000  fleet sizes run against the platform's limit under
 *                       the vCenter timing model ("none" skips them)
 *   --limit-hosts 3,12  ESXi hosts in the cluster for those runs
 *   --limit-repeats 3   runs per client against the limit at sizes up to 200
 *                       (the median run is reported; larger fleets run once)
 *   --refresh 10000     container VMs for the refresh figure (0 skips it)
 *   --no-profile        skip the CPU profile of the plugin
 *   --write-figures     also write the committed copies: bench/figures.json,
 *                       bench/fleet.svg and the figures section of BENCHMARKS.md
 *   --out DIR           results directory (default bench/results)
 *   --provider DIR      run the plugin from another provider/ tree with a
 *                       compiled dist/ (A/B runs of a change; see bench/ab)
 *
 * Always writes DIR/latest.json, DIR/fleet.svg, DIR/limit.svg, DIR/report.txt (and
 * DIR/plugin-create.cpuprofile). Exits 1 when an operation failed (the
 * figures then do not describe a fleet that was made); a missed target only
 * shows as MISS.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../tests/harness";
import { fleetChart, limitChart } from "./chart";
import { formatMarkdown, formatTable } from "./report";
import type { BenchResults } from "./results";
import { failureCount, runBench, type BenchOptions } from "./run";

const FIGURES_START = "<!-- figures:start (written by `make bench BENCH_ARGS=--write-figures`) -->";
const FIGURES_END = "<!-- figures:end -->";

interface Cli {
  readonly options: BenchOptions;
  readonly outDir: string;
  readonly writeFigures: boolean;
}

/** Parses the command line; throws with the allowed options on a bad one. */
export function parseArgs(argv: readonly string[]): Cli {
  const usage =
    "options: --sizes 50,500 --repeats 5 --starts 20 --memory 1000 --memory-runs 3 --limit-sizes 100,1000 --limit-hosts 3,12 --limit-repeats 3 --refresh 10000 --no-profile --write-figures --out DIR --provider DIR";
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument "${arg}"; ${usage}`);
    const [, name, inline] = m;
    if (name === "no-profile" || name === "write-figures") {
      flags.add(name);
      continue;
    }
    if (
      ![
        "sizes",
        "repeats",
        "starts",
        "memory",
        "memory-runs",
        "limit-sizes",
        "limit-hosts",
        "limit-repeats",
        "refresh",
        "out",
        "provider",
      ].includes(name!)
    ) {
      throw new Error(`unknown option --${name}; ${usage}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value; ${usage}`);
    values.set(name!, value);
  }
  const positive = (name: string, fallback: number): number => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
    return n;
  };
  const sizes = (values.get("sizes") ?? "50,500").split(",").map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`--sizes must be positive integers separated by commas, got "${values.get("sizes")}"`);
    }
    return n;
  });
  const counts = (name: string, fallback: readonly number[]): number[] => {
    const raw = values.get(name);
    if (raw === undefined) return [...fallback];
    if (raw === "none") return [];
    return raw.split(",").map((v) => {
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(`--${name} must be positive integers separated by commas (or "none"), got "${raw}"`);
      }
      return n;
    });
  };
  const outDir = path.resolve(values.get("out") ?? path.join(repoRoot, "bench", "results"));
  return {
    options: {
      sizes,
      repeats: positive("repeats", 5),
      pluginStarts: positive("starts", 20),
      memoryVms: positive("memory", 1000),
      memoryRuns: positive("memory-runs", 3),
      refreshVms: values.get("refresh") === "0" ? 0 : positive("refresh", 10000),
      limitSizes: counts("limit-sizes", [100, 1000]),
      limitHosts: counts("limit-hosts", [3, 12]),
      limitRepeats: positive("limit-repeats", 3),
      ...(flags.has("no-profile") ? {} : { profileFile: path.join(outDir, "plugin-create.cpuprofile") }),
      ...(values.has("provider") ? { providerDir: path.resolve(values.get("provider")!) } : {}),
    },
    outDir,
    writeFigures: flags.has("write-figures"),
  };
}

/**
 * Writes the results directory and, when asked, the committed copies (the JSON in the repository's
 * Prettier style, which `make lint` checks). Returns the files written.
 */
export async function writeOutputs(
  results: BenchResults,
  outDir: string,
  writeFigures: boolean,
): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const svg = fleetChart(results);
  const written: string[] = [];
  const write = (file: string, text: string) => {
    fs.writeFileSync(file, text);
    written.push(file);
  };
  write(path.join(outDir, "latest.json"), json);
  write(path.join(outDir, "fleet.svg"), svg);
  const limitSvg = results.limit.length > 0 ? limitChart(results) : undefined;
  if (limitSvg) write(path.join(outDir, "limit.svg"), limitSvg);
  write(path.join(outDir, "report.txt"), `${formatTable(results)}\n`);
  if (writeFigures) {
    const figures = path.join(repoRoot, "bench", "figures.json");
    const prettier = await import("prettier");
    const style = (await prettier.resolveConfig(figures)) ?? {};
    write(figures, await prettier.format(json, { ...style, filepath: figures }));
    write(path.join(repoRoot, "bench", "fleet.svg"), svg);
    if (limitSvg) write(path.join(repoRoot, "bench", "limit.svg"), limitSvg);
    const doc = path.join(repoRoot, "BENCHMARKS.md");
    write(doc, replaceFigures(fs.readFileSync(doc, "utf8"), formatMarkdown(results)));
  }
  return written;
}

/** BENCHMARKS.md with the text between the figures markers replaced. */
export function replaceFigures(doc: string, figures: string): string {
  const start = doc.indexOf(FIGURES_START);
  const end = doc.indexOf(FIGURES_END);
  if (start < 0 || end < start) {
    throw new Error(`BENCHMARKS.md lacks the markers ${FIGURES_START} … ${FIGURES_END}`);
  }
  return `${doc.slice(0, start + FIGURES_START.length)}\n\n${figures}\n\n${doc.slice(end)}`;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  if (cli.writeFigures && cli.options.providerDir) {
    throw new Error(
      "--write-figures records this repository's figures: it cannot be combined with --provider",
    );
  }
  const results = await runBench({ ...cli.options, log: (line) => process.stderr.write(`bench: ${line}\n`) });
  const written = await writeOutputs(results, cli.outDir, cli.writeFigures);
  process.stdout.write(`\n${formatTable(results)}\n\n`);
  for (const file of written) process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  const failures = failureCount(results);
  if (failures > 0) {
    process.stderr.write(
      `bench: ${failures} operations failed or left VMs behind; see the errors in ${path.join(cli.outDir, "latest.json")}\n`,
    );
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
