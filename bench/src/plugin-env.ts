/**
 * The environment the benchmark starts the plugin with. The engine starts a
 * plugin with the user's environment, so the Makefile's NODE_OPTIONS (a larger
 * heap for the test runner) is cleared.
 *
 * Two things go through a `node` shim put first on PATH (the plugin executable
 * starts with `#!/usr/bin/env node`; the shim execs the real node, so the
 * process ID stays the plugin's): Node flags that NODE_OPTIONS refuses
 * (`--cpu-prof`), and, for A/B runs of a change, another provider tree's
 * executable in place of this repository's (see `bench/ab`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** How the plugin process is to be run. */
export interface PluginRunOptions {
  /** Node flags for the plugin process. Default: none. */
  readonly nodeFlags?: readonly string[];
  /** A provider/ tree (with bin/ and a compiled dist/) to run instead of this repository's. */
  readonly providerDir?: string;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const shims = new Map<string, string>();

/** Environment additions for a plugin run (without flags or another tree: only NODE_OPTIONS cleared). */
export function pluginEnv(options: PluginRunOptions = {}): Record<string, string> {
  const flags = options.nodeFlags ?? [];
  if (flags.length === 0 && !options.providerDir) return { NODE_OPTIONS: "" };
  const key = JSON.stringify([flags, options.providerDir ?? ""]);
  let dir = shims.get(key);
  if (!dir) shims.set(key, (dir = writeShim(flags, options.providerDir)));
  return { NODE_OPTIONS: "", PATH: `${dir}${path.delimiter}${process.env.PATH ?? ""}` };
}

/**
 * Removes the shims written so far. The benchmark's command removes them when it exits; a caller that
 * outlives its runs without exiting normally (a test worker) calls this.
 */
export function removeShims(): void {
  for (const dir of shims.values()) fs.rmSync(dir, { recursive: true, force: true });
  shims.clear();
}

/** Writes a `node` shim into a new temporary directory (removed when this process exits). */
function writeShim(flags: readonly string[], providerDir: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-bench-node-"));
  let script = `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${flags.map(shellQuote).join(" ")} "$@"\n`;
  if (providerDir) {
    const executable = path.join(path.resolve(providerDir), "bin", "pulumi-resource-bonneville");
    if (!fs.existsSync(path.join(path.resolve(providerDir), "dist", "server", "main.js"))) {
      throw new Error(`--provider ${providerDir} has no compiled dist/server/main.js`);
    }
    // $1 is this repository's plugin executable: run the other tree's instead.
    script = `#!/bin/sh\nshift\nexec ${shellQuote(process.execPath)} ${flags.map(shellQuote).join(" ")} ${shellQuote(executable)} "$@"\n`;
  }
  fs.writeFileSync(path.join(dir, "node"), script, { mode: 0o755 });
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
