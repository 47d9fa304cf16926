// End-to-end per provider with the official openai SDK: Azure OpenAI deployments, Ollama
// (/api/chat and /api/generate), embeddings and legacy completions, and the Azure-style client
// path used by AzureOpenAI clients. The fake upstream speaks each dialect on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { AzureOpenAI } from 'openai';
import { startFakeUpstream, startGateway, MASTER_KEY } from './lib/gateway.mjs';

let up, gw, client;

before(async () => {
  up = await startFakeUpstream();
  gw = await startGateway(`model_list:
  - model_name: az-chat
    litellm_params:
      model: azure/gpt4o-deploy
      api_base: ${up.base}
      api_key: azure-secret-key
      api_version: "2024-10-21"
    model_info:
      base_model: azure/gpt-4o
  - model_name: az-embed
    litellm_params:
      model: azure/embed-deploy
      api_base: ${up.base}
      api_key: azure-secret-key
  - model_name: llama
    litellm_params:
      model: ollama_chat/llama3.2
      api_base: ${up.base}
  - model_name: llama-gen
    litellm_params:
      model: ollama/llama3.2
      api_base: ${up.base}
  - model_name: oai
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${up.base}/v1
  - model_name: not-pulled
    litellm_params:
      model: ollama_chat/never-pulled-model
      api_base: ${up.base}
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

async function collect(stream) {
  let text = '', usage = null, chunks = 0, finish = null;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    const ch = c.choices?.[0];
    text += ch?.delta?.content ?? ch?.text ?? '';
    if (ch?.finish_reason) finish = ch.finish_reason;
  }
  return { text, usage, chunks, finish };
}

for (const model of ['az-chat', 'llama', 'llama-gen', 'oai']) {
  test(`${model}: chat, non-streaming`, async () => {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(r.choices[0].message.content.length > 0);
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  });

  test(`${model}: chat, streaming without and with include_usage`, async () => {
    const a = await collect(await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(a.text.length > 0);
    assert.equal(a.usage, null);
    assert.equal(a.finish, 'stop');
    const b = await collect(await client.chat.completions.create({
      model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(b.usage && b.usage.total_tokens > 0, `no usage chunk for ${model}`);
  });
}

test('embeddings: azure, ollama, openai-compatible', async () => {
  for (const model of ['az-embed', 'llama', 'oai']) {
    const r = await client.embeddings.create({ model, input: ['one', 'two'] });
    assert.equal(r.data.length, 2, model);
    assert.ok(r.data[0].embedding.length > 0, model);
  }
});

test('legacy completions through azure and openai-compatible', async () => {
  for (const model of ['az-chat', 'oai']) {
    const r = await client.completions.create({ model, prompt: 'Say hi' });
    assert.ok(r.choices[0].text.length > 0, model);
  }
});

test('an AzureOpenAI client pointed at the gateway works unchanged', async () => {
  const az = new AzureOpenAI({ endpoint: gw.base, apiKey: MASTER_KEY, apiVersion: '2024-10-21', deployment: 'az-chat', maxRetries: 0 });
  const r = await az.chat.completions.create({ model: 'az-chat', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(r.choices[0].message.content.length > 0);
  const s = await collect(await az.chat.completions.create({ model: 'az-chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
  assert.ok(s.text.length > 0);
});

test('health probes use GET only and report Ollama models that are not pulled', async () => {
  const r = await fetch(`${gw.base}/health`, { headers: { Authorization: `Bearer ${MASTER_KEY}` } });
  assert.equal(r.status, 200);
  const h = await r.json();
  assert.equal(h.healthy_count + h.unhealthy_count, 6);
  const bad = h.unhealthy_endpoints.map(e => e.model_name);
  assert.deepEqual(bad, ['not-pulled']);
  assert.match(h.unhealthy_endpoints[0].error, /pull/i);
});
