"""A backend service that calls LLMs through llmgate with the official OpenAI SDK.

Migrating from a provider: only base_url and api_key change. The gateway keeps the provider
keys, routes to a deployment, retries/falls back, and records usage and cost per key.

    LLMGATE_BASE_URL  default http://127.0.0.1:4000   (in Kubernetes: http://llmgate:4000)
    LLMGATE_API_KEY   default sk-llmgate-demo          (a virtual key from /ui in real use)
    LLMGATE_MODEL     default demo-chat                (a model_name from the gateway config)

    uvicorn app:app --port 8000
"""
import os
from typing import AsyncIterator

import openai
from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI
from pydantic import BaseModel

BASE_URL = os.environ.get("LLMGATE_BASE_URL", "http://127.0.0.1:4000").rstrip("/")
MODEL = os.environ.get("LLMGATE_MODEL", "demo-chat")

# One client per process: it keeps a connection pool to the gateway.
client = AsyncOpenAI(
    base_url=f"{BASE_URL}/v1",
    api_key=os.environ.get("LLMGATE_API_KEY", "sk-llmgate-demo"),
    timeout=120.0,
    max_retries=2,  # retries 429/5xx with backoff; the gateway also retries across deployments
)

app = FastAPI(title="summarizer (via llmgate)")


class SummarizeRequest(BaseModel):
    text: str
    max_tokens: int = 128


def _messages(req: SummarizeRequest) -> list[dict]:
    return [
        {"role": "system", "content": "Summarize the user's text in one or two sentences."},
        {"role": "user", "content": req.text},
    ]


@app.post("/summarize")
async def summarize(req: SummarizeRequest) -> dict:
    try:
        resp = await client.chat.completions.create(
            model=MODEL, messages=_messages(req), max_tokens=req.max_tokens,
            # Tagging the caller shows up per end user in the gateway's spend logs.
            user="fastapi-example",
        )
    except openai.RateLimitError as e:
        raise HTTPException(status_code=429, detail="rate limited by the gateway, retry later") from e
    except openai.APIStatusError as e:
        raise HTTPException(status_code=502, detail=f"gateway error {e.status_code}") from e
    except openai.APIConnectionError as e:
        raise HTTPException(status_code=503, detail="gateway unreachable") from e
    return {
        "summary": resp.choices[0].message.content,
        "model": resp.model,
        "usage": resp.usage.model_dump() if resp.usage else None,
    }


@app.post("/summarize/stream")
async def summarize_stream(req: SummarizeRequest) -> StreamingResponse:
    async def tokens() -> AsyncIterator[str]:
        stream = await client.chat.completions.create(
            model=MODEL, messages=_messages(req), max_tokens=req.max_tokens, stream=True,
            user="fastapi-example",
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return StreamingResponse(tokens(), media_type="text/plain; charset=utf-8")


@app.get("/models")
async def models() -> list[str]:
    return [m.id async for m in client.models.list()]


@app.get("/healthz")
async def healthz() -> dict:
    return {"ok": True}
