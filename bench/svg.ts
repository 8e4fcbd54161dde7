/**
 * A hand-written SVG chart of the latency percentiles: one row per scenario, three horizontal bars
 * (p50, p90, p99) with their values, on a shared linear axis; references and gateway rows apart.
 */
import type { ScenarioResult } from "./report.ts";

const COLORS = { p50: "#4c78a8", p90: "#f58518", p99: "#e45756" } as const;
const WIDTH = 860;
const LABEL_WIDTH = 250;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - 70;
const BAR = 11;
const ROW = 3 * BAR + 16;
const TOP = 64;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const format = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** A round axis maximum and tick step for values up to `max`. */
function axis(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw)!;
  return { top: Math.ceil(Math.max(max, 1) / step) * step, step };
}

export function renderLatencySvg(results: readonly ScenarioResult[], caption: string): string {
  const { top, step } = axis(Math.max(...results.map((r) => (Number.isFinite(r.summary.p99Ms) ? r.summary.p99Ms : 0))));
  const x = (ms: number) => LABEL_WIDTH + (Math.min(ms, top) / top) * PLOT_WIDTH;
  const height = TOP + results.length * ROW + 46;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600" fill="#222">Latency per scenario (ms, lower is better)</text>`,
    `<text x="16" y="44" fill="#555">${escape(caption)}</text>`,
  ];
  for (let tick = 0; tick <= top + 1e-9; tick += step) {
    const tx = x(tick);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${TOP - 6}" x2="${tx.toFixed(1)}" y2="${TOP + results.length * ROW}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${TOP + results.length * ROW + 16}" text-anchor="middle" fill="#666">${Number.isInteger(tick) ? tick : tick.toFixed(1)}</text>`);
  }
  results.forEach((result, row) => {
    const y0 = TOP + row * ROW;
    if (row > 0 && result.group !== results[row - 1]!.group) {
      parts.push(`<line x1="16" y1="${y0 - 4}" x2="${WIDTH - 16}" y2="${y0 - 4}" stroke="#999" stroke-dasharray="4 3"/>`);
    }
    const weight = result.ratios ? "600" : "400";
    parts.push(`<text x="${LABEL_WIDTH - 10}" y="${y0 + 17}" text-anchor="end" font-weight="${weight}" fill="#222">${escape(result.short)}</text>`);
    parts.push(`<text x="${LABEL_WIDTH - 10}" y="${y0 + 31}" text-anchor="end" font-size="10" fill="#777">${result.summary.requestsPerSecond.toFixed(0)} req/s</text>`);
    (["p50", "p90", "p99"] as const).forEach((key, i) => {
      const value = result.summary[`${key}Ms`];
      if (!Number.isFinite(value)) return;
      const y = y0 + 4 + i * BAR;
      const width = Math.max(1, x(value) - LABEL_WIDTH);
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR - 2}" fill="${COLORS[key]}"><title>${key} ${format(value)} ms</title></rect>`);
      parts.push(`<text x="${(LABEL_WIDTH + width + 4).toFixed(1)}" y="${y + BAR - 3}" font-size="10" fill="#333">${format(value)}</text>`);
    });
  });
  const legendY = TOP + results.length * ROW + 34;
  (["p50", "p90", "p99"] as const).forEach((key, i) => {
    const lx = LABEL_WIDTH + i * 80;
    parts.push(`<rect x="${lx}" y="${legendY - 9}" width="12" height="10" fill="${COLORS[key]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${legendY}" fill="#333">${key}</text>`);
  });
  parts.push(`<text x="${WIDTH - 16}" y="${legendY}" text-anchor="end" fill="#666">bold = gateway; (a) origin, (b) baseline Worker</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
