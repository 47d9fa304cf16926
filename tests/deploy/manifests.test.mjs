// Kubernetes and OpenShift manifests: every kustomize rendering builds, every object validates
// against the API schemas, and the pieces fit together the way a cluster needs them to
// (selectors, ports, probes, drain timing, restricted security, Secret keys).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { ROOT, rel, read, parseAll, render, byKind, kustomizeCommand, llmgateBin, SKIP_NO_BIN, mkTmp } from './support/common.mjs';
import { validateObject } from './support/validate.mjs';

const RENDERINGS = {
  base: 'deploy/kubernetes/base',
  dev: 'deploy/kubernetes/overlays/dev',
  production: 'deploy/kubernetes/overlays/production',
  openshift: 'deploy/openshift',
};
const NO_KUSTOMIZE = kustomizeCommand() ? false : 'needs kubectl (kubectl kustomize) or kustomize on PATH';
const out = {};

// A throwaway overlay that switches on both optional components, so they are rendered and
// validated too (they are off by default: a ServiceMonitor needs the operator's CRD).
function renderWithComponents(base) {
  const dir = mkTmp('llmgate-kust-');
  fs.writeFileSync(path.join(dir, 'kustomization.yaml'), YAML.stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
    resources: [path.relative(dir, rel(base))],
    components: [path.relative(dir, rel('deploy/kubernetes/components/persistence')), path.relative(dir, rel('deploy/kubernetes/components/servicemonitor'))],
  }));
  try { return render(dir); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
}

const configOf = (objs) => {
  const cms = byKind(objs, 'ConfigMap').filter((c) => c.metadata.name.startsWith('llmgate-config'));
  assert.equal(cms.length, 1, 'exactly one llmgate-config ConfigMap');
  return { cm: cms[0], cfg: YAML.parse(cms[0].data['config.yaml']) };
};
const gateway = (objs) => {
  const d = byKind(objs, 'Deployment', 'llmgate');
  assert.equal(d.length, 1, 'one Deployment llmgate');
  return d[0];
};
const container = (dep) => dep.spec.template.spec.containers.find((c) => c.name === 'llmgate');
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('kustomize renderings', { skip: NO_KUSTOMIZE }, () => {
  before(() => {
    for (const [name, dir] of Object.entries(RENDERINGS)) out[name] = render(rel(dir));
    out['production+components'] = renderWithComponents(RENDERINGS.production);
    out['openshift+persistence'] = (() => {
      const dir = mkTmp('llmgate-kust-');
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), YAML.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
        resources: [path.relative(dir, rel(RENDERINGS.openshift))],
        components: [path.relative(dir, rel('deploy/kubernetes/components/persistence'))],
      }));
      try { return render(dir); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    })();
  });

  test('every rendering builds and holds the expected kinds', () => {
    const kinds = (n) => new Set(out[n].map((o) => o.kind));
    for (const n of Object.keys(out)) for (const k of ['ConfigMap', 'Deployment', 'Service']) assert.ok(kinds(n).has(k), `${n} has a ${k}`);
    for (const k of ['HorizontalPodAutoscaler', 'NetworkPolicy', 'Ingress', 'PodDisruptionBudget']) assert.ok(kinds('production').has(k), `production has ${k}`);
    for (const k of ['Route', 'ImageStream', 'BuildConfig']) assert.ok(kinds('openshift').has(k), `openshift has ${k}`);
    for (const k of ['ServiceMonitor', 'PersistentVolumeClaim']) assert.ok(kinds('production+components').has(k), `components add ${k}`);
    assert.ok(!kinds('production').has('Secret') && !kinds('openshift').has('Secret'), 'no Secret with values is rendered (created from .env)');
  });

  test('every rendered object validates against the Kubernetes / OpenShift API schemas', async () => {
    const problems = [];
    let n = 0;
    for (const [name, objs] of Object.entries(out)) {
      for (const o of objs) {
        try { await validateObject(o); n += 1; } catch (e) { problems.push(`${name}: ${e.message}`); }
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'));
    assert.ok(n >= 20, `validated ${n} objects`);
  });

  test('the validator rejects broken objects (it is not a no-op)', async () => {
    const dep = structuredClone(gateway(out.base));
    container(dep).ports[0].containerPort = 'four thousand';
    await assert.rejects(validateObject(dep), /containerPort/);
    const route = structuredClone(byKind(out.openshift, 'Route')[0]);
    route.spec.tls.terminaton = 'edge';
    await assert.rejects(validateObject(route), /terminaton/);
    const hpa = structuredClone(byKind(out.production, 'HorizontalPodAutoscaler')[0]);
    delete hpa.spec.maxReplicas;
    await assert.rejects(validateObject(hpa), /maxReplicas/);
  });

  test('probes: liveness and startup on /health/liveliness, readiness on /health/readiness, none spends tokens', () => {
    for (const n of Object.keys(out)) {
      const c = container(gateway(out[n]));
      assert.equal(c.livenessProbe.httpGet.path, '/health/liveliness', `${n} liveness`);
      assert.equal(c.readinessProbe.httpGet.path, '/health/readiness', `${n} readiness`);
      assert.equal(c.startupProbe.httpGet.path, '/health/liveliness', `${n} startup`);
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        assert.ok(!/^\/(health)?$|^\/v1\//.test(p.httpGet.path), `${n}: ${p.httpGet.path} would call upstream models`);
        assert.ok(c.ports.some((port) => port.name === p.httpGet.port || port.containerPort === p.httpGet.port), `${n}: probe port ${p.httpGet.port} is a container port`);
      }
    }
  });

  test('terminationGracePeriodSeconds exceeds drain_seconds + shutdown_grace_seconds', () => {
    for (const n of ['base', 'production', 'openshift']) {
      const { cfg } = configOf(out[n]);
      const s = cfg.llmgate_settings;
      const grace = gateway(out[n]).spec.template.spec.terminationGracePeriodSeconds;
      assert.ok(grace > s.drain_seconds + s.shutdown_grace_seconds, `${n}: ${grace} > ${s.drain_seconds} + ${s.shutdown_grace_seconds}`);
    }
  });

  test('restricted security: non-root, no fixed UID (OpenShift assigns one), read-only root, only /app/data and /tmp writable', () => {
    for (const n of Object.keys(out)) {
      const spec = gateway(out[n]).spec.template.spec;
      const c = container(gateway(out[n]));
      const sc = c.securityContext;
      assert.equal(spec.securityContext.runAsNonRoot, true, n);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', n);
      assert.equal(spec.securityContext.runAsUser, undefined, `${n}: a fixed runAsUser breaks OpenShift's restricted-v2 SCC`);
      assert.equal(sc.runAsUser, undefined, n);
      assert.equal(sc.allowPrivilegeEscalation, false, n);
      assert.equal(sc.readOnlyRootFilesystem, true, n);
      assert.deepEqual(sc.capabilities.drop, ['ALL'], n);
      assert.ok(!spec.volumes.some((v) => v.hostPath), `${n}: no hostPath`);
      const writable = c.volumeMounts.filter((m) => !m.readOnly).map((m) => m.mountPath).sort();
      assert.deepEqual(writable, ['/app/data', '/tmp'], `${n} writable mounts`);
      const data = spec.volumes.find((v) => v.name === c.volumeMounts.find((m) => m.mountPath === '/app/data').name);
      const want = n.includes('persistence') || n.includes('components') ? 'persistentVolumeClaim' : 'emptyDir';
      assert.ok(data[want], `${n}: /app/data is ${want}`);
    }
  });

  test('the ConfigMap is mounted at /app/config.yaml and is the one the rendering generates', () => {
    for (const n of ['base', 'production', 'openshift']) {
      const { cm } = configOf(out[n]);
      const dep = gateway(out[n]);
      const mount = container(dep).volumeMounts.find((m) => m.mountPath === '/app/config.yaml');
      assert.ok(mount && mount.readOnly, `${n}: config mounted read-only`);
      const vol = dep.spec.template.spec.volumes.find((v) => v.name === mount.name);
      assert.equal(vol.configMap.name, cm.metadata.name, `${n}: volume refers to the generated ConfigMap (with its hash)`);
      assert.deepEqual(container(dep).args, ['--config', '/app/config.yaml']);
    }
    // dev: the image's built-in demo config instead.
    const dev = gateway(out.dev);
    assert.ok(!container(dev).volumeMounts.some((m) => m.mountPath === '/app/config.yaml'), 'dev uses the image config');
    assert.ok(!dev.spec.template.spec.volumes.some((v) => v.configMap), 'dev mounts no ConfigMap');
    assert.equal(container(dev).envFrom[0].secretRef.optional, true, 'dev runs without a Secret');
  });

  test('Service, Route, Ingress, HPA, PDB, NetworkPolicy and ServiceMonitor point at the gateway', () => {
    for (const n of Object.keys(out)) {
      const dep = gateway(out[n]);
      const labels = dep.spec.template.metadata.labels;
      assert.ok(matches(dep.spec.selector.matchLabels, labels), `${n}: deployment selector matches its pods`);
      const svc = byKind(out[n], 'Service', 'llmgate')[0];
      assert.equal(svc.spec.type, 'ClusterIP');
      assert.ok(matches(svc.spec.selector, labels), `${n}: service selects the pods`);
      assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['http', 4000, 'http']]);
      assert.ok(container(dep).ports.some((p) => p.name === 'http' && p.containerPort === 4000));
    }
    const route = byKind(out.openshift, 'Route', 'llmgate')[0];
    assert.equal(route.spec.to.name, 'llmgate');
    assert.equal(route.spec.port.targetPort, 'http');
    assert.equal(route.spec.tls.termination, 'edge');
    assert.equal(route.spec.tls.insecureEdgeTerminationPolicy, 'Redirect');
    assert.equal(route.spec.path, undefined, 'one route for /ui and the API');
    const t = route.metadata.annotations['haproxy.router.openshift.io/timeout'];
    const secs = Number(t.replace(/[a-z]+$/, '')) * ({ s: 1, m: 60, h: 3600 }[t.match(/[a-z]+$/)?.[0] || 's'] || 0.001);
    assert.ok(secs >= 300, `route timeout ${t} leaves room for long streams`);

    const p = out.production;
    const dep = gateway(p);
    const labels = dep.spec.template.metadata.labels;
    const ing = byKind(p, 'Ingress')[0];
    assert.ok(ing.spec.tls?.length && ing.spec.tls[0].secretName, 'ingress terminates TLS');
    const be = ing.spec.rules[0].http.paths[0].backend.service;
    assert.equal(be.name, 'llmgate'); assert.equal(be.port.name, 'http');
    assert.equal(ing.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering'], 'off', 'SSE streams are not buffered');
    const hpa = byKind(p, 'HorizontalPodAutoscaler')[0];
    assert.equal(hpa.spec.scaleTargetRef.name, 'llmgate');
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    assert.ok(container(dep).resources.requests.cpu, 'CPU requests set (the HPA scales on utilization of requests)');
    assert.ok(matches(byKind(p, 'PodDisruptionBudget')[0].spec.selector.matchLabels, labels));
    const np = byKind(p, 'NetworkPolicy')[0];
    assert.ok(matches(np.spec.podSelector.matchLabels, labels), 'network policy selects the pods');
    assert.deepEqual(np.spec.policyTypes.sort(), ['Egress', 'Ingress']);
    assert.ok(np.spec.ingress.some((r) => r.ports.some((x) => x.port === 4000)), 'ingress to 4000 allowed');
    assert.ok(np.spec.ingress.some((r) => r.from.some((f) => f.podSelector && Object.keys(f.podSelector).length === 0 && !f.namespaceSelector)), 'ingress from the namespace');
    assert.ok(np.spec.egress.some((r) => r.ports.some((x) => x.port === 53 && x.protocol === 'UDP')), 'DNS egress');
    assert.ok(np.spec.egress.some((r) => r.ports.some((x) => x.port === 443) && r.to.some((t2) => t2.ipBlock?.cidr === '0.0.0.0/0')), 'HTTPS egress to providers');
    assert.ok(np.spec.egress.some((r) => r.to.some((t2) => t2.ipBlock?.except?.includes('169.254.0.0/16'))), 'cloud metadata endpoint excluded');
    const sm = byKind(out['production+components'], 'ServiceMonitor')[0];
    assert.ok(matches(sm.spec.selector.matchLabels, byKind(p, 'Service', 'llmgate')[0].metadata.labels), 'ServiceMonitor selects the Service');
    assert.equal(sm.spec.endpoints[0].port, 'http'); assert.equal(sm.spec.endpoints[0].path, '/metrics');
    const ann = dep.spec.template.metadata.annotations;
    assert.equal(ann['prometheus.io/scrape'], 'true'); assert.equal(ann['prometheus.io/port'], '4000');
  });

  test('persistence component: PVC mounted at /app/data, one replica, Recreate', () => {
    for (const n of ['production+components', 'openshift+persistence']) {
      const dep = gateway(out[n]);
      const pvc = byKind(out[n], 'PersistentVolumeClaim')[0];
      const vol = dep.spec.template.spec.volumes.find((v) => v.name === 'data');
      assert.equal(vol.persistentVolumeClaim.claimName, pvc.metadata.name, n);
      assert.equal(vol.emptyDir, undefined, `${n}: emptyDir replaced`);
      assert.equal(dep.spec.strategy.type, 'Recreate', n);
      assert.equal(dep.spec.strategy.rollingUpdate, undefined, n);
      assert.equal(dep.spec.replicas, 1, n);
    }
  });

  test('OpenShift: the Deployment follows the in-cluster build (ImageStream trigger)', () => {
    const dep = gateway(out.openshift);
    assert.equal(container(dep).image, 'llmgate:latest');
    const trig = JSON.parse(dep.metadata.annotations['image.openshift.io/triggers']);
    assert.equal(trig[0].from.name, 'llmgate:latest');
    assert.match(trig[0].fieldPath, /containers\[\?\(@\.name=="llmgate"\)\]\.image/);
    const bc = byKind(out.openshift, 'BuildConfig')[0];
    assert.equal(bc.spec.output.to.name, 'llmgate:latest');
    assert.equal(bc.spec.strategy.dockerStrategy.dockerfilePath, 'Dockerfile');
    assert.ok(fs.existsSync(rel(bc.spec.strategy.dockerStrategy.dockerfilePath)));
    assert.equal(byKind(out.openshift, 'ImageStream')[0].spec.lookupPolicy.local, true);
  });
});

describe('Secret, .env.template and create-secret.sh agree', () => {
  const template = parseAll(read('deploy/kubernetes/base/secret.template.yaml'))[0];
  const envKeys = read('.env.template').split('\n').map((l) => l.match(/^([A-Z_][A-Z0-9_]*)=/)?.[1]).filter(Boolean);

  test('the Secret template validates and names the keys the config reads', async () => {
    await validateObject(template);
    const keys = Object.keys(template.stringData).sort();
    assert.deepEqual(keys, ['LLM_API_BASE', 'LLM_API_KEY', 'LLM_MODEL', 'PROXY_MASTER_KEY']);
    const cfgText = read('deploy/kubernetes/base/config.yaml').replace(/#.*$/gm, '');
    const used = [...cfgText.matchAll(/os\.environ\/([A-Z_][A-Z0-9_]*)|\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1] || m[2]);
    for (const u of used) assert.ok(keys.includes(u), `config reads ${u}, which the Secret provides`);
    for (const k of keys) assert.ok(envKeys.includes(k), `.env.template has ${k}`);
    const dep = parseAll(read('deploy/kubernetes/base/deployment.yaml'))[0];
    assert.equal(container(dep).envFrom[0].secretRef.name, template.metadata.name);
  });

  test('create-secret.sh builds the Secret from an env file and refuses placeholders', { skip: spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0 ? false : 'needs kubectl' }, async () => {
    const dir = mkTmp();
    try {
      const env = path.join(dir, '.env');
      fs.writeFileSync(env, read('.env.template'));
      let r = spawnSync(rel('scripts/create-secret.sh'), [env, '--dry-run'], { encoding: 'utf8', env: { ...process.env, KUBECTL: 'kubectl' } });
      assert.notEqual(r.status, 0, 'placeholders are rejected');
      assert.match(r.stderr, /LLM_API_KEY/);
      fs.writeFileSync(env, read('.env.template')
        .replace('LLM_API_KEY=sk-REPLACE-ME', 'LLM_API_KEY="sk-live key"')
        .replace('PROXY_MASTER_KEY=sk-REPLACE-WITH-A-LONG-RANDOM-KEY', 'PROXY_MASTER_KEY=sk-master-123'));
      r = spawnSync(rel('scripts/create-secret.sh'), [env, '--dry-run', '-n', 'team-a'], { encoding: 'utf8', env: { ...process.env, KUBECTL: 'kubectl' } });
      assert.equal(r.status, 0, r.stderr);
      const s = parseAll(r.stdout)[0];
      await validateObject(s);
      assert.equal(s.metadata.name, 'llmgate-secrets');
      assert.equal(s.metadata.namespace, 'team-a');
      const dec = Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      assert.deepEqual(dec, { LLM_API_BASE: 'https://api.openai.com/v1', LLM_API_KEY: 'sk-live key', LLM_MODEL: 'gpt-4o-mini', PROXY_MASTER_KEY: 'sk-master-123' });
      assert.ok(!r.stdout.includes('sk-live key'), 'values are base64 in the manifest, not echoed');
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('the shipped gateway configs load in the real binary', () => {
  const bin = llmgateBin();
  const check = (file, env) => spawnSync(bin, ['--config', file, '--check-config'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20000 });
  const env = { LLM_API_BASE: 'https://api.example.com/v1', LLM_API_KEY: 'sk-test-key', LLM_MODEL: 'gpt-4o-mini', PROXY_MASTER_KEY: 'sk-master-test' };

  test('deploy/kubernetes/base/config.yaml passes --check-config with the Secret\'s variables', { skip: bin ? false : SKIP_NO_BIN }, () => {
    const r = check(rel('deploy/kubernetes/base/config.yaml'), env);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(!(r.stdout + r.stderr).includes('sk-test-key'), 'the provider key is not printed');
  });
  test('... and fails, naming the variable, when the Secret is missing', { skip: bin ? false : SKIP_NO_BIN }, () => {
    const { LLM_API_KEY, ...rest } = env;
    const e2 = { ...rest }; const saved = process.env.LLM_API_KEY; delete process.env.LLM_API_KEY;
    try {
      const r = check(rel('deploy/kubernetes/base/config.yaml'), e2);
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, /LLM_API_KEY/);
    } finally { if (saved !== undefined) process.env.LLM_API_KEY = saved; }
  });
});
