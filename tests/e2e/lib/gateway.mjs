// Helpers for the SDK end-to-end tests: the real llmgate binary and the project's fake upstream
// (llmgate-fake-upstream) on loopback, with a temp config and database.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = process.env.LLMGATE_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_DIR = process.env.LLMGATE_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const LLMGATE_BIN = process.env.LLMGATE_BIN || path.join(BUILD_DIR, 'llmgate');
export const FAKE_BIN = process.env.FAKE_UPSTREAM_BIN || path.join(BUILD_DIR, 'tests', 'llmgate-fake-upstream');
export const MASTER_KEY = 'sk-e2e-master-key-0123456789';

// Starts `cmd args`, resolves when a stdout line matches `re` (returns the match and the child).
function startAndWait(cmd, args, re, what, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${what} did not start:\n${out}`)); }, 20000);
    const onData = d => {
      out += d;
      const m = out.match(re);
      if (m) { clearTimeout(timer); resolve({ child, match: m, output: () => out }); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', d => { out += d; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${out}`)); });
  });
}

export async function startFakeUpstream(args = []) {
  const { child, match } = await startAndWait(FAKE_BIN, ['--host', '127.0.0.1', '--port', '0', ...args],
    /listening on (\d+)/, 'fake upstream');
  const port = Number(match[1]);
  return { port, base: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

// `yaml` is the whole config; a temp dir is the working directory (database under ./data).
export async function startGateway(yaml) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-e2e-'));
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, yaml);
  const env = { ...process.env };
  for (const k of ['LITELLM_MASTER_KEY', 'DATABASE_URL', 'UI_USERNAME', 'UI_PASSWORD']) delete env[k];
  const { child, match, output } = await startAndWait(LLMGATE_BIN,
    ['--config', config, '--host', '127.0.0.1', '--port', '0', '--workers', '2'],
    /listening on http:\/\/127\.0\.0\.1:(\d+)/, 'llmgate', { cwd: dir, env });
  const port = Number(match[1]);
  return {
    port, dir, output,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise(r => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(t);
    },
  };
}
