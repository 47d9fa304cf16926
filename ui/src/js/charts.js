// Time-series charts (uPlot, bundled from npm at build time; see ui/package.json).
import { h, replace } from './dom.js';

export const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#c53030', '#805ad5', '#d69e2e', '#319795', '#b83280', '#4a5568', '#2c7a7b'];

const live = new Set();
let resizeHooked = false;

function hookResize() {
  if (resizeHooked) return;
  resizeHooked = true;
  let t = null;
  window.addEventListener('resize', () => {
    clearTimeout(t);
    t = setTimeout(() => {
      for (const c of live) {
        if (!c.root.isConnected) { c.destroy(); live.delete(c); continue; }
        c.setSize({ width: c.root.parentElement.clientWidth, height: c.height });
      }
    }, 100);
  });
}

// Destroys charts whose element left the page (called when switching pages).
export function disposeCharts() {
  for (const c of live) { c.destroy(); live.delete(c); }
}

// A time chart in `container`. xs: unix seconds; series: [{label, values, color?, bars?, fmt?}].
// `yFmt(v)` formats the axis ticks and legend values.
export function timeChart(container, { xs, series, yFmt = v => v, height = 220, stacked = false, yMin }) {
  const hasData = xs.length > 0 && series.some(s => s.values.some(v => v !== null && v !== 0));
  if (!window.uPlot) { replace(container, h('div.chart-empty', null, 'chart library not loaded')); return; }
  if (!hasData) { replace(container, h('div.chart-empty', null, 'No data in this range')); return; }
  hookResize();
  replace(container);
  const width = Math.max(300, container.clientWidth || container.parentElement.clientWidth || 600);
  const bars = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined;
  const opts = {
    width, height,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: yMin === undefined ? {} : { range: (u, min, max) => [yMin, Math.max(max, yMin + 1e-9) * 1.05] } },
    axes: [
      { stroke: '#6b7280', grid: { stroke: '#eef0f3' } },
      { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 60, values: (u, vals) => vals.map(v => yFmt(v)) },
    ],
    series: [
      {},
      ...series.map((s, i) => {
        const color = s.color || PALETTE[i % PALETTE.length];
        return {
          label: s.label, stroke: color, width: 2,
          fill: s.bars || stacked ? color + '55' : undefined,
          paths: s.bars ? bars : undefined,
          // A line needs two points: while a series has only a few values, mark them (only them).
          points: s.values.filter(v => v !== null && v !== undefined && v !== 0).length < 24
            ? { show: true, size: 6, filter: (u, si) => u.data[si].flatMap((v, i) => (v !== null && v !== undefined && v !== 0 ? [i] : [])) }
            : { show: false },
          value: (u, v) => (v === null || v === undefined ? '—' : yFmt(v)),
        };
      }),
    ],
  };
  const data = [xs, ...series.map(s => s.values)];
  const chart = new window.uPlot(opts, data, container);
  chart.height = height;
  live.add(chart);
  return chart;
}

// Pivots API rows [{t, group, ...}] into x values (every bucket from start to end, so gaps show as
// zeros) and one array per group for `field`.
export function pivot(rows, { start, end, step, field, groupOf = r => r.group ?? '', maxGroups = 8 }) {
  const first = Math.floor(start / step) * step;
  const xs = [];
  for (let t = first; t <= end && xs.length < 5000; t += step) xs.push(t);
  for (const r of rows) if (!xs.includes(r.t) && xs.length < 5000) xs.push(r.t);
  xs.sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  // Keep the biggest groups (by total of `field`), fold the rest into "other".
  const totals = new Map();
  for (const r of rows) { const g = String(groupOf(r)); totals.set(g, (totals.get(g) || 0) + (Number(r[field]) || 0)); }
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(e => e[0]);
  const keep = new Set(ranked.slice(0, maxGroups));
  const groups = new Map();
  for (const r of rows) {
    let g = String(groupOf(r));
    if (!keep.has(g)) g = 'other';
    if (!groups.has(g)) groups.set(g, new Array(xs.length).fill(0));
    const i = index.get(r.t);
    const v = r[field];
    if (v !== null && v !== undefined) groups.get(g)[i] += Number(v);
  }
  return { xs, groups };
}

// Like pivot for a single series of per-bucket values that must not be summed (e.g. p95):
// missing buckets are null (a gap), not zero.
export function column(rows, xs, field) {
  const m = new Map(rows.map(r => [r.t, r[field]]));
  return xs.map(t => (m.has(t) && m.get(t) !== undefined ? m.get(t) : null));
}
