// Keys: virtual keys (LiteLLM /key/*): list with spend against budget, create (the new key is
// shown once, with a copy button, and never again), block, unblock, delete.
import { api, attempt } from '../api.js';
import { h, replace, table, badge, unavailable, errorBox } from '../dom.js';
import { num, usd, time } from '../format.js';

const PAGE_SIZE = 50;

function keyObjects(res) {
  const arr = Array.isArray(res) ? res : (res && (res.keys || res.data)) || [];
  return arr.map(k => (typeof k === 'string' ? { token: k } : k));
}

function expiresText(e) {
  if (!e) return 'never';
  const t = typeof e === 'number' ? e * 1000 : Date.parse(e);
  if (Number.isNaN(t)) return String(e);
  return (t < Date.now() ? 'expired ' : '') + time(t / 1000);
}

export default async function keys(root) {
  const status = h('p', { id: 'keys-status', role: 'status' });
  const oneTime = h('div', { id: 'key-created' });
  const list = h('div', { id: 'keys-table' });
  const pager = h('div.pager');
  let page = 1;

  const f = {
    key_alias: h('input', { name: 'key_alias', placeholder: 'e.g. team-search' }),
    max_budget: h('input', { name: 'max_budget', type: 'number', min: 0, step: 'any', placeholder: 'USD, empty = none' }),
    models: h('input', { name: 'models', list: 'keys-models', placeholder: 'comma-separated, empty = all' }),
    rpm_limit: h('input', { name: 'rpm_limit', type: 'number', min: 0 }),
    tpm_limit: h('input', { name: 'tpm_limit', type: 'number', min: 0 }),
    duration: h('input', { name: 'duration', placeholder: 'e.g. 30d, 12h; empty = never expires' }),
  };
  const modelList = h('datalist', { id: 'keys-models' });
  const createErr = h('p.error', { role: 'alert' });
  const createBtn = h('button', { type: 'submit', id: 'key-create' }, 'Create key');
  const form = h('form.stack', { id: 'key-form' },
    h('label', null, 'Alias', f.key_alias), h('label', null, 'Max budget', f.max_budget),
    h('label', null, 'Allowed models', f.models), h('label', null, 'RPM limit', f.rpm_limit),
    h('label', null, 'TPM limit', f.tpm_limit), h('label', null, 'Duration', f.duration),
    h('div', null, createBtn), modelList, createErr);
  root.append(h('h1', null, 'Keys'), h('div.card', null, h('h2', null, 'Create a key'), oneTime, form),
    status, h('div.card', null, list, pager));
  attempt(() => api('/v1/models')).then(([m]) => { for (const x of (m && m.data) || []) modelList.append(h('option', { value: x.id })); });

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    createErr.textContent = '';
    const body = {};
    if (f.key_alias.value.trim()) body.key_alias = f.key_alias.value.trim();
    if (f.max_budget.value !== '') body.max_budget = Number(f.max_budget.value);
    const models = f.models.value.split(',').map(s => s.trim()).filter(Boolean);
    if (models.length) body.models = models;
    if (f.rpm_limit.value !== '') body.rpm_limit = Number(f.rpm_limit.value);
    if (f.tpm_limit.value !== '') body.tpm_limit = Number(f.tpm_limit.value);
    if (f.duration.value.trim()) body.duration = f.duration.value.trim();
    createBtn.disabled = true;
    const [res, err] = await attempt(() => api('/key/generate', { method: 'POST', body }));
    createBtn.disabled = false;
    if (!res) { createErr.textContent = (err.notAvailable ? 'Key management is not available: ' : 'Rejected: ') + err.message; return; }
    showOnce(res.key, res.key_alias || body.key_alias);
    for (const i of Object.values(f)) i.value = '';
    load();
  });

  // The only time the key is visible. It is kept in this element only until dismissed.
  function showOnce(key, alias) {
    const input = h('input', { id: 'new-key', readonly: true, value: key || '', 'aria-label': 'new key' });
    const copy = h('button', { type: 'button', id: 'copy-key' }, 'Copy');
    copy.addEventListener('click', async () => {
      input.select();
      try { await navigator.clipboard.writeText(input.value); } catch { document.execCommand && document.execCommand('copy'); }
      copy.textContent = 'Copied';
    });
    const done = h('button.secondary', { type: 'button', onclick: () => replace(oneTime) }, 'Done');
    replace(oneTime, h('div.secret-once', null,
      h('strong', null, `New key${alias ? ' "' + alias + '"' : ''}:`), input, copy, done,
      h('span.muted', null, 'Copy it now: it will not be shown again.')));
  }

  async function load() {
    replace(list, h('p.muted', null, 'Loading…'));
    const [res, err] = await attempt(() => api('/key/list', { params: { return_full_object: 'true', page, size: PAGE_SIZE } }));
    if (!res) { replace(list, err.notAvailable ? unavailable('Key management', err) : errorBox(err)); replace(pager); return; }
    const rows = keyObjects(res);
    replace(list, table([
      { key: 'key_alias', label: 'Alias', fmt: k => k.key_alias || h('span.muted', null, '(no alias)') },
      { key: 'key_name', label: 'Key', fmt: k => h('code', null, k.key_name || (k.token ? k.token.slice(0, 12) + '…' : '')) },
      { key: 'status', label: 'Status', fmt: k => (k.blocked ? badge('blocked', 'bad') : badge('active', 'ok')) },
      { key: 'spend', label: 'Spend / budget', fmt: k => spendCell(k) },
      { key: 'models', label: 'Models', cls: 'cell-text', fmt: k => (k.models && k.models.length ? k.models.join(', ') : 'all') },
      { key: 'limits', label: 'RPM / TPM', fmt: k => `${k.rpm_limit ?? '∞'} / ${k.tpm_limit ?? '∞'}` },
      { key: 'expires', label: 'Expires', fmt: k => expiresText(k.expires) },
      { key: 'created', label: 'Created', fmt: k => (k.created_at ? (typeof k.created_at === 'number' ? time(k.created_at) : String(k.created_at)) : '—') },
      { key: 'actions', label: '', fmt: k => actions(k) },
    ], rows, { empty: 'No virtual keys yet.', rowAttrs: k => ({ 'data-key-alias': k.key_alias || '', 'data-token': k.token || '' }) }));
    const total = res.total_pages || 1;
    replace(pager,
      h('button.secondary', { type: 'button', disabled: page <= 1, onclick: () => { page--; load(); } }, '← Previous'),
      h('span.muted', null, `page ${res.current_page || page} of ${total}${res.total_count !== undefined ? ` · ${num(res.total_count)} keys` : ''}`),
      h('button.secondary', { type: 'button', disabled: page >= total, onclick: () => { page++; load(); } }, 'Next →'));
  }

  function spendCell(k) {
    const spend = Number(k.spend || 0);
    if (k.max_budget === null || k.max_budget === undefined) return `${usd(spend)} (no budget)`;
    const max = Number(k.max_budget);
    const bar = h('progress', { max: max > 0 ? max : 1, value: Math.min(spend, max > 0 ? max : 1) });
    return h('span', null, bar, ' ', `${usd(spend)} of ${usd(max)}`, spend >= max ? [' ', badge('over budget', 'bad')] : null);
  }

  function actions(k) {
    const id = k.token;
    if (!id) return '';
    const act = async (path, body, label) => {
      const [, err] = await attempt(() => api(path, { method: 'POST', body }));
      if (err) { status.className = 'error'; status.textContent = `${label} failed: ${err.message}`; return; }
      status.className = 'ok';
      status.textContent = `${label}: ${k.key_alias || id.slice(0, 12)}`;
      load();
    };
    const block = k.blocked
      ? h('button.small.secondary', { type: 'button', 'data-action': 'unblock', onclick: () => act('/key/unblock', { key: id }, 'Unblocked') }, 'Unblock')
      : h('button.small.secondary', { type: 'button', 'data-action': 'block', onclick: () => act('/key/block', { key: id }, 'Blocked') }, 'Block');
    const del = h('button.small.danger', { type: 'button', 'data-action': 'delete' }, 'Delete');
    let armed = false;
    del.addEventListener('click', () => {
      if (!armed) { armed = true; del.textContent = 'Confirm delete'; setTimeout(() => { armed = false; del.textContent = 'Delete'; }, 4000); return; }
      act('/key/delete', { keys: [id] }, 'Deleted');
    });
    return h('span', null, block, ' ', del);
  }

  await load();
}
