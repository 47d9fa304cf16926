// Calls to the gateway's JSON APIs with the dashboard session.
// Authentication: the HttpOnly session cookie (sent by the browser, unreadable from JS) plus,
// on every state-changing call, the X-CSRF-Token header. The token lives only in this module's
// memory: it comes from GET /ui/api/session (JSON, readable only by same-origin script) and is
// never written to a cookie or to browser storage. The master key never reaches the page.

let csrfToken = null;
let sessionInfo = null;

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
  // The endpoint does not exist (yet) in this build: show "not available" instead of breaking.
  get notAvailable() { return this.status === 404 || this.status === 405 || this.status === 501 || this.status === 0; }
}

export function csrf() { return csrfToken; }
export function currentSession() { return sessionInfo; }

export function goToLogin() {
  const next = location.hash && location.hash.length > 1 ? '?next=' + encodeURIComponent(location.hash) : '';
  location.replace('/ui/login' + next);
}

// Loads the session (and its CSRF token). Redirects to the login page when there is none.
export async function loadSession() {
  const res = await fetch('/ui/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 401) { goToLogin(); return new Promise(() => {}); }
  if (!res.ok) throw new ApiError(res.status, `session check failed (HTTP ${res.status})`);
  sessionInfo = await res.json();
  csrfToken = sessionInfo.csrf_token;
  return sessionInfo;
}

function messageOf(body, status) {
  if (body && typeof body === 'object') {
    const e = body.error ?? body.detail ?? body.message;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object') return String(e.message ?? e.error ?? JSON.stringify(e));
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300);
  return `HTTP ${status}`;
}

// JSON request. `params` become the query string (null/'' skipped). Throws ApiError.
export async function api(path, { method = 'GET', params, body, headers = {}, signal } = {}) {
  let url = path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store', signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network error: ' + e.message);
  }
  const text = await res.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* keep text */ }
  if (res.status === 401 && !h.Authorization) { goToLogin(); throw new ApiError(401, 'session expired'); }
  if (!res.ok) throw new ApiError(res.status, messageOf(data, res.status), data);
  return data;
}

// Runs `fn`; returns [value, null] or [null, ApiError] (for pages that degrade per section).
export async function attempt(fn) {
  try { return [await fn(), null]; } catch (e) { return [null, e]; }
}

export async function logout() {
  try { await api('/ui/logout', { method: 'POST', body: {} }); } catch { /* going away anyway */ }
  csrfToken = null;
  location.replace('/ui/login');
}
