"""A small FastAPI service that answers questions with an OpenAI model."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import openai
from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

SYSTEM_PROMPT = "You are a support assistant for Acme. Answer in one short paragraph."


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One client for the app's lifetime; OPENAI_API_KEY and OPENAI_BASE_URL come from the environment.
    async with openai.AsyncOpenAI(max_retries=2) as client:
        app.state.llm = client
        yield


app = FastAPI(lifespan=lifespan)


class Question(BaseModel):
    text: str


def messages_for(question: Question) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question.text}]


@app.post("/ask")
async def ask(question: Question) -> dict[str, str]:
    try:
        reply = await app.state.llm.chat.completions.create(model="gpt-4o-mini", messages=messages_for(question))
    except openai.RateLimitError:
        raise HTTPException(429, "The model is busy. Try again later.") from None
    except openai.APIError:
        raise HTTPException(502, "The model failed to answer.") from None
    return {"answer": reply.choices[0].message.content}


@app.post("/ask/stream")
async def ask_stream(question: Question) -> StreamingResponse:
    stream = await app.state.llm.chat.completions.create(
        model="gpt-4o-mini", messages=messages_for(question), stream=True
    )

    async def relay() -> AsyncIterator[str]:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield f"data: {json.dumps({'token': chunk.choices[0].delta.content})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(relay(), media_type="text/event-stream")
