// Usage: totals, charts over time (requests, tokens, cost, error/cache rates, latency), breakdown
// by model and by key, top keys by spend. Reads the ledger's rollups (/llmgate/api/usage, summary).
import { api, attempt } from '../api.js';
import { h, replace, table, unavailable } from '../dom.js';
import { num, usd, pct, ms } from '../format.js';
import { timeChart, pivot, column } from '../charts.js';
import { rangePicker } from '../range.js';
import { setHashParams } from '../nav.js';

function stat(label, value, id) {
  return h('div.stat', { 'data-stat': id }, h('div.label', null, label), h('div.value', null, value));
}

function chartCard(title, id) {
  const box = h('div.chart', { id: 'chart-' + id });
  return { card: h('div.card', { 'data-chart': id }, h('h3', null, title), box), box };
}

export default async function usage(root, params) {
  const range = rangePicker({ preset: params.get('range') || '24h', onChange: load });
  const bucketSel = h('select', { name: 'bucket', 'aria-label': 'bucket' },
    h('option', { value: 'auto' }, 'Auto'), h('option', { value: 'hour' }, 'Per hour'), h('option', { value: 'day' }, 'Per day'));
  bucketSel.value = params.get('bucket') || 'auto';
  bucketSel.addEventListener('change', load);
  const refresh = h('button.secondary', { type: 'button', onclick: load }, 'Refresh');
  const body = h('div');
  root.append(h('h1', null, 'Usage'), h('div.toolbar', null, range.el, h('label', null, 'Bucket', bucketSel), refresh), body);

  async function load() {
    const { start, end, preset } = range.get();
    const bucket = bucketSel.value === 'auto' ? (end - start > 3 * 86400 ? 'day' : 'hour') : bucketSel.value;
    const step = bucket === 'day' ? 86400 : 3600;
    setHashParams({ range: preset, bucket: bucketSel.value });
    replace(body, h('p.muted', null, 'Loading…'));
    const q = { start, end, bucket };
    const [[summary, sErr], [total, tErr], [byModel, mErr], [byKey, kErr]] = await Promise.all([
      attempt(() => api('/llmgate/api/summary', { params: { start, end } })),
      attempt(() => api('/llmgate/api/usage', { params: { ...q, group_by: 'none' } })),
      attempt(() => api('/llmgate/api/usage', { params: { ...q, group_by: 'model' } })),
      attempt(() => api('/llmgate/api/usage', { params: { ...q, group_by: 'key' } })),
    ]);
    replace(body);

    // Totals
    if (summary && summary.totals) {
      const t = summary.totals;
      body.append(h('div.stats', { id: 'usage-totals' },
        stat('Requests', num(t.requests), 'requests'),
        stat('Errors', num(t.errors), 'errors'),
        stat('Error rate', pct(t.error_rate), 'error_rate'),
        stat('Tokens', num(t.total_tokens), 'total_tokens'),
        stat('Cost', usd(t.cost), 'cost'),
        stat('Cache hit rate', pct(t.cache_hit_rate), 'cache_hit_rate'),
        stat('Latency p50', ms(t.p50_ms), 'p50_ms'),
        stat('Latency p95', ms(t.p95_ms), 'p95_ms')));
    } else {
      body.append(unavailable('Usage summary', sErr));
    }

    // Charts over time
    const grid = h('div.grid', { id: 'usage-charts' });
    body.append(grid);
    const charts = [];
    if (total && Array.isArray(total.series)) {
      const rows = total.series;
      const base = pivot(rows, { start, end, step, field: 'requests', groupOf: () => 'requests' });
      const xs = base.xs;
      const sum = f => pivot(rows, { start, end, step, field: f, groupOf: () => f }).groups.get(f) || xs.map(() => 0);
      const requests = sum('requests'), errors = sum('errors'), cacheHits = sum('cache_hits');
      const rate = (a, b) => a.map((v, i) => (b[i] ? v / b[i] : null));
      const c1 = chartCard('Requests and errors', 'requests');
      const c2 = chartCard('Tokens', 'tokens');
      const c3 = chartCard('Cost (USD)', 'cost');
      const c4 = chartCard('Error rate and cache hit rate', 'rates');
      const c5 = chartCard('Latency p50 / p95', 'latency');
      grid.append(c1.card, c2.card, c3.card, c4.card, c5.card);
      charts.push(() => timeChart(c1.box, { xs, series: [{ label: 'requests', values: requests, bars: true }, { label: 'errors', values: errors, color: '#c53030', bars: true }], yFmt: v => num(v) }));
      charts.push(() => timeChart(c2.box, { xs, series: [{ label: 'prompt', values: sum('prompt_tokens') }, { label: 'completion', values: sum('completion_tokens') }, { label: 'total', values: sum('total_tokens') }], yFmt: v => num(v) }));
      charts.push(() => timeChart(c3.box, { xs, series: [{ label: 'cost', values: sum('cost'), bars: true, color: '#38a169' }], yFmt: v => usd(v) }));
      charts.push(() => timeChart(c4.box, { xs, yMin: 0, series: [{ label: 'error rate', values: rate(errors, requests), color: '#c53030' }, { label: 'cache hit rate', values: rate(cacheHits, requests), color: '#319795' }], yFmt: v => pct(v) }));
      charts.push(() => timeChart(c5.box, { xs, series: [{ label: 'p50', values: column(rows, xs, 'p50_ms') }, { label: 'p95', values: column(rows, xs, 'p95_ms'), color: '#dd6b20' }], yFmt: v => ms(v) }));
    } else {
      grid.append(h('div.card', null, h('h3', null, 'Usage over time'), unavailable('Usage over time', tErr)));
    }
    const grouped = (title, id, res, err, field, fmt, label) => {
      if (!res || !Array.isArray(res.series)) { grid.append(h('div.card', null, h('h3', null, title), unavailable(title, err))); return; }
      const c = chartCard(title, id);
      grid.append(c.card);
      const p = pivot(res.series, { start, end, step, field, groupOf: label });
      charts.push(() => timeChart(c.box, { xs: p.xs, series: [...p.groups.entries()].map(([g, v]) => ({ label: g || '(none)', values: v })), yFmt: fmt }));
    };
    grouped('Requests by model', 'by-model', byModel, mErr, 'requests', v => num(v), r => r.group ?? r.model ?? '');
    grouped('Cost by key', 'by-key', byKey, kErr, 'cost', v => usd(v), r => r.key_alias || (!r.group || r.group === 'none' ? '(master key / session)' : String(r.group).slice(0, 12) + '…'));
    // Charts measure their container: draw once the cards are in the page.
    requestAnimationFrame(() => charts.forEach(f => f()));

    // Breakdown tables
    if (summary) {
      const tables = h('div.grid');
      body.append(h('div', null, h('br')), tables);
      const common = [
        { key: 'requests', label: 'Requests', num: true, fmt: r => num(r.requests) },
        { key: 'errors', label: 'Error rate', num: true, fmt: r => pct(r.error_rate ?? (r.requests ? (r.errors || 0) / r.requests : null)) },
        { key: 'total_tokens', label: 'Tokens', num: true, fmt: r => num(r.total_tokens) },
        { key: 'cost', label: 'Cost', num: true, fmt: r => usd(r.cost) },
        { key: 'p95_ms', label: 'p95', num: true, fmt: r => ms(r.p95_ms) },
      ];
      tables.append(h('div.card', { id: 'usage-by-model' }, h('h3', null, 'By model'),
        table([{ key: 'model', label: 'Model', fmt: r => r.model ?? r.model_group ?? r.group ?? '' }, ...common], summary.by_model || [])));
      tables.append(h('div.card', { id: 'usage-by-key' }, h('h3', null, 'By key'),
        table([{ key: 'key', label: 'Key', fmt: r => keyLabel(r) }, ...common], summary.by_key || [])));
      tables.append(h('div.card', { id: 'usage-top-keys' }, h('h3', null, 'Top keys by spend'),
        table([{ key: 'key', label: 'Key', fmt: r => keyLabel(r) },
          { key: 'requests', label: 'Requests', num: true, fmt: r => num(r.requests) },
          { key: 'cost', label: 'Spend', num: true, fmt: r => usd(r.cost) }], summary.top_keys || [], { empty: 'No spend in this range.' })));
    }
  }

  await load();
}

export function keyLabel(r) {
  if (r.key_alias) return r.key_alias;
  if (r.key_hash) return r.key_hash.slice(0, 12) + '…';
  return '(master key / session)';
}
