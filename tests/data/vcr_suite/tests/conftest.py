"""Shared configuration of the suite, as pytest-recording reads it."""

import os

import openai
import pytest
import pytest_asyncio

from . import json_body_serializer


def pytest_recording_configure(config, vcr):
    vcr.register_serializer("yaml", json_body_serializer)


@pytest.fixture(scope="module")
def vcr_config():
    return {
        "filter_headers": ["authorization", "x-api-key"],
        "decode_compressed_response": True,
    }


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def openai_client():
    # The real API unless OPENAI_BASE_URL says otherwise; a placeholder key when replaying.
    with openai.OpenAI(api_key=os.getenv("OPENAI_API_KEY", "mock-api-key"), max_retries=0) as client:
        yield client


@pytest_asyncio.fixture
async def async_openai_client():
    async with openai.AsyncOpenAI(api_key=os.getenv("OPENAI_API_KEY", "mock-api-key"), max_retries=0) as client:
        yield client


@pytest.fixture
def anthropic_api_key():
    return os.getenv("ANTHROPIC_API_KEY", "mock-api-key")
