"""Host latency on LiteRT: one window per invoke, one thread, after warm-up.

Only `invoke()` is timed (input set before the clock starts, output read after
it stops), with `time.perf_counter_ns`; the raw samples are kept so that gates
can test differences statistically. Throughput is the batched inference path
(quantize, invoke, dequantize) over many windows at once.
"""

import statistics
import time

import numpy as np

from bench.interpreter import HostModel


def summarize(samples_ns) -> dict:
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    return {
        "latency_us_p50": float(np.percentile(us, 50)),
        "latency_us_p99": float(np.percentile(us, 99)),
        "latency_us_mean": float(us.mean()),
        "latency_us_stdev": float(statistics.stdev(us)) if len(us) > 1 else 0.0,
        "latency_us_min": float(us.min()),
        "latency_samples": len(us),
    }


def time_invokes(set_input, invoke, inputs, samples: int, warmup: int,
                 clock=time.perf_counter_ns) -> list[int]:
    """Nanoseconds of each `invoke()` after `warmup` untimed ones; inputs cycle, set
    before the clock starts."""
    times = []
    for i in range(warmup + samples):
        set_input(inputs[i % len(inputs)])
        start = clock()
        invoke()
        stop = clock()
        if i >= warmup:
            times.append(stop - start)
    return times


def samples_us(times_ns: list[int]) -> list[float]:
    """Raw samples as kept in results: microseconds, to the nanosecond."""
    return [round(t / 1000.0, 3) for t in times_ns]


def invoke_times_ns(model: bytes, windows: np.ndarray, samples: int, warmup: int,
                    clock=time.perf_counter_ns) -> list[int]:
    host = HostModel(model, batch=1)
    index = host.input["index"]
    return time_invokes(lambda q: host.interpreter.set_tensor(index, q),
                        host.interpreter.invoke, host.quantize(windows[:, None]), samples,
                        warmup, clock)


def throughput(model: bytes, windows: np.ndarray, batch: int = 16_384, repeats: int = 3,
               clock=time.perf_counter_ns) -> float:
    """Windows per second through batched inference, quantization included (median)."""
    host = HostModel(model, batch=batch)
    x = np.resize(windows, (batch, *windows.shape[1:]))
    host.run(x)  # warm-up
    runs = []
    for _ in range(repeats):
        start = clock()
        host.run(x)
        runs.append(clock() - start)
    return batch / (statistics.median(runs) / 1e9)


def measure(model: bytes, windows: np.ndarray, samples: int = 2000, warmup: int = 200) -> dict:
    times = invoke_times_ns(model, windows, samples, warmup)
    return {
        **summarize(times),
        "latency_samples_us": samples_us(times),
        "throughput_windows_per_s": throughput(model, windows),
    }
