/**
 * An SVG chart of create wall time against fleet size for both clients:
 * medians joined by lines, each run's spread as a vertical bar, and the
 * memory runs' larger fleet as a hollow point. Plain SVG, no library.
 */
import type { BenchResults } from "./results";

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 30, top: 60, bottom: 60 };
const COLORS = { bonneville: "#1f6fb4", peer: "#d9690f" } as const;

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks up to `max`. */
export function ticks(max: number, count = 5): number[] {
  if (max <= 0) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(Number((out[out.length - 1]! + step).toPrecision(12)));
  return out;
}

/** The chart as an SVG document. */
export function fleetChart(results: BenchResults): string {
  const series = (["bonneville", "peer"] as const).map((client) => ({
    client,
    label: client === "bonneville" ? "Bonneville (plugin)" : "govmomi peer",
    points: results.fleet.map((f) => {
      const runs = f[client].createWallMsRuns;
      return { n: f.n, median: f[client].createWallMs, min: Math.min(...runs), max: Math.max(...runs) };
    }),
  }));
  const extra = { n: results.memory.vms, wall: results.memory.createWallMs };
  const maxN = Math.max(extra.n, ...results.fleet.map((f) => f.n));
  const maxMs = Math.max(extra.wall, ...series.flatMap((s) => s.points.map((p) => p.max)));
  const xTicks = ticks(maxN);
  const yTicks = ticks(maxMs / 1000);
  const xMax = xTicks[xTicks.length - 1]!;
  const yMax = yTicks[yTicks.length - 1]! * 1000;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (n: number) => MARGIN.left + (n / xMax) * plotW;
  const y = (ms: number) => MARGIN.top + plotH - (ms / yMax) * plotH;
  const f1 = (v: number) => v.toFixed(1);

  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">ContainerVM fleet: create wall time against fleet size</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(
      `embedded vSphere, ${results.machine.nproc} CPUs, Node ${results.machine.node}; median of ${results.settings.repeats} runs, bars: min–max; ${results.startedAt.slice(0, 10)}`,
    )}</text>`,
  ];
  for (const t of yTicks) {
    const py = f1(y(t * 1000));
    svg.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${py}" y2="${py}" stroke="#e3e3e3"/>`,
      `<text x="${MARGIN.left - 8}" y="${py}" dy="4" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of xTicks) {
    const px = f1(x(t));
    svg.push(
      `<line x1="${px}" x2="${px}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${px}" y="${MARGIN.top + plotH + 20}" text-anchor="middle">${t}</text>`,
    );
  }
  svg.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">container VMs created concurrently (N)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">wall time, seconds</text>`,
  );
  for (const s of series) {
    const color = COLORS[s.client];
    const path = s.points.map((p, i) => `${i ? "L" : "M"}${f1(x(p.n))} ${f1(y(p.median))}`).join(" ");
    svg.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) {
      const px = f1(x(p.n));
      svg.push(
        `<line x1="${px}" x2="${px}" y1="${f1(y(p.min))}" y2="${f1(y(p.max))}" stroke="${color}" stroke-width="6" stroke-opacity="0.3"/>`,
        `<circle cx="${px}" cy="${f1(y(p.median))}" r="4" fill="${color}"><title>${escapeXml(
          `${s.label}, N=${p.n}: ${(p.median / 1000).toFixed(2)} s (runs ${(p.min / 1000).toFixed(2)}–${(p.max / 1000).toFixed(2)} s)`,
        )}</title></circle>`,
      );
    }
  }
  svg.push(
    `<circle cx="${f1(x(extra.n))}" cy="${f1(y(extra.wall))}" r="5" fill="white" stroke="${COLORS.bonneville}" stroke-width="2"><title>${escapeXml(
      `Bonneville, N=${extra.n} (memory runs, median of ${results.settings.memoryRuns}): ${(extra.wall / 1000).toFixed(2)} s`,
    )}</title></circle>`,
  );
  const legend = [
    { color: COLORS.bonneville, label: "Bonneville: Check+Create through the plugin", hollow: false },
    { color: COLORS.peer, label: "govmomi peer: InstantClone_Task + task.Wait", hollow: false },
    {
      color: COLORS.bonneville,
      label: `Bonneville, N=${extra.n} (memory runs, median of ${results.settings.memoryRuns})`,
      hollow: true,
    },
  ];
  legend.forEach((item, i) => {
    const ly = MARGIN.top + 12 + i * 18;
    const lx = MARGIN.left + 14;
    svg.push(
      item.hollow
        ? `<circle cx="${lx}" cy="${ly}" r="5" fill="white" stroke="${item.color}" stroke-width="2"/>`
        : `<circle cx="${lx}" cy="${ly}" r="4" fill="${item.color}"/>`,
      `<text x="${lx + 12}" y="${ly}" dy="4">${escapeXml(item.label)}</text>`,
    );
  });
  svg.push("</svg>");
  return `${svg.join("\n")}\n`;
}

/**
 * An SVG bar chart of fleet time ÷ the platform's limit for each N and cluster size: Bonneville,
 * Bonneville without admission bounds and the govmomi peer, with the limit (1.0) and the target (1.1).
 */
export function limitChart(results: BenchResults): string {
  const groups = results.limit;
  const bars = [
    { key: "bonneville", label: "Bonneville", color: COLORS.bonneville },
    { key: "unbounded", label: "Bonneville, admission bounds off", color: "#8fb7dc" },
    { key: "peer", label: "govmomi peer", color: COLORS.peer },
  ] as const;
  const maxRatio = Math.max(1.2, ...groups.flatMap((g) => bars.map((b) => g[b.key].ratio)));
  const yTicks = ticks(maxRatio, 6);
  const yMax = yTicks[yTicks.length - 1]!;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (r: number) => MARGIN.top + plotH - (r / yMax) * plotH;
  const f1 = (v: number) => v.toFixed(1);
  const groupW = plotW / Math.max(1, groups.length);
  const barW = Math.min(40, (groupW * 0.8) / bars.length);
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Time until every container runs, against the platform's limit</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(
      `embedded vSphere with the vCenter timing model, ${results.machine.nproc} CPUs (shared), load ${results.machine.loadAverage.start}–${results.machine.loadAverage.end}; ${results.startedAt.slice(0, 10)}`,
    )}</text>`,
  ];
  for (const t of yTicks) {
    const py = f1(y(t));
    svg.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${py}" y2="${py}" stroke="#e3e3e3"/>`,
      `<text x="${MARGIN.left - 8}" y="${py}" dy="4" text-anchor="end">${t}</text>`,
    );
  }
  groups.forEach((g, i) => {
    const left = MARGIN.left + i * groupW + (groupW - barW * bars.length) / 2;
    bars.forEach((b, j) => {
      const r = g[b.key].ratio;
      svg.push(
        `<rect x="${f1(left + j * barW)}" y="${f1(y(r))}" width="${f1(barW - 4)}" height="${f1(MARGIN.top + plotH - y(r))}" fill="${b.color}"><title>${escapeXml(
          `${b.label}, N=${g.n} on ${g.hosts} hosts: ${(g[b.key].fleetMs / 1000).toFixed(2)} s, limit ${(g[b.key].limitMs / 1000).toFixed(2)} s (${r.toFixed(2)}×)`,
        )}</title></rect>`,
        `<text x="${f1(left + j * barW + (barW - 4) / 2)}" y="${f1(y(r) - 4)}" text-anchor="middle" font-size="10">${r.toFixed(2)}</text>`,
      );
      // The ideal schedule of the same run's draws (a client without overhead), as a tick on the bar.
      const ideal = g[b.key].limitMs > 0 ? g[b.key].idealMs / g[b.key].limitMs : 0;
      if (ideal > 0) {
        svg.push(
          `<line x1="${f1(left + j * barW - 2)}" x2="${f1(left + j * barW + barW - 2)}" y1="${f1(y(ideal))}" y2="${f1(y(ideal))}" stroke="#111" stroke-width="2"><title>${escapeXml(
            `ideal for this run's draws: ${(g[b.key].idealMs / 1000).toFixed(2)} s (${ideal.toFixed(2)}× the limit)`,
          )}</title></line>`,
        );
      }
    });
    svg.push(
      `<text x="${f1(MARGIN.left + i * groupW + groupW / 2)}" y="${MARGIN.top + plotH + 20}" text-anchor="middle">${escapeXml(`N=${g.n}, ${g.hosts} hosts`)}</text>`,
    );
  });
  for (const [level, label, dash] of [
    [1, "limit", ""],
    [1.1, "target 1.1", ' stroke-dasharray="6 4"'],
  ] as const) {
    svg.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${f1(y(level))}" y2="${f1(y(level))}" stroke="#b00"${dash}/>`,
      `<text x="${WIDTH - MARGIN.right}" y="${f1(y(level) - 4)}" text-anchor="end" fill="#b00">${label}</text>`,
    );
  }
  svg.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">fleet time ÷ limit</text>`,
  );
  bars.forEach((b, i) => {
    const ly = MARGIN.top + 12 + i * 18;
    svg.push(
      `<rect x="${MARGIN.left + 10}" y="${ly - 6}" width="12" height="12" fill="${b.color}"/>`,
      `<text x="${MARGIN.left + 28}" y="${ly}" dy="4">${escapeXml(b.label)}</text>`,
    );
  });
  const ly = MARGIN.top + 12 + bars.length * 18;
  svg.push(
    `<line x1="${MARGIN.left + 8}" x2="${MARGIN.left + 24}" y1="${ly}" y2="${ly}" stroke="#111" stroke-width="2"/>`,
    `<text x="${MARGIN.left + 28}" y="${ly}" dy="4">ideal: no client overhead, the same run's clone and boot times</text>`,
  );
  svg.push("</svg>");
  return `${svg.join("\n")}\n`;
}
