"""Persistence: conversations and their messages, with async SQLAlchemy 2.x (SQLite through aiosqlite)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone

from fastapi import Request
from sqlalchemy import DateTime, ForeignKey, String, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """A conversation with one agent."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Message(Base):
    """One message of a conversation: `role` is "user" or "assistant"."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Database:
    """The engine and a session factory; created and disposed of by the app's lifespan."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_tables(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    """FastAPI dependency: the app's database."""
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session for the duration of one request."""
    async with get_database(request).sessions() as session:
        yield session


# --- queries ---------------------------------------------------------------------------------


async def create_conversation(session: AsyncSession, agent_type: str) -> Conversation:
    conversation = Conversation(agent_type=agent_type)
    session.add(conversation)
    await session.commit()
    return conversation


async def messages_of(session: AsyncSession, conversation_id: int) -> Sequence[Message]:
    """The messages of a conversation, oldest first."""
    query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return (await session.scalars(query)).all()


async def add_turn(session: AsyncSession, conversation_id: int, user_text: str, reply: str) -> None:
    """Store a user message and the assistant's reply together: a failed turn leaves no half of it behind."""
    session.add_all(
        [
            Message(conversation_id=conversation_id, role="user", content=user_text),
            Message(conversation_id=conversation_id, role="assistant", content=reply),
        ]
    )
    await session.commit()
