"""Which real network requests a run allows outside its cassettes (`--llm-block-network`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NetworkPolicy:
    """`--llm-block-network`: real requests outside a cassette are refused unless allowed."""

    block: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allow_localhost: bool = False

    def allows(self, host: str) -> bool:
        host = host.lower()
        if not self.block:
            return True
        if self.allow_localhost and (host in ("localhost", "::1", "[::1]") or host.startswith("127.")):
            return True
        return host in self.allowed_hosts or any(
            a.startswith("*.") and host.endswith(a[1:]) for a in self.allowed_hosts
        )


network_policy = NetworkPolicy()
