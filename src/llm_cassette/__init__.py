"""llm-cassette: record real LLM API traffic once, replay it forever.

The public names: `use_cassette` (outside pytest), `Cassette` (what the `llm_cassette` fixture
and `use_cassette` give), `CassetteOptions` and `RecordMode`, `faults`, the errors, the plain
data a cassette holds, and `load`/`save`/`loads`/`dumps` for cassette files. The pytest plugin
lives in `llm_cassette.plugin` (`record_mode(config)` is there); the fake server in
`llm_cassette.fake_server`; the layout is described in docs/architecture.md.
"""

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
