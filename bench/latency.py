"""Host latency on LiteRT: one window per invoke, one thread, after warm-up.

Only `invoke()` is timed (input set before the clock starts, output read after
it stops), with `time.perf_counter_ns`; the raw samples are kept so that gates
can test differences statistically. Throughput is the inference path (quantize, invoke,
dequantize) over many windows, batched where the model allows.
"""

import statistics

import numpy as np

from bench.runtime import BUDGET_NS, WARMUP, Budget, LiteRT, time_invokes
from bench.schema import HostLatency, Timing


def summarize(samples_ns: list[int]) -> Timing:
    """p50, p99, mean, stdev, min in microseconds, and the raw samples."""
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    return Timing(
        p50=float(np.percentile(us, 50)),
        p99=float(np.percentile(us, 99)),
        mean=float(us.mean()),
        stdev=float(statistics.stdev(us)) if len(us) > 1 else 0.0,
        min=float(us.min()),
        samples=len(us),
        samples_us=[round(t / 1000.0, 3) for t in samples_ns],
    )


def throughput(
    model: bytes,
    windows: np.ndarray,
    batch: int = 16_384,
    repeats: int = 3,
    budget: Budget = Budget(),
) -> float:
    """Windows per second through inference (quantize, invoke, dequantize), median of
    `repeats`; batched where the model's batch can be resized, else one invoke a window
    over at most 2,048 windows. The batch shrinks (to 64 at least) so that a repeat
    takes about the budget / `repeats`, judged from a warm-up on 64 windows."""
    clock, budget_ns = budget.clock, budget.ns or BUDGET_NS
    host = LiteRT(model)
    if not host.batches():
        batch = min(batch, 2048)
    start = clock()
    host.outputs(np.resize(windows, (64, *windows.shape[1:])))  # warm-up, and a first rate
    per_window = max(clock() - start, 1) / 64
    batch = int(min(batch, max(64, budget_ns / repeats / per_window)))
    x = np.resize(windows, (batch, *windows.shape[1:]))
    runs = []
    for _ in range(repeats):
        start = clock()
        host.outputs(x)
        runs.append(clock() - start)
    return batch / (statistics.median(runs) / 1e9)


def measure(model: bytes, windows: np.ndarray, samples: int, warmup: int = WARMUP) -> HostLatency:
    host = LiteRT(model)
    times = time_invokes(host, windows, samples, warmup)
    return HostLatency.of(
        summarize(times),
        throughput_windows_per_s=throughput(model, windows),
        litert_xnnpack_refused=host.xnnpack_refused,
    )
