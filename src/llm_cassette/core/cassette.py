"""`Cassette`: what a test (or a `use_cassette` block) sees of its cassette."""

from __future__ import annotations

from pathlib import Path

from ..errors import CassetteMiss
from .models import Interaction, Request
from .options import RecordMode
from .session import Session


class Cassette:
    """The current cassette: its file, what it holds, what the code sent and what was replayed.

    Given by the `llm_cassette` fixture and by `with use_cassette(...) as cassette:`. Read-only.
    """

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<Cassette {self.path} ({self.record_mode.value})>"

    @property
    def path(self) -> Path:
        """The cassette file."""
        return self._session.path

    @property
    def record_mode(self) -> RecordMode:
        """The mode in force (a `read_only` cassette is always `none`)."""
        return self._session.record_mode

    @property
    def replays_only(self) -> bool:
        """True when nothing will be recorded: mode `none`, or `once` with an existing file."""
        return self._session.replays_only

    @property
    def interactions(self) -> list[Interaction]:
        """What the cassette holds: as loaded when replaying; when recording, what will be saved
        (redacted and through the `before_record_*` hooks, as on disk)."""
        return self._session.interactions

    @property
    def requests(self) -> list[Request]:
        """Every request the code sent through the cassette, in order, as sent (not redacted)."""
        return list(self._session.requests)

    @property
    def play_count(self) -> int:
        """How many requests were answered from the recording."""
        return self._session.play_count

    @property
    def recorded_count(self) -> int:
        """How many requests went to the network and were recorded."""
        return self._session.recorded_count

    @property
    def played_interactions(self) -> list[Interaction]:
        """Recorded interactions that were replayed, in file order."""
        return self._session.recorded.played

    @property
    def unused_interactions(self) -> list[tuple[int, Interaction]]:
        """Recorded interactions never replayed: (index in the file, interaction)."""
        return self._session.recorded.unused

    @property
    def misses(self) -> list[CassetteMiss]:
        """Requests that matched nothing, as the errors raised for them."""
        return list(self._session.misses)
