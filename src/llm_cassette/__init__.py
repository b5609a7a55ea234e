"""llm-cassette: record real LLM API traffic once, replay it forever.

Public names are re-exported here; the pytest plugin lives in `llm_cassette.plugin`.
"""

from . import faults
from ._api import use_cassette
from ._errors import CassetteError, CassetteFormatError, CassetteMiss, NetworkBlocked
from ._format import dumps, load, loads, save
from ._models import CassetteData, Chunk, Interaction, Request, Response, TransportFailure
from ._session import RecordMode, Session

__version__ = "0.1.0"

__all__ = [
    "CassetteData",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMiss",
    "Chunk",
    "Interaction",
    "NetworkBlocked",
    "RecordMode",
    "Request",
    "Response",
    "Session",
    "TransportFailure",
    "__version__",
    "dumps",
    "faults",
    "load",
    "loads",
    "save",
    "use_cassette",
]
