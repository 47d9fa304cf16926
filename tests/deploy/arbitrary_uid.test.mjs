// OpenShift runs images with an arbitrary UID and GID 0 on a read-only root filesystem. This
// runs the real binary exactly so (setpriv: UID 1000123, GID 0, no supplementary groups), from
// a read-only app directory whose only writable place is the data directory (owned by another
// UID, group 0, g=u as in the image), and checks it serves, writes its SQLite ledger there and
// nowhere else, and drains on SIGTERM the way the Deployment's probes and grace period expect.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { rel, read, llmgateBin, SKIP_NO_BIN, startGateway, chat, get, mkTmp, waitFor, threadsReport } from './support/common.mjs';

const UID = 1000123;
const IMAGE_UID = 1001;
const DRAIN = 2;
const GRACE = 3;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !llmgateBin() ? SKIP_NO_BIN : !isRoot ? 'needs root (to switch to an arbitrary UID)' : !hasSetpriv ? 'needs setpriv (util-linux)' : false;
const hasSqlite = spawnSync('sqlite3', ['-version'], { stdio: 'ignore' }).status === 0;

function tree(dir) {
  const out = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); out.push(path.relative(dir, p)); if (e.isDirectory()) walk(p); } };
  walk(dir);
  return out.sort();
}

describe('arbitrary UID, GID 0, read-only except /app/data', { skip }, () => {
  let root; let app; let data; let gw; let key; let before_;
  before(async () => {
    root = mkTmp();
    fs.chmodSync(root, 0o755);
    // /usr/local/bin/llmgate and /app as in the image: root-owned, read-only for the process.
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(llmgateBin(), path.join(root, 'bin', 'llmgate'));
    fs.chmodSync(path.join(root, 'bin', 'llmgate'), 0o755);
    app = path.join(root, 'app');
    data = path.join(app, 'data');
    fs.mkdirSync(data, { recursive: true });
    fs.chmodSync(app, 0o755);
    const cfg = YAML.parse(read('config/demo.yaml'));
    cfg.general_settings.database_url = `sqlite:///${data}/llmgate.db`;
    cfg.general_settings.proxy_batch_write_at = 0.2;
    cfg.llmgate_settings = { ...(cfg.llmgate_settings || {}), drain_seconds: DRAIN, shutdown_grace_seconds: GRACE };
    key = cfg.general_settings.master_key;
    fs.writeFileSync(path.join(app, 'config.yaml'), YAML.stringify(cfg));
    fs.chmodSync(path.join(app, 'config.yaml'), 0o644);
    // The Dockerfile's: chown 1001:0 /app/data && chmod 0775 (g=u).
    fs.chownSync(data, IMAGE_UID, 0);
    fs.chmodSync(data, 0o775);
    before_ = tree(app).filter((p) => !p.startsWith('data'));
    gw = await startGateway({
      config: path.join(app, 'config.yaml'), cwd: app,
      wrap: ['setpriv', `--reuid=${UID}`, '--regid=0', '--clear-groups', '--inh-caps=-all', '--'],
      env: { HOME: '/' },
    });
    // setpriv execs the daemon: it keeps the pid.
    gw.binPath = path.join(root, 'bin', 'llmgate');
  });
  after(async () => {
    if (gw) { gw.child.kill('SIGKILL'); await gw.exited; }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('the daemon runs as the arbitrary UID with GID 0 and no other groups', () => {
    const status = fs.readFileSync(`/proc/${gw.child.pid}/status`, 'utf8');
    const uid = status.match(/^Uid:\s+(\d+)/m)[1];
    const gid = status.match(/^Gid:\s+(\d+)/m)[1];
    const groups = status.match(/^Groups:[ \t]*(.*)$/m)[1].trim();
    assert.equal(Number(uid), UID);
    assert.equal(Number(gid), 0);
    assert.equal(groups, '');
  });

  test('it serves chat completions (plain and streamed) and the dashboard', async () => {
    let r = await chat(gw.base, key, { model: 'demo-chat', messages: [{ role: 'user', content: 'hi from uid 1000123' }] });
    assert.equal(r.status, 200, r.text);
    assert.ok(JSON.parse(r.text).choices[0].message.content.length > 0);
    r = await chat(gw.base, key, { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] });
    assert.equal(r.status, 200);
    assert.match(r.text, /data: \[DONE\]/);
    const ui = await get(`${gw.base}/ui`);
    assert.ok([200, 302, 303].includes(ui.status), `/ui -> ${ui.status}`);
  });

  test('it writes its SQLite database in the data directory, owned by the arbitrary UID and group 0', async () => {
    const db = path.join(data, 'llmgate.db');
    await waitFor(() => fs.existsSync(db) && fs.statSync(db).size > 0, { what: `${db}` });
    const st = fs.statSync(db);
    assert.equal(st.uid, UID);
    assert.equal(st.gid, 0);
    if (hasSqlite) {
      await waitFor(() => {
        const q = spawnSync('sqlite3', [db, 'SELECT count(*) FROM spend_logs;'], { encoding: 'utf8' });
        return q.status === 0 && Number(q.stdout.trim()) >= 2;
      }, { what: 'two rows in spend_logs' });
    }
  });

  test('it wrote nothing outside the data directory', () => {
    assert.deepEqual(tree(app).filter((p) => !p.startsWith('data')), before_);
    for (const f of fs.readdirSync(data)) {
      const st = fs.statSync(path.join(data, f));
      assert.equal(st.gid, 0, `${f} is group 0 (readable by the next pod's arbitrary UID)`);
    }
  });

  test('SIGTERM: readiness 503 at once while liveness stays 200, then a clean exit within drain + grace', async () => {
    const t0 = Date.now();
    gw.child.kill('SIGTERM');
    await waitFor(async () => (await get(`${gw.base}/health/readiness`)).status === 503, { timeoutMs: 1000, intervalMs: 20, what: 'readiness 503' });
    if (Date.now() - t0 < DRAIN * 1000 - 300) {
      assert.equal((await get(`${gw.base}/health/liveliness`)).status, 200, 'still alive while draining');
    }
    const { code, sig } = await Promise.race([gw.exited, new Promise((r) => setTimeout(() => r({ code: 'timeout' }), (DRAIN + GRACE + 5) * 1000))]);
    // Still running: where its threads are, for the failure message.
    const where = code === 'timeout' ? `\n--- llmgate's threads ---\n${threadsReport(gw.child.pid)}` : '';
    assert.equal(code, 0, `exit ${code} ${sig}\n${gw.output()}${where}`);
    assert.ok(Date.now() - t0 >= (DRAIN - 0.5) * 1000, 'kept serving through the drain window');
  });
});
