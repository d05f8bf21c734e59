/** The figures as a terminal table and as the Markdown section of BENCHMARKS.md. */
import type { BenchResults, FleetSummary } from "./results";

function s(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 0)} ms`;
}

function methods(byMethod: Record<string, number>): string {
  return Object.entries(byMethod)
    .filter(([, v]) => v > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([m, v]) => `${m} ${v}`)
    .join(", ");
}

/** Rows of cells → aligned text columns. */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Markdown table from rows (first row: header). */
function markdownTable(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  return [
    `| ${head!.join(" | ")} |`,
    `| ${head!.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

function fleetRows(results: BenchResults): string[][] {
  const rows = [
    [
      "N",
      "client",
      "create wall",
      "p50",
      "p99",
      "SOAP/create",
      "CPU/create",
      "delete wall",
      "slowest",
      "SOAP/delete",
      "failures",
    ],
  ];
  const row = (n: number, client: string, f: FleetSummary) => [
    String(n),
    client,
    s(f.createWallMs),
    s(f.createP50Ms),
    s(f.createP99Ms),
    f.soapPerCreate.toFixed(2),
    ms(f.cpuMsPerCreate),
    s(f.deleteWallMs),
    s(Math.max(...f.deleteWallMsRuns)),
    f.soapPerDelete.toFixed(2),
    String(f.errors),
  ];
  for (const f of results.fleet) {
    rows.push(row(f.n, "Bonneville", f.bonneville));
    rows.push(row(f.n, "govmomi peer", f.peer));
  }
  return rows;
}

function ratioRows(results: BenchResults): string[][] {
  const rows = [["N", "create wall", "SOAP/create", "delete wall", "SOAP/delete"]];
  for (const f of results.fleet) {
    rows.push([
      String(f.n),
      f.ratios.createWall.toFixed(2),
      f.ratios.soapPerCreate.toFixed(2),
      f.ratios.deleteWall.toFixed(2),
      f.ratios.soapPerDelete.toFixed(2),
    ]);
  }
  return rows;
}

function limitRows(results: BenchResults): string[][] {
  const rows = [
    [
      "N",
      "hosts",
      "client",
      "all running",
      "limit",
      "÷ limit",
      "ideal",
      "÷ ideal",
      "fork→running p50",
      "p99",
      "first/last fork",
      "in flight (host)",
      "host peak",
      "CPU/create",
      "SOAP/create",
      "failures",
    ],
  ];
  for (const l of results.limit) {
    for (const [label, r] of [
      ["Bonneville", l.bonneville],
      ["Bonneville, no bounds", l.unbounded],
      ["govmomi peer", l.peer],
    ] as const) {
      rows.push([
        String(l.n),
        String(l.hosts),
        label,
        s(r.fleetMs),
        s(r.limitMs),
        r.ratio.toFixed(2),
        s(r.idealMs),
        r.ratioToIdeal.toFixed(2),
        s(r.forkToRunning.p50),
        s(r.forkToRunning.p99),
        `${s(r.firstForkMs)} / ${s(r.lastForkMs)}`,
        `${r.peakInFlight} (${r.peakInFlightPerHost})`,
        String(r.peakRunningPerHost),
        r.client === "govmomi-peer" ? "" : ms(r.cpuMsPerCreate),
        r.soapPerCreate.toFixed(2),
        String(r.errors.length),
      ]);
    }
  }
  return rows;
}

function limitNote(results: BenchResults): string {
  const model = results.limitModel;
  if (!model) return "";
  return (
    `Timing model: instant clone ${model.cloneMs} ms median (log-normal spread ${model.spread}), ${model.perHost} provisioning ` +
    `operations per host, ${model.vcenterTasks} tasks per vCenter, Tools address ${model.toolsAddressMs} ms + agent start ` +
    `${model.agentStartMs} ms; limit = N ÷ (hosts × ${model.perHost}) × mean clone + mean address and agent start; ` +
    `ideal = a client without overhead given this run's own clone and boot times (all asked for at once, each host's ` +
    `${model.perHost} slots kept busy in arrival order). ` +
    repeatedNote(results) +
    drawNote(results) +
    issuanceNote(results) +
    `Bonneville / peer, fleet time (each ÷ its ideal): ${results.limit.map((l) => `N=${l.n} on ${l.hosts} hosts ${l.ratios.bonnevillePeer.toFixed(2)} (${l.ratios.bonnevillePeerOverIdeal.toFixed(2)})`).join(", ")}. ` +
    `With bounds ÷ without (each ÷ its ideal): ${results.limit.map((l) => `N=${l.n} on ${l.hosts} hosts ${l.ratios.admissionCost.toFixed(2)} (${l.ratios.admissionCostOverIdeal.toFixed(2)})`).join(", ")}.`
  );
}

/**
 * What each run shown drew against the limit, and how much the simulator's own delays on the shared
 * cores (timers firing late) lengthened its clones and boots: the ideal from the draws, then as run.
 */
function drawNote(results: BenchResults): string {
  if (results.limit.length === 0) return "";
  const runs = results.limit.map((l) => {
    const each = (label: string, r: (typeof l)["peer"]) =>
      `${label} ${(r.idealDrawnMs / r.limitMs).toFixed(2)} → ${(r.idealMs / r.limitMs).toFixed(2)}`;
    return `N=${l.n} on ${l.hosts} hosts ${each("Bonneville", l.bonneville)}, ${each("no bounds", l.unbounded)}, ${each("peer", l.peer)}`;
  });
  return (
    `The ideal ÷ the limit, from the model's draws → as the simulator ran them (its own delays added), in the runs shown: ` +
    `${runs.join("; ")}. `
  );
}

/**
 * How Bonneville's forks were spaced out: the engine sends Checks one at a time, so the last fork
 * leaves after every Check's round trip; the peer has no such step.
 */
function issuanceNote(results: BenchResults): string {
  const parts = results.limit.flatMap((l) => {
    const c = l.bonneville.checks;
    if (!c) return [];
    return [
      `N=${l.n} on ${l.hosts} hosts, last Check answered at ${ms(c.lastAnswerMs)} and last fork at ${ms(l.bonneville.lastForkMs)} ` +
        `(Check round trip p50 ${ms(c.roundTrip.p50)}, p90 ${ms(c.roundTrip.p90)}; ${ms(c.quietRoundTrip.p50)} p50 once the ` +
        `fleet runs; CPU over those ${ms(c.lastAnswerMs)}: engine stand-in ${ms(c.standInCpuMs)}, plugin ${ms(c.pluginCpuMs)}), ` +
        `the peer's last fork at ${ms(l.peer.lastForkMs)}`,
    ];
  });
  if (parts.length === 0) return "";
  return `Bonneville's Checks, one at a time as the engine's step generator sends them, in its runs shown: ${parts.join("; ")}. `;
}

/** Which sizes ran more than once, and every run's fleet time ÷ ideal there. */
function repeatedNote(results: BenchResults): string {
  const repeated = results.limit.filter((l) => l.repeats > 1);
  if (repeated.length === 0) return "";
  const runs = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(", ");
  return (
    `At ${[...new Set(repeated.map((l) => l.n))].join(", ")} containers each client ran ${repeated[0]!.repeats} times and ` +
    `the table shows its median run by fleet time ÷ ideal (every run's ÷ ideal: ` +
    repeated
      .map(
        (l) =>
          `N=${l.n} on ${l.hosts} hosts Bonneville ${runs(l.ratiosToIdealRuns.bonneville)}, no bounds ${runs(l.ratiosToIdealRuns.unbounded)}, peer ${runs(l.ratiosToIdealRuns.peer)}`,
      )
      .join("; ") +
    "). "
  );
}

function refreshLine(results: BenchResults): string {
  const r = results.refresh!;
  return (
    `Refresh: ${r.vms} container VMs read at once (as \`pulumi refresh\` does) in ${s(r.readWallMs)}, ` +
    `${r.soapPerRead} SOAP calls and ${ms(r.cpuMsPerRead)} of plugin CPU per Read; plugin RSS ${r.rssBeforeMb} MB before ` +
    `the reads, ${r.rssAfterMb} MB after (peak over the process, creates included: ${r.peakRssMb} MB)` +
    (r.errors.length > 0 ? `; ${r.errors.length} FAILED` : "") +
    "."
  );
}

function targetRows(results: BenchResults): string[][] {
  return [
    ["", "target", "limit", "measured"],
    ...results.targets.map((t) => [
      t.pass ? "PASS" : "MISS",
      t.label,
      `≤ ${t.limit} ${t.unit}`,
      `${t.value} ${t.unit}`,
    ]),
  ];
}

function machineLine(results: BenchResults): string {
  const m = results.machine;
  return `${m.cpuModel}, ${m.nproc} CPUs (nproc), ${m.ramGb} GB RAM, Node ${m.node}, ${m.go}, ${m.kernel}; load average ${m.loadAverage.start} at start, ${m.loadAverage.end} at end`;
}

/** The terminal report. */
export function formatTable(results: BenchResults): string {
  const last = results.fleet[results.fleet.length - 1]!;
  const out = [
    `Bonneville fleet benchmark — ${results.startedAt} — ${results.durationSeconds.toFixed(0)} s`,
    `Machine: ${machineLine(results)}`,
    ...(results.settings.provider.startsWith("/") ? [`Provider: ${results.settings.provider}`] : []),
    "",
    `Fleet (median of ${results.settings.repeats} runs per client and N; CPU = the client process)`,
    columns(fleetRows(results)),
    "",
    "Bonneville / govmomi peer",
    columns(ratioRows(results)),
    "",
    `SOAP calls per create at N=${last.n}, by method`,
    `  Bonneville:   ${methods(last.bonneville.soapPerCreateByMethod)}`,
    `  govmomi peer: ${methods(last.peer.soapPerCreateByMethod)}`,
    `SOAP calls per delete at N=${last.n}, by method`,
    `  Bonneville:   ${methods(last.bonneville.soapPerDeleteByMethod)}`,
    `  govmomi peer: ${methods(last.peer.soapPerDeleteByMethod)}`,
    "",
    ...(results.limit.length > 0
      ? [
          "Fleet time against the platform's limit (vCenter timing model; until every container reports running)",
          columns(limitRows(results)),
          limitNote(results),
          "",
        ]
      : []),
    `Scaling time(${results.scaling.toN})/time(${results.scaling.fromN}): Bonneville ${results.scaling.bonneville.toFixed(2)}, govmomi peer ${results.scaling.peer.toFixed(2)}`,
    `Plugin start (launch to port, ${results.settings.pluginStarts} launches): median ${ms(results.pluginStart.medianMs)}, p90 ${ms(results.pluginStart.p90Ms)} (node -e 0 alone: ${ms(results.pluginStart.nodeBaselineMs)})`,
    `Memory (median of ${results.settings.memoryRuns} runs: ${results.memory.rssMbRuns.join(", ")} MB): plugin RSS ${results.memory.rssMb} MB after ${results.memory.vms} VMs created and read (peak ${results.memory.peakRssMb} MB; ${results.memory.rssAfterIdleMb} MB after 10 s idle; ${results.memory.baselineRssMb} MB before the first container; create ${s(results.memory.createWallMs)}, read ${s(results.memory.readWallMs)}, ${results.memory.soapPerRead} SOAP calls per Read)`,
  ];
  if (results.refresh) out.push(refreshLine(results));
  if (results.profile) {
    out.push(
      "",
      `Plugin CPU profile over ${results.profile.n} creates (self time, ${ms(results.profile.busyMs)} busy; setup included)`,
      columns([
        ["group", "self", "share"],
        ...results.profile.groups
          .slice(0, 12)
          .map((g) => [g.group, ms(g.selfMs), `${g.percent.toFixed(1)} %`]),
      ]),
    );
  }
  out.push("", "Targets (a miss is reported, not fatal)", columns(targetRows(results)));
  return out.join("\n");
}

/** The generated section of BENCHMARKS.md. */
export function formatMarkdown(results: BenchResults): string {
  const last = results.fleet[results.fleet.length - 1]!;
  const parts = [
    `Measured ${results.startedAt.slice(0, 10)} on: ${machineLine(results)}. ` +
      `Medians of ${results.settings.repeats} runs per client and N; the whole run took ${results.durationSeconds.toFixed(0)} s.`,
    "",
    markdownTable(fleetRows(results)),
    "",
    "Bonneville / govmomi peer:",
    "",
    markdownTable(ratioRows(results)),
    "",
    `SOAP calls per create at N=${last.n}: Bonneville ${methods(last.bonneville.soapPerCreateByMethod)}; ` +
      `peer ${methods(last.peer.soapPerCreateByMethod)}. Per delete: Bonneville ${methods(last.bonneville.soapPerDeleteByMethod)}; ` +
      `peer ${methods(last.peer.soapPerDeleteByMethod)}.`,
    "",
    `Every run's create wall time (ms): ` +
      results.fleet
        .map(
          (f) =>
            `N=${f.n} Bonneville ${f.bonneville.createWallMsRuns.join(", ")}; peer ${f.peer.createWallMsRuns.join(", ")}`,
        )
        .join(" — ") +
      `. Delete: ` +
      results.fleet
        .map(
          (f) =>
            `N=${f.n} Bonneville ${f.bonneville.deleteWallMsRuns.join(", ")}; peer ${f.peer.deleteWallMsRuns.join(", ")}`,
        )
        .join(" — ") +
      ".",
    "",
    ...(results.limit.length > 0
      ? [
          `Fleet time against the platform's limit (the simulator's vCenter timing model; from the first Check to the last container reporting running; ${results.limit.some((l) => l.repeats > 1) ? "median runs, see below" : "one run each"}):`,
          "",
          markdownTable(limitRows(results)),
          "",
          limitNote(results),
          "",
          "![Fleet time against the platform's limit](bench/limit.svg)",
          "",
        ]
      : []),
    `- Scaling time(${results.scaling.toN})/time(${results.scaling.fromN}): Bonneville ${results.scaling.bonneville.toFixed(2)}, peer ${results.scaling.peer.toFixed(2)}.`,
    `- Plugin start: median ${ms(results.pluginStart.medianMs)}, p90 ${ms(results.pluginStart.p90Ms)} over ${results.settings.pluginStarts} launches (\`node -e 0\` alone: ${ms(results.pluginStart.nodeBaselineMs)}).`,
    `- Memory: RSS ${results.memory.rssMb} MB after ${results.memory.vms} container VMs were created and read (median of ${results.settings.memoryRuns} runs: ${results.memory.rssMbRuns.join(", ")} MB; peak ${results.memory.peakRssMb} MB; ${results.memory.rssAfterIdleMb} MB after 10 s idle; ${results.memory.baselineRssMb} MB before the first container; ${results.memory.vms} concurrent creates took ${s(results.memory.createWallMs)}).`,
  ];
  if (results.refresh) parts.push(`- ${refreshLine(results)}`);
  if (results.profile) {
    const top = results.profile.groups
      .slice(0, 8)
      .map((g) => `${g.group} ${g.percent.toFixed(0)} %`)
      .join(", ");
    parts.push(
      `- Plugin CPU profile over ${results.profile.n} creates (self time by group, of ${ms(results.profile.busyMs)} busy): ${top}.`,
    );
  }
  parts.push("", "Targets:", "", markdownTable(targetRows(results)));
  return parts.join("\n");
}
