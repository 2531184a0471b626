"""The cache and the hashes behind its keys, and atomic writes.

One home for what the run, the build workers and the report share: files under
`root/<key>/`, a key is a `digest` of what determined the result, and every file is
written through a temp file and a rename.
"""

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Hash of the sources that shape a built model: the recipes and the data pipeline."""
    found = importlib.util.find_spec("variants")
    recipes = Path(next(iter(found.submodule_search_locations or ()))) if found else None
    folders = [f for f in (recipes, Path(__file__).parent / "data") if f is not None]
    return sources_digest((p.name, p) for folder in folders for p in sorted(folder.glob("*.py")))


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


@dataclass
class Cache:
    """Files under `root/<key>/`; `root=None` disables caching."""

    root: Path | None

    def path(self, key: str, name: str) -> Path | None:
        return None if self.root is None else self.root / key / name

    def read(self, key: str, name: str) -> bytes | None:
        path = self.path(key, name)
        return path.read_bytes() if path is not None and path.is_file() else None

    def write(self, key: str, name: str, data: bytes) -> None:
        path = self.path(key, name)
        if path is not None:
            write_atomic(path, data)
