"""Every endpoint wants `Authorization: Bearer <API_TOKEN>`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.asyncio

ENDPOINTS = [
    ("POST", "/conversations", {"agent_type": "assistant"}),
    ("GET", "/conversations/1/history", None),
    ("POST", "/agents/chat", {"session_id": 1, "message": "Hello?"}),
    ("POST", "/agents/chat/stream", {"session_id": 1, "message": "Hello?"}),
    ("POST", "/agents/assistant/chat", {"message": "Hello?"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token", "Basic dGVzdC1hcGktdG9rZW4=", "test-api-token"],
    ids=["missing", "wrong-token", "wrong-scheme", "no-scheme"],
)
async def test_requests_without_the_token_are_401(
    app: FastAPI, method: str, path: str, body: dict[str, object] | None, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.request(method, path, json=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Missing or invalid bearer token."}
