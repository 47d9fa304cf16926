// Login form: POST /ui/login (JSON). On success the server sets the HttpOnly session cookie; the
// password is not kept anywhere in the page afterwards.
const form = document.getElementById('login-form');
const err = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

function show(msg) { err.textContent = msg; err.hidden = !msg; }

function nextHash() {
  const n = new URLSearchParams(location.search).get('next') || '';
  return /^#\/[a-z]+(\?[^<>"']*)?$/.test(n) ? n : '#/usage';  // only an in-app page
}

form.addEventListener('submit', async ev => {
  ev.preventDefault();
  show('');
  submit.disabled = true;
  const username = document.getElementById('username').value;
  const pw = document.getElementById('password');
  try {
    const res = await fetch('/ui/login', {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password: pw.value }),
    });
    if (res.ok) { pw.value = ''; location.replace('/ui/' + nextHash()); return; }
    let msg = `Sign-in failed (HTTP ${res.status}).`;
    try { const b = await res.json(); if (b && b.error && b.error.message) msg = b.error.message; } catch { /* not JSON */ }
    if (res.status === 429) {
      const ra = res.headers.get('Retry-After');
      msg = `Too many failed attempts. Try again in ${ra || 'a few'} seconds.`;
    }
    show(msg);
  } catch (e) {
    show('Network error: ' + e.message);
  } finally {
    submit.disabled = false;
  }
});
