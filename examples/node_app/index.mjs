// A backend service that calls LLMs through llmgate with the official OpenAI SDK.
// Migrating from a provider: only baseURL and apiKey change.
//   LLMGATE_BASE_URL  default http://127.0.0.1:4000   (in Kubernetes: http://llmgate:4000)
//   LLMGATE_API_KEY   default sk-llmgate-demo          (a virtual key from /ui in real use)
//   LLMGATE_MODEL     default demo-chat                (a model_name from the gateway config)
//   PORT              default 8001
import http from 'node:http';
import OpenAI from 'openai';

const BASE_URL = (process.env.LLMGATE_BASE_URL || 'http://127.0.0.1:4000').replace(/\/+$/, '');
const MODEL = process.env.LLMGATE_MODEL || 'demo-chat';

// One client per process (keeps a connection pool to the gateway).
const client = new OpenAI({
  baseURL: `${BASE_URL}/v1`,
  apiKey: process.env.LLMGATE_API_KEY || 'sk-llmgate-demo',
  timeout: 120_000,
  maxRetries: 2, // 429/5xx retried with backoff; the gateway also retries across deployments
});

const messages = (text) => [
  { role: 'system', content: "Summarize the user's text in one or two sentences." },
  { role: 'user', content: text },
];

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

function send(res, status, obj) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(obj));
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/summarize') {
      const { text = '', max_tokens = 128 } = await readJson(req);
      const r = await client.chat.completions.create({ model: MODEL, messages: messages(text), max_tokens, user: 'node-example' });
      return send(res, 200, { summary: r.choices[0].message.content, model: r.model, usage: r.usage });
    }
    if (req.method === 'POST' && req.url === '/summarize/stream') {
      const { text = '', max_tokens = 128 } = await readJson(req);
      const stream = await client.chat.completions.create({ model: MODEL, messages: messages(text), max_tokens, stream: true, user: 'node-example' });
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      // Stop pulling from the gateway if our client goes away (the gateway then cancels upstream).
      req.on('close', () => stream.controller.abort());
      for await (const chunk of stream) {
        const t = chunk.choices[0]?.delta?.content;
        if (t) res.write(t);
      }
      return res.end();
    }
    if (req.method === 'GET' && req.url === '/models') {
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      return send(res, 200, ids);
    }
    if (req.url === '/healthz') return send(res, 200, { ok: true });
    return send(res, 404, { error: 'not found' });
  } catch (e) {
    if (res.headersSent) return res.end();
    if (e instanceof OpenAI.RateLimitError) return send(res, 429, { error: 'rate limited by the gateway, retry later' });
    if (e instanceof OpenAI.APIConnectionError) return send(res, 503, { error: 'gateway unreachable' });
    if (e instanceof OpenAI.APIError) return send(res, 502, { error: `gateway error ${e.status}` });
    return send(res, 400, { error: String(e.message || e) });
  }
});

const port = Number(process.env.PORT || 8001);
server.listen(port, () => console.log(`example service on :${port}, calling ${BASE_URL}/v1 with model ${MODEL}`));
