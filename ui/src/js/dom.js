// DOM helpers. Everything that comes from the server (prompts, responses, model names, key
// aliases, error messages) is untrusted text: it only ever reaches the page through text nodes
// (textContent / createTextNode), never through innerHTML or HTML-parsing APIs.

// h('tag.class', {attr: value, onclick: fn}, child...) -> Element.
// Children: strings/numbers become text nodes, null/false are skipped, arrays are flattened.
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = (el.className ? el.className + ' ' : '') + v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') throw new Error('inline styles are not allowed (CSP)');
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// A box saying an API is not available (yet): the page keeps working around it.
export function unavailable(what, err) {
  const status = err && err.status ? ` (HTTP ${err.status})` : '';
  const detail = err && err.message ? `: ${err.message}` : '';
  return h('div.unavailable', { 'data-unavailable': what }, `${what} is not available${status}${detail}.`);
}

export function errorBox(err) {
  return h('p.error', { role: 'alert' }, String(err && err.message ? err.message : err));
}

// A table from rows and column specs [{key, label, num, fmt(row) -> string|Node}].
export function table(columns, rows, { onRowClick, rowAttrs, empty = 'No rows.' } = {}) {
  const thead = h('thead', null, h('tr', null, columns.map(c => h(c.num ? 'th.num' : 'th', null, c.label))));
  const tbody = h('tbody');
  for (const row of rows) {
    const tr = h('tr', rowAttrs ? rowAttrs(row) : null,
      columns.map(c => {
        const v = c.fmt ? c.fmt(row) : row[c.key];
        return h(c.num ? 'td.num' : (c.cls ? 'td.' + c.cls : 'td'), null, v === null || v === undefined ? '' : v);
      }));
    if (onRowClick) {
      tr.classList.add('clickable');
      tr.tabIndex = 0;
      tr.addEventListener('click', () => onRowClick(row, tr));
      tr.addEventListener('keydown', e => { if (e.key === 'Enter') onRowClick(row, tr); });
    }
    tbody.appendChild(tr);
  }
  if (!rows.length) tbody.appendChild(h('tr', null, h('td.muted', { colspan: columns.length }, empty)));
  return h('div.table-wrap', null, h('table.data', null, thead, tbody));
}

export function kv(pairs) {
  const dl = h('dl.kv');
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.appendChild(h('dt', null, k));
    dl.appendChild(h('dd', null, v === null ? '—' : v));
  }
  return dl;
}

// Pretty-printed JSON (or the raw text when it is not JSON), as text.
export function jsonBlock(value) {
  let text;
  if (typeof value === 'string') {
    try { text = JSON.stringify(JSON.parse(value), null, 2); } catch { text = value; }
  } else {
    text = JSON.stringify(value, null, 2);
  }
  return h('pre.json', null, text === undefined ? '' : text);
}

export function badge(text, kind) {
  return h('span.badge' + (kind ? '.' + kind : ''), null, text);
}
