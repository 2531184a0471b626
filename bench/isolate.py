"""Work on a foreign model in a forked child, bounded in time and memory.

A `.tflite` brought with `--model` can loop for ever (a WHILE whose trip count the
input sets) or declare tensors that exhaust the machine. Each measurement of such a
model runs here: the child's address space is capped (`RLIMIT_AS`), the parent kills
it at the deadline, and what it returns comes back pickled through a pipe.
"""

import math
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bench import InvalidModel, MeasurementError
from bench.lifetime import die_with_parent

T = TypeVar("T")
MAX_TENSOR_BYTES = 64 << 20  # default: no microcontroller model comes near one such tensor


@dataclass(frozen=True)
class Limits:
    """How long and how much memory one measurement of a foreign model may take."""

    timeout_s: float  # wall seconds per measurement
    memory_bytes: int  # address space the child may add to what it inherits


def default_timeout(model_bytes: int) -> float:
    """60 s, plus 10 s per MB of flatbuffer: timing and scoring grow with the model."""
    return 60.0 + 10.0 * model_bytes / 1e6


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def run(work: Callable[[], T], limits: Limits, stage: str) -> T:
    """`work()` in a forked child; MeasurementError naming `stage` if it times out,
    crashes, runs out of memory or raises."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller
        os.close(read_end)
        _child(work, limits, write_end)
    os.close(write_end)
    data, timed_out = _collect(read_end, time.monotonic() + limits.timeout_s, pid)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        raise MeasurementError(f"timed out after {limits.timeout_s:g} s measuring {stage}")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise MeasurementError(f"the interpreter crashed ({name}) measuring {stage}")
    try:
        kind, value = pickle.loads(data)
    except Exception:  # the child died before it could answer
        raise MeasurementError(f"no answer from the child measuring {stage}") from None
    if kind == "error":
        raise MeasurementError(value)
    return value


def _child(work: Callable[[], object], limits: Limits, write_end: int) -> None:
    code = 0
    try:
        die_with_parent()  # a run killed meanwhile leaves no measuring child behind
        cap = _address_space() + limits.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        answer: tuple[str, object] = ("ok", work())
    except MemoryError:
        gib = limits.memory_bytes / 2**30
        answer = ("error", f"ran out of memory (limit {gib:.1f} GiB more than the harness)")
    except BaseException as err:
        answer = ("error", f"{type(err).__name__}: {str(err).strip()[:400]}")
    try:
        data = pickle.dumps(answer)
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _collect(fd: int, deadline: float, pid: int) -> tuple[bytes, bool]:
    """What the child writes until it closes the pipe, or (b"", True) at the deadline."""
    chunks: list[bytes] = []
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return b"", True
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
    finally:
        os.close(fd)


def check_tensors(model: bytes, limit: int, where: str) -> None:
    """Refuse, before anything is allocated, a model declaring a tensor over `limit` bytes."""
    from bench import graph

    try:
        declared = graph.declared_tensors(model)
    except InvalidModel:
        return  # damaged: the isolated opening says how, in its own words
    for name, shape, itemsize in declared:
        size = math.prod(shape) * itemsize
        if size > limit:
            raise InvalidModel(
                f"{where}: tensor {name!r} {list(shape)} declares {size:,} bytes, over the "
                f"limit of {limit:,}; raise --max-tensor-bytes if the model is genuine"
            )
