"""The package's own errors."""

from __future__ import annotations

from pathlib import Path

from _pytest.outcomes import OutcomeException


class CassetteError(Exception):
    """Base class for errors about cassettes and options (a bad file, an unknown option)."""


class CassetteFormatError(CassetteError):
    """A cassette file that cannot be read: invalid YAML, a missing key, a wrong type, an unknown version.

    The message names the file and, when known, the line.
    """

    def __init__(self, path: Path | str | None, message: str, line: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.reason = message
        where = str(self.path) if self.path is not None else "<cassette>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}")


class CassetteMiss(OutcomeException):
    """A request that the cassette cannot answer in the current record mode.

    Not an `Exception`, so nothing written for ordinary errors swallows it: the OpenAI SDK retries
    httpx errors, the Anthropic SDK wraps any `Exception` raised while sending into
    `APIConnectionError` and retries it, retry libraries and applications catch `Exception`.
    It is a test outcome, like `pytest.fail()`'s error (pytest's `OutcomeException`, a
    `BaseException`): anyio's pytest runner, which keeps one event loop task for a test and its
    async fixtures, lets outcomes through but dies on any other BaseException. The pytest plugin
    and `use_cassette` also fail the test (the block) when the code under test caught it anyway.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NetworkBlocked(CassetteMiss):
    """A connection refused by the network guard: no recorded stack made it while a cassette
    replays, or `--llm-block-network` is on. Unswallowable like a miss."""


class NothingRecordedWarning(UserWarning):
    """A recording test recorded nothing (its traffic may go through a stack llm-cassette does not record)."""


class UnusedInteractionsWarning(UserWarning):
    """A test did not use every interaction its cassette holds (the cassette may be stale)."""


class ReplayTimingWarning(UserWarning):
    """`replay_timing` asked for a wait no real response could have taken; it was shortened."""


class StaleCassetteWarning(UserWarning):
    """A replayed cassette was recorded longer ago than the `llm_cassette_max_age` setting allows."""
