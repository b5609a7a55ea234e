"""The HTTP API: conversations, chat (whole replies and SSE streams), and one-shot agent calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import openai
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from .agents import AGENTS, prompt_messages, run_agent
from .auth import require_token
from .config import Settings, get_settings
from .db import Conversation, Database, add_turn, create_conversation, get_database, get_session, messages_of
from .llm import get_llm_client

router = APIRouter(dependencies=[Depends(require_token)])

SessionDep = Annotated[AsyncSession, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
LLMDep = Annotated[AsyncOpenAI, Depends(get_llm_client)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# --- request and response bodies ----------------------------------------------------------------


class NewConversation(BaseModel):
    agent_type: str = "assistant"

    @field_validator("agent_type")
    @classmethod
    def _known_agent(cls, value: str) -> str:
        if value not in AGENTS:
            raise ValueError(f"unknown agent type; choose one of {', '.join(AGENTS)}")
        return value


class ConversationOut(BaseModel):
    id: int
    agent_type: str


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str
    content: str
    created_at: datetime


class History(BaseModel):
    conversation_id: int
    agent_type: str
    messages: list[MessageOut]


class ChatRequest(BaseModel):
    session_id: int
    """The conversation to continue (from `POST /conversations`)."""
    message: str = Field(min_length=1, max_length=20_000)


class AgentChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=20_000)


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: str


class ChatResponse(BaseModel):
    reply: str
    conversation_id: int
    tool_calls: list[ToolCallOut] = []


# --- conversations ------------------------------------------------------------------------------


@router.post("/conversations", status_code=status.HTTP_201_CREATED)
async def new_conversation(body: NewConversation, session: SessionDep) -> ConversationOut:
    conversation = await create_conversation(session, body.agent_type)
    return ConversationOut(id=conversation.id, agent_type=conversation.agent_type)


@router.get("/conversations/{conversation_id}/history")
async def conversation_history(conversation_id: int, session: SessionDep) -> History:
    conversation = await _conversation(session, conversation_id)
    messages = await messages_of(session, conversation.id)
    return History(
        conversation_id=conversation.id,
        agent_type=conversation.agent_type,
        messages=[MessageOut.model_validate(message) for message in messages],
    )


# --- chat ---------------------------------------------------------------------------------------


@router.post("/agents/chat")
async def chat(body: ChatRequest, session: SessionDep, llm: LLMDep, settings: SettingsDep) -> ChatResponse:
    """Send the conversation so far plus `message` to the conversation's agent; store both sides."""
    conversation = await _conversation(session, body.session_id)
    return await _reply(session, llm, settings, conversation, body.message)


@router.post("/agents/chat/stream", response_class=StreamingResponse)
async def chat_stream(
    body: ChatRequest, session: SessionDep, database: DatabaseDep, llm: LLMDep, settings: SettingsDep
) -> StreamingResponse:
    """Relay the model's tokens as server-sent events: `data: {"token": "..."}` per token, then
    `data: [DONE]`. If the model's stream breaks, the last event is `event: error` (no `[DONE]`) and
    nothing is stored.
    """
    conversation = await _conversation(session, body.session_id)
    agent = AGENTS[conversation.agent_type]
    if agent.tools:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the {agent.name!r} agent calls tools and cannot stream")
    history = [(m.role, m.content) for m in await messages_of(session, conversation.id)]
    # Started before the response is, so that a timeout or a 429 still becomes an HTTP status.
    stream = await llm.chat.completions.create(
        model=settings.llm_model,
        messages=prompt_messages(agent, [*history, ("user", body.message)]),
        stream=True,
    )
    return StreamingResponse(
        _relay(stream, database, conversation.id, body.message),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


@router.post("/agents/{agent_type}/chat")
async def agent_chat(
    agent_type: str, body: AgentChatRequest, session: SessionDep, llm: LLMDep, settings: SettingsDep
) -> ChatResponse:
    """Start a conversation with `agent_type` and answer its first message (continue it with /agents/chat)."""
    if agent_type not in AGENTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown agent type {agent_type!r}")
    conversation = await create_conversation(session, agent_type)
    return await _reply(session, llm, settings, conversation, body.message)


# --- helpers ------------------------------------------------------------------------------------


async def _conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation {conversation_id}")
    return conversation


async def _reply(
    session: AsyncSession, llm: AsyncOpenAI, settings: Settings, conversation: Conversation, text: str
) -> ChatResponse:
    agent = AGENTS[conversation.agent_type]
    history = [(m.role, m.content) for m in await messages_of(session, conversation.id)]
    reply = await run_agent(llm, settings.llm_model, agent, prompt_messages(agent, [*history, ("user", text)]))
    await add_turn(session, conversation.id, text, reply.text)
    return ChatResponse(
        reply=reply.text,
        conversation_id=conversation.id,
        tool_calls=[ToolCallOut(name=c.name, arguments=c.arguments, result=c.result) for c in reply.tool_calls],
    )


def _event(data: object, event: str | None = None) -> str:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n"


async def _relay(
    stream: AsyncStream[ChatCompletionChunk], database: Database, conversation_id: int, user_text: str
) -> AsyncIterator[str]:
    tokens: list[str] = []
    try:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                token = chunk.choices[0].delta.content
                tokens.append(token)
                yield _event({"token": token})
    except openai.APIError:
        # The 200 and the first tokens are already sent: report the failure in-band and store
        # nothing, so the history never holds half a reply.
        yield _event({"detail": "The language model's stream broke off."}, event="error")
        return
    finally:
        await stream.close()
    async with database.sessions() as session:
        await add_turn(session, conversation_id, user_text, "".join(tokens))
    yield "data: [DONE]\n\n"
