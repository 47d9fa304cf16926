// A stand-in for the gateway's client-facing surface, used to test the operator scripts
// (smoke.sh, load_test.sh, traffic.mjs) independently of the daemon. Not a gateway: it answers
// the shapes the scripts check, with knobs to break each one.
import http from 'node:http';

export async function startFakeGateway(opts = {}) {
  const o = {
    key: 'sk-llmgate-demo', models: ['demo-chat', 'gpt-4o-mini'],
    streamDone: true,        // end streams with data: [DONE]
    chatStatus: 200,         // status for chat completions
    rateLimitEvery: 0,       // every Nth chat request gets 429 (0 = never)
    ...opts,
  };
  let chats = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const send = (code, obj, type = 'application/json') => {
        const s = typeof obj === 'string' ? obj : JSON.stringify(obj);
        res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(s) });
        res.end(s);
      };
      const authed = req.headers.authorization === `Bearer ${o.key}`;
      const url = req.url.split('?')[0];
      if (url === '/health/liveliness' || url === '/health/liveness') return send(200, '"I\'m alive!"');
      if (url === '/health/readiness') return send(200, { status: 'healthy' });
      if (url === '/metrics') return send(200, 'litellm_proxy_total_requests_metric_total{requested_model="demo-chat",status_code="200"} 1\n', 'text/plain');
      if (!authed) return send(401, { error: { message: 'Authentication Error', type: 'auth_error', code: '401' } });
      if (url === '/health') return send(200, { healthy_endpoints: [], unhealthy_endpoints: [], healthy_count: 1, unhealthy_count: 0 });
      if (url === '/v1/models') return send(200, { object: 'list', data: o.models.map((id) => ({ id, object: 'model', owned_by: 'llmgate' })) });
      if (url === '/v1/chat/completions' && req.method === 'POST') {
        chats += 1;
        if (o.rateLimitEvery && chats % o.rateLimitEvery === 0) return send(429, { error: { message: 'rate limited', type: 'rate_limit_error', code: '429' } });
        if (o.chatStatus !== 200) return send(o.chatStatus, { error: { message: 'boom', type: 'api_error', code: String(o.chatStatus) } });
        const r = JSON.parse(body || '{}');
        const base = { id: 'chatcmpl-fake', created: 1, model: r.model };
        if (!r.stream) {
          return send(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello from fake' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
        }
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        for (const w of ['hello', ' from', ' fake']) {
          res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`);
        if (o.streamDone) res.write('data: [DONE]\n\n');
        return res.end();
      }
      send(404, { error: { message: 'not found' } });
    });
  });
  await new Promise((r) => server.listen(o.port || 0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

// Standalone: node support/fake_gateway.mjs  -> prints the URL, serves until killed.
if (import.meta.url === `file://${process.argv[1]}`) {
  const g = await startFakeGateway({ rateLimitEvery: Number(process.env.RATE_LIMIT_EVERY || 0), port: Number(process.env.PORT || 0) });
  console.log(g.url);
}
