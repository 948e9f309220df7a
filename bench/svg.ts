/**
 * The figures of a bench run as one SVG, drawn by hand (no charting dependency): small line
 * charts in a grid, each with its axes, ticks, legend and points. Log scales for latencies and
 * line counts, which span orders of magnitude.
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface Chart {
  title: string;
  x: string;
  y: string;
  series: readonly Series[];
  logX?: boolean;
  logY?: boolean;
  /** A horizontal line to compare against (a target, a ceiling). */
  rule?: { y: number; label: string };
}

const W = 560;
const H = 300;
const PAD = { left: 64, right: 16, top: 34, bottom: 70 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function svgDocument(title: string, subtitle: string, charts: readonly Chart[], columns = 2): string {
  const rows = Math.ceil(charts.length / columns);
  const width = columns * W;
  const height = 60 + rows * H;
  const panels = charts.map((chart, k) => `<g transform="translate(${(k % columns) * W},${60 + Math.floor(k / columns) * H})">${panel(chart)}</g>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="12" y="44" fill="#555">${esc(subtitle)}</text>`,
    ...panels,
    '</svg>',
  ].join('\n');
}

function panel(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const out: string[] = [`<text x="${PAD.left}" y="20" font-size="13" font-weight="bold">${esc(chart.title)}</text>`];
  if (all.length === 0) return [...out, `<text x="${PAD.left}" y="${PAD.top + 20}" fill="#888">not measured in this run</text>`].join('');
  const ys = [...all.map(([, y]) => y), ...(chart.rule ? [chart.rule.y] : [])];
  const xScale = scale(all.map(([x]) => x), chart.logX ?? false, PAD.left, PAD.left + plotW);
  const yScale = scale(ys, chart.logY ?? false, PAD.top + plotH, PAD.top, true);
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
  for (const t of yScale.ticks) out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${f(yScale.at(t))}" y2="${f(yScale.at(t))}" stroke="#eee"/><text x="${PAD.left - 4}" y="${f(yScale.at(t) + 4)}" text-anchor="end">${label(t)}</text>`);
  for (const t of xScale.ticks) out.push(`<text x="${f(xScale.at(t))}" y="${PAD.top + plotH + 14}" text-anchor="middle">${label(t)}</text>`);
  out.push(`<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH + 30}" text-anchor="middle" fill="#333">${esc(chart.x)}</text>`);
  out.push(`<text transform="translate(14,${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(chart.y)}</text>`);
  if (chart.rule) {
    const y = f(yScale.at(chart.rule.y));
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="5,4"/><text x="${PAD.left + plotW - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#555">${esc(chart.rule.label)}</text>`);
  }
  chart.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => [xScale.at(x), yScale.at(y)] as const);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}"/>`);
    if (pts.length <= 40) for (const [x, y] of pts) out.push(`<circle cx="${f(x)}" cy="${f(y)}" r="2.6" fill="${color}"/>`);
    const lx = PAD.left + (k % 4) * 128;
    const ly = H - 18 + Math.floor(k / 4) * 12 - 8;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  return out.join('');
}

interface Scale {
  at: (v: number) => number;
  ticks: number[];
}

function scale(values: number[], log: boolean, from: number, to: number, zeroBased = false): Scale {
  if (log) {
    const positive = values.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    const at = (v: number) => from + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (to - from);
    return { at, ticks: Array.from({ length: hi - lo + 1 }, (_, k) => 10 ** (lo + k)) };
  }
  let lo = Math.min(...values, ...(zeroBased ? [0] : []));
  let hi = Math.max(...values);
  if (hi === lo) hi = lo + 1;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const at = (v: number) => from + ((v - lo) / (hi - lo)) * (to - from);
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { at, ticks };
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function label(v: number): string {
  if (Math.abs(v) >= 1e6) return `${v / 1e6}M`;
  if (Math.abs(v) >= 1e3) return `${v / 1e3}k`;
  return String(Number(v.toPrecision(3)));
}

function f(v: number): string {
  return v.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
