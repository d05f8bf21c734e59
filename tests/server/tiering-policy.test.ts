/** The plugin's tiering policy: V8 optimises a function only after much more work than by default. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { delayOptimization } from "../../provider/src/server/tiering-policy";
import { ensurePluginBuilt, repoRoot } from "../harness";

/**
 * A child node process calls a small function `calls` times, a hundred per event-loop turn (as a
 * server's work comes), waits for background compiles to land, and reports whether V8 has
 * optimised it (bit 4 of V8's optimisation status, read with --allow-natives-syntax).
 */
function optimisedAfter(calls: number, budget: number | undefined): boolean {
  ensurePluginBuilt();
  const policy = path.join(repoRoot, "provider", "dist", "server", "tiering-policy.js");
  const script = `
    const budget = ${JSON.stringify(budget ?? null)};
    if (budget !== null) require(${JSON.stringify(policy)}).delayOptimization(budget);
    function work(a) { let s = 0; for (let i = 0; i < 4; i++) s += a * i; return s; }
    let sum = 0;
    (async () => {
      for (let turn = 0; turn < ${calls} / 100; turn++) {
        for (let i = 0; i < 100; i++) sum += work(i);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 10; i++) sum += work(i);
      process.stdout.write(String((%GetOptimizationStatus(work) & 16) !== 0));
    })();`;
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "-e", script], {
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return out.toString() === "true";
}

describe("delayOptimization", () => {
  it("keeps a function V8 alone optimises within 3,000 calls unoptimised, and still optimises it once it runs hot", () => {
    expect(optimisedAfter(3000, undefined)).toBe(true);
    expect(optimisedAfter(3000, 500_000)).toBe(false);
    expect(optimisedAfter(100_000, 500_000)).toBe(true);
  }, 60_000);

  it("refuses a budget that is not a whole number of bytes", () => {
    expect(() => delayOptimization(0)).toThrow(
      "the interrupt budget must be a whole number of bytes, 1 or more; got 0",
    );
    expect(() => delayOptimization(1.5)).toThrow("got 1.5");
  });
});
