// Shared helpers for the deploy tests: repository paths, kustomize rendering, YAML loading,
// and running the real llmgate binary on a free loopback port.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const ROOT = process.env.LLMGATE_SOURCE_DIR
  || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const rel = (...p) => path.join(ROOT, ...p);
export const read = (...p) => fs.readFileSync(rel(...p), 'utf8');

// ---- YAML ----
export function parseAll(text, where = '<yaml>') {
  const docs = YAML.parseAllDocuments(text);
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${where}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

// ---- kustomize ----
// kubectl's built-in kustomize (v5 here), or a standalone kustomize binary.
export function kustomizeCommand() {
  for (const [bin, args] of [['kubectl', ['kustomize']], ['kustomize', ['build']], ['oc', ['kustomize']]]) {
    const r = spawnSync(bin, [...args, '--help'], { stdio: 'ignore' });
    if (r.status === 0) return [bin, args];
  }
  return null;
}
export function render(dir) {
  const k = kustomizeCommand();
  if (!k) throw new Error('no kustomize (kubectl kustomize / kustomize build) on PATH');
  const out = execFileSync(k[0], [...k[1], dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAll(out, `kustomize ${dir}`);
}
export const byKind = (objs, kind, name) => objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));

// ---- the binary ----
// $LLMGATE_BIN (set by CTest) when given, else ./build/llmgate; null when not built.
export function llmgateBin() {
  const p = process.env.LLMGATE_BIN || rel('build', 'llmgate');
  return fs.existsSync(p) ? p : null;
}
export const SKIP_NO_BIN = 'build/llmgate is not built (scripts/build.sh Release, or set LLMGATE_BIN)';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Polls fn() until it returns a truthy value or the deadline passes. Used to wait for a
// server to come up or a file to appear: an observable condition, never a fixed sleep.
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function get(url, headers = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(10000) });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

// Starts llmgate with `config` (a path) on a free port. `wrap` prefixes the command (e.g.
// setpriv ...). Resolves once /health/liveliness answers 200; rejects with the process output
// if it exits first.
// Where each thread of a live process is, for a test that waited for it in vain: name, state,
// kernel wait channel, the system call it is in (/proc/<pid>/task/<tid>/syscall: number and
// arguments), and the kernel stack where readable (root).
export function threadsReport(pid) {
  const rd = (f) => { try { return fs.readFileSync(f, 'utf8').trim(); } catch { return '?'; } };
  let tids = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return `process ${pid} is gone`; }
  return tids.map((t) => {
    const d = `/proc/${pid}/task/${t}`;
    const state = (rd(`${d}/stat`).split(') ')[1] || '?').split(' ')[0];
    const stack = rd(`${d}/stack`).split('\n').slice(0, 6).map((l) => `    ${l}`).join('\n');
    return `  ${t} ${rd(`${d}/comm`)} state=${state} wchan=${rd(`${d}/wchan`)} syscall=${rd(`${d}/syscall`)}\n${stack}`;
  }).join('\n');
}

export async function startGateway({ config, env = {}, cwd, wrap = [], extraArgs = [] }) {
  const bin = llmgateBin();
  const port = await freePort();
  const argv = [...wrap, bin, '--config', config, '--host', '127.0.0.1', '--port', String(port), ...extraArgs];
  const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  let exitInfo = null;
  exited.then((e) => { exitInfo = e; });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (exitInfo) throw new Error(`llmgate exited (${JSON.stringify(exitInfo)}) before serving:\n${output}`);
      const r = await get(`${base}/health/liveliness`).catch(() => null);
      return r && r.status === 200;
    }, { timeoutMs: 20000, what: `llmgate on ${base}` });
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n--- llmgate output ---\n${output}`);
  }
  return {
    base, port, child, exited,
    output: () => output,
    async stop(signal = 'SIGTERM') { if (!exitInfo) child.kill(signal); return exited; },
  };
}

export async function chat(base, key, body) {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body), signal: AbortSignal.timeout(30000),
  });
  return { status: r.status, text: await r.text() };
}

export function mkTmp(prefix = 'llmgate-deploy-') {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', prefix));
}
