/** The plugin's heap policy: limited old-generation growth, and one full collection once it is idle. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import {
  fullCollection,
  IdleCollector,
  limitHeapGrowth,
  YoungGenerationCap,
  type RpcActivity,
} from "../../provider/src/server/heap-policy";
import { wholeNumberFromEnv } from "../../provider/src/server/main";
import { createMemoryResourceTypes, MEMORY_TOKEN } from "../harness/fixtures/memory-resource-types";
import { ResourceInitError } from "../../provider/src/resources/errors";
import { ensurePluginBuilt, repoRoot, secret, startInProcessPlugin } from "../harness";

describe("IdleCollector", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function collector(idleMs = 1000) {
    const runs: number[] = [];
    const idle = new IdleCollector(() => runs.push(Date.now()), idleMs);
    return { idle, runs };
  }

  it("collects once, when no RPC has been in flight for the idle time after a burst", () => {
    const { idle, runs } = collector();
    for (let i = 0; i < 3; i++) idle.begin();
    for (let i = 0; i < 3; i++) idle.end();
    jest.advanceTimersByTime(999);
    expect(runs).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(idle.collections).toBe(1);
    jest.advanceTimersByTime(60_000);
    expect(idle.collections).toBe(1);
  });

  it("never collects while an RPC is in flight, however long it runs", () => {
    const { idle } = collector();
    idle.begin();
    idle.begin();
    idle.end();
    jest.advanceTimersByTime(60_000);
    expect(idle.collections).toBe(0);
    idle.end();
    jest.advanceTimersByTime(1000);
    expect(idle.collections).toBe(1);
  });

  it("never collects between the RPCs of a burst that come closer together than the idle time", () => {
    const { idle } = collector();
    for (let i = 0; i < 20; i++) {
      idle.begin();
      idle.end();
      jest.advanceTimersByTime(999);
    }
    expect(idle.collections).toBe(0);
    jest.advanceTimersByTime(1);
    expect(idle.collections).toBe(1);
  });

  it("collects again only after further RPCs", () => {
    const { idle } = collector();
    idle.begin();
    idle.end();
    jest.advanceTimersByTime(1000);
    idle.begin();
    idle.end();
    jest.advanceTimersByTime(1000);
    expect(idle.collections).toBe(2);
  });

  it("stops waiting when cancelled (shutdown)", () => {
    const { idle } = collector();
    idle.begin();
    idle.end();
    idle.cancel();
    jest.advanceTimersByTime(60_000);
    expect(idle.collections).toBe(0);
  });

  it("refuses an end without a begin", () => {
    const { idle } = collector();
    expect(() => idle.end()).toThrow("an RPC ended that had not begun");
  });
});

describe("fullCollection", () => {
  it("collects garbage without node's --expose-gc, and leaves no gc in later contexts", async () => {
    const collect = fullCollection();
    const ref = (() => new WeakRef({ payload: "x".repeat(1000) }))();
    // WeakRef targets are kept until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 1));
    collect();
    expect(ref.deref()).toBeUndefined();
    expect((await import("node:vm")).runInNewContext("typeof gc")).toBe("undefined");
  });
});

describe("limitHeapGrowth", () => {
  /**
   * A child node process promotes 60 MB of short-lived objects through a ring of 300,000 live ones
   * (about 25 MB) and reports the old generation's largest size and its full collections.
   */
  function oldGenerationUnderChurn(percent: number | undefined): { peakMb: number; majorGcs: number } {
    ensurePluginBuilt();
    const policy = path.join(repoRoot, "provider", "dist", "server", "heap-policy.js");
    const script = `
      const { PerformanceObserver, constants } = require("node:perf_hooks");
      const v8 = require("node:v8");
      const percent = ${JSON.stringify(percent ?? null)};
      if (percent !== null) require(${JSON.stringify(policy)}).limitHeapGrowth(percent);
      let majorGcs = 0;
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
      });
      observer.observe({ entryTypes: ["gc"] });
      const ring = new Array(300000);
      let peak = 0;
      for (let n = 0; n < 5e6; n++) {
        ring[n % ring.length] = { n, text: "x".repeat(16) + n, pair: [n, n] };
        if (n % 50000 === 0) {
          const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space");
          peak = Math.max(peak, old.space_size);
        }
      }
      setTimeout(() => {
        observer.disconnect();
        process.stdout.write(JSON.stringify({ peakMb: peak / 1048576, majorGcs }));
      }, 100);`;
    const out = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, NODE_OPTIONS: "" } });
    return JSON.parse(out.toString()) as { peakMb: number; majorGcs: number };
  }

  it("makes V8 collect the old generation sooner, so it stays far smaller under churn", () => {
    const own = oldGenerationUnderChurn(undefined);
    const limited = oldGenerationUnderChurn(25);
    expect(limited.majorGcs).toBeGreaterThan(own.majorGcs * 2);
    expect(limited.peakMb).toBeLessThan(own.peakMb / 2);
  }, 60_000);

  it("refuses a growth that is not a whole number of percent", () => {
    expect(() => limitHeapGrowth(-1)).toThrow(
      "heap growth must be a whole number of percent, 0 or more; got -1",
    );
    expect(() => limitHeapGrowth(2.5)).toThrow("got 2.5");
  });
});

describe("YoungGenerationCap", () => {
  /**
   * A child node process allocates in 400 event-loop turns of about 0.3 MB each (a server's work
   * comes in such turns; the cap is applied between them, a turn or two after a collection) through
   * a ring of 200,000 live objects, and reports the young generation's largest size.
   */
  function youngGenerationUnderChurn(capMb: number | undefined): number {
    ensurePluginBuilt();
    const policy = path.join(repoRoot, "provider", "dist", "server", "heap-policy.js");
    const script = `
      const v8 = require("node:v8");
      const capMb = ${JSON.stringify(capMb ?? null)};
      if (capMb !== null) new (require(${JSON.stringify(policy)}).YoungGenerationCap)(capMb).start();
      const ring = new Array(200000);
      let n = 0, peak = 0;
      (async () => {
        for (let turn = 0; turn < 400; turn++) {
          for (let i = 0; i < 5000; i++, n++) ring[n % ring.length] = { n, text: "x".repeat(16) + n };
          const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
          peak = Math.max(peak, young.space_size);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        process.stdout.write(String(peak / 1048576));
      })();`;
    const out = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, NODE_OPTIONS: "" } });
    return Number(out.toString());
  }

  it("stops the young generation growing at the cap, where V8 alone grows it to 32 MB", () => {
    expect(youngGenerationUnderChurn(undefined)).toBe(32);
    expect(youngGenerationUnderChurn(8)).toBe(8);
    expect(youngGenerationUnderChurn(4)).toBe(4);
  }, 60_000);

  it("gives V8 its own growth back when stopped, and refuses a cap under 1 MB", () => {
    const cap = new YoungGenerationCap(1).start();
    expect(cap.mayGrow).toBe(false);
    cap.stop();
    expect(cap.mayGrow).toBe(true);
    expect(() => new YoungGenerationCap(0)).toThrow(
      "the young generation cap must be a whole number of MB, 1 or more; got 0",
    );
  });
});

describe("the plugin's hooks", () => {
  it("reads a whole number from the environment, or the default when unset", () => {
    const name = "BONNEVILLE_PLUGIN_IDLE_COLLECT_MS";
    expect(wholeNumberFromEnv({}, name, 6000)).toBe(6000);
    expect(wholeNumberFromEnv({ [name]: "" }, name, 6000)).toBe(6000);
    expect(wholeNumberFromEnv({ [name]: "0" }, name, 6000)).toBe(0);
    expect(() => wholeNumberFromEnv({ [name]: "soon" }, name, 6000)).toThrow(
      'BONNEVILLE_PLUGIN_IDLE_COLLECT_MS must be a whole number, 0 or more; got "soon"',
    );
  });

  it("tells the activity observer when each RPC begins and ends, failed ones included", async () => {
    const events: string[] = [];
    let inFlight = 0;
    const activity: RpcActivity = {
      begin: () => {
        inFlight++;
        events.push("begin");
      },
      end: () => {
        inFlight--;
        events.push("end");
      },
    };
    const { resourceTypes } = createMemoryResourceTypes({ ResourceInitError });
    const plugin = await startInProcessPlugin({ resourceTypes, activity });
    try {
      await plugin.rpc.getPluginInfo();
      await plugin.rpc.configure({
        variables: {},
        args: { vsphereServer: "vc", user: "u", password: secret("vc-password-1") },
      });
      const urn = (name: string) => `urn:pulumi:test::bonneville::${MEMORY_TOKEN}::${name}`;
      await Promise.all(
        ["a", "b", "c"].map((name) => plugin.rpc.create({ urn: urn(name), properties: { name } })),
      );
      await expect(
        plugin.rpc.create({ urn: "urn:pulumi:test::bonneville::nope:index:Nope::x", properties: {} }),
      ).rejects.toThrow("Nope");
    } finally {
      await plugin.close();
    }
    expect(events.slice(0, 4)).toEqual(["begin", "end", "begin", "end"]);
    expect(inFlight).toBe(0);
    // GetPluginInfo, Configure, three Creates and the failed one (and the Cancel of the close).
    expect(events.filter((e) => e === "begin").length).toBeGreaterThanOrEqual(6);
    expect(events.filter((e) => e === "end").length).toBe(events.filter((e) => e === "begin").length);
  });
});
