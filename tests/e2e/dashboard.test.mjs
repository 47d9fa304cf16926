// The admin dashboard (/ui) in a real browser (Debian chromium via playwright-core) against the
// real llmgate binary, with traffic sent by the official openai SDK. Screenshots of every page go
// to $LLMGATE_BUILD_DIR/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import OpenAI from 'openai';
import { skipReason, startGateway, launchBrowser, screenshotDir, waitFor } from './lib/ui_gateway.mjs';

const SKIP = skipReason();
if (SKIP) console.log(`# SKIP dashboard browser test: ${SKIP}`);

const MASTER = 'sk-e2e-master-' + Math.random().toString(36).slice(2);
// Untrusted text that would run script if rendered as HTML anywhere.
const XSS = 'xsscanary <script>window.__xss=1;alert("script")</script> </textarea><img src=x onerror="window.__xss=2;alert(\'img\')"> <b>bold?</b>';
const XSS_ALIAS = '<img src=x onerror="window.__xss=3;alert(\'alias\')">';

describe('dashboard', { skip: SKIP || false, timeout: 240000 }, () => {
  let gw, browser, context, page, shots, sdk;
  const dialogs = [];
  const pageErrors = [];

  async function shot(name) {
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  }
  async function openPage(name) {
    const target = `${gw.base}/ui/#/${name}`;
    if (page.url() === target) await page.reload();  // same hash: goto would not re-render
    else await page.goto(target);
    await page.waitForSelector(`#page-${name}[data-ready="1"]`, { timeout: 15000 });
  }
  async function sessionCookie() {
    const c = (await context.cookies(gw.base)).find(x => x.name === 'llmgate_session');
    return c ? c.value : null;
  }
  async function ledgerCount(params = {}) {
    const q = new URLSearchParams({ limit: '200', ...params });
    const r = await fetch(`${gw.base}/llmgate/api/logs?${q}`, { headers: { Authorization: `Bearer ${MASTER}` } });
    if (r.status !== 200) return 0;
    return ((await r.json()).data || []).length;
  }

  before(async () => {
    gw = await startGateway({
      masterKey: MASTER,
      models: [
        { name: 'mock-a', model: 'mock/alpha', params: { input_cost_per_token: 0.000002, output_cost_per_token: 0.000008 } },
        { name: 'mock-b', model: 'mock/beta', params: { mock_latency_ms: 5, input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 } },
      ],
    });
    const probe = await fetch(`${gw.base}/ui/login`);
    if (probe.status === 404) {
      await gw.stop();
      gw = null;
      throw new Error('GET /ui/login is 404: the daemon does not serve the dashboard; src/main.cpp must call ' +
        'register_ui_routes(routes) and set app.ui_sessions = make_ui_sessions(cfg) (include/llmgate/ui.hpp)');
    }
    shots = screenshotDir();
    sdk = new OpenAI({ apiKey: MASTER, baseURL: `${gw.base}/v1`, maxRetries: 0, timeout: 20000 });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('dialog', d => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on('pageerror', e => pageErrors.push(e.message));
  });

  after(async () => {
    if (gw && gw.child.exitCode !== null) console.log(`# llmgate exited early (${gw.child.exitCode}):\n${gw.output().slice(-6000)}`);
    if (browser) await browser.close();
    if (gw) await gw.stop();
  });

  test('every dashboard response carries the CSP and nosniff; no unsafe-inline', async () => {
    for (const p of ['/ui/login', '/ui/js/app.js', '/ui/app.css', '/ui/api/session']) {
      const r = await fetch(gw.base + p, { redirect: 'manual' });
      const csp = r.headers.get('content-security-policy') || '';
      assert.match(csp, /default-src 'self'/, p);
      assert.match(csp, /frame-ancestors 'none'/, p);
      assert.doesNotMatch(csp, /unsafe-inline/, p);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    }
    const root = await fetch(gw.base + '/ui/', { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/ui/login');
  });

  test('login: wrong password refused, master key accepted; the key never reaches the page', async () => {
    await page.goto(`${gw.base}/ui/`);
    await page.waitForURL('**/ui/login');
    await page.fill('#username', 'admin');
    await page.fill('#password', 'not-the-key');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(await page.textContent('#login-error'), /invalid/i);
    assert.equal(await sessionCookie(), null);

    await page.fill('#password', MASTER);
    await page.click('#login-submit');
    await page.waitForSelector('#page-usage[data-ready="1"]');
    const cookie = (await context.cookies(gw.base)).find(x => x.name === 'llmgate_session');
    assert.ok(cookie, 'session cookie set');
    assert.ok(cookie.value.length >= 32, 'at least 128 bits');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(MASTER));
    const leaks = await page.evaluate(key => ({
      html: document.documentElement.outerHTML.includes(key),
      cookie: document.cookie.includes('llmgate_session') || document.cookie.includes(key),
      storage: JSON.stringify({ ...localStorage }).includes(key) || JSON.stringify({ ...sessionStorage }).includes(key),
      storageEmpty: localStorage.length === 0 && sessionStorage.length === 0,
    }), MASTER);
    assert.deepEqual(leaks, { html: false, cookie: false, storage: false, storageEmpty: true });
  });

  test('traffic from the openai SDK shows up on the Usage page as charts and totals', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await sdk.chat.completions.create({ model: 'mock-a', messages: [{ role: 'user', content: `alpha request ${i}` }] });
      assert.ok(r.choices[0].message.content.length > 0);
    }
    await sdk.chat.completions.create({ model: 'mock-b', messages: [{ role: 'user', content: 'beta needle-7731 please' }] });
    const stream = await sdk.chat.completions.create({ model: 'mock-b', stream: true, messages: [{ role: 'user', content: 'streamed beta' }] });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content || '';
    assert.ok(streamed.length > 0);
    await sdk.chat.completions.create({ model: 'mock-a', messages: [{ role: 'user', content: XSS }] });
    await assert.rejects(sdk.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }));
    await waitFor(async () => (await ledgerCount()) >= 6, { what: 'the ledger to record the requests' });

    await openPage('usage');
    const requests = Number((await page.textContent('#usage-totals [data-stat="requests"] .value')).replace(/,/g, ''));
    assert.ok(requests >= 6, `requests total ${requests}`);
    assert.match(await page.textContent('#usage-totals [data-stat="cost"] .value'), /^\$0\.0\d*[1-9]/);  // priced mock models
    await page.waitForSelector('#chart-cost canvas');
    // Real charts: uPlot draws on a canvas.
    await page.waitForSelector('#chart-requests canvas');
    await page.waitForSelector('#chart-latency canvas');
    await page.waitForSelector('#chart-by-model canvas');
    const legend = await page.textContent('[data-chart="by-model"]');
    assert.match(legend, /mock-a/);
    assert.match(legend, /mock-b/);
    const byModel = await page.textContent('#usage-by-model');
    assert.match(byModel, /mock-a/);
    await shot('usage');
  });

  test('logs: newest first, filter by model and by text, open a full record', async () => {
    await openPage('logs');
    await page.waitForSelector('#logs-results tr[data-request-id]');
    const all = await page.$$('#logs-results tr[data-request-id]');
    assert.ok(all.length >= 6, `${all.length} rows: ${await page.textContent('#logs-results')}`);
    await shot('logs');

    await page.fill('#logs-filters input[name="model"]', 'mock-b');
    await page.click('#logs-filters button[type="submit"]');
    await waitFor(async () => {
      const models = await page.$$eval('#logs-results tr[data-request-id] td:nth-child(2)', tds => tds.map(t => t.textContent));
      return models.length === 2 && models.every(m => m === 'mock-b');
    }, { what: 'the model filter' });

    await page.fill('#logs-filters input[name="model"]', '');
    await page.fill('#logs-filters input[name="q"]', 'needle-7731');
    await page.click('#logs-filters button[type="submit"]');
    await waitFor(async () => (await page.$$('#logs-results tr[data-request-id]')).length === 1, { what: 'the text filter' });
    await page.click('#logs-results tr[data-request-id]');
    await page.waitForSelector('#log-detail pre.json');
    const detail = await page.textContent('#log-detail');
    assert.match(detail, /needle-7731/);
    assert.match(detail, /"messages"/);          // pretty-printed request JSON
    assert.match(detail, /Total tokens/);
    assert.match(detail, /mock-b/);
    await shot('log-record');
    await page.click('#log-detail button.close');
    await page.waitForSelector('#log-detail', { state: 'hidden' });
  });

  test('XSS: prompts with <script>, <img onerror> and </textarea> are shown as literal text', async () => {
    await page.fill('#logs-filters input[name="q"]', 'xsscanary');
    await page.click('#logs-filters button[type="submit"]');
    await waitFor(async () => (await page.$$('#logs-results tr[data-request-id]')).length === 1, { what: 'the xss row' });
    await page.click('#logs-results tr[data-request-id]');
    await page.waitForSelector('#log-detail pre.json');
    const text = await page.textContent('#log-detail');
    assert.ok(text.includes('<script>window.__xss=1;alert(\\"script\\")</script>'), 'script tag shown literally');
    assert.ok(text.includes('</textarea><img src=x onerror='), 'img/textarea shown literally');
    const state = await page.evaluate(() => ({ xss: window.__xss, imgs: document.querySelectorAll('img[src="x"]').length, scripts: [...document.scripts].filter(s => !s.src).length, bold: document.querySelectorAll('#log-detail b').length }));
    assert.deepEqual(state, { xss: undefined, imgs: 0, scripts: 0, bold: 0 });
    assert.deepEqual(dialogs, []);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#log-detail', { state: 'hidden' });
  });

  let key;
  test('keys: create (shown once), use it from the SDK, block -> 401, unblock', async () => {
    await openPage('keys');
    await page.fill('#key-form input[name="key_alias"]', 'e2e-key');
    await page.fill('#key-form input[name="max_budget"]', '5');
    await page.click('#key-create');
    await page.waitForSelector('#new-key');
    key = await page.inputValue('#new-key');
    assert.match(key, /^sk-/);
    await page.waitForSelector('#keys-table tr[data-key-alias="e2e-key"]');
    await shot('keys');

    const client = new OpenAI({ apiKey: key, baseURL: `${gw.base}/v1`, maxRetries: 0, timeout: 20000 });
    const ok = await client.chat.completions.create({ model: 'mock-a', messages: [{ role: 'user', content: 'from a virtual key' }] });
    assert.ok(ok.choices[0].message.content.length > 0);

    // After a reload the key is not shown again.
    await openPage('keys');
    assert.equal(await page.$('#new-key'), null);
    assert.ok(!(await page.content()).includes(key), 'the raw key is not on the page any more');

    await page.click('#keys-table tr[data-key-alias="e2e-key"] button[data-action="block"]');
    await page.waitForSelector('#keys-table tr[data-key-alias="e2e-key"] button[data-action="unblock"]');
    assert.match(await page.textContent('#keys-table tr[data-key-alias="e2e-key"]'), /blocked/);
    await assert.rejects(
      client.chat.completions.create({ model: 'mock-a', messages: [{ role: 'user', content: 'blocked?' }] }),
      e => e instanceof OpenAI.AuthenticationError && e.status === 401);

    await page.click('#keys-table tr[data-key-alias="e2e-key"] button[data-action="unblock"]');
    await page.waitForSelector('#keys-table tr[data-key-alias="e2e-key"] button[data-action="block"]');
    const again = await client.chat.completions.create({ model: 'mock-a', messages: [{ role: 'user', content: 'unblocked' }] });
    assert.ok(again.choices[0].message.content.length > 0);
  });

  test('keys: an alias with markup is rendered as text', async () => {
    const r = await fetch(`${gw.base}/key/generate`, { method: 'POST', headers: { Authorization: `Bearer ${MASTER}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ key_alias: XSS_ALIAS }) });
    assert.equal(r.status, 200);
    await openPage('keys');
    await page.waitForSelector('#keys-table tr[data-token]');
    assert.ok((await page.textContent('#keys-table')).includes(XSS_ALIAS));
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(dialogs, []);
  });

  test('models: add a model at runtime, test it, use it from the SDK', async () => {
    await openPage('models');
    await page.waitForSelector('#models-table tr[data-model="mock-a"]');
    await page.click('#model-add');
    await page.fill('#model-form input[name="model_name"]', 'runtime-e2e');
    await page.fill('#model-form input[name="model"]', 'openai/gpt-x');
    await page.fill('#model-form input[name="api_base"]', 'ftp://example.com');
    await page.click('#model-form button[type="submit"]');
    assert.match(await page.textContent('#model-form .error'), /http/);   // validated before sending

    await page.fill('#model-form input[name="model"]', 'mock/runtime');
    await page.fill('#model-form input[name="api_base"]', '');
    await page.click('#model-form button[type="submit"]');
    await waitFor(async () => {
      const err = await page.$eval('#model-form .error', e => e.textContent).catch(() => '');
      if (err) throw new Error(`the gateway refused the model: ${err}`);
      return page.$('#models-table tr[data-model="runtime-e2e"]');
    }, { what: 'the new model in the table' });
    await page.click('#models-table tr[data-model="runtime-e2e"] button[data-action="test"]');
    await waitFor(async () => /OK in/.test(await page.textContent('#models-table tr[data-model="runtime-e2e"] .test-result')), { what: 'the test button' });
    await shot('models');

    const r = await sdk.chat.completions.create({ model: 'runtime-e2e', messages: [{ role: 'user', content: 'hello runtime' }] });
    assert.ok(r.choices[0].message.content.length > 0);

    // Edit: the form never shows a stored credential; saving keeps the model working.
    await page.click('#models-table tr[data-model="runtime-e2e"] button[data-action="edit"]');
    assert.equal(await page.inputValue('#model-form input[name="model_name"]'), 'runtime-e2e');
    assert.equal(await page.inputValue('#model-form input[name="api_key"]'), '');
    await page.fill('#model-form input[name="rpm"]', '500');
    await page.click('#model-form button[type="submit"]');
    await waitFor(async () => /Updated runtime-e2e/.test(await page.textContent('#models-status')), { what: 'the update' });

    // Delete (two clicks): the alias is gone for clients too.
    await page.click('#models-table tr[data-model="runtime-e2e"] button[data-action="delete"]');
    await page.click('#models-table tr[data-model="runtime-e2e"] button[data-action="delete"]');
    await page.waitForSelector('#models-table tr[data-model="runtime-e2e"]', { state: 'detached' });
    await assert.rejects(sdk.chat.completions.create({ model: 'runtime-e2e', messages: [{ role: 'user', content: 'gone?' }] }),
      e => e.status === 404 || e.status === 400);
  });

  test('playground streams a reply', async () => {
    await openPage('playground');
    await page.waitForSelector('#pg-model option[value="mock-b"]', { state: 'attached' });
    await page.selectOption('#pg-model', 'mock-b');
    await page.fill('#pg-prompt', 'playground says </textarea><img src=x onerror="window.__xss=4">');
    await page.click('#pg-send');
    await waitFor(async () => /done in/.test(await page.textContent('#pg-meta')), { what: 'the streamed reply' });
    const out = await page.textContent('#pg-output');
    assert.match(out, /assistant/);
    assert.ok(out.includes('</textarea><img src=x'), 'the prompt is shown literally');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await shot('playground');

    // With a pasted virtual key instead of the session.
    await page.fill('#pg-key', key);
    await page.fill('#pg-prompt', 'via the virtual key');
    await page.click('#pg-send');
    await waitFor(async () => (await page.$$('#pg-output .chat-msg[data-role="assistant"]')).length === 2 && /done in/.test(await page.textContent('#pg-meta')), { what: 'the keyed reply' });
    assert.match(await page.textContent('#pg-output'), /via the virtual key/);
  });

  test('settings shows the database, version and the masked config', async () => {
    await openPage('settings');
    const text = await page.textContent('#page-settings');
    assert.ok(text.includes(gw.db), 'database path shown');
    assert.ok(!text.includes(MASTER), 'master key masked');
    await shot('settings');
  });

  test('cross-origin POST with the session cookie is rejected with 403', async () => {
    const cookie = await sessionCookie();
    const csrf = await page.evaluate(async () => (await (await fetch('/ui/api/session')).json()).csrf_token);
    const before = await (await fetch(`${gw.base}/key/list`, { headers: { Authorization: `Bearer ${MASTER}` } })).json();
    // Straight from an attacker's script engine: the cookie, even the token, but a foreign Origin.
    for (const headers of [{ Origin: 'http://evil.example' }, { Origin: 'http://evil.example', 'X-CSRF-Token': csrf }, { Origin: gw.base }]) {
      const r = await fetch(`${gw.base}/key/generate`, { method: 'POST', headers: { Cookie: `llmgate_session=${cookie}`, 'Content-Type': 'application/json', ...headers }, body: '{"key_alias":"csrf"}' });
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
    // From a real page on another origin (same site: the SameSite=Strict cookie is sent).
    const evil = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><script>fetch(${JSON.stringify(gw.base + '/key/generate')}, {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: '{"key_alias":"csrf-page"}'});</script>`);
    });
    await new Promise(r => evil.listen(0, '127.0.0.1', r));
    try {
      const evilPage = await context.newPage();
      const resp = evilPage.waitForResponse(r => r.url().endsWith('/key/generate'));
      await evilPage.goto(`http://127.0.0.1:${evil.address().port}/`);
      const r = await resp;
      // 403, not 401: the browser did send the session cookie (same site), the Origin gave it away.
      assert.equal(r.status(), 403);
      await evilPage.close();
    } finally {
      evil.close();
    }
    const afterList = await (await fetch(`${gw.base}/key/list`, { headers: { Authorization: `Bearer ${MASTER}` } })).json();
    assert.equal(afterList.total_count ?? afterList.keys.length, before.total_count ?? before.keys.length, 'no key was created');
  });

  test('log out: the old cookie is rejected', async () => {
    const old = await sessionCookie();
    await openPage('usage');
    await page.click('#logout');
    await page.waitForURL('**/ui/login');
    for (const p of ['/ui/api/session', '/llmgate/api/summary']) {
      const r = await fetch(gw.base + p, { headers: { Cookie: `llmgate_session=${old}` } });
      assert.equal(r.status, 401, p);
    }
    const r = await fetch(`${gw.base}/ui/`, { headers: { Cookie: `llmgate_session=${old}` }, redirect: 'manual' });
    assert.equal(r.status, 302);
    await shot('login');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);
  });
});
