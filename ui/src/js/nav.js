// The page address lives in the hash: #/<page>?<filters>.
export const PAGE_NAMES = ['usage', 'logs', 'models', 'keys', 'playground', 'settings'];

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, query = ''] = raw.split('?');
  return { name: PAGE_NAMES.includes(name) ? name : 'usage', params: new URLSearchParams(query) };
}

// Updates the hash query without re-rendering the page (filters, selected record).
export function setHashParams(params) {
  const { name } = parseHash();
  const clean = {};
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') clean[k] = v;
  const s = new URLSearchParams(clean).toString();
  history.replaceState(null, '', '#/' + name + (s ? '?' + s : ''));
}
