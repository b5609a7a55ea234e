"""llm-cassette: record real LLM API traffic once, replay it forever.

The public names: `use_cassette` (outside pytest), `Cassette` (what the `llm_cassette` fixture
and `use_cassette` give), `CassetteOptions` and `RecordMode`, `faults`, the errors, the plain
data a cassette holds, and `load`/`save`/`loads`/`dumps` for cassette files. The pytest plugin
lives in `llm_cassette.plugin` (`record_mode(config)` is there); the fake server in
`llm_cassette.fake_server`; the layout is described in docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.lazy_names import resolver

if TYPE_CHECKING:
    from . import faults
    from .core.cassette import Cassette
    from .core.models import CassetteData, Chunk, Interaction, Request, Response, TransportFailure
    from .core.options import CassetteOptions, RecordMode
    from .errors import (
        CassetteError,
        CassetteFormatError,
        CassetteMiss,
        NetworkBlocked,
        NothingRecordedWarning,
        StaleCassetteWarning,
        UnusedInteractionsWarning,
    )
    from .python_api import use_cassette
    from .storage import dumps, load, loads, save

# Where each public name lives, imported on first use: `import llm_cassette.plugin` (every pytest
# run) must not pay for the YAML reader, the HTTP stacks or asyncio before a cassette is used.
_LAZY = {
    "faults": "",
    "Cassette": ".core.cassette",
    "CassetteData": ".core.models",
    "Chunk": ".core.models",
    "Interaction": ".core.models",
    "Request": ".core.models",
    "Response": ".core.models",
    "TransportFailure": ".core.models",
    "CassetteOptions": ".core.options",
    "RecordMode": ".core.options",
    "CassetteError": ".errors",
    "CassetteFormatError": ".errors",
    "CassetteMiss": ".errors",
    "NetworkBlocked": ".errors",
    "NothingRecordedWarning": ".errors",
    "StaleCassetteWarning": ".errors",
    "UnusedInteractionsWarning": ".errors",
    "use_cassette": ".python_api",
    "dumps": ".storage",
    "load": ".storage",
    "loads": ".storage",
    "save": ".storage",
}


__getattr__ = resolver(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "Cassette",
    "CassetteData",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMiss",
    "CassetteOptions",
    "Chunk",
    "Interaction",
    "NetworkBlocked",
    "NothingRecordedWarning",
    "RecordMode",
    "Request",
    "Response",
    "StaleCassetteWarning",
    "TransportFailure",
    "UnusedInteractionsWarning",
    "__version__",
    "dumps",
    "faults",
    "load",
    "loads",
    "save",
    "use_cassette",
]
