"""Every file edgebench reads from the user: a regular file of bounded size, read once.

A FIFO, a device (`/dev/zero`) or a folder where a file is expected is refused with one
line, and so is a file over the limit (`EDGEBENCH_MAX_INPUT_BYTES`, default 512 MiB), so
that no input can hang a command or exhaust the machine's memory.
"""

import os
import stat
from pathlib import Path

from bench import UsageError

DEFAULT_MAX_BYTES = 512 << 20


def max_bytes() -> int:
    given = os.environ.get("EDGEBENCH_MAX_INPUT_BYTES", "")
    if not given:
        return DEFAULT_MAX_BYTES
    if not given.isdigit() or int(given) < 1:
        raise UsageError(f"EDGEBENCH_MAX_INPUT_BYTES={given!r}: give a positive number of bytes")
    return int(given)


def check(path: Path, what: str = "file", error: type[UsageError] = UsageError) -> int:
    """The size of `path`, a regular file within the limit; `error` otherwise."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise error(f"{path}: cannot read this {what} ({getattr(err, 'strerror', err)})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise error(f"{path}: {kind}; give a {what} (a regular file)")
    limit = max_bytes()
    if info.st_size > limit:
        raise error(
            f"{path}: {info.st_size:,} bytes, over the limit of {limit:,} for a {what}; "
            "raise EDGEBENCH_MAX_INPUT_BYTES if it is genuine"
        )
    return info.st_size


def read_bytes(path: Path, what: str = "file", error: type[UsageError] = UsageError) -> bytes:
    check(path, what, error)
    try:
        with open(path, "rb") as f:
            return f.read(max_bytes() + 1)[: max_bytes()]
    except OSError as err:
        raise error(f"{path}: cannot read this {what} ({err.strerror or err})") from None


def read_text(path: Path, what: str = "file", error: type[UsageError] = UsageError) -> str:
    data = read_bytes(path, what, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
