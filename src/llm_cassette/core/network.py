"""Which connections may leave the process, and what left: the network guard's policy and journal.

While a cassette replays, only loopback may be reached by code that no recording adapter serves;
`--llm-block-network` (or `LLM_CASSETTE_BLOCK_NETWORK=1`) also guards loopback and the time
outside cassettes. The socket patches that ask this module live in `stacks.guard`.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass, field

from ..errors import NetworkBlocked
from .registry import active_session

BLOCK_NETWORK_ENV = "LLM_CASSETTE_BLOCK_NETWORK"
_FALSE = ("", "0", "false", "no", "off")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine: loopback, `localhost`, unspecified."""
    host = host.lower().strip("[]")
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _matches(host: str, patterns: frozenset[str]) -> bool:
    return host in patterns or any(p.startswith("*.") and host.endswith(p[1:]) for p in patterns)


@dataclass
class NetworkPolicy:
    """`--llm-block-network` and the hosts let through (`--llm-allowed-hosts`, `--llm-allow-localhost`)."""

    block: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allow_localhost: bool = False

    @property
    def blocking(self) -> bool:
        """`--llm-block-network`, or `LLM_CASSETTE_BLOCK_NETWORK=1` (read when asked, so that it
        applies to `use_cassette` outside pytest too)."""
        return self.block or os.environ.get(BLOCK_NETWORK_ENV, "").strip().lower() not in _FALSE

    def allows(self, host: str) -> bool:
        """Whether a request to `host` outside any cassette may go out."""
        host = host.lower().strip("[]")
        if not self.blocking:
            return True
        if self.allow_localhost and is_loopback(host):
            return True
        return _matches(host, self.allowed_hosts)

    def guard_scope(self) -> tuple[bool, object]:
        """(guarded, session): whether connections are guarded right now, and the active session."""
        session = active_session()
        return (self.blocking or (session is not None and session.replays_only)), session

    def allowed_explicitly(self, host: str, session: object) -> bool:
        """Whether `host` is let through by name: `--llm-allowed-hosts`, or the session's `ignore_hosts`."""
        host = host.lower().strip("[]")
        ignored: frozenset[str] = getattr(getattr(session, "options", None), "ignore_hosts", frozenset())
        return _matches(host, self.allowed_hosts) or _matches(host, ignored)

    def lets_through(self, host: str, session: object) -> bool:
        """Whether a guarded connection to `host` may go out (the guard is on when this is asked)."""
        host = host.lower().strip("[]")
        if self.allowed_explicitly(host, session):
            return True
        resolved_from = journal.allowed_addresses.get(host)
        if resolved_from is not None and self.allowed_explicitly(resolved_from, session):
            return True
        if is_loopback(host):
            return not self.blocking or self.allow_localhost
        return False


network_policy = NetworkPolicy()


@dataclass(frozen=True)
class Connection:
    """One connection the guard saw: where to, the library that opened it, what became of it."""

    host: str
    port: int | None
    library: str = ""
    by_adapter: bool = False  # made by a recording adapter (a cassette counts it as a request)
    refused: bool = False


@dataclass
class NetworkJournal:
    """Every connection the guard saw, in order, and every refusal; readers keep a mark."""

    connections: list[Connection] = field(default_factory=list)
    # Each refusal with the session that was active when it happened (None: no cassette).
    refusals: list[tuple[NetworkBlocked, object]] = field(default_factory=list)
    # Refusals a caller already failed with (an inner pytest run, a `use_cassette` block): a
    # refusal fails exactly one caller.
    _claimed: set[int] = field(default_factory=set)
    # Addresses that allowed host names resolved to: connections to them are allowed too.
    allowed_addresses: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, connection: Connection, refusal: NetworkBlocked | None = None, owner: object = None) -> None:
        with self._lock:
            self.connections.append(connection)
            if refusal is not None:
                self.refusals.append((refusal, owner))

    def mark(self) -> tuple[int, int]:
        """A position to read from later with `connections_since` / `refusals_since`."""
        return len(self.connections), len(self.refusals)

    def connections_since(self, mark: tuple[int, int]) -> list[Connection]:
        return self.connections[mark[0] :]

    def claim_refusals(self, mark: tuple[int, int], owners: tuple[object, ...]) -> list[NetworkBlocked]:
        """Refusals since `mark`, made while one of `owners` (sessions, or None) was active, that no
        other caller claimed yet; they are the caller's from now on."""
        with self._lock:
            out = []
            for i in range(mark[1], len(self.refusals)):
                refusal, owner = self.refusals[i]
                if i not in self._claimed and any(owner is o for o in owners):
                    self._claimed.add(i)
                    out.append(refusal)
            return out


journal = NetworkJournal()


def unrecorded(connections: list[Connection]) -> list[Connection]:
    """The connections that went out without a recording adapter (no cassette holds them)."""
    return [c for c in connections if not c.by_adapter and not c.refused]
