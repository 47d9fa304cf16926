// Dashboard shell: session check, navigation (#/page?query), page lifecycle.
import { loadSession, logout } from './api.js';
import { h, replace, errorBox } from './dom.js';
import { disposeCharts } from './charts.js';
import { parseHash } from './nav.js';
import usage from './pages/usage.js';
import logs from './pages/logs.js';
import models from './pages/models.js';
import keys from './pages/keys.js';
import playground from './pages/playground.js';
import settings from './pages/settings.js';

const PAGES = { usage, logs, models, keys, playground, settings };
const TITLES = { usage: 'Usage', logs: 'Logs', models: 'Models', keys: 'Keys', playground: 'Playground', settings: 'Settings' };

let current = null;  // { name, cleanup }

async function render() {
  const { name, params } = parseHash();
  if (current && current.cleanup) { try { current.cleanup(); } catch { /* ignore */ } }
  disposeCharts();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
  document.title = `${TITLES[name]} · llmgate`;
  const main = document.getElementById('main');
  const root = h('section.page', { id: 'page-' + name, 'data-page': name });
  replace(main, root);
  current = { name, cleanup: null };
  try {
    const cleanup = await PAGES[name](root, params);
    if (current.name === name) current.cleanup = cleanup || null;
  } catch (e) {
    root.appendChild(errorBox(e));
  }
  root.dataset.ready = '1';  // tests wait for this
}

async function main() {
  const s = await loadSession();
  document.getElementById('whoami').textContent = s.username ? `signed in as ${s.username}` : '';
  document.getElementById('logout').addEventListener('click', () => logout());
  window.addEventListener('hashchange', render);
  await render();
}

main().catch(e => replace(document.getElementById('main'), errorBox(e)));
