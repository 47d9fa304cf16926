// End-to-end: the official `openai` npm SDK as the client, llmgate in the middle, the project's
// fake upstream (OpenAI dialect) and the built-in mock provider behind it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeUpstream, startGateway, MASTER_KEY } from './lib/gateway.mjs';

let up, gw, client;

before(async () => {
  up = await startFakeUpstream();
  gw = await startGateway(`model_list:
  - model_name: gpt-e2e
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${up.base}/v1
      api_key: sk-upstream-e2e
  - model_name: broken
    litellm_params:
      model: openai/error-500
      api_base: ${up.base}/v1
  - model_name: mock-chat
    litellm_params:
      model: mock/mock-chat
      mock_response: "mocked answer"
general_settings:
  master_key: ${MASTER_KEY}
  background_health_checks: false
`);
  client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

after(async () => {
  await gw?.stop();
  up?.stop();
});

test('chat completion through the gateway', async () => {
  const r = await client.chat.completions.create({ model: 'gpt-e2e', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, 'Hello from fake upstream');
  assert.ok(r.usage.total_tokens > 0);
});

test('streaming chat completion delivers every chunk and no usage chunk unless asked', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-e2e', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '', chunks = 0, usage = null;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    text += c.choices[0]?.delta?.content ?? '';
  }
  assert.ok(chunks >= 5);
  assert.ok(text.length > 0);
  assert.equal(usage, null);
});

test('streaming with include_usage returns the usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-e2e', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
  let usage = null;
  for await (const c of stream) if (c.usage) usage = c.usage;
  assert.ok(usage && usage.total_tokens > 0);
});

test('built-in mock provider, streaming and not', async () => {
  const r = await client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.choices[0].message.content, 'mocked answer');
  const stream = await client.chat.completions.create({ model: 'mock-chat', stream: true, messages: [{ role: 'user', content: 'x' }] });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'mocked answer');
});

test('models list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids.sort(), ['broken', 'gpt-e2e', 'mock-chat']);
});

test('errors surface as the SDK typed exceptions', async () => {
  const bad = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'gpt-e2e', messages: [] }), OpenAI.AuthenticationError);
  await assert.rejects(client.chat.completions.create({ model: 'does-not-exist', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'model');
  await assert.rejects(client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 500);
});
