"""Cassette files on disk: cached loads, atomic writes, and finding cassettes in folders."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..core.models import CassetteData
from ..errors import CassetteFormatError
from . import parse_cache
from .schema import loads
from .yaml_format import READABLE_VERSIONS, dumps

DEFAULT_MAX_SIZE = 200 * 1024 * 1024
MAX_SIZE_ENV = "LLM_CASSETTE_MAX_SIZE"


def max_size() -> int:
    raw = os.environ.get(MAX_SIZE_ENV)
    return int(raw) if raw else DEFAULT_MAX_SIZE


NOT_REGULAR = "not a regular file (a folder, a FIFO, a device or a socket cannot be a cassette)"


class NotRegularFile(OSError):
    """A path that is not a regular file where one is read: refused before any read (a FIFO would
    block forever, `/dev/zero` never ends). An `OSError`, so every "cannot read" handler reports it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, NOT_REGULAR, str(path))


def read_regular_file(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `limit` + 1 of them
    (so that a caller can tell the file is over `limit`).

    Every file the package reads on a user's behalf goes through here: a FIFO, a device, a
    socket or a folder raises `NotRegularFile` instead of blocking or reading forever.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise NotRegularFile(path)
    # Non-blocking open: if a FIFO replaced the file since the stat, opening it cannot hang either.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        return f.read() if limit is None else f.read(limit + 1)


_cache: dict[str, tuple[tuple[int, int, int], CassetteData]] = {}
_cache_lock = threading.Lock()


def load(path: str | os.PathLike[str]) -> CassetteData:
    """Read and parse a cassette file, reusing the parsed result while the file is unchanged.

    The returned data is shared: callers must not mutate it.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CassetteFormatError(path, f"cannot read: {exc}") from None
    identity = (st.st_mtime_ns, st.st_size, st.st_ino)
    key = str(path)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == identity:
        return hit[1]
    if not stat.S_ISREG(st.st_mode):
        raise CassetteFormatError(path, NOT_REGULAR)
    limit = max_size()
    try:
        raw = read_regular_file(path, limit)  # st_size may not be the size (a file still growing)
    except NotRegularFile:
        raise CassetteFormatError(path, NOT_REGULAR) from None
    if len(raw) > limit:
        raise CassetteFormatError(path, f"file is over the {limit}-byte limit (set {MAX_SIZE_ENV} to raise it)")
    data = parse_cache.parse_through(path, raw, lambda: loads(raw, path))
    with _cache_lock:
        _cache[key] = (identity, data)
    return data


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600: give it the cassette's mode, or a plain new file's.
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(path: str | os.PathLike[str], data: CassetteData) -> None:
    """Serialise and atomically write a cassette."""
    path = Path(path)
    text = dumps(data)
    atomic_write(path, text)
    with _cache_lock:
        _cache.pop(str(path), None)


def iter_cassette_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Every `*.yaml`/`*.yml` file under the given files and folders, sorted."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
        else:
            yield p


def is_llm_cassette_file(path: Path) -> bool:
    """Whether a YAML file looks like one of ours (other tools may share the folder)."""
    try:
        head = read_regular_file(path, 63)
    except OSError:
        return False
    return any(head.startswith(f"version: {v}{end}".encode()) for v in READABLE_VERSIONS for end in ("\n", "\r\n"))


def orphan_cassettes(used: set[Path], folders: Iterable[Path]) -> list[Path]:
    """Cassette files in `folders` (searched recursively) that no collected test uses."""
    resolved = {p.resolve() for p in used}
    out: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.rglob("*.y*ml"):
            if p.suffix in (".yaml", ".yml") and p.resolve() not in resolved and is_llm_cassette_file(p):
                out.add(p)
    return sorted(out)
