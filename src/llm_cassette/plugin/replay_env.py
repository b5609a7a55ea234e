"""What a replaying test gets around it: placeholder provider keys and AWS credentials (SDK
constructors and boto3 insist on them), and the warning text for recorded interactions it never
used."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.session import Session

PLACEHOLDER_KEY = "sk-llm-cassette-placeholder-not-a-real-key"
# Provider key variables that SDK constructors insist on; set to a placeholder during replay.
PLACEHOLDER_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
# AWS credentials for boto3 (which signs every request and, with none in the environment, looks
# for them in ~/.aws and then at the instance metadata address, which the guard refuses in replay).
# Set only when the environment names no AWS credentials or profile: a configured profile wins.
PLACEHOLDER_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIALLMCASSETTEFAKE00",
    "AWS_SECRET_ACCESS_KEY": "llm-cassette-placeholder-not-a-real-aws-secret",
}
AWS_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")


def unused_message(session: Session) -> str | None:
    # A test with injected faults may by design never reach the recording it borrows.
    # A cassette several tests share holds the other tests' interactions too.
    if not session.replays_only or session.misses or session.faults or session.context.shared:
        return None
    unused = session.recorded.unused
    if not unused:
        return None
    lines = [f"{session.path}: {len(unused)} recorded interaction(s) were not used by this test:"]
    for i, it in unused[:5]:
        body = it.request.body[:80].decode("utf-8", "replace")
        lines.append(f"  #{i + 1} {it.request.method} {it.request.url} {body}")
    if len(unused) > 5:
        lines.append(f"  ... and {len(unused) - 5} more")
    lines.append("Re-record with `pytest --record` to drop them.")
    return "\n".join(lines)


_CHECKED = (*PLACEHOLDER_ENV_VARS, *AWS_CREDENTIAL_VARS)


def set_placeholder_keys() -> dict[str, str | None]:
    """Put placeholders in the environment where a replay needs credentials and has none; returns
    what to give back to `restore_env`."""
    from ..core.redaction import environ_values  # loaded with the core, by the first cassette

    environ = os.environ
    saved: dict[str, str | None] = {}
    current = environ_values(_CHECKED)  # each looked up once, in one pass
    for var in PLACEHOLDER_ENV_VARS:
        value = current.get(var)
        if not value:
            saved[var] = value
            environ[var] = PLACEHOLDER_KEY
    if not any(current.get(var) for var in AWS_CREDENTIAL_VARS):
        for var, placeholder in PLACEHOLDER_AWS.items():
            saved[var] = current.get(var)
            environ[var] = placeholder
    return saved


def restore_env(saved: dict[str, str | None]) -> None:
    environ = os.environ
    for var, value in saved.items():
        if value is None:
            environ.pop(var, None)  # the test may have removed it itself
        else:
            environ[var] = value
