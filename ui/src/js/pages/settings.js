// Settings: version and uptime, database path/size/row counts, log queue depth and drops, and
// the effective configuration (secrets are masked by the server; nothing here can reveal them).
import { api, attempt, currentSession } from '../api.js';
import { h, kv, jsonBlock, unavailable, table } from '../dom.js';
import { num, bytes, duration, time } from '../format.js';

function pick(obj, ...names) {
  for (const n of names) {
    const v = n.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

export default async function settings(root) {
  const [[cfg, cErr], [stats, sErr], [ready]] = await Promise.all([
    attempt(() => api('/llmgate/api/config')),
    attempt(() => api('/llmgate/api/stats')),
    attempt(() => api('/health/readiness')),
  ]);
  root.append(h('h1', null, 'Settings'));
  const grid = h('div.grid');
  root.append(grid);

  const version = pick(ready, 'litellm_version', 'version') ?? pick(cfg, 'version', 'llmgate_version');
  const uptime = pick(cfg, 'uptime_s', 'uptime_seconds', 'uptime', 'process.uptime_s');
  const started = pick(cfg, 'started_at', 'start_time', 'process.started_at');
  const s = currentSession() || {};
  grid.append(h('div.card', { id: 'settings-gateway' }, h('h2', null, 'Gateway'), kv([
    ['Version', version ?? '—'],
    ['Uptime', uptime !== undefined ? duration(uptime) : '—'],
    ['Started', started !== undefined ? (typeof started === 'number' ? time(started) : String(started)) : undefined],
    ['Status', ready ? String(ready.status ?? 'ready') : '—'],
    ['Database connection', ready && ready.db !== undefined ? String(ready.db) : undefined],
    ['Config file', pick(cfg, 'source_path', 'config_path') ?? undefined],
    ['Dashboard user', s.username ?? '—'],
    ['Session expires', s.expires_at ? time(s.expires_at) : undefined],
  ])));

  if (stats) {
    const q = stats.writer || stats.queue || stats;
    grid.append(h('div.card', { id: 'settings-database' }, h('h2', null, 'Usage database'), kv([
      ['Path', h('code', null, stats.database_path ?? '—')],
      ['Size', bytes(stats.database_bytes)],
      ['WAL size', bytes(stats.wal_bytes)],
      ['Log queue depth', q.queued !== undefined ? num(q.queued) : '—'],
      ['Records dropped (queue full)', q.dropped !== undefined ? num(q.dropped) : '—'],
      ['Records written since start', q.written !== undefined ? num(q.written) : undefined],
      ['Write errors', q.db_errors !== undefined ? num(q.db_errors) : undefined],
    ]), h('h3', null, 'Rows'), table([{ key: 'table', label: 'Table' }, { key: 'rows', label: 'Rows', num: true, fmt: r => num(r.rows) }],
      Object.entries(stats.rows || {}).map(([t, n]) => ({ table: t, rows: n })))));
  } else {
    grid.append(h('div.card', { id: 'settings-database' }, h('h2', null, 'Usage database'), unavailable('Database statistics', sErr)));
  }

  root.append(h('div.card', { id: 'settings-config' }, h('h2', null, 'Effective configuration'),
    h('p.muted', null, 'Secrets are masked by the gateway before they leave it.'),
    cfg ? jsonBlock(cfg) : unavailable('The effective configuration', cErr)));
}
