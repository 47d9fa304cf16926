// The local stack (deploy/compose): the compose file parses, refers only to files that exist,
// wires Prometheus to the gateway and Grafana to Prometheus and the dashboard, and every
// variable it reads is documented in .env.template.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { rel, read } from './support/common.mjs';

const COMPOSE_DIR = rel('deploy/compose');
const composeText = read('deploy/compose/docker-compose.yml');
const compose = YAML.parse(composeText);
// ${VAR:-default} / ${VAR-default} / ${VAR} -> default (or empty), as compose does without .env
const interp = (s) => String(s).replace(/\$\{([A-Z_][A-Z0-9_]*)(:?-([^}]*))?\}/g, (_, v, __, d) => d ?? '');
// "src:target[:mode]" after interpolation (a default may itself contain no colon).
const vol = (v) => { const [source, target, mode] = interp(v).split(':'); return { source, target, mode }; };
const envTemplateKeys = new Set(read('.env.template').split('\n').map((l) => l.match(/^([A-Z_][A-Z0-9_]*)=/)?.[1]).filter(Boolean));

describe('docker-compose.yml', () => {
  test('parses and has the gateway, Prometheus and Grafana', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['grafana', 'llmgate', 'prometheus']);
    for (const [n, s] of Object.entries(compose.services)) assert.ok(s.image || s.build, `${n} has an image`);
    for (const n of ['prometheus', 'grafana']) assert.match(compose.services[n].image, /:v?[0-9][\w.-]*$/, `${n} image is pinned`);
  });

  test('every bind-mounted file and the build context exist', () => {
    for (const [n, s] of Object.entries(compose.services)) {
      for (const v of s.volumes || []) {
        const src = vol(v).source;
        if (!src.startsWith('.') && !src.startsWith('/')) {
          assert.ok(compose.volumes && src in compose.volumes, `${n}: named volume ${src} is declared`);
          continue;
        }
        assert.ok(fs.existsSync(path.resolve(COMPOSE_DIR, src)), `${n}: ${src} exists`);
      }
    }
    const b = compose.services.llmgate.build;
    assert.ok(fs.existsSync(path.resolve(COMPOSE_DIR, b.context, b.dockerfile)), 'Dockerfile in the build context');
  });

  test('the gateway runs like on OpenShift: group 0, read-only root, only /app/data writable, graceful stop', () => {
    const g = compose.services.llmgate;
    assert.match(interp(g.user), /^\d+:0$/);
    assert.equal(g.read_only, true);
    assert.deepEqual(g.cap_drop, ['ALL']);
    const vols = g.volumes.map(vol);
    assert.deepEqual(vols.map((v) => v.target).sort(), ['/app/config.yaml', '/app/data']);
    const cfgVol = vols.find((v) => v.target === '/app/config.yaml');
    assert.equal(cfgVol.mode, 'ro', 'config read-only');
    const cfg = YAML.parse(fs.readFileSync(path.resolve(COMPOSE_DIR, cfgVol.source), 'utf8'));
    assert.ok(cfg.model_list.length > 0, 'default config is the demo');
    const secs = Number(g.stop_grace_period.replace(/s$/, ''));
    assert.ok(secs > 35, `stop_grace_period ${g.stop_grace_period} > drain 5 s + grace 30 s`);
    assert.deepEqual(g.healthcheck.test, ['CMD', '/usr/local/bin/llmgate-healthcheck']);
    assert.match(read('Dockerfile'), /COPY deploy\/docker\/healthcheck\.sh \/usr\/local\/bin\/llmgate-healthcheck/);
    assert.equal(interp(g.ports[0]).split(':')[1], '4000');
  });

  test('Prometheus scrapes the gateway service on its container port', () => {
    const p = YAML.parse(read('deploy/compose/prometheus.yml'));
    const job = p.scrape_configs.find((j) => j.job_name === 'llmgate');
    assert.equal(job.metrics_path, '/metrics');
    const [host, port] = job.static_configs[0].targets[0].split(':');
    assert.ok(host in compose.services, `target host ${host} is a compose service`);
    assert.equal(port, '4000');
    const mount = compose.services.prometheus.volumes.find((v) => v.includes('/etc/prometheus/prometheus.yml'));
    assert.ok(mount.startsWith('./prometheus.yml:'));
  });

  test('Grafana provisioning: datasource points at Prometheus, dashboard provider path is mounted and holds the dashboard', () => {
    const g = compose.services.grafana;
    const ds = YAML.parse(read('deploy/compose/grafana/provisioning/datasources/prometheus.yml')).datasources[0];
    const u = new URL(ds.url);
    assert.ok(u.hostname in compose.services && u.port === '9090');
    const prov = YAML.parse(read('deploy/compose/grafana/provisioning/dashboards/llmgate.yml')).providers[0];
    const mounts = Object.fromEntries(g.volumes.map(vol).map((v) => [v.target, v.source]));
    assert.equal(mounts['/etc/grafana/provisioning'], './grafana/provisioning');
    const src = mounts[prov.options.path];
    assert.ok(src, `provider path ${prov.options.path} is mounted`);
    const files = fs.readdirSync(path.resolve(COMPOSE_DIR, src)).filter((f) => f.endsWith('.json'));
    assert.deepEqual(files, ['llmgate.json']);
    const home = g.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    assert.equal(path.posix.dirname(home), prov.options.path);
    assert.ok(files.includes(path.posix.basename(home)));
  });

  test('every variable the compose file reads is in .env.template', () => {
    const used = [...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]);
    assert.ok(used.length > 5);
    for (const v of used) assert.ok(envTemplateKeys.has(v), `${v} documented in .env.template`);
  });
});
