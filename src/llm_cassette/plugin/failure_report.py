"""What the report of a test that llm-cassette failed shows: the miss (or the cassette error)
first, then only the user's own frames.

pytest would print every frame between the test and the raise: through an SDK that is ~125 lines
of `openai`, `httpx2` and `llm_cassette` internals before the one message that says what to do.
And when the miss went through a framework first (Starlette's `TestClient` runs the app in an
anyio portal, which a miss stops), the failure pytest sees is that framework's follow-up error
("This portal is not running"), with the miss only in its context.

So the report of a failure caused by a miss is rebuilt from pytest's own report classes (which
xdist carries from the workers): the miss's message, then the frames of the test and of the code
it calls that are neither installed packages, the standard library nor llm_cassette, in the run's
`--tb` style. `--fulltrace` keeps pytest's whole traceback.
"""

from __future__ import annotations

import functools
import linecache
import os
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType

import pytest
from _pytest._code.code import (
    ReprEntry,
    ReprEntryNative,
    ReprExceptionInfo,
    ReprFileLocation,
    ReprTraceback,
)
from _pytest.outcomes import Failed

from ..errors import CassetteError, CassetteMiss
from .state import ACTIVE

_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep
_INSTALLED = ("site-packages", "dist-packages")
_OURS = ("_pytest", "pluggy", "pytest")


class PluginFailure(Failed):
    """A failure the plugin adds itself (a caught miss, a missing cassette, an unused recording
    under `--llm-cassette-strict`): reported as its message alone, which the summary line shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


def cassette_failure(exc: BaseException) -> CassetteMiss | CassetteError | None:
    """The miss (else the cassette error) that `exc` is, or that it was raised in handling of or
    from, or that an exception group of it holds: the error the report should lead with."""
    found: list[BaseException] = list(_related(exc, set()))
    misses = [e for e in found if isinstance(e, CassetteMiss)]
    if misses:
        return misses[0]
    errors = [e for e in found if isinstance(e, CassetteError)]
    return errors[0] if errors else None


def _related(exc: BaseException, seen: set[int]) -> Iterator[BaseException]:
    if id(exc) in seen:
        return
    seen.add(id(exc))
    yield exc
    group = getattr(exc, "exceptions", None)
    if isinstance(group, (list, tuple)):
        for inner in group:
            if isinstance(inner, BaseException):
                yield from _related(inner, seen)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            yield from _related(linked, seen)


def failure_repr(
    item: pytest.Item,
    error: BaseException,
    *,
    then: BaseException | None = None,
    message: str | None = None,
    outer: BaseException | None = None,
) -> ReprExceptionInfo:
    """The report of a test failed by `error`: its message (or `message`), then the user's frames
    it went through.

    `then`: the miss did not reach the test as itself (the code under test caught it and the test
    failed on the 503 the app made of it; a portal it stopped failed the next call): that failure
    follows, in the same form, without the internals it went through.
    `outer`: the exception that reached the test holding `error` (a task group's, say): its frames
    lead to where `error`'s own start, in a task the test started.
    """
    style = str(item.config.getoption("tbstyle", "auto"))
    lines = (message or str(error)).splitlines() or [type(error).__name__]
    frames = _user_frames(error)
    if outer is not None and outer is not error:
        codes = {frame.f_code for frame, _ in frames}
        frames = [f for f in _user_frames(outer) if f[0].f_code not in codes] + frames
    return _report(item, lines, frames, style, then)


def _report(
    item: pytest.Item,
    message: list[str],
    frames: list[tuple[FrameType, int]],
    style: str,
    then: BaseException | None,
) -> ReprExceptionInfo:
    if style == "line":  # one line per failure: where, and the message's first line
        return ReprExceptionInfo(
            reprtraceback=ReprTraceback([], None, "line"), reprcrash=_crash(item, frames, message[0])
        )
    gap = [""] if style == "short" and frames else []  # `long` entries open with their own blank line
    entries: list[ReprEntry | ReprEntryNative] = [ReprEntry([*message, *gap], None, None, None, "value")]
    entries += _entries(item, frames, style)
    if then is not None:
        entries.append(ReprEntry(["", "After this miss, the test failed with:"], None, None, None, "value"))
        frames = _user_frames(then)
        entries += _entries(item, frames, style)
        entries.append(ReprEntry([f"E   {line}" for line in _exconly(then)], None, None, None, "short"))
    return ReprExceptionInfo(
        reprtraceback=ReprTraceback(entries, None, "long"), reprcrash=_crash(item, frames, message[0])
    )


def _exconly(exc: BaseException) -> list[str]:
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n").splitlines()


def _user_frames(exc: BaseException) -> list[tuple[FrameType, int]]:
    return [f for f in _frames(exc.__traceback__) if _is_user_code(f[0])]


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    return [(frame, lineno) for frame, lineno in traceback.walk_tb(tb) if not _hidden(frame)]


def _hidden(frame: FrameType) -> bool:
    hide = frame.f_locals.get("__tracebackhide__", frame.f_globals.get("__tracebackhide__", False))
    return bool(hide) and not callable(hide)  # a callable decides from pytest's ExceptionInfo: shown


@functools.cache
def _library() -> tuple[str, ...]:
    """The standard library's and the installed packages' folders (found once, when a test fails)."""
    import sysconfig

    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple({str(Path(p).resolve()) + os.sep for key in keys if (p := sysconfig.get_path(key))})


def _is_user_code(frame: FrameType) -> bool:
    """A frame of the project's own code: not llm_cassette, pytest, an installed package or the
    standard library."""
    filename = frame.f_code.co_filename
    if filename.startswith("<"):
        return False
    module = str(frame.f_globals.get("__name__", ""))
    if module.split(".")[0] in _OURS or module.startswith("llm_cassette."):
        return False
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE) or path.startswith(_library()):
        return False
    return not any(part in _INSTALLED for part in Path(path).parts)


def _entries(item: pytest.Item, frames: list[tuple[FrameType, int]], style: str) -> list[ReprEntry | ReprEntryNative]:
    if style == "no" or not frames:
        return []
    if style == "native":
        native = traceback.format_list(traceback.StackSummary.extract((f, n) for f, n in frames))
        return [ReprEntryNative(["\n", "Traceback (the test's own frames):\n", *native])]
    entries: list[ReprEntry | ReprEntryNative] = []
    for i, (frame, lineno) in enumerate(frames):
        path = _shown_path(item, frame.f_code.co_filename)
        # pytest's `auto`: the test's frame in full, the ones it calls one line each.
        if style == "short" or (style == "auto" and i > 0):
            source = linecache.getline(frame.f_code.co_filename, lineno).strip()
            entry = ReprEntry(
                [f"    {source}"], None, None, ReprFileLocation(path, lineno, f"in {frame.f_code.co_name}"), "short"
            )
        else:
            entry = ReprEntry(_source_to(frame, lineno), None, None, ReprFileLocation(path, lineno, ""), "long")
        entries.append(entry)
    return entries


def _source_to(frame: FrameType, lineno: int) -> list[str]:
    """The function's source up to the line that called on, that line marked as pytest marks it."""
    filename, first = frame.f_code.co_filename, frame.f_code.co_firstlineno
    start = first if 0 < lineno - first <= 40 else lineno
    source = textwrap.dedent("".join(linecache.getline(filename, n) for n in range(start, lineno + 1))).splitlines()
    if not source:
        return []
    return [f"    {line}" for line in source[:-1]] + [f">   {source[-1]}"]


def _crash(item: pytest.Item, frames: list[tuple[FrameType, int]], first_line: str) -> ReprFileLocation:
    if frames:
        frame, lineno = frames[-1]
        return ReprFileLocation(_shown_path(item, frame.f_code.co_filename), lineno, first_line)
    path, line, _ = item.location
    return ReprFileLocation(path, (line or 0) + 1, first_line)


def _shown_path(item: pytest.Item, filename: str) -> str:
    """As pytest shows paths: relative to the invocation folder when that is shorter."""
    try:
        shown = os.path.relpath(filename, item.config.invocation_params.dir)
    except ValueError:
        return filename
    return shown if len(shown) < len(filename) else filename


#: The last test of this process whose miss was its failure: a portal a later test finds stopped
#: (a TestClient shared through a module- or session-scoped fixture) was stopped by that miss.
LAST_MISS = pytest.StashKey[str]()


def rewrite_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Lead the report of a failure that llm-cassette caused with its message (see the module)."""
    if not report.failed or call.excinfo is None or item.config.getoption("fulltrace", False):
        return
    exc = call.excinfo.value
    crash = getattr(report.longrepr, "reprcrash", None)
    if isinstance(exc, PluginFailure) and isinstance(crash, ReprFileLocation):
        crash.message = str(exc)  # not "Failed: ..."
        return
    active = item.stash.get(ACTIVE, None)
    miss = active.first_miss if active is not None else None
    error = cassette_failure(exc)
    if call.when == "teardown" and miss is not None and (error is miss or _stopped_portal(exc)):
        # The fixture's `TestClient` could not shut down the portal the miss stopped: the test
        # failed with the miss already, once is enough.
        report.outcome, report.longrepr = "passed", None
        return
    if error is not None:
        report.longrepr = failure_repr(item, error, outer=exc)
    elif miss is not None and call.when == "call":
        report.longrepr = failure_repr(item, miss, then=None if _stopped_portal(exc) else exc)
    elif _stopped_portal(exc) and LAST_MISS in item.config.stash:
        if call.when == "teardown":
            report.outcome, report.longrepr = "passed", None  # the fixture's teardown: said by the call
            return
        note = (
            f"llm-cassette: the miss in {item.config.stash[LAST_MISS]} stopped the event loop of a TestClient "
            f"this test shares (an anyio portal), so this test failed too:\n{_exconly(exc)[-1]}"
        )
        report.longrepr = failure_repr(item, exc, message=note)
        return
    else:
        return
    if isinstance(error or miss, CassetteMiss):
        item.config.stash[LAST_MISS] = item.nodeid


def _stopped_portal(exc: BaseException) -> bool:
    """The error of a call into an event loop that the miss stopped: an anyio portal (Starlette's
    `TestClient`) ends when a `BaseException` goes through it, and its pending calls are cancelled
    or refused. Only the miss says anything."""
    cancelled = type(exc).__name__ == "CancelledError" and type(exc).__module__.startswith(("asyncio", "concurrent"))
    return cancelled or (isinstance(exc, RuntimeError) and "portal is not running" in str(exc))
