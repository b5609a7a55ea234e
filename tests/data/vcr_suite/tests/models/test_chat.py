"""Same module name as tests/test_chat.py, in another folder: its cassettes must not collide."""

import pytest


@pytest.fixture(scope="module")
def vcr_config():
    # This module keeps the compressed bodies as sent (stored as !!binary gzip).
    return {"filter_headers": ["authorization"], "decode_compressed_response": False}


@pytest.mark.vcr
def test_capital(openai_client):
    reply = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "What is the capital of France? Answer at length."}]
    )
    assert "Paris" in reply.choices[0].message.content
