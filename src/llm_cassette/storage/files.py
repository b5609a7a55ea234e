"""Cassette files on disk: cached loads, atomic writes, and finding cassettes in folders."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..core.models import CassetteData
from ..errors import CassetteFormatError
from . import parse_cache
from .schema import loads
from .yaml_format import dumps

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
    return _read_checked(path, limit)


def _read_checked(path: str | os.PathLike[str], limit: int | None) -> bytes:
    """`read_regular_file` after the caller's own stat said a regular file is there."""
    # Non-blocking open: if a FIFO replaced the file since the stat, opening it cannot hang either.
    fd = os.open(path, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path)
        # Unbuffered reads sized by the file: a buffered `read(limit + 1)` allocates `limit` bytes
        # first (200 MB by default: 0.1 ms per small cassette). The file may still be growing:
        # read on to the end, or to one byte over `limit`.
        left = -1 if limit is None else limit + 1
        parts: list[bytes] = []
        size = st.st_size + 1
        while left:
            asked = size if left < 0 else min(size, left)
            part = os.read(fd, asked)
            if not part:
                break
            parts.append(part)
            left -= len(part) if left > 0 else 0
            if len(part) < asked:
                break  # a regular file reads short only at its end: no read just to see nothing
            size = max(size, 1 << 16)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


_cache: dict[str, tuple[tuple[int, int, int], CassetteData]] = {}
_cache_lock = threading.Lock()


def load(path: str | os.PathLike[str], *, status: os.stat_result | None = None) -> CassetteData:
    """Read and parse a cassette file, reusing the parsed result while the file is unchanged.

    `status`: the file's `os.stat` as the caller has just taken it (one system call per load
    instead of two when the caller had to stat it first). The returned data is shared: callers
    must not mutate it.
    """
    if not isinstance(path, Path):  # re-making a Path costs more than the stat
        path = Path(path)
    if status is not None:
        st = status
    else:
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
        raw = _read_checked(path, limit)  # st_size may not be the size (a file still growing)
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


_HEADER = re.compile(rb"(?:[ \t]*(?:#[^\n]*)?\r?\n)*version: [0-9]+[ \t]*\r?\n")


def is_llm_cassette_file(path: Path) -> bool:
    """Whether a YAML file is one of ours by its first line, `version: N` (after any comments):
    llm-cassette writes it first, vcrpy writes `interactions:` first and its version last."""
    try:
        head = read_regular_file(path, 1024)
    except OSError:
        return False
    return _HEADER.match(head) is not None


def cassette_files(paths: Sequence[Path]) -> list[Path]:
    """The cassette files under `paths`: the one definition the run's summary, `stats`, `report`
    and `prune` count by.

    A file named in `paths` is taken as it is. A folder is searched recursively for regular
    `.yaml`/`.yml` files in llm-cassette's format (their first line is `version: N`), outside
    hidden folders: pytest-recording's cassettes, other YAML files and the `.name.*.tmp` files of
    an interrupted save are not cassette files (`other_yaml_files` lists the YAML ones).
    """
    found: dict[Path, None] = {}
    for p in paths:
        if p.is_dir():
            found.update((q, None) for q in _yaml_under(p) if is_llm_cassette_file(q))
        else:
            found[p] = None
    return list(found)


def other_yaml_files(paths: Sequence[Path]) -> list[Path]:
    """The `.yaml`/`.yml` files in the folders of `paths` that are not cassette files (see
    `cassette_files`): another tool's cassettes (vcrpy's, to import), configuration."""
    return [q for p in paths if p.is_dir() for q in _yaml_under(p) if not is_llm_cassette_file(q)]


def _yaml_under(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            q = Path(root) / name
            if q.suffix in (".yaml", ".yml") and not name.startswith(".") and q.is_file():
                out.append(q)
    return sorted(out)


def orphan_cassettes(used: set[Path], folders: Iterable[Path]) -> list[Path]:
    """Cassette files (see `cassette_files`) in `folders` that no collected test uses."""
    resolved = {p.resolve() for p in used}
    existing = [f for f in folders if f.is_dir()]
    return sorted({p for p in cassette_files(existing) if p.resolve() not in resolved})


def remove_empty_folders(start: Path, root: Path) -> list[Path]:
    """Remove `start` and its parents up to (not including) `root` while they are empty; the
    folders removed. A folder that holds anything at all stays."""
    removed: list[Path] = []
    folder, stop = start.resolve(), root.resolve()
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()  # only ever succeeds on an empty folder
        except OSError:
            break
        removed.append(folder)
        folder = folder.parent
    return removed
