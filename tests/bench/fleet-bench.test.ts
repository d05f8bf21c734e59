/**
 * The fleet benchmark's code path at a tiny size, so `make test` proves that
 * `make bench` still works: both clients make and remove their fleets on the
 * embedded vSphere, every figure is present, and the outputs are written.
 * No timing is asserted.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fleetChart } from "../../bench/src/chart";
import { parseArgs, replaceFigures, writeOutputs } from "../../bench/src/main";
import { formatMarkdown, formatTable } from "../../bench/src/report";
import { idealScheduleMs } from "../../bench/src/limit";
import type { SimTimingReport } from "../support/sim";
import type { BenchResults } from "../../bench/src/results";
import { removeShims } from "../../bench/src/plugin-env";
import { failureCount, runBench } from "../../bench/src/run";

let results: BenchResults;
let outDir: string;

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-bench-test-"));
  results = await runBench({
    sizes: [3, 5],
    repeats: 1,
    pluginStarts: 2,
    memoryVms: 6,
    memoryRuns: 1,
    limitSizes: [4],
    limitHosts: [2],
    limitRepeats: 2,
    refreshVms: 7,
    profileFile: path.join(outDir, "plugin-create.cpuprofile"),
  });
}, 180_000);

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  // A jest worker may end without an "exit" event: remove the plugin's node shims here.
  removeShims();
});

describe("the fleet benchmark at N=3 and N=5", () => {
  it("creates every container VM through the plugin and deletes them all again", () => {
    expect(failureCount(results)).toBe(0);
    for (const f of results.fleet) {
      for (const run of f.bonnevilleRuns) {
        expect(run.create.errors).toEqual([]);
        expect(run.delete.errors).toEqual([]);
        expect(run.verified).toEqual({ containersRunning: f.n, containersLeftAfterDelete: 0 });
        expect(run.create.latency.count).toBe(f.n);
        expect(run.create.soap.calls.InstantClone_Task).toBe(f.n);
        expect(run.delete.soap.calls.Destroy_Task).toBe(f.n);
      }
    }
  });

  it("runs the govmomi peer on the same parents, and its own call count matches the simulator's", () => {
    for (const f of results.fleet) {
      for (const run of f.peerRuns) {
        expect(run.create.errors).toEqual([]);
        expect(run.delete.errors).toEqual([]);
        expect(run.verified.containersLeftAfterDelete).toBe(0);
        expect(run.create.soap.calls).toEqual({
          InstantClone_Task: f.n,
          CreatePropertyCollector: f.n,
          CreateFilter: f.n,
          WaitForUpdatesEx: f.n,
          DestroyPropertyCollector: f.n,
        });
        // The simulator also saw the login's RetrieveServiceContent and the final Logout.
        expect(run.soapCrossCheck.simulator).toBe(run.soapCrossCheck.peer + 2);
      }
    }
  });

  it("reports ratios, scaling, plugin start, memory, the profile and every target", () => {
    expect(results.fleet.map((f) => f.n)).toEqual([3, 5]);
    for (const f of results.fleet) {
      expect(f.ratios.createWall).toBeGreaterThan(0);
      expect(f.ratios.soapPerCreate).toBeGreaterThan(0);
      expect(f.bonneville.cpuMsPerCreate).toBeGreaterThanOrEqual(0);
    }
    expect(results.scaling).toMatchObject({ fromN: 3, toN: 5 });
    expect(results.pluginStart.samples).toHaveLength(2);
    expect(results.memory).toMatchObject({ vms: 6, errors: [] });
    expect(results.memory.rssMbRuns).toEqual([results.memory.rssMb]);
    expect(results.refresh).toMatchObject({ vms: 7, errors: [] });
    expect(results.refresh!.rssAfterMb).toBeGreaterThan(0);
    expect(results.memory.rssMb).toBeGreaterThan(0);
    expect(results.profile!.groups.length).toBeGreaterThan(0);
    expect(fs.existsSync(results.profile!.file)).toBe(true);
    expect(results.targets.map((t) => t.id)).toEqual([
      "wallRatio",
      "soapPerCreate",
      "scaling",
      "limit-4-2",
      "limitVsPeer",
      "admissionCost",
      "pluginStart",
      "cpuPerCreate",
      "rss",
    ]);
    expect(results.machine.nproc).toBeGreaterThan(0);
  });

  it("runs every client against the platform's limit under the timing model until every container runs", () => {
    expect(results.limit.map((l) => [l.n, l.hosts])).toEqual([[4, 2]]);
    const [l] = results.limit;
    expect(results.limitModel).toMatchObject({ perHost: 8, vcenterTasks: 640 });
    for (const r of [l!.bonneville, l!.unbounded, l!.peer]) {
      expect(r.errors).toEqual([]);
      expect(r.forkToRunning.count).toBe(4);
      expect(r.fleetMs).toBeGreaterThan(0);
      expect(r.limitMs).toBeGreaterThan(0);
      // A client without overhead, with the same draws, is never slower than the client measured.
      expect(r.idealMs).toBeGreaterThan(0);
      expect(r.idealMs).toBeLessThanOrEqual(r.fleetMs + 0.01);
      // The same schedule with what the model drew: what ran took at least that long.
      expect(r.idealDrawnMs).toBeGreaterThan(0);
      expect(r.idealDrawnMs).toBeLessThanOrEqual(r.idealMs + 0.01);
      // Every clone was made under the model: queued in vCenter, at most 8 at once on a host.
      expect(r.peakRunningPerHost).toBeGreaterThan(0);
      expect(r.peakRunningPerHost).toBeLessThanOrEqual(8);
      // Every fork is one InstantClone_Task call vCenter counted, and the client's waits cost more.
      expect(r.soapPerCreateByMethod.InstantClone_Task).toBe(1);
      expect(r.soapPerCreate).toBeGreaterThan(1);
    }
    expect(l!.bonneville.peakInFlightPerHost).toBeLessThanOrEqual(16);
    // Bonneville's Checks went one at a time: their round trips add up to no more than the span to
    // the last answer, and the last fork left after it. The peer has no Checks.
    const checks = l!.bonneville.checks!;
    expect(checks.roundTrip.count).toBe(4);
    expect(checks.roundTrip.mean * 4).toBeLessThanOrEqual(checks.lastAnswerMs + 1);
    expect(checks.lastAnswerMs).toBeLessThanOrEqual(l!.bonneville.lastForkMs + 1);
    expect(checks.standInCpuMs).toBeGreaterThan(0);
    expect(checks.pluginCpuMs).toBeGreaterThanOrEqual(0);
    expect(checks.quietRoundTrip.count).toBe(4);
    expect(l!.peer.checks).toBeUndefined();
    // Small fleets run more than once; each client's run shown is its median one (of two: the lower).
    expect(l!.repeats).toBe(2);
    for (const key of ["bonneville", "unbounded", "peer"] as const) {
      const runs = l!.ratiosToIdealRuns[key];
      expect(runs).toHaveLength(2);
      expect(l![key].ratioToIdeal).toBe(Math.min(...runs));
    }
    expect(l!.ratios.bonnevillePeer).toBeGreaterThan(0);
    expect(l!.ratios.bonnevillePeerOverIdeal).toBeCloseTo(
      l!.bonneville.ratioToIdeal / l!.peer.ratioToIdeal,
      2,
    );
    expect(l!.ratios.admissionCostOverIdeal).toBeCloseTo(
      l!.bonneville.ratioToIdeal / l!.unbounded.ratioToIdeal,
      2,
    );
  });

  it("schedules the ideal client's clones back to back on each host's slots, in arrival order, each fork then taking its own boot time", () => {
    const clone = (vm: string, host: string, queuedAt: number, ms: number) => ({
      method: "InstantClone_Task",
      task: `task-${vm}`,
      vm,
      host,
      queuedAt,
      startedAt: 5000,
      endedAt: 5000 + ms,
      // What the model drew: 10 ms less than ran (the simulator's own delay).
      drawnMs: ms - 10,
    });
    const report: SimTimingReport = {
      on: true,
      ops: [
        clone("vm-1", "host-1", 1, 100),
        clone("vm-2", "host-1", 2, 200),
        clone("vm-3", "host-1", 3, 50),
        clone("vm-4", "host-2", 4, 120),
        {
          method: "PowerOffVM_Task",
          task: "task-x",
          vm: "vm-9",
          host: "host-2",
          queuedAt: 0,
          startedAt: 0,
          endedAt: 9999,
        },
      ],
      // Boot (clone end to running): vm-1 10 ms, vm-2 10 ms, vm-3 70 ms, vm-4 5 ms.
      running: { "vm-1": 5110, "vm-2": 5210, "vm-3": 5120, "vm-4": 5125 },
      bootDrawn: { "vm-1": 5, "vm-2": 5, "vm-3": 60, "vm-4": 5 },
      peakVCenter: 0,
      peakHost: {},
      queuedNow: 0,
    };
    const vms = new Set(["vm-1", "vm-2", "vm-3", "vm-4"]);
    // Two slots on host-1: vm-1 0–100, vm-2 0–200, vm-3 100–150 then 70 ms: running at 220.
    expect(idealScheduleMs(report, vms, 2)).toBe(220);
    // One slot: 100, 300, 350 (+70) = 420.
    expect(idealScheduleMs(report, vms, 1)).toBe(420);
    // Only the VMs asked about count.
    expect(idealScheduleMs(report, new Set(["vm-4"]), 2)).toBe(125);
    // With the drawn times: vm-1 0–90, vm-2 0–190 (+5), vm-3 90–130 (+60): 195; one slot 90, 280, 320 (+60).
    expect(idealScheduleMs(report, vms, 2, "drawn")).toBe(195);
    expect(idealScheduleMs(report, vms, 1, "drawn")).toBe(380);
  });

  it("writes the JSON, the charts and the report", async () => {
    const written = await writeOutputs(results, outDir, false);
    expect(written.map((f) => path.basename(f))).toEqual([
      "latest.json",
      "fleet.svg",
      "limit.svg",
      "report.txt",
    ]);
    expect(fs.readFileSync(path.join(outDir, "limit.svg"), "utf8")).toContain("fleet time ÷ limit");
    expect(fs.readFileSync(path.join(outDir, "limit.svg"), "utf8")).toContain("ideal for this run");
    const json = JSON.parse(fs.readFileSync(path.join(outDir, "latest.json"), "utf8")) as BenchResults;
    expect(json.fleet[1]!.bonneville.createWallMs).toBe(results.fleet[1]!.bonneville.createWallMs);
    const svg = fs.readFileSync(path.join(outDir, "fleet.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toBe(fleetChart(results));
    expect(formatTable(results)).toContain("govmomi peer");
    expect(formatMarkdown(results)).toContain("| N | client | create wall |");
    expect(formatMarkdown(results)).toContain(
      "| N | hosts | client | all running | limit | ÷ limit | ideal | ÷ ideal |",
    );
    expect(formatMarkdown(results)).toMatch(
      /from the model's draws → as the simulator ran them .*: N=4 on 2 hosts Bonneville \d+\.\d\d → \d+\.\d\d/,
    );
    expect(formatMarkdown(results)).toMatch(
      /N=4 on 2 hosts, last Check answered at [\d.]+ ms and last fork at [\d.]+ ms \(Check round trip p50 [\d.]+ ms/,
    );
  });
});

describe("the benchmark's command line and BENCHMARKS.md section", () => {
  it("parses options and refuses unknown or bad ones with what is allowed", () => {
    const cli = parseArgs(["--sizes", "10,20", "--repeats=2", "--no-profile", "--out", "/tmp/x"]);
    expect(cli.options).toMatchObject({
      sizes: [10, 20],
      repeats: 2,
      pluginStarts: 20,
      memoryVms: 1000,
      memoryRuns: 3,
    });
    expect(cli.options.profileFile).toBeUndefined();
    expect(cli.outDir).toBe("/tmp/x");
    expect(() => parseArgs(["--fast"])).toThrow(/unknown option --fast; options: --sizes/);
    expect(parseArgs(["--refresh", "0", "--limit-sizes", "none"]).options).toMatchObject({
      refreshVms: 0,
      limitSizes: [],
      limitHosts: [3, 12],
    });
    expect(
      parseArgs(["--refresh", "200", "--limit-sizes", "10,20", "--limit-hosts", "4"]).options,
    ).toMatchObject({
      refreshVms: 200,
      limitSizes: [10, 20],
      limitHosts: [4],
    });
    expect(() => parseArgs(["--limit-hosts", "0"])).toThrow(
      '--limit-hosts must be positive integers separated by commas (or "none"), got "0"',
    );
    expect(() => parseArgs(["--sizes", "10,x"])).toThrow(
      '--sizes must be positive integers separated by commas, got "10,x"',
    );
    expect(() => parseArgs(["--repeats", "0"])).toThrow('--repeats must be a positive integer, got "0"');
    expect(parseArgs([]).options.limitRepeats).toBe(3);
    expect(parseArgs(["--limit-repeats", "5"]).options.limitRepeats).toBe(5);
    expect(() => parseArgs(["--limit-repeats", "0"])).toThrow(
      '--limit-repeats must be a positive integer, got "0"',
    );
  });

  it("replaces only the text between the figures markers", () => {
    const doc = [
      "# Benchmarks",
      "<!-- figures:start (written by `make bench BENCH_ARGS=--write-figures`) -->",
      "old figures",
      "<!-- figures:end -->",
      "after",
    ].join("\n");
    const updated = replaceFigures(doc, "new figures");
    expect(updated).toContain("new figures");
    expect(updated).not.toContain("old figures");
    expect(updated.endsWith("<!-- figures:end -->\nafter")).toBe(true);
    expect(() => replaceFigures("# no markers", "x")).toThrow(/lacks the markers/);
  });
});
