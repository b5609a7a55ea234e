import dataclasses

import pytest
from openai import OpenAI

from llm_cassette import Request, Response


def drop_sdk_headers(request: Request) -> Request | None:
    """Called with each new recording's request (already redacted) before it is saved."""
    headers = tuple((k, v) for k, v in request.headers if not k.startswith("x-stainless-"))
    return dataclasses.replace(request, headers=headers)  # Request and Response are frozen dataclasses


def drop_rate_limit_headers(response: Response) -> Response | None:
    """Called with each new recording's response (already redacted) before it is saved."""
    headers = tuple((k, v) for k, v in response.headers if not k.startswith("x-ratelimit-"))
    return dataclasses.replace(response, headers=headers)


@pytest.mark.llm_cassette(
    redact_headers=["x-tenant-token"],
    redact_query_keys=["session"],
    redact_json_fields=["user", "metadata.customer_email"],
    redact_values=["acme-internal-project-42"],
    before_record_request=drop_sdk_headers,
    before_record_response=drop_rate_limit_headers,
)
def test_nothing_private_is_stored():
    client = OpenAI(
        default_headers={"x-tenant-token": "tenant-secret-value"},
        default_query={"session": "s-123456789"},
    )
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        user="user-8842",
        metadata={"customer_email": "ada@example.com"},
        messages=[{"role": "user", "content": "Status of project acme-internal-project-42?"}],
    )
    assert reply.choices[0].message.content.startswith("Echo: Status of project")
