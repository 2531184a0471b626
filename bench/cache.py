"""The cache and the hashes behind its keys, and atomic writes.

One home for what the run, the build workers and the report share: files under
`root/sealed/<key>/`, a key is a `digest` of what determined the result, and every file is
written through a temp file and a rename. Every entry is sealed with the sha256 of its
bytes: a damaged one (truncated, flipped bits, edited) is never read as a figure; it is
measured again, and the run says so in one warning line.
"""

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DIGEST_CHARS = 16  # every JSON digest (cache keys, measure keys) has this many hex digits


def digest(obj: Any) -> str:
    """A short stable hash of JSON-able data (keys sorted; other values as `str`)."""
    return digest_bytes(json.dumps(obj, sort_keys=True, default=str).encode())


def digest_bytes(*chunks: bytes) -> str:
    """A short stable hash of raw bytes (arrays, files), in the one length."""
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()[:DIGEST_CHARS]


def sources_digest(sources: Iterable[tuple[str, Path]]) -> str:
    """What results were computed by: each source file's name and contents."""
    return digest_bytes(*(name.encode() + path.read_bytes() for name, path in sources))


def default_cache_dir() -> Path:
    env = os.environ.get("EDGEBENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "edgebench"


def code_version() -> str:
    """Hash of the sources that shape a built model: the recipes, the data pipeline, and
    how models are built and brought in."""
    found = importlib.util.find_spec("variants")
    recipes = Path(next(iter(found.submodule_search_locations or ()))) if found else None
    folders = [f for f in (recipes, Path(__file__).parent / "data") if f is not None]
    files = [p for folder in folders for p in sorted(folder.glob("*.py"))]
    files += [Path(__file__).parent / name for name in ("build.py", "external.py")]
    return sources_digest((p.name, p) for p in files)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file beside `path`, then rename: an interrupted write leaves the old file,
    and a failed one (a full disk) leaves no partial file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode())


ENTRIES = "sealed"  # entries of older edgebench versions, unsealed, lie beside it, unread
SEAL = b"edgebench-cache-v1 sha256="  # then the hex digest of the rest, a newline, the rest
_WARNED: set[tuple[str, int, int]] = set()  # (path, size, mtime) of each damage said


def sealed(data: bytes) -> bytes:
    return SEAL + hashlib.sha256(data).hexdigest().encode() + b"\n" + data


def unsealed(raw: bytes) -> bytes | None:
    """The bytes a sealed entry holds, or None when they do not match their seal."""
    head, _, data = raw.partition(b"\n")
    if not head.startswith(SEAL) or head[len(SEAL) :] != hashlib.sha256(data).hexdigest().encode():
        return None
    return data


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def damaged(path: Path, why: str) -> None:
    """One warning line per damaged entry (per process: a worker's too, which inherits the
    terminal), however often it is read before it is made anew."""
    try:
        st = path.stat()
        seen = (str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        seen = (str(path), -1, -1)
    if seen not in _WARNED:
        _WARNED.add(seen)
        print(f"edgebench: warning: cache entry {path} {why}; made anew", file=sys.stderr)


@dataclass
class Cache:
    """Sealed files under `root/sealed/<key>/`; `root=None` disables caching."""

    root: Path | None

    def path(self, key: str, name: str) -> Path | None:
        return None if self.root is None else self.root / ENTRIES / key / name

    def read(self, key: str, name: str) -> bytes | None:
        """The entry's bytes; None when it is missing or damaged (said once)."""
        path = self.path(key, name)
        if path is None or not path.is_file():
            return None
        try:
            data = unsealed(path.read_bytes())
        except OSError as err:
            damaged(path, f"could not be read ({err.strerror or err})")
            return None
        if data is None:
            damaged(path, "does not match its seal (damaged, or an older edgebench's)")
        return data

    def load(self, key: str, name: str, parse: "Callable[[Any], T]") -> "T | None":
        """`parse(the entry's JSON)`; None when missing, damaged or not of that shape
        (an entry that does not validate is made anew, said once)."""
        raw = self.read(key, name)
        if raw is None:
            return None
        try:
            return parse(json.loads(raw))
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            path = self.path(key, name)
            assert path is not None
            damaged(path, f"does not validate ({type(err).__name__}: {str(err)[:80]})")
            return None

    def write(self, key: str, name: str, data: bytes) -> None:
        path = self.path(key, name)
        if path is not None:
            write_atomic(path, sealed(data))

    def file(self, key: str, name: str) -> Path | None:
        """A whole file another library reads (a Keras model), if it matches the digest
        kept beside it; None when missing or damaged (said once)."""
        path = self.path(key, name)
        if path is None or not path.is_file():
            return None
        kept = self.read(key, name + ".sha256")
        if kept is None or kept.decode(errors="replace") != file_digest(path):
            damaged(path, "does not match its digest")
            return None
        return path

    def keep_file(self, key: str, name: str, made: Path) -> None:
        """`made` moved into the entry `name`, its digest kept beside it."""
        path = self.path(key, name)
        if path is None:
            return
        digest_of = file_digest(made)
        os.replace(made, path)
        self.write(key, name + ".sha256", digest_of.encode())
