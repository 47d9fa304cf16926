// Logs: filtered, newest-first request log with keyset paging (next_cursor); a row opens the
// whole record. Prompts and responses are untrusted: shown as text only (dom.js).
import { api, attempt } from '../api.js';
import { h, replace, table, kv, jsonBlock, badge, unavailable, errorBox } from '../dom.js';
import { num, usd, ms, time } from '../format.js';
import { rangePicker } from '../range.js';
import { setHashParams } from '../nav.js';
import { keyLabel } from './usage.js';

const PAGE_SIZE = 50;

function statusBadge(r) {
  const s = Number(r.status);
  if (r.error_type && !s) return badge('error', 'bad');
  return badge(String(r.status ?? '?'), s >= 200 && s < 300 ? 'ok' : s >= 500 || !s ? 'bad' : 'warn');
}

export default async function logs(root, params) {
  const range = rangePicker({ preset: params.get('range') || '24h', allowAll: true });
  const model = h('input', { name: 'model', list: 'logs-models', placeholder: 'any model', value: params.get('model') || '' });
  const key = h('input', { name: 'key', list: 'logs-keys', placeholder: 'any key (alias or hash)', value: params.get('key') || '' });
  const status = h('select', { name: 'status_class', 'aria-label': 'status class' },
    h('option', { value: '' }, 'any'), ['2xx', '4xx', '5xx', 'error'].map(s => h('option', { value: s }, s)));
  status.value = params.get('status_class') || '';
  const q = h('input', { name: 'q', type: 'search', placeholder: 'text in prompt or response', value: params.get('q') || '' });
  const modelList = h('datalist', { id: 'logs-models' });
  const keyList = h('datalist', { id: 'logs-keys' });
  const apply = h('button', { type: 'submit' }, 'Apply');
  const form = h('form.toolbar', { id: 'logs-filters' }, range.el,
    h('label', null, 'Model', model), h('label', null, 'Key', key), h('label', null, 'Status', status),
    h('label', null, 'Search', q), apply, modelList, keyList);
  const info = h('span.muted');
  const prev = h('button.secondary', { type: 'button', disabled: true }, '← Newer');
  const next = h('button.secondary', { type: 'button', disabled: true }, 'Older →');
  const results = h('div', { id: 'logs-results' });
  const drawer = h('aside.drawer', { id: 'log-detail', hidden: true, 'aria-label': 'request details' });
  root.append(h('h1', null, 'Logs'), form, h('div.card', null, results, h('div.pager', null, prev, next, info)), drawer);

  // Suggestions for the filters (best effort).
  attempt(() => api('/v1/models')).then(([m]) => {
    for (const x of (m && m.data) || []) modelList.append(h('option', { value: x.id }));
  });
  attempt(() => api('/key/list', { params: { return_full_object: 'true', size: 100 } })).then(([k]) => {
    for (const x of (k && k.keys) || []) if (x && typeof x === 'object' && x.key_alias) keyList.append(h('option', { value: x.key_alias }));
  });

  // Free-text search covers stored prompts and responses only: say so when none are stored.
  attempt(() => api('/llmgate/api/config')).then(([c]) => {
    const led = c && c.settings && c.settings.ledger;
    if (led && led.store_bodies === false) {
      form.after(h('p.notice', { id: 'logs-no-bodies' }, 'Request and response bodies are not stored (general_settings.store_prompts_in_spend_logs is false, or turn_off_message_logging is on): text search and the payload view have nothing to show.'));
    }
  });

  let cursors = [null];  // cursor of each page seen; the last entry is the current page's
  let nextCursor = null;

  function filters() {
    const r = range.get();
    return { start: r.start, end: r.end, model: model.value.trim(), key: key.value.trim(), status_class: status.value, q: q.value.trim() };
  }

  async function load() {
    const f = filters();
    setHashParams({ range: range.get().preset, model: f.model, key: f.key, status_class: f.status_class, q: f.q });
    replace(results, h('p.muted', null, 'Loading…'));
    const cursor = cursors[cursors.length - 1];
    const [res, err] = await attempt(() => api('/llmgate/api/logs', { params: { ...f, limit: PAGE_SIZE, cursor } }));
    if (!res) {
      replace(results, err.notAvailable ? unavailable('The request log', err) : errorBox(err));
      prev.disabled = next.disabled = true;
      return;
    }
    const rows = res.data || [];
    nextCursor = res.next_cursor || null;
    replace(results, table([
      { key: 'start_time', label: 'Time', fmt: r => time(r.start_time) },
      { key: 'model', label: 'Model', fmt: r => r.model_group || r.model || '' },
      { key: 'status', label: 'Status', fmt: statusBadge },
      { key: 'latency_ms', label: 'Latency', num: true, fmt: r => ms(r.latency_ms) },
      { key: 'ttft_ms', label: 'TTFT', num: true, fmt: r => (r.stream ? ms(r.ttft_ms) : '') },
      { key: 'total_tokens', label: 'Tokens', num: true, fmt: r => num(r.total_tokens) },
      { key: 'cost', label: 'Cost', num: true, fmt: r => usd(r.cost) },
      { key: 'key', label: 'Key', fmt: keyLabel },
      { key: 'flags', label: '', fmt: r => [r.stream ? badge('stream') : null, r.cache_hit ? badge('cache', 'ok') : null] },
      { key: 'error', label: 'Error', cls: 'cell-text', fmt: r => (r.error_type ? `${r.error_type}: ${r.error_message || ''}` : '') },
    ], rows, {
      empty: 'No requests match these filters.',
      rowAttrs: r => ({ 'data-request-id': r.request_id }),
      onRowClick: (r, tr) => { for (const x of results.querySelectorAll('tr.selected')) x.classList.remove('selected'); tr.classList.add('selected'); open(r.request_id); },
    }));
    prev.disabled = cursors.length <= 1;
    next.disabled = !nextCursor;
    info.textContent = `page ${cursors.length} · ${rows.length} rows`;
  }

  async function open(id) {
    drawer.hidden = false;
    replace(drawer, h('p.muted', null, 'Loading…'));
    const [r, err] = await attempt(() => api('/llmgate/api/logs/' + encodeURIComponent(id)));
    const close = h('button.secondary.close', { type: 'button', onclick: () => { drawer.hidden = true; } }, 'Close');
    if (!r) { replace(drawer, close, h('h2', null, 'Request'), errorBox(err)); return; }
    const rec = r.data && typeof r.data === 'object' && !Array.isArray(r.data) ? r.data : r;
    const timing = [
      ['Start', time(rec.start_time)], ['End', time(rec.end_time)],
      ['Latency', ms(rec.latency_ms)], ['Time to first token', rec.ttft_ms == null ? undefined : ms(rec.ttft_ms)],
      ['Queue', rec.queue_ms == null ? undefined : ms(rec.queue_ms)],
      ['Upstream', rec.upstream_ms == null ? undefined : ms(rec.upstream_ms)],
      ['Gateway overhead', rec.overhead_ms == null ? undefined : ms(rec.overhead_ms)],
    ];
    const retries = rec.retries ?? rec.attempts;
    replace(drawer, close,
      h('h2', null, 'Request ', h('code', null, rec.request_id || id)),
      h('div.grid', null,
        h('div', null, h('h3', null, 'Summary'), kv([
          ['Status', statusBadge(rec)], ['Model (alias)', rec.model_group ?? rec.model], ['Upstream model', rec.upstream_model || rec.model],
          ['Deployment', rec.deployment_id], ['Provider', rec.provider], ['Key', keyLabel(rec)], ['User', rec.user || undefined],
          ['Stream', rec.stream ? 'yes' : 'no'], ['Cache hit', rec.cache_hit ? 'yes' : 'no'],
          ['Retries', retries === undefined ? undefined : (typeof retries === 'object' ? JSON.stringify(retries) : String(retries))],
          ['Fallback from', rec.fallback_from || undefined],
          ['Error type', rec.error_type || undefined], ['Error message', rec.error_message || undefined],
        ])),
        h('div', null, h('h3', null, 'Tokens and cost'), kv([
          ['Prompt tokens', num(rec.prompt_tokens)], ['Completion tokens', num(rec.completion_tokens)],
          ['Total tokens', num(rec.total_tokens)], ['Cost', usd(rec.cost)],
        ]), h('h3', null, 'Timings'), kv(timing))),
      h('h3', null, 'Request body', rec.request_truncated || rec.request_body_truncated ? ' (truncated)' : ''),
      rec.request_body == null || rec.request_body === '' ? h('p.muted', null, 'Not stored (body logging is off, or the request failed before it was read).') : jsonBlock(rec.request_body),
      h('h3', null, 'Response body', rec.response_truncated || rec.response_body_truncated ? ' (truncated)' : ''),
      rec.response_body == null || rec.response_body === '' ? h('p.muted', null, 'Not stored.') : jsonBlock(rec.response_body),
      h('details', null, h('summary', null, 'Whole record (JSON)'), jsonBlock(rec)));
  }

  form.addEventListener('submit', ev => { ev.preventDefault(); cursors = [null]; load(); });
  range.select.addEventListener('change', () => { cursors = [null]; load(); });
  status.addEventListener('change', () => { cursors = [null]; load(); });
  next.addEventListener('click', () => { if (nextCursor) { cursors.push(nextCursor); load(); } });
  prev.addEventListener('click', () => { if (cursors.length > 1) { cursors.pop(); load(); } });
  const onKey = e => { if (e.key === 'Escape') drawer.hidden = true; };
  document.addEventListener('keydown', onKey);
  await load();
  if (params.get('id')) open(params.get('id'));
  return () => document.removeEventListener('keydown', onKey);
}
