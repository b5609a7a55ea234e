"""An example FastAPI "AI agent API": conversations stored in SQL, replies from an OpenAI-compatible model."""

from .config import Settings
from .main import create_app

__all__ = ["Settings", "create_app"]
