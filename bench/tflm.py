"""TFLite Micro on the host: can it run the model, in how small an arena, how fast.

Every allocation probe runs in a forked child, so that a native crash (some too
small arenas segfault the interpreter) costs the child, never the harness. What
TFLM prints goes to the C-level stdout/stderr; the child sends those file
descriptors to a temp file that the parent reads.

Figures come from the 64-bit host build: TFLM keeps pointer-sized structs in the
arena, so a 32-bit MCU needs the same or somewhat less than `arena_bytes`.
"""

import faulthandler
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tflite_micro.python.tflite_micro import runtime

from bench.advice import advice
from bench.latency import summarize
from bench.lifetime import die_with_parent
from bench.runtime import WARMUP, LiteRT, Micro, Reduce, time_invokes
from bench.schema import Agreement, Allocation, Tflm, TflmLatency

GENEROUS_ARENA = 8 << 20  # bytes: enough for any model this harness builds
ARENA_STEP = 16  # TFLM aligns arena allocations to 16 bytes
PROBE_TIMEOUT_S = 10.0  # one allocation and invoke: well under 1 s for any model seen here


@dataclass(frozen=True)
class Probe:
    ok: bool
    log: str  # what TFLM printed
    error: str = ""  # why not ok: the kernel's words, an exception, or a crash
    crashed: bool = False  # the child died of a signal


def _child(model: bytes, arena_size: int, allocations: bool) -> int:
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    detail = interpreter.get_input_details(0)
    interpreter.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
    interpreter.invoke()
    if allocations:
        interpreter.print_allocations()
    return 0


def probe(
    model: bytes,
    arena_size: int,
    allocations: bool = False,
    run: Callable[[bytes, int, bool], int] = _child,
    label: str = "TFLM",
) -> Probe:
    """Allocate and invoke `model` with `arena_size` bytes, isolated in a forked child
    (`run` does the work there; `label` names the interpreter in a crash's message)."""
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:  # the child: never returns into the harness
            code = 1
            try:
                die_with_parent()
                faulthandler.disable()  # a crash here is an expected result, not news
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                code = run(model, arena_size, allocations)
            except BaseException as err:
                os.write(2, f"\nEXCEPTION {type(err).__name__}: {err}\n".encode())
            finally:
                os._exit(code)
        status, killed = _wait(pid)
        out.seek(0)
        log = out.read().decode(errors="replace")
    if killed:
        return Probe(False, log, f"{label} timed out after {PROBE_TIMEOUT_S:.0f} s", crashed=True)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        where = f" with a {arena_size:,}-byte arena" if arena_size else ""
        return Probe(False, log, f"{label} crashed ({name}){where}", crashed=True)
    if os.WEXITSTATUS(status) != 0:
        return Probe(False, log, kernel_reason(log))
    return Probe(True, log)


def _wait(pid: int) -> tuple[int, bool]:
    """The child's exit status, and whether it was killed for taking too long."""
    deadline, killed = time.monotonic() + PROBE_TIMEOUT_S, False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, killed
        if time.monotonic() > deadline and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.0005)


def kernel_reason(log: str) -> str:
    """TFLM's own words for a failure: its printed lines, in one line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    lines = [ln.removeprefix("EXCEPTION ") for ln in lines]
    return "; ".join(lines) or "TFLM failed without a message"


def failing_ops(log: str) -> dict[str, str]:
    """Operators named in a failure log -> what TFLM said about them."""
    found = {}
    for op in re.findall(r"Didn't find op for builtin opcode '(\w+)'", log):
        found[op] = "no kernel in TFLM"
    for op in re.findall(r"Node (\w+) \(number \d+\) failed to prepare", log):
        found.setdefault(op, "kernel refuses this tensor type or shape")
    return found


def smallest_arena(
    fits: Callable[[int], bool], hi: int, step: int = ARENA_STEP, guess: int | None = None
) -> int:
    """The smallest multiple of `step` in (0, hi] for which `fits` holds, by bisection.
    A `guess` (TFLM's recorded total: the answer for the conv models) is tried first with
    the size one step below it: two probes when it is right, one more than bisection
    when it is not.

    Assumes `fits(hi)` and that fitting is monotonic in the arena size.
    """
    lo, hi = 0, hi // step  # in steps: lo never fits, hi always does
    if guess is not None and 0 < (g := -(-guess // step)) < hi:
        if not fits(g * step):
            lo = g
        elif g > 1 and fits((g - 1) * step):
            hi = g - 1
        else:
            lo, hi = g - 1, g
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid * step):
            hi = mid
        else:
            lo = mid
    return hi * step


_ALLOC = re.compile(
    r"'([^']+)' used (\d+) bytes with alignment overhead "
    r"\(requested (\d+) bytes for (\d+)"
)
_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def parse_allocations(log: str) -> dict:
    """The RecordingMicroAllocator's printout as numbers."""
    found = {f"arena_{part}_bytes": int(n) for part, n in _TOTAL.findall(log)}
    breakdown = {
        name: Allocation(int(used), int(req), int(n)) for name, used, req, n in _ALLOC.findall(log)
    }
    return {
        "arena_recorded_bytes": found.get("arena_total_bytes"),
        "arena_head_bytes": found.get("arena_head_bytes"),
        "arena_tail_bytes": found.get("arena_tail_bytes"),
        "arena_breakdown": breakdown,
    }


def arena(model: bytes) -> Tflm:
    """Deployability, smallest arena and the allocator's breakdown, all probed isolated."""
    start = time.perf_counter()
    first = probe(model, GENEROUS_ARENA, allocations=True)
    if not first.ok:
        return Tflm(
            tflm_deployable=False,
            tflm_error=first.error,
            tflm_advice=advice(first.error),
            tflm_failing_ops=failing_ops(first.log),
            arena_search_seconds=time.perf_counter() - start,
        )
    crashes, probes = [], []

    def fits(size: int) -> bool:
        result = probe(model, size)
        probes.append(size)
        if result.crashed:
            crashes.append(size)
        return result.ok

    # Bisect below twice the recorded total when that fits: half the probes of the full range.
    allocations = parse_allocations(first.log)
    recorded = allocations["arena_recorded_bytes"]
    twice = 2 * (recorded or GENEROUS_ARENA) + 1024
    hi = min(GENEROUS_ARENA, -(-twice // ARENA_STEP) * ARENA_STEP)
    smallest = smallest_arena(fits, hi if fits(hi) else GENEROUS_ARENA, guess=recorded)
    return Tflm(
        tflm_deployable=True,
        tflm_error=None,
        tflm_failing_ops={},
        arena_bytes=smallest,
        **allocations,
        arena_probes=len(probes),
        arena_crashed_sizes=crashes,
        arena_search_seconds=time.perf_counter() - start,
    )


def latency(
    model: bytes, arena_bytes: int, windows: np.ndarray, samples: int, warmup: int = WARMUP
) -> TflmLatency:
    """TFLM's per-window invoke latency (host build, reference kernels)."""
    times = time_invokes(Micro(model, arena_bytes), windows, samples, warmup)
    return TflmLatency.of(summarize(times))


def agreement(
    model: bytes,
    arena_bytes: int,
    x: np.ndarray,
    cuts: list[tuple[float, Reduce]],
    seen: np.ndarray | None = None,
) -> list[Agreement]:
    """Do TFLM and LiteRT score the same windows alike and raise the same alarms, under
    each (threshold, score) of `cuts`, given `seen` of `x` (`Windows.seen`)? One pass of
    each interpreter serves them all."""

    def each(errors: np.ndarray) -> np.ndarray:
        return np.stack([reduce(errors) for _, reduce in cuts], axis=1)

    host = LiteRT(model).scores(x, each, seen)
    micro = Micro(model, arena_bytes).scores(x, each, seen)
    return [
        Agreement(
            tflm_score_max_abs_diff=float(np.max(np.abs(micro[:, j] - host[:, j]))),
            tflm_decisions_differ=int(np.sum((micro[:, j] > t) != (host[:, j] > t))),
        )
        for j, (t, _) in enumerate(cuts)
    ]
