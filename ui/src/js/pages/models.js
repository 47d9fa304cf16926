// Models: every alias and deployment with health, cooldown and recent traffic; add, edit and
// delete at runtime (LiteLLM /model/new, /model/update, /model/delete; credentials are
// write-only: never read back, never prefilled); a "test" button sending a tiny request.
import { api, attempt } from '../api.js';
import { h, replace, table, badge, unavailable, errorBox } from '../dom.js';
import { num, pct, ms } from '../format.js';

const SECRET_PARAMS = ['api_key', 'azure_ad_token', 'aws_secret_access_key', 'vertex_credentials'];

function healthOf(d, health) {
  if (!health) return null;
  const id = d.model_info && d.model_info.id;
  const base = d.litellm_params && d.litellm_params.api_base;
  const match = e => (id && (e.model_id === id || e.id === id || (e.model_info && e.model_info.id === id))) ||
    ((e.model_name === d.model_name || e.model === d.model_name || e.model === (d.litellm_params && d.litellm_params.model)) && (!base || !e.api_base || e.api_base === base));
  const bad = (health.unhealthy_endpoints || []).find(match);
  if (bad) return { ok: false, entry: bad };
  const good = (health.healthy_endpoints || []).find(match);
  if (good) return { ok: true, entry: good };
  return null;
}

function cooldownOf(d, hs) {
  const objs = [d.model_info || {}, d, hs && hs.entry ? hs.entry : {}];
  for (const o of objs) {
    for (const [k, v] of Object.entries(o)) {
      if (/cooldown/i.test(k) && v) {
        if (typeof v === 'number' && v > 1e9) return v * 1000 > Date.now() ? `until ${new Date(v * 1000).toLocaleTimeString()}` : null;
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
      }
    }
  }
  return null;
}

export default async function models(root) {
  const list = h('div', { id: 'models-table' });
  const formBox = h('div.card', { id: 'model-form-card', hidden: true });
  const addBtn = h('button', { type: 'button', id: 'model-add' }, 'Add model');
  const status = h('p', { id: 'models-status', role: 'status' });
  root.append(h('div.toolbar', null, h('h1', null, 'Models'), h('span.spacer'), addBtn,
    h('button.secondary', { type: 'button', onclick: () => load() }, 'Refresh')), status, formBox, h('div.card', null, list));
  addBtn.addEventListener('click', () => showForm(null));

  async function load() {
    replace(list, h('p.muted', null, 'Loading…'));
    const now = Math.floor(Date.now() / 1000);
    let [info, iErr] = await attempt(() => api('/v2/model/info'));
    if (!info) [info, iErr] = await attempt(() => api('/model/info'));
    const [[health], [summary]] = await Promise.all([
      attempt(() => api('/health')),
      attempt(() => api('/llmgate/api/summary', { params: { start: now - 3600, end: now } })),
    ]);
    if (!info) {
      // Fall back to the OpenAI model list so the page still shows something.
      const [m] = await attempt(() => api('/v1/models'));
      replace(list, unavailable('The model management API', iErr),
        m && m.data ? table([{ key: 'id', label: 'Model' }, { key: 'owned_by', label: 'Owned by' }], m.data) : null);
      addBtn.disabled = true;
      return;
    }
    addBtn.disabled = false;
    const recent = new Map();
    for (const r of (summary && summary.by_model) || []) recent.set(r.model ?? r.model_group ?? r.group, r);
    const rows = (info.data || []).map(d => ({ d, hs: healthOf(d, health), recent: recent.get(d.model_name) }));
    rows.sort((a, b) => String(a.d.model_name).localeCompare(String(b.d.model_name)));
    const testOut = new Map();
    replace(list, table([
      { key: 'model_name', label: 'Alias', fmt: r => h('strong', null, r.d.model_name ?? '') },
      { key: 'id', label: 'Deployment', fmt: r => { const id = (r.d.model_info && r.d.model_info.id) || ''; return h('code', { title: id }, id.length > 18 ? id.slice(0, 8) + '…' + id.slice(-6) : id); } },
      { key: 'model', label: 'Upstream model', fmt: r => (r.d.litellm_params && r.d.litellm_params.model) || '' },
      { key: 'api_base', label: 'API base', cls: 'cell-text', fmt: r => (r.d.litellm_params && r.d.litellm_params.api_base) || '' },
      { key: 'source', label: 'Source', fmt: r => (r.d.model_info && r.d.model_info.db_model ? badge('database') : badge('config')) },
      { key: 'health', label: 'Health', fmt: r => (!health ? badge('n/a') : !r.hs ? badge('unknown') : r.hs.ok ? badge('healthy', 'ok') : h('span', { title: r.hs.entry.error || '' }, badge('unhealthy', 'bad'), r.hs.entry.error ? h('span.muted', null, ' ' + String(r.hs.entry.error).slice(0, 60)) : null)) },
      { key: 'cooldown', label: 'Cooldown', fmt: r => { const c = cooldownOf(r.d, r.hs); return c ? badge('cooling down ' + c, 'warn') : '—'; } },
      { key: 'requests', label: 'Req (1h)', num: true, fmt: r => num(r.recent ? r.recent.requests : 0) },
      { key: 'err', label: 'Err % (1h)', num: true, fmt: r => (r.recent ? pct(r.recent.error_rate ?? (r.recent.requests ? (r.recent.errors || 0) / r.recent.requests : null)) : '—') },
      { key: 'p50', label: 'p50 (1h)', num: true, fmt: r => (r.recent ? ms(r.recent.p50_ms) : '—') },
      { key: 'actions', label: '', fmt: r => actions(r.d, testOut) },
      { key: 'test', label: 'Test result', cls: 'cell-text', fmt: r => { const o = h('span.test-result', { 'data-model': r.d.model_name }); testOut.set(r.d, o); return o; } },
    ], rows, { empty: 'No models configured.', rowAttrs: r => ({ 'data-model': r.d.model_name, 'data-deployment': (r.d.model_info && r.d.model_info.id) || '' }) }));
    if (!health) list.prepend(h('p.muted', null, 'Health checks are not available; health shows n/a.'));
  }

  function actions(d, testOut) {
    const id = d.model_info && d.model_info.id;
    const test = h('button.small.secondary', { type: 'button', 'data-action': 'test' }, 'Test');
    test.addEventListener('click', async () => {
      const out = testOut.get(d);
      out.className = 'test-result muted';
      out.textContent = 'testing…';
      const t0 = performance.now();
      const [res, err] = await attempt(() => api('/v1/chat/completions', { method: 'POST', body: { model: d.model_name, messages: [{ role: 'user', content: 'Reply with one word: ping' }], max_tokens: 8, stream: false } }));
      const dt = Math.round(performance.now() - t0);
      if (res) {
        const text = res.choices && res.choices[0] && res.choices[0].message ? res.choices[0].message.content : JSON.stringify(res);
        out.className = 'test-result ok';
        out.textContent = `OK in ${dt} ms: ${text}`;
      } else {
        out.className = 'test-result error';
        out.textContent = `Failed (${err.status || 'network'}) in ${dt} ms: ${err.message}`;
      }
    });
    const edit = h('button.small.secondary', { type: 'button', 'data-action': 'edit', onclick: () => showForm(d) }, 'Edit');
    const del = h('button.small.danger', { type: 'button', 'data-action': 'delete' }, 'Delete');
    let armed = false;
    del.addEventListener('click', async () => {
      if (!armed) { armed = true; del.textContent = 'Confirm delete'; setTimeout(() => { armed = false; del.textContent = 'Delete'; }, 4000); return; }
      del.disabled = true;
      const [, err] = await attempt(() => api('/model/delete', { method: 'POST', body: { id } }));
      if (err) { status.className = 'error'; status.textContent = `Delete failed: ${err.message}`; del.disabled = false; return; }
      status.className = 'ok'; status.textContent = `Deleted deployment ${id}.`;
      load();
    });
    return h('span', null, test, ' ', edit, ' ', id ? del : null);
  }

  function showForm(d) {
    const p = (d && d.litellm_params) || {};
    const mi = (d && d.model_info) || {};
    const known = new Set(['model', 'api_base', 'api_version', 'rpm', 'tpm', 'timeout', ...SECRET_PARAMS]);
    const extra = {};
    for (const [k, v] of Object.entries(p)) if (!known.has(k)) extra[k] = v;
    const extraInfo = {};
    for (const [k, v] of Object.entries(mi)) if (!['id', 'db_model'].includes(k)) extraInfo[k] = v;
    const f = {
      model_name: h('input', { name: 'model_name', required: true, value: d ? d.model_name : '', placeholder: 'alias clients ask for, e.g. gpt-4o' }),
      model: h('input', { name: 'model', required: true, value: p.model || '', placeholder: 'provider/model, e.g. openai/gpt-4o or mock/echo' }),
      api_base: h('input', { name: 'api_base', value: p.api_base || '', placeholder: 'https://api.example.com/v1' }),
      api_key: h('input', { name: 'api_key', type: 'password', autocomplete: 'new-password', placeholder: d ? 'unchanged (write-only)' : 'optional, write-only' }),
      api_version: h('input', { name: 'api_version', value: p.api_version || '', placeholder: 'azure only' }),
      rpm: h('input', { name: 'rpm', type: 'number', min: 0, value: p.rpm ?? '' }),
      tpm: h('input', { name: 'tpm', type: 'number', min: 0, value: p.tpm ?? '' }),
      timeout: h('input', { name: 'timeout', type: 'number', min: 0, step: 'any', value: p.timeout ?? '' }),
      extra: h('textarea', { name: 'extra', rows: 3 }, Object.keys(extra).length ? JSON.stringify(extra, null, 2) : ''),
      info: h('textarea', { name: 'model_info', rows: 3 }, Object.keys(extraInfo).length ? JSON.stringify(extraInfo, null, 2) : ''),
    };
    const err = h('p.error', { role: 'alert' });
    const save = h('button', { type: 'submit' }, d ? 'Save changes' : 'Add model');
    const cancel = h('button.secondary', { type: 'button', onclick: () => { formBox.hidden = true; } }, 'Cancel');
    const form = h('form.stack', { id: 'model-form' },
      h('label', null, 'Model name (alias)', f.model_name), h('label', null, 'litellm_params.model', f.model),
      h('label', null, 'api_base', f.api_base), h('label', null, 'api_key', f.api_key),
      h('label', null, 'api_version', f.api_version), h('label', null, 'rpm', f.rpm), h('label', null, 'tpm', f.tpm),
      h('label', null, 'timeout (s)', f.timeout),
      h('label.wide', null, 'Other litellm_params (JSON object)', f.extra),
      h('label.wide', null, 'model_info (JSON object, e.g. input_cost_per_token)', f.info),
      h('div.wide', null, save, ' ', cancel), err);
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      err.textContent = '';
      const params = {};
      let info = {};
      try {
        if (f.extra.value.trim()) Object.assign(params, JSON.parse(f.extra.value));
        if (f.info.value.trim()) info = JSON.parse(f.info.value);
      } catch (e) { err.textContent = 'Invalid JSON: ' + e.message; return; }
      if (typeof params !== 'object' || Array.isArray(params) || typeof info !== 'object' || Array.isArray(info)) { err.textContent = 'JSON fields must be objects.'; return; }
      params.model = f.model.value.trim();
      const base = f.api_base.value.trim();
      if (base) {
        if (!/^https?:\/\/[^\s/]+/i.test(base)) { err.textContent = 'api_base must be an http:// or https:// URL.'; return; }
        params.api_base = base;
      }
      if (f.api_key.value) params.api_key = f.api_key.value;  // write-only: sent only when typed
      if (f.api_version.value.trim()) params.api_version = f.api_version.value.trim();
      for (const k of ['rpm', 'tpm', 'timeout']) if (f[k].value !== '') params[k] = Number(f[k].value);
      if (d && mi.id) info.id = mi.id;
      const body = { model_name: f.model_name.value.trim(), litellm_params: params, model_info: info };
      save.disabled = true;
      const [, e] = await attempt(() => api(d ? '/model/update' : '/model/new', { method: 'POST', body }));
      save.disabled = false;
      f.api_key.value = '';
      if (e) { err.textContent = (e.notAvailable ? 'Model management is not available: ' : 'Rejected: ') + e.message; return; }
      formBox.hidden = true;
      status.className = 'ok';
      status.textContent = d ? `Updated ${body.model_name}.` : `Added ${body.model_name}.`;
      load();
    });
    replace(formBox, h('h2', null, d ? `Edit ${d.model_name}` : 'Add a model'),
      h('p.muted', null, 'Stored in the database (store_model_in_db). Credentials are write-only: they are never shown again.'), form);
    formBox.hidden = false;
    f.model_name.focus();
  }

  await load();
}
