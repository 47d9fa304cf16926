// The provisioned Grafana dashboard: valid JSON Grafana can load, covering requests, errors,
// latency, tokens, spend and deployment state, and querying only metrics (and labels) the
// gateway really exports, checked against a live /metrics of the built binary.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { rel, read, llmgateBin, SKIP_NO_BIN, startGateway, chat, get, mkTmp } from './support/common.mjs';
import { metricNames, labelNames, balanced, parseExposition } from './support/promql.mjs';

const DASH_PATH = 'deploy/compose/grafana/dashboards/llmgate.json';
const dash = JSON.parse(read(DASH_PATH));
const panels = dash.panels.flatMap((p) => [p, ...(p.panels || [])]);
const queries = [
  ...panels.flatMap((p) => (p.targets || []).map((t) => ({ panel: p.title, expr: t.expr }))),
  ...dash.templating.list.filter((v) => v.type === 'query').map((v) => {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = q.match(/^label_values\(\s*([^,)]+)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/);
    assert.ok(m, `variable ${v.name}: label_values(metric, label) expected, got ${q}`);
    return { panel: `variable $${v.name}`, expr: `${m[1]}`, extraLabels: [m[2]] };
  }),
];

describe('Grafana dashboard JSON', () => {
  test('is a loadable dashboard: uid, title, schemaVersion, unique panel ids, on the 24-column grid without overlaps', () => {
    assert.ok(dash.uid && dash.title && dash.schemaVersion >= 30);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const boxes = panels.map((p) => ({ t: p.title, ...p.gridPos }));
    for (const b of boxes) {
      assert.ok(Number.isInteger(b.x) && Number.isInteger(b.y) && b.w > 0 && b.h > 0 && b.x + b.w <= 24, `${b.t} gridPos`);
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]; const b = boxes[j];
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      assert.ok(!overlap, `panels "${a.t}" and "${b.t}" overlap`);
    }
  });

  test('every query panel uses the provisioned Prometheus datasource and well-formed PromQL', () => {
    const ds = YAML.parse(read('deploy/compose/grafana/provisioning/datasources/prometheus.yml')).datasources[0];
    for (const p of panels.filter((x) => x.type !== 'row')) {
      assert.ok(p.targets?.length, `${p.title} has queries`);
      for (const t of p.targets) {
        assert.equal((t.datasource || p.datasource).uid, ds.uid, `${p.title}: datasource uid`);
        assert.ok(t.expr && balanced(t.expr), `${p.title}: ${t.expr}`);
        assert.ok(metricNames(t.expr).length > 0, `${p.title}: queries a metric`);
      }
    }
  });

  test('covers requests, errors, latency, tokens, spend and deployment state', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const m of ['litellm_proxy_total_requests_metric', 'litellm_proxy_failed_requests_metric', 'litellm_request_total_latency_metric',
      'litellm_total_tokens_metric', 'litellm_spend_metric', 'litellm_deployment_state', 'litellm_llm_api_time_to_first_token_metric']) {
      assert.ok(all.includes(m), `dashboard queries ${m}`);
    }
  });

  test('the PromQL reader finds metrics and labels (so the live check below can fail)', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, model) (rate(x_bucket{model=~"$m"}[$__rate_interval]))) / clamp_min(y_total, 1e-9)').sort(), ['x_bucket', 'y_total']);
    assert.deepEqual(labelNames('sum by (requested_model) (rate(a{status_code="200"}[5m]))').sort(), ['requested_model', 'status_code']);
  });
});

describe('dashboard metrics against a live /metrics', () => {
  const bin = llmgateBin();
  let gw; let dir; let expo;
  before(async () => {
    if (!bin) return;
    dir = mkTmp();
    fs.mkdirSync(path.join(dir, 'data'));
    fs.copyFileSync(rel('config/demo.yaml'), path.join(dir, 'config.yaml'));
    gw = await startGateway({ config: path.join(dir, 'config.yaml'), cwd: dir });
    const key = YAML.parse(read('config/demo.yaml')).general_settings.master_key;
    for (const model of ['demo-chat', 'gpt-4o-mini']) {
      for (const stream of [false, true]) {
        const r = await chat(gw.base, key, { model, stream, messages: [{ role: 'user', content: 'hello metrics' }], max_tokens: 8 });
        assert.equal(r.status, 200, r.text);
      }
    }
    // A failure too, so the failed-requests series exist (Prometheus omits empty families).
    const bad = await chat(gw.base, key, { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(bad.status, 404, bad.text);
    const m = await get(`${gw.base}/metrics`, { Authorization: `Bearer ${key}` });
    assert.equal(m.status, 200);
    expo = parseExposition(m.text);
  });
  after(async () => {
    if (gw) await gw.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every metric the dashboard queries is exported by the gateway', { skip: bin ? false : SKIP_NO_BIN }, () => {
    const missing = [];
    for (const q of queries) for (const name of metricNames(q.expr)) if (!expo.declared.has(name)) missing.push(`${name} (${q.panel})`);
    assert.deepEqual([...new Set(missing)], [], `not in /metrics: ${[...new Set(missing)].join(', ')}\nexported: ${[...expo.declared].filter((n) => /^(litellm|llmgate)_/.test(n)).join(' ')}`);
  });

  test('every label the dashboard groups or filters by exists on the series it queries', { skip: bin ? false : SKIP_NO_BIN }, () => {
    const problems = [];
    for (const q of queries) {
      const live = metricNames(q.expr).filter((n) => expo.samples.get(n)?.size);
      if (!live.length) continue; // no samples yet (e.g. no failures): names were checked above
      for (const l of [...labelNames(q.expr), ...(q.extraLabels || [])]) {
        if (!live.some((n) => expo.samples.get(n).has(l))) problems.push(`${q.panel}: label ${l} not on ${live.join(', ')}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
