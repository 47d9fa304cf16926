// The container image, proved without a Docker engine: the Dockerfile builds with the same
// scripts CI runs (a shared script, not a copy), the runtime stage carries exactly the
// libraries the built binary links, the image runs as non-root in group 0, and its
// HEALTHCHECK script works against a live gateway.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import path from 'node:path';
import { rel, read, llmgateBin, SKIP_NO_BIN, startGateway, freePort, mkTmp } from './support/common.mjs';

// Minimal Dockerfile reader: continuation lines joined, comments dropped, split into stages.
function parseDockerfile(text) {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = [];
  const args = {};
  for (const l of lines) {
    const [, ins, rest] = l.match(/^(\w+)\s+(.*)$/) || [];
    if (!ins) continue;
    const I = ins.toUpperCase();
    if (I === 'FROM') { const m = rest.match(/^(\S+)(?:\s+AS\s+(\S+))?/i); stages.push({ image: m[1], name: m[2], ins: [] }); continue; }
    if (I === 'ARG') { const m = rest.match(/^(\w+)="?([^"]*)"?$/); if (m) args[m[1]] = m[2]; }
    stages.at(-1)?.ins.push({ I, rest });
  }
  return { stages, args };
}
const df = parseDockerfile(read('Dockerfile'));
const build = df.stages[0];
const runtime = df.stages.at(-1);
const runs = (st) => st.ins.filter((i) => i.I === 'RUN').map((i) => i.rest).join('\n');
const one = (st, I) => st.ins.filter((i) => i.I === I).map((i) => i.rest);
const RUNTIME_PACKAGES = df.args.RUNTIME_PACKAGES.split(/\s+/).filter(Boolean);
const TOOL_PACKAGES = (df.args.TOOL_PACKAGES || '').split(/\s+/).filter(Boolean);
// In debian:bookworm-slim already (priority required/important, or apt's own dependencies).
const IN_SLIM = new Set(['libc6', 'libgcc-s1', 'libstdc++6', 'zlib1g', 'libzstd1', 'liblzma5', 'libbz2-1.0', 'libcrypt1', 'libselinux1', 'libpcre2-8-0', 'libgmp10', 'libacl1', 'libattr1', 'libsystemd0', 'libudev1', 'libcap2', 'libtinfo6', 'libxxhash0', 'liblz4-1', 'libgcrypt20', 'libgpg-error0']);

describe('Dockerfile', () => {
  test('two stages: Debian 12 build, bookworm-slim runtime', () => {
    assert.equal(df.stages.length, 2);
    assert.equal(build.image, 'debian:bookworm');
    assert.equal(runtime.image, 'debian:bookworm-slim');
    assert.ok(one(runtime, 'COPY').some((c) => c.startsWith(`--from=${build.name} `)), 'runtime copies the binary from the build stage');
  });

  test('the build stage runs the project\'s own scripts (the ones CI runs), not a copy of their steps', () => {
    const r = runs(build);
    assert.match(r, /(^|\s)scripts\/install-deps\.sh(\s|&|$)/, 'install-deps.sh');
    assert.match(r, /(^|\s)scripts\/build\.sh Release(\s|$)/, 'build.sh Release');
    assert.doesNotMatch(r, /apt-get install|cmake |ninja |g\+\+ |npm (ci|install)/, 'no inlined install/build steps');
    // What install-deps.sh reads is in the image before it runs (it runs before `COPY . .`):
    // itself, and the dashboard's npm manifest + lockfile (CMake embeds ui/node_modules/uplot).
    const firstRun = build.ins.findIndex((i) => i.I === 'RUN' && /scripts\/install-deps\.sh/.test(i.rest));
    const copiedBefore = build.ins.slice(0, firstRun).filter((i) => i.I === 'COPY').flatMap((i) => i.rest.split(/\s+/).slice(0, -1));
    assert.ok(copiedBefore.includes('scripts/install-deps.sh'));
    if (fs.existsSync(rel('ui/package.json'))) {
      assert.ok(copiedBefore.includes('ui/package.json') && copiedBefore.includes('ui/package-lock.json'), 'ui npm manifest copied before install-deps.sh');
    }
    // ... and CI (.ci/run -> scripts/test.sh) runs the very same two scripts.
    const ci = read('.ci/run');
    assert.match(ci, /scripts\/test\.sh/);
    const t = read('scripts/test.sh');
    assert.match(t, /scripts\/install-deps\.sh/);
    assert.match(t, /scripts\/build\.sh Release/);
    // The install script works unattended as root in a container (no sudo, no prompts).
    const inst = read('scripts/install-deps.sh');
    assert.match(inst, /DEBIAN_FRONTEND=noninteractive/);
    assert.match(inst, /-y/);
    assert.match(inst, /\[ "\$\(id -u\)" = 0 \] \|\| SUDO="sudo"/);
  });

  test('runtime: non-root numeric user in group 0, /app/data group-writable (g=u), port, entrypoint, default config, healthcheck', () => {
    const user = one(runtime, 'USER')[0];
    assert.match(user, /^[1-9]\d*:0$/, 'numeric non-root UID, GID 0 (OpenShift: arbitrary UID, group 0)');
    const r = runs(runtime);
    assert.match(r, /chown \d+:0 \/app\/data/);
    assert.match(r, /chmod g=u \/app\/data/);
    assert.doesNotMatch(r, /chmod[^&]*(777|a\+w|o\+w)/, 'nothing world-writable');
    assert.deepEqual(one(runtime, 'EXPOSE'), ['4000']);
    assert.deepEqual(JSON.parse(one(runtime, 'ENTRYPOINT')[0]), ['llmgate']);
    assert.deepEqual(JSON.parse(one(runtime, 'CMD')[0]), ['--config', '/app/config.yaml']);
    assert.deepEqual(one(runtime, 'WORKDIR'), ['/app']);
    assert.ok(one(runtime, 'COPY').includes('config/demo.yaml /app/config.yaml'));
    const hc = one(runtime, 'HEALTHCHECK')[0];
    assert.match(hc, /CMD \["\/usr\/local\/bin\/llmgate-healthcheck"\]/);
    assert.ok(one(runtime, 'COPY').includes('deploy/docker/healthcheck.sh /usr/local/bin/llmgate-healthcheck'));
    assert.match(r, /rm -rf \/var\/lib\/apt\/lists/, 'apt lists removed (size)');
    assert.match(r, /--no-install-recommends/);
  });

  test('every COPY source exists and survives .dockerignore; the context excludes build output, node_modules and .env', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const ignored = (p) => {
      let out = false;
      for (const pat of ignore) {
        const neg = pat.startsWith('!');
        const g = (neg ? pat.slice(1) : pat).replace(/\/$/, '');
        const body = g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '(.*/)?');
        const re = new RegExp(`^${body}(/.*)?$`);
        if (re.test(p)) out = !neg;
      }
      return out;
    };
    for (const st of df.stages) {
      for (const c of one(st, 'COPY').filter((x) => !x.startsWith('--from'))) {
        const parts = c.split(/\s+/).filter((x) => !x.startsWith('--'));
        for (const src of parts.slice(0, -1)) {
          if (src === '.') continue;
          assert.ok(fs.existsSync(rel(src)), `${src} exists`);
          assert.ok(!ignored(src), `${src} is not excluded by .dockerignore`);
        }
      }
    }
    for (const p of ['build', 'build-foo', 'node_modules', 'tests/e2e/node_modules', '.env', '.git', 'data/llmgate.db']) assert.ok(ignored(p), `${p} excluded`);
    for (const p of ['src', 'include', 'config/demo.yaml', 'scripts/build.sh', 'CMakeLists.txt', 'cmake', 'ui', 'deploy/docker/healthcheck.sh', '.env.template']) assert.ok(!ignored(p), `${p} kept`);
  });

  test('the runtime packages exist in Debian 12', { skip: spawnSync('apt-cache', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'no apt-cache' }, () => {
    const all = [...RUNTIME_PACKAGES, ...TOOL_PACKAGES];
    const r = spawnSync('apt-cache', ['show', '--no-all-versions', ...all], { encoding: 'utf8' });
    const found = new Set([...r.stdout.matchAll(/^Package: (\S+)/gm)].map((m) => m[1]));
    for (const p of all) assert.ok(found.has(p), `apt-cache show ${p}`);
  });

  test('the runtime packages provide every shared library the built binary links (ldd), and nothing unused', { skip: llmgateBin() ? false : SKIP_NO_BIN }, () => {
    const ldd = execFileSync('ldd', [llmgateBin()], { encoding: 'utf8' });
    assert.doesNotMatch(ldd, /not found/, ldd);
    const libs = [...ldd.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]);
    const needed = new Set();
    for (const lib of libs) {
      const real = fs.realpathSync(lib);
      let r = spawnSync('dpkg', ['-S', lib], { encoding: 'utf8' });
      if (r.status !== 0) r = spawnSync('dpkg', ['-S', real], { encoding: 'utf8' });
      assert.equal(r.status, 0, `dpkg -S ${lib}`);
      needed.add(r.stdout.split(':')[0].trim());
    }
    const missing = [...needed].filter((p) => !IN_SLIM.has(p) && !RUNTIME_PACKAGES.includes(p));
    assert.deepEqual(missing, [], `linked but not installed in the runtime stage: ${missing}`);
    const unused = RUNTIME_PACKAGES.filter((p) => p !== 'ca-certificates' && !needed.has(p));
    assert.deepEqual(unused, [], `installed but not linked: ${unused}`);
  });
});

describe('HEALTHCHECK script (deploy/docker/healthcheck.sh)', () => {
  const hc = rel('deploy/docker/healthcheck.sh');
  // Asynchronous: the test's own HTTP server must keep answering while the script runs.
  const runHc = (port) => new Promise((resolve) => {
    const c = spawn(hc, [], { env: { ...process.env, LLMGATE_HEALTHCHECK_PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), 10000);
    c.on('exit', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
  });
  async function serve(status) {
    const s = http.createServer((req, res) => { res.writeHead(req.url === '/health/liveliness' ? status : 404); res.end('x'); });
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    return s;
  }

  test('healthy only on a 200 from /health/liveliness', async () => {
    for (const [status, want] of [[200, 0], [503, 1], [500, 1]]) {
      const s = await serve(status);
      try { assert.equal((await runHc(s.address().port)).status, want, `HTTP ${status}`); } finally { s.close(); }
    }
    assert.equal((await runHc(await freePort())).status, 1, 'nothing listening');
  });

  test('healthy against the real gateway', { skip: llmgateBin() ? false : SKIP_NO_BIN }, async () => {
    const dir = mkTmp();
    fs.mkdirSync(path.join(dir, 'data'));
    const gw = await startGateway({ config: rel('config/demo.yaml'), cwd: dir });
    try {
      const r = await runHc(gw.port);
      assert.equal(r.status, 0, r.stderr);
    } finally { await gw.stop(); fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
