#!/usr/bin/env node
// Traffic generator: sends a mix of chat completions (plain and streamed) through the gateway,
// shows progress while running and prints a summary (status codes, latency, time to first
// token, tokens, per model). No dependencies: Node >= 18 (global fetch).
//   node scripts/traffic.mjs [--requests N] [--concurrency C] [--stream-ratio 0..1]
//                            [--models a,b] [--error-ratio 0..1] [--max-tokens N] [--quiet]
// Env: LLMGATE_BASE_URL (default http://127.0.0.1:4000), LLMGATE_API_KEY (default
// sk-llmgate-demo). Models default to every model in /v1/models.
// --error-ratio sends that share of requests to a model that does not exist (expect 400/404),
// to see errors on the dashboard. Exit status 1 if any other request failed (429 excepted).
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    requests: { type: 'string', short: 'n', default: '50' },
    concurrency: { type: 'string', short: 'c', default: '4' },
    'stream-ratio': { type: 'string', default: '0.5' },
    'error-ratio': { type: 'string', default: '0' },
    models: { type: 'string', short: 'm' },
    'max-tokens': { type: 'string', default: '64' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  console.log('usage: node scripts/traffic.mjs [--requests N] [--concurrency C] [--stream-ratio R] [--models a,b] [--error-ratio R] [--max-tokens N] [--quiet]');
  process.exit(0);
}
const base = (process.env.LLMGATE_BASE_URL || process.env.BASE_URL || 'http://127.0.0.1:4000').replace(/\/+$/, '');
const key = process.env.LLMGATE_API_KEY || process.env.API_KEY || 'sk-llmgate-demo';
const total = Math.max(1, parseInt(a.requests, 10) || 50);
const conc = Math.max(1, parseInt(a.concurrency, 10) || 4);
const streamRatio = Math.min(1, Math.max(0, Number(a['stream-ratio'])));
const errorRatio = Math.min(1, Math.max(0, Number(a['error-ratio'])));
const maxTokens = parseInt(a['max-tokens'], 10) || 64;
const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };

const PROMPTS = [
  'Summarize the benefits of an API gateway in two sentences.',
  'Write a haiku about latency.',
  'List three ways to reduce cloud costs.',
  'Explain what a token is to a new engineer.',
  'Translate "good morning" into French, Spanish and German.',
  'Give me a one-line status update for a deploy that went well.',
];

async function listModels() {
  const r = await fetch(`${base}/v1/models`, { headers });
  if (!r.ok) throw new Error(`GET /v1/models -> ${r.status} ${(await r.text()).slice(0, 200)}`);
  return (await r.json()).data.map((m) => m.id);
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function one(i, model, stream) {
  const started = performance.now();
  const body = {
    model, stream, max_tokens: maxTokens,
    messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }],
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  };
  const out = { model, stream, status: 0, ms: 0, ttft: null, inTok: 0, outTok: 0, error: null };
  try {
    const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
    out.status = r.status;
    if (!r.ok) {
      out.error = (await r.text()).slice(0, 200);
    } else if (!stream) {
      const j = await r.json();
      out.inTok = j.usage?.prompt_tokens ?? 0;
      out.outTok = j.usage?.completion_tokens ?? 0;
    } else {
      const dec = new TextDecoder();
      let buf = ''; let done = false;
      for await (const chunk of r.body) {
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim(); buf = buf.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') { done = true; continue; }
          const ev = JSON.parse(data);
          if (out.ttft === null && ev.choices?.[0]?.delta?.content) out.ttft = performance.now() - started;
          if (ev.usage) { out.inTok = ev.usage.prompt_tokens ?? 0; out.outTok = ev.usage.completion_tokens ?? 0; }
        }
      }
      if (!done) { out.error = 'stream ended without data: [DONE]'; out.status = -1; }
    }
  } catch (e) {
    out.error = String(e.message || e);
  }
  out.ms = performance.now() - started;
  return out;
}

const isTTY = process.stderr.isTTY && !a.quiet;
let finished = 0; let okCount = 0; let errCount = 0; let lastShown = -1;
const t0 = performance.now();
function progress(final = false) {
  if (a.quiet) return;
  const width = 30;
  const filled = Math.round((finished / total) * width);
  const secs = (performance.now() - t0) / 1000;
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${total}  ok ${okCount}  failed ${errCount}  ${(finished / Math.max(secs, 1e-3)).toFixed(1)} req/s`;
  if (isTTY) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
  else if ((final || finished % Math.max(1, Math.floor(total / 10)) === 0) && finished !== lastShown) {
    lastShown = finished;
    process.stderr.write(`${line}\n`);
  }
}

let models;
try {
  models = a.models ? a.models.split(',').map((s) => s.trim()).filter(Boolean) : await listModels();
} catch (e) {
  console.error(`traffic: cannot reach the gateway at ${base}: ${e.message}`);
  process.exit(2);
}
if (!models.length) { console.error('traffic: no models (use --models)'); process.exit(2); }
console.error(`traffic: ${total} requests, concurrency ${conc}, models ${models.join(', ')}, stream ratio ${streamRatio} -> ${base}`);

const results = [];
let next = 0;
async function worker() {
  while (next < total) {
    const i = next++;
    const bad = Math.random() < errorRatio;
    const model = bad ? 'no-such-model-llmgate-traffic' : models[i % models.length];
    const r = await one(i, model, Math.random() < streamRatio);
    r.intended = bad;
    results.push(r);
    finished += 1;
    if (r.status >= 200 && r.status < 300 && !r.error) okCount += 1; else errCount += 1;
    progress();
  }
}
await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
progress(true);

const secs = (performance.now() - t0) / 1000;
const lat = results.filter((r) => r.status === 200 && !r.error).map((r) => r.ms).sort((x, y) => x - y);
const ttft = results.filter((r) => r.ttft !== null).map((r) => r.ttft).sort((x, y) => x - y);
const codes = {};
for (const r of results) codes[r.status] = (codes[r.status] || 0) + 1;
const perModel = {};
for (const r of results) {
  const m = (perModel[r.model] ||= { n: 0, ok: 0, inTok: 0, outTok: 0 });
  m.n += 1; if (r.status === 200 && !r.error) m.ok += 1;
  m.inTok += r.inTok; m.outTok += r.outTok;
}
const f = (x) => (Number.isNaN(x) ? '-' : `${x.toFixed(0)} ms`);
const lines = [
  '',
  '---- traffic summary ----',
  `requests      ${results.length} in ${secs.toFixed(1)} s (${(results.length / secs).toFixed(1)} req/s), ${okCount} ok, ${errCount} failed`,
  `status codes  ${Object.entries(codes).map(([c, n]) => `${c === '0' ? 'network' : c === '-1' ? 'broken-stream' : c}:${n}`).join('  ')}`,
  `latency       p50 ${f(pct(lat, 50))}  p95 ${f(pct(lat, 95))}  p99 ${f(pct(lat, 99))}`,
  `first token   p50 ${f(pct(ttft, 50))}  p95 ${f(pct(ttft, 95))}  (streams: ${ttft.length})`,
  `tokens        input ${results.reduce((s, r) => s + r.inTok, 0)}  output ${results.reduce((s, r) => s + r.outTok, 0)}`,
  'per model:',
  ...Object.entries(perModel).map(([m, v]) => `  ${m.padEnd(28)} ${String(v.ok).padStart(5)}/${String(v.n).padEnd(5)} ok   tokens in ${v.inTok} out ${v.outTok}`),
];
const firstErr = results.find((r) => r.error && !r.intended && r.status !== 429);
if (firstErr) lines.push(`first error   ${firstErr.status || 'network'}: ${firstErr.error}`);
console.log(lines.join('\n'));
const unexpected = results.filter((r) => (r.error || r.status !== 200) && !r.intended && r.status !== 429).length;
process.exit(unexpected ? 1 : 0);
