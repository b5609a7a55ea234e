"""The `llm_cassette` marker: which cassette a test uses, with which options, in which mode."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.options import CassetteOptions, RecordMode
from ..errors import CassetteError
from .paths import default_cassette_path, legacy_cassette_path
from .sharing import Sharing, sharing_of
from .state import COMMITTED, SETTINGS, VERIFY, WRITTEN

if TYPE_CHECKING:
    from ..core.session import Session

MARKER = "llm_cassette"


def marker_options(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    """The cassette name and options from every `llm_cassette` marker (closest wins)."""
    name: str | None = None
    options: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers(MARKER))):  # module → class → function
        if len(mark.args) > 1:
            raise CassetteError(f"{item.nodeid}: @pytest.mark.{MARKER} takes at most one positional name")
        if mark.args:
            name = str(mark.args[0])
        options.update(mark.kwargs)
    return name, options


def wants_cassette(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or MARKER in getattr(item, "fixturenames", ())


def build_session(item: pytest.Item, project: Mapping[str, Any] | None = None) -> Session:
    """The session for this test: its file, its options, the run's record mode.

    Options in layers, each over the one before: the ini options, the `llm_cassette_config`
    fixture (`project`), then the markers (module, class, function). The record mode from the
    command line or the environment wins over all of them.
    """
    from ..core.session import SaveContext, Session

    name, raw = marker_options(item)
    settings = item.config.stash[SETTINGS]
    options = settings.defaults
    if project:
        if not isinstance(project, Mapping):
            raise CassetteError(f"{item.nodeid}: the llm_cassette_config fixture must return a dict, not {project!r}")
        options = options.merged(project, f"{item.nodeid}: llm_cassette_config")
    options = options.merged(raw, f"{item.nodeid}: @pytest.mark.{MARKER}")
    forced: RecordMode | None = settings.record_mode
    options = options.merged({"record_mode": forced or options.record_mode or RecordMode.NONE})
    path = default_cassette_path(item, name)
    verify = item.config.stash.get(VERIFY, None)
    if verify is not None and not options.read_only:
        # Live, from scratch, into the scratch folder: the committed cassette is only compared with.
        from .verify import scratch_path

        item.stash[COMMITTED] = path
        path = scratch_path(item.config, verify, path)
        options = options.merged({"record_mode": RecordMode.ALL})
    written: dict[str, str] = item.config.stash[WRITTEN]
    sharing = sharing_of(item, path, named=name is not None)
    legacy = legacy_cassette_path(item) if name is None else None
    if legacy is not None and _replays_only(options) and not path.exists() and legacy.exists():
        # A cassette committed under the name earlier versions gave an id with unsafe characters
        # (which two ids could share): replayed from there; re-recording writes today's name.
        path, sharing = legacy, Sharing(shared=True, all_users_run=False)
    context = SaveContext(
        rerecord_hint=f"pytest --record {item.nodeid!r}   (or --llm-record-mode=all to record it from scratch)",
        record_hint=f"pytest --record {item.nodeid!r}",
        appends_to_run=str(path) in written,
        # A cassette other tests share: what this test does not use, another one does.
        shared=sharing.shared,
        all_users_run=sharing.all_users_run,
    )
    session = Session(path, options, context)
    if session.records or (session.record_mode is RecordMode.ONCE and not path.exists()):
        claim(item, path)
        written.setdefault(str(path), item.nodeid)
    return session


def claim(item: pytest.Item, path: Path) -> None:
    """Refuse to record a cassette another xdist worker of this run records too."""
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:
        return
    from .xdist_claims import RunJournal

    journal = RunJournal(
        Path(tempfile.gettempdir()) / f"llm-cassette-run-{workerinput['testrunuid']}", workerinput["workerid"]
    )
    conflicts = journal.claim(path, item.nodeid)
    if conflicts:
        others = ", ".join(f"{test} on {worker}" for worker, test in conflicts)
        raise CassetteError(
            f"{path}: recorded by more than one xdist worker ({item.nodeid} here, {others}); each worker "
            "would save only its own tests' interactions. Give the tests different cassette names, or keep "
            "them on one worker while recording (-n 0, or --dist loadfile for tests of one module)."
        )


def _replays_only(options: CassetteOptions) -> bool:
    return options.read_only or options.record_mode in (None, RecordMode.NONE, RecordMode.ONCE)
