// Streaming load client for the benchmark (raw sockets, so its own overhead is small and the
// same for every contender). Opens --concurrency keep-alive connections, each sending
// --streams streaming chat requests one after another, and measures per stream the time to the
// first SSE event (TTFT) and to the end of the stream. Prints one line:
//   BENCHJSON {"streams":..,"errors":..,"ttft_p50_us":..,...}
//
//   node bench/stream_client.mjs --port 8080 [--host 127.0.0.1] [--path /v1/chat/completions]
//        [--concurrency 1] [--streams 20] [--duration-s 0] [--header "Name: value"]...
//        [--key sk-bench-master] [--ramp-ms 0] [--model bench-stream] [--pad-bytes 0]
// With --duration-s > 0 every connection keeps streaming until the time is up (--streams is
// then ignored). An error is: a connect/read failure, a status other than 200, or a stream that
// ends without `data: [DONE]`.
import net from 'node:net';

const args = { host: '127.0.0.1', path: '/v1/chat/completions', concurrency: 1, streams: 20,
  'duration-s': 0, key: 'sk-bench-master', headers: [], 'ramp-ms': 0, 'timeout-s': 60, model: 'bench-stream', 'pad-bytes': 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, ''), v = process.argv[i + 1];
  if (k === 'header') args.headers.push(v);
  else args[k] = /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

const system = 'You are a concise assistant for a platform engineering team. Answer in plain English, prefer short paragraphs, give commands in code blocks, and say when you are unsure. Never invent configuration keys; if a setting does not exist, say so and suggest the closest documented one.';
const user = 'We run several services behind a Kubernetes ingress controller and want to understand how requests reach a pod. Please explain how an Ingress object, the ingress controller, the Service and the Endpoints interact, how host and path rules are matched, where TLS is terminated, and what changes when we add a second replica. Keep it under two hundred words and finish with one command we can run to see which pods currently back the service named checkout-api in namespace shop.';
const body = JSON.stringify({ model: args.model, messages: [{ role: 'system', content: system },
  { role: 'user', content: user + ' '.repeat(args['pad-bytes']) }], temperature: 0.2, max_tokens: 256, top_p: 1, user: 'bench-user-0001',
  metadata: { team: 'platform', trace: 'bench' }, stream: true, stream_options: { include_usage: true } });
const extra = args.headers.map((h) => h + '\r\n').join('');
const request = Buffer.from(`POST ${args.path} HTTP/1.1\r\nHost: ${args.host}:${args.port}\r\n` +
  `Content-Type: application/json\r\nAuthorization: Bearer ${args.key}\r\nUser-Agent: OpenAI/Python 1.54.0\r\n` +
  `Accept: text/event-stream\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);

const ttft = [], total = [], events = [];
let errors = 0, errorKinds = {}, streams = 0;
const t0 = process.hrtime.bigint();
const deadline = args['duration-s'] > 0 ? t0 + BigInt(Math.round(args['duration-s'] * 1e9)) : 0n;
const us = (a, b) => Number(b - a) / 1000;
const fail = (kind) => { errors++; errorKinds[kind] = (errorKinds[kind] || 0) + 1; };

function connection(idx) {
  return new Promise((resolve) => {
    let done = 0, sock, buf = '', start = 0n, first = 0n, headerEnd = -1, chunked = false, dataCount = 0;
    let finished = false;
    const more = () => deadline ? process.hrtime.bigint() < deadline : done < args.streams;
    const finish = () => { if (!finished) { finished = true; try { sock.destroy(); } catch {} resolve(); } };
    const send = () => {
      buf = ''; first = 0n; headerEnd = -1; chunked = false; dataCount = 0;
      start = process.hrtime.bigint();
      sock.write(request);
    };
    const complete = (ok, kind) => {
      streams++;
      if (!ok) { fail(kind); finish(); return; }
      ttft.push(us(start, first)); total.push(us(start, process.hrtime.bigint())); events.push(dataCount);
      done++;
      if (more()) send(); else finish();
    };
    sock = net.connect({ host: args.host, port: args.port }, () => { sock.setNoDelay(true); send(); });
    sock.setEncoding('latin1');
    sock.setTimeout(args['timeout-s'] * 1000, () => { fail('timeout'); finish(); });
    sock.on('error', (e) => { fail(e.code || 'socket'); finish(); });
    sock.on('close', () => { if (!finished) { if (start && buf.length) fail('closed'); finish(); } });
    sock.on('data', (d) => {
      const now = process.hrtime.bigint();
      buf += d;
      if (headerEnd < 0) {
        headerEnd = buf.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const head = buf.slice(0, headerEnd);
        if (!/^HTTP\/1\.[01] 200/.test(head)) { complete(false, 'status ' + head.slice(9, 12)); return; }
        chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      }
      if (!first && buf.indexOf('data:', headerEnd) >= 0) first = now;
      const doneAt = buf.indexOf('data: [DONE]', headerEnd);
      if (doneAt >= 0 && (!chunked || buf.endsWith('0\r\n\r\n'))) {
        dataCount = buf.slice(headerEnd).split('data:').length - 1;
        complete(true);
      }
    });
  });
}

const conns = [];
for (let i = 0; i < args.concurrency; i++) {
  conns.push(connection(i));
  if (args['ramp-ms'] > 0 && i % 100 === 99) await new Promise((r) => setTimeout(r, args['ramp-ms']));
}
await Promise.all(conns);
const elapsed = us(t0, process.hrtime.bigint());
const pct = (a, q) => { if (!a.length) return null; const s = [...a].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q / 100 * s.length))]); };
const out = { streams: ttft.length, attempted: streams, errors, error_kinds: errorKinds,
  duration_us: Math.round(elapsed), events_min: events.length ? Math.min(...events) : 0,
  events_max: events.length ? Math.max(...events) : 0,
  ttft_p50_us: pct(ttft, 50), ttft_p90_us: pct(ttft, 90), ttft_p99_us: pct(ttft, 99),
  total_p50_us: pct(total, 50), total_p90_us: pct(total, 90), total_p99_us: pct(total, 99) };
process.stdout.write('BENCHJSON ' + JSON.stringify(out) + '\n');
