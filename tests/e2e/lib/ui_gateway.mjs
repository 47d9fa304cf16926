// Helpers for the dashboard browser test: the real llmgate binary on a free loopback port with a
// temp config and database, and Debian's chromium through playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = process.env.LLMGATE_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_DIR = process.env.LLMGATE_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const LLMGATE_BIN = process.env.LLMGATE_BIN || path.join(BUILD_DIR, 'llmgate');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// Why the browser test cannot run here, or null when it can.
export function skipReason() {
  if (!fs.existsSync(LLMGATE_BIN)) return `llmgate binary not built yet (${LLMGATE_BIN}); build it or set LLMGATE_BIN`;
  if (!fs.existsSync(CHROMIUM)) return `chromium not installed (${CHROMIUM}); run scripts/install-deps.sh --test`;
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Polls fn() until it returns a truthy value (an observable condition, never a fixed sleep).
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

// Writes a config (mock models, master key, temp SQLite database) and starts llmgate.
export async function startGateway({ masterKey, models, env = {} }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-ui-'));
  const db = path.join(dir, 'llmgate.db');
  const yaml = ['model_list:'];
  for (const m of models) {
    yaml.push(`  - model_name: ${JSON.stringify(m.name)}`, '    litellm_params:', `      model: ${JSON.stringify(m.model)}`);
    for (const [k, v] of Object.entries(m.params || {})) yaml.push(`      ${k}: ${JSON.stringify(v)}`);
  }
  yaml.push('general_settings:', `  master_key: ${JSON.stringify(masterKey)}`, `  database_url: ${JSON.stringify(db)}`,
    '  proxy_batch_write_at: 0.1', '  store_prompts_in_spend_logs: true', '  store_model_in_db: true');
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, yaml.join('\n') + '\n');
  const port = await freePort();
  const cleanEnv = { ...process.env };
  for (const k of ['UI_USERNAME', 'UI_PASSWORD', 'LITELLM_MASTER_KEY', 'DATABASE_URL']) delete cleanEnv[k];
  const child = spawn(LLMGATE_BIN, ['--config', config, '--host', '127.0.0.1', '--port', String(port), '--workers', '2'],
    { env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', d => { output += d; });
  child.stderr.on('data', d => { output += d; });
  let exitInfo = null;
  const exited = new Promise(r => child.once('exit', (code, sig) => { exitInfo = { code, sig }; r(exitInfo); }));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (exitInfo) throw new Error(`llmgate exited ${JSON.stringify(exitInfo)}`);
      const r = await fetch(base + '/health/liveliness').catch(() => null);
      return r && r.status === 200;
    }, { timeoutMs: 20000, what: `llmgate on ${base}` });
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n--- llmgate output ---\n${output}`);
  }
  return {
    base, dir, db, config, child,
    output: () => output,
    async stop() {
      if (!exitInfo) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function screenshotDir() {
  const d = path.join(BUILD_DIR, 'screenshots');
  fs.mkdirSync(d, { recursive: true });
  return d;
}
