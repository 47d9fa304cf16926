// A stand-in for the gateway's dashboard-facing APIs, serving ui/src directly. Only for
// developing the pages without the daemon: `node tests/e2e/lib/ui_mock_server.mjs [port]`, then
// open http://127.0.0.1:<port>/ui/ (password: mock). Not used by the tests.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../ui');
const sessions = new Map();
const now = () => Math.floor(Date.now() / 1000);
const models = ['gpt-4o-mini', 'mock-echo', 'claude<b>x</b>'];
const logs = [];
for (let i = 0; i < 140; i++) {
  const m = models[i % 3];
  const t = now() - i * 600;
  logs.push({ request_id: 'req-' + i, start_time: t, end_time: t + 1, model: m, model_group: m, deployment_id: m + '-0', provider: 'mock',
    status: i % 11 === 0 ? 500 : 200, latency_ms: 100 + (i % 7) * 30, ttft_ms: 40, overhead_ms: 1.2, prompt_tokens: 10 + i, completion_tokens: 20,
    total_tokens: 30 + i, cost: i % 3 ? 0.0001 * i : null, key_hash: 'ab' + (i % 4) + 'cd'.repeat(30), key_alias: i % 4 ? 'team-' + (i % 4) : '<img src=x onerror=alert(1)>',
    user: '', stream: i % 2 === 0, cache_hit: i % 5 === 0, error_type: i % 11 === 0 ? 'upstream_connect' : '', error_message: i % 11 === 0 ? 'connect refused <script>alert(2)</script>' : '',
    request_body: JSON.stringify({ model: m, messages: [{ role: 'user', content: i === 0 ? '<script>alert(3)</script></textarea><img src=x onerror=alert(4)>' : 'hello ' + i }] }),
    response_body: JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'reply ' + i } }] }) });
}
function usage(q) {
  const step = q.get('bucket') === 'day' ? 86400 : 3600;
  const by = q.get('group_by') || 'none';
  const map = new Map();
  for (const r of logs) {
    const t = Math.floor(r.start_time / step) * step;
    const g = by === 'model' ? r.model : by === 'key' ? r.key_hash : null;
    const k = t + '|' + g;
    if (!map.has(k)) map.set(k, { t, group: g, key_alias: by === 'key' ? r.key_alias : undefined, requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: 0, cache_hits: 0, p50_ms: 120, p95_ms: 240 });
    const x = map.get(k);
    x.requests++; x.errors += r.status >= 400 ? 1 : 0; x.prompt_tokens += r.prompt_tokens; x.completion_tokens += r.completion_tokens; x.total_tokens += r.total_tokens; x.cost += r.cost || 0; x.cache_hits += r.cache_hit ? 1 : 0;
  }
  return { bucket: q.get('bucket'), series: [...map.values()] };
}
const keys = [{ token: 'ab1' + 'cd'.repeat(30), key_alias: 'team-1', key_name: 'sk-...abcd', spend: 0.4, max_budget: 1, models: [], blocked: false, created_at: '2026-11-20T10:00:00Z' },
  { token: 'ab2' + 'cd'.repeat(30), key_alias: '<img src=x onerror=alert(5)>', key_name: 'sk-...efgh', spend: 2, max_budget: 1, models: ['gpt-4o-mini'], blocked: true, rpm_limit: 10 }];

function send(res, status, body, type = 'application/json', headers = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'", 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(type === 'application/json' ? JSON.stringify(body) : body);
}
function sid(req) { const m = /llmgate_session=([0-9a-f]+)/.exec(req.headers.cookie || ''); return m && sessions.has(m[1]) ? m[1] : null; }

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  let body = '';
  req.on('data', c => { body += c; });
  req.on('end', () => {
    if (p === '/ui' || p === '/ui/') return sid(req) ? send(res, 200, fs.readFileSync(root + '/src/index.html'), 'text/html') : send(res, 302, '', 'text/plain', { Location: '/ui/login' });
    if (p === '/ui/login' && req.method === 'GET') return send(res, 200, fs.readFileSync(root + '/src/login.html'), 'text/html');
    if (p === '/ui/login') {
      const j = JSON.parse(body || '{}');
      if (j.password !== 'mock') return send(res, 401, { error: { message: 'invalid user name or password' } });
      const id = crypto.randomBytes(32).toString('hex');
      sessions.set(id, crypto.randomBytes(32).toString('hex'));
      return send(res, 200, { ok: true, csrf_token: sessions.get(id) }, 'application/json', { 'Set-Cookie': `llmgate_session=${id}; Path=/; HttpOnly; SameSite=Strict` });
    }
    if (p.startsWith('/ui/vendor/')) {
      const f = p.endsWith('.css') ? 'uPlot.min.css' : 'uPlot.iife.min.js';
      return send(res, 200, fs.readFileSync(root + '/node_modules/uplot/dist/' + f), p.endsWith('.css') ? 'text/css' : 'text/javascript');
    }
    if (p.startsWith('/ui/') && !p.startsWith('/ui/api') && p !== '/ui/logout') {
      const f = path.join(root, 'src', path.normalize(p.slice(4)));
      if (!f.startsWith(root + '/src/') || !fs.existsSync(f)) return send(res, 404, { error: 'not found' });
      return send(res, 200, fs.readFileSync(f), f.endsWith('.js') ? 'text/javascript' : f.endsWith('.css') ? 'text/css' : 'text/html');
    }
    const s = sid(req);
    if (p === '/health') return send(res, 200, { healthy_endpoints: [{ model: 'gpt-4o-mini', model_id: 'gpt-4o-mini-0' }], unhealthy_endpoints: [{ model: 'mock-echo', model_id: 'mock-echo-0', error: 'timeout' }], healthy_count: 1, unhealthy_count: 1 });
    if (!s) return send(res, 401, { error: { message: 'not signed in' } });
    if (req.method !== 'GET' && req.headers['x-csrf-token'] !== sessions.get(s)) return send(res, 403, { error: { message: 'csrf' } });
    if (p === '/ui/api/session') return send(res, 200, { username: 'admin', csrf_token: sessions.get(s), expires_at: now() + 1800 });
    if (p === '/ui/logout') { sessions.delete(s); return send(res, 200, { ok: true }); }
    if (p === '/llmgate/api/summary') {
      return send(res, 200, { totals: { requests: 140, errors: 13, total_tokens: 14000, cost: 1.23, cache_hits: 28, error_rate: 13 / 140, cache_hit_rate: 0.2, p50_ms: 130, p95_ms: 260 },
        by_model: models.map(m => ({ model: m, requests: 46, errors: 4, total_tokens: 4000, cost: 0.4, p50_ms: 120, p95_ms: 250 })),
        by_key: [{ key_hash: 'ab1', key_alias: 'team-1', requests: 35, cost: 0.3 }], top_keys: [{ key_hash: 'ab1', key_alias: 'team-1', cost: 0.3, requests: 35 }, { key_hash: 'ab0', key_alias: '<img src=x onerror=alert(6)>', cost: 0.1, requests: 5 }] });
    }
    if (p === '/llmgate/api/usage') return send(res, 200, usage(u.searchParams));
    if (p === '/llmgate/api/logs') {
      let rows = logs.filter(r => (!u.searchParams.get('model') || r.model === u.searchParams.get('model')) && (!u.searchParams.get('q') || r.request_body.includes(u.searchParams.get('q'))));
      const cur = Number(u.searchParams.get('cursor') || 0);
      const lim = Number(u.searchParams.get('limit') || 50);
      return send(res, 200, { data: rows.slice(cur, cur + lim).map(({ request_body, response_body, ...r }) => r), next_cursor: cur + lim < rows.length ? String(cur + lim) : null });
    }
    if (p.startsWith('/llmgate/api/logs/')) { const r = logs.find(x => x.request_id === decodeURIComponent(p.slice(18))); return r ? send(res, 200, { ...r, retries: 1, fallback_from: null }) : send(res, 404, { error: 'no such' }); }
    if (p === '/llmgate/api/stats') return send(res, 200, { database_path: '/tmp/x.db', database_bytes: 123456, wal_bytes: 4096, rows: { spend_logs: 140, daily_rollups: 10 }, queued: 0, dropped: 0 });
    if (p === '/llmgate/api/config') return send(res, 200, { uptime_s: 3725, model_list: [{ model_name: 'gpt-4o-mini', litellm_params: { model: 'openai/gpt-4o-mini', api_key: 'sk-1****' } }] });
    if (p === '/health/readiness') return send(res, 200, { status: 'healthy', litellm_version: '0.1.0-mock', db: 'connected' });
    if (p === '/v1/models') return send(res, 200, { data: models.map(id => ({ id, object: 'model', owned_by: 'llmgate' })) });
    if (p === '/v2/model/info') return send(res, 200, { data: models.map(m => ({ model_name: m, litellm_params: { model: 'mock/' + m, api_base: 'http://127.0.0.1:9/v1' }, model_info: { id: m + '-0', db_model: m === 'mock-echo' } })) });
    if (p === '/key/list') return send(res, 200, { keys, total_count: keys.length, current_page: 1, total_pages: 1 });
    if (p === '/key/generate') { const k = 'sk-' + crypto.randomBytes(16).toString('hex'); keys.unshift({ token: crypto.createHash('sha256').update(k).digest('hex'), ...JSON.parse(body), spend: 0 }); return send(res, 200, { key: k, ...JSON.parse(body) }); }
    if (p === '/key/block' || p === '/key/unblock') { const k = keys.find(x => x.token === JSON.parse(body).key); if (k) k.blocked = p === '/key/block'; return send(res, 200, {}); }
    if (p === '/v1/chat/completions') {
      const j = JSON.parse(body);
      if (!j.stream) return send(res, 200, { choices: [{ message: { role: 'assistant', content: 'pong' } }], usage: { prompt_tokens: 3, completion_tokens: 1 } });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const words = ['Hello', ' <b>there</b>', ' from', ' the', ' mock'];
      let i = 0;
      const t = setInterval(() => {
        if (i < words.length) res.write('data: ' + JSON.stringify({ choices: [{ delta: { content: words[i++] } }] }) + '\n\n');
        else { res.write('data: ' + JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 5 } }) + '\n\ndata: [DONE]\n\n'); clearInterval(t); res.end(); }
      }, 50);
      return;
    }
    send(res, 404, { error: { message: 'not found' } });
  });
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => console.log('mock dashboard on http://127.0.0.1:' + server.address().port + '/ui/'));
