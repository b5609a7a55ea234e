"""What a whole test run did with its cassettes: per-test stats and the summary line.

Plain Python (nothing here imports pytest); the stats travel from xdist workers as dicts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.models import Interaction
    from ..core.session import Session


@dataclass
class CassetteStats:
    """One test's use of its cassette; JSON-serialisable, so it travels from xdist workers."""

    path: str
    mode: str
    played: int = 0
    recorded: int = 0
    network: int = 0
    saved: bool = False
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # plain values only: `asdict`'s deep copy costs ten times more

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CassetteStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def tokens_of(interactions: Iterable[Interaction]) -> int:
    """Total tokens reported by the providers in these interactions' responses (0 when unknown)."""
    from ..describe.usage_counts import reply_tokens, total_of  # not the protocol readers

    total = 0
    for it in interactions:
        try:
            tokens = reply_tokens(it)
            if tokens is None:  # a stream: its usage is assembled from the events
                from ..describe import usage as usage_of

                u = usage_of(it)
                tokens = 0 if u is None else total_of(u.input_tokens or 0, u.output_tokens or 0, u.total_tokens)
        except Exception:  # a reply we cannot read costs nothing we can count
            continue
        total += tokens
    return total


def stats_for(session: Session, saved: bool, *, count_tokens: bool = True) -> CassetteStats:
    """One test's stats. `count_tokens=False` when no summary line will show them (`-q`): counting
    re-reads every reply's JSON, the largest part of a replaying test's teardown."""
    return CassetteStats(
        path=str(session.path),
        mode=session.record_mode.value,
        played=session.play_count,
        recorded=session.recorded_count,
        network=session.recorded_count + session.passthrough_count,
        saved=saved,
        tokens=tokens_of(session.recorded.played) if count_tokens else 0,
    )


def summary_line(stats: list[CassetteStats], *, unrecorded: int = 0) -> str:
    """`llm-cassette: 42 cassettes replayed, 118 interactions, 0 network calls, 3 recorded (new_episodes)`.

    `unrecorded`: connections that left the process without a recording adapter (the network
    guard's count, from every test); they count as network calls, and are named apart.
    Cassettes are counted as files (`stats` and `report` count the same ones): a cassette that
    several tests replay is one.
    """
    replayed = len({os.path.normpath(s.path) for s in stats if s.played})
    interactions = sum(s.played for s in stats)
    network = sum(s.network for s in stats) + unrecorded
    recorded = sum(s.recorded for s in stats)
    modes = sorted({s.mode for s in stats if s.recorded})
    line = (
        f"llm-cassette: {replayed} cassette{'s' if replayed != 1 else ''} replayed, "
        f"{interactions} interaction{'s' if interactions != 1 else ''}, "
        f"{network} network call{'s' if network != 1 else ''}"
    )
    if unrecorded:
        line += f" ({unrecorded} outside cassettes)"
    line += f", {recorded} recorded"
    if modes:
        line += f" ({', '.join(modes)})"
    tokens = sum(s.tokens for s in stats)
    if tokens:
        line += f"; {tokens:,} tokens not spent"
    return line
