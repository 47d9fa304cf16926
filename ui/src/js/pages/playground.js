// Playground: a chat request to any model, streamed as it arrives (fetch + ReadableStream on
// /v1/chat/completions). Authenticated with a pasted key (Authorization: Bearer, kept only in
// this input, never stored) or, when empty, with the dashboard session (+ CSRF token).
import { api, attempt, csrf, goToLogin } from '../api.js';
import { h, replace } from '../dom.js';
import { ms, num } from '../format.js';

// Splits an SSE byte stream into `data:` payloads. Returns the unconsumed tail.
export function sseEvents(buffer, onData) {
  let idx;
  while ((idx = buffer.search(/\r?\n\r?\n/)) >= 0) {
    const block = buffer.slice(0, idx);
    buffer = buffer.slice(idx + (buffer[idx] === '\r' ? 4 : 2));
    const data = block.split(/\r?\n/).filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n');
    if (data) onData(data);
  }
  return buffer;
}

export default async function playground(root) {
  const model = h('select', { name: 'model', id: 'pg-model', 'aria-label': 'model' });
  const key = h('input', { name: 'key', id: 'pg-key', type: 'password', autocomplete: 'off', placeholder: 'sk-… (empty = use my dashboard session)' });
  const system = h('textarea', { name: 'system', id: 'pg-system', rows: 2, placeholder: 'optional system prompt' });
  const prompt = h('textarea', { name: 'prompt', id: 'pg-prompt', rows: 4, placeholder: 'Say something…' });
  const temperature = h('input', { name: 'temperature', type: 'number', min: 0, max: 2, step: 0.1, placeholder: 'default' });
  const maxTokens = h('input', { name: 'max_tokens', type: 'number', min: 1, placeholder: 'default' });
  const stream = h('input', { name: 'stream', type: 'checkbox', checked: true });
  const send = h('button', { type: 'submit', id: 'pg-send' }, 'Send');
  const stop = h('button.secondary', { type: 'button', id: 'pg-stop', disabled: true }, 'Stop');
  const clearBtn = h('button.secondary', { type: 'button' }, 'Clear conversation');
  const out = h('div.chat-out', { id: 'pg-output', 'aria-live': 'polite' });
  const meta = h('p.muted', { id: 'pg-meta' });
  const form = h('form.stack', { id: 'pg-form' },
    h('label', null, 'Model', model), h('label', null, 'Key', key),
    h('label', null, 'Temperature', temperature), h('label', null, 'Max tokens', maxTokens),
    h('label', null, h('span', null, stream, ' stream')),
    h('label.wide', null, 'System prompt', system), h('label.wide', null, 'Message', prompt),
    h('div.wide', null, send, ' ', stop, ' ', clearBtn));
  root.append(h('h1', null, 'Playground'), h('div.card', null, form), h('div.card', null, h('h3', null, 'Conversation'), out, meta));

  const [m, mErr] = await attempt(() => api('/v1/models'));
  for (const x of (m && m.data) || []) model.append(h('option', { value: x.id }, x.id));
  if (!m) model.append(h('option', { value: '' }, 'models not available: ' + mErr.message));

  let history = [];
  let controller = null;
  clearBtn.addEventListener('click', () => { history = []; replace(out); meta.textContent = ''; });
  stop.addEventListener('click', () => controller && controller.abort());
  prompt.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });

  function bubble(role, text) {
    const body = h('span.content', null, text);
    const el = h('div.chat-msg', { 'data-role': role }, h('span.role', null, role), body);
    out.append(el);
    return body;
  }

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const text = prompt.value;
    if (!text.trim() || !model.value) return;
    const messages = [];
    if (system.value.trim()) messages.push({ role: 'system', content: system.value });
    history.push({ role: 'user', content: text });
    messages.push(...history);
    bubble('user', text);
    prompt.value = '';
    const target = bubble('assistant', '');
    const body = { model: model.value, messages, stream: stream.checked };
    if (stream.checked) body.stream_options = { include_usage: true };
    if (temperature.value !== '') body.temperature = Number(temperature.value);
    if (maxTokens.value !== '') body.max_tokens = Number(maxTokens.value);
    const headers = { 'Content-Type': 'application/json', Accept: stream.checked ? 'text/event-stream' : 'application/json' };
    if (key.value.trim()) headers.Authorization = 'Bearer ' + key.value.trim();
    else if (csrf()) headers['X-CSRF-Token'] = csrf();
    controller = new AbortController();
    send.disabled = true; stop.disabled = false;
    meta.textContent = 'waiting…';
    const t0 = performance.now();
    let ttft = null, usage = null, answer = '';
    try {
      const res = await fetch('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(body), credentials: key.value.trim() ? 'omit' : 'same-origin', signal: controller.signal, cache: 'no-store' });
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try { const b = await res.json(); if (b && b.error) msg += ': ' + (b.error.message || JSON.stringify(b.error)); } catch { /* not JSON */ }
        if (res.status === 401 && !headers.Authorization) { goToLogin(); return; }
        throw new Error(msg);
      }
      if (stream.checked && res.body) {
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = sseEvents(buf + dec.decode(value, { stream: true }), data => {
            if (data === '[DONE]') return;
            let j; try { j = JSON.parse(data); } catch { return; }
            if (j.error) throw new Error(j.error.message || JSON.stringify(j.error));
            if (j.usage) usage = j.usage;
            const delta = j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content;
            if (delta) {
              if (ttft === null) ttft = performance.now() - t0;
              answer += delta;
              target.append(document.createTextNode(delta));  // text, as it arrives
            }
          });
        }
      } else {
        const j = await res.json();
        usage = j.usage || null;
        answer = (j.choices && j.choices[0] && j.choices[0].message && j.choices[0].message.content) || '';
        target.textContent = answer;
      }
      history.push({ role: 'assistant', content: answer });
      const total = performance.now() - t0;
      meta.textContent = `done in ${ms(total)}` + (ttft !== null ? ` · first token after ${ms(ttft)}` : '') +
        (usage ? ` · tokens: ${num(usage.prompt_tokens)} prompt + ${num(usage.completion_tokens)} completion` : '');
    } catch (e) {
      history.pop();
      target.parentElement.classList.add('error');
      target.textContent = answer + (answer ? '\n' : '') + (e.name === 'AbortError' ? '[stopped]' : '[error] ' + e.message);
      meta.textContent = '';
    } finally {
      send.disabled = false; stop.disabled = true; controller = null;
    }
  });
  return () => controller && controller.abort();
}
