"""The pytest-benchmark suite: one window's invoke per variant, on LiteRT and TFLite Micro.

Run with `pytest bench/ [--quick] [--variants ..] [--arch ..]`; every non-time metric of
the variant travels in `benchmark.extra_info`, so `--benchmark-json` holds the whole table.
"""

from typing import Any

import pytest

from bench.runtime import WARMUP, LiteRT, Micro, Runtime


def _bench(benchmark: Any, rt: Runtime, case: Any) -> None:
    benchmark.extra_info.update(case.extra_info)
    rt.set_input(rt.quantize(case.window[None]))
    benchmark.pedantic(
        rt.invoke, rounds=case.config.latency_samples, warmup_rounds=WARMUP, iterations=1
    )


def test_litert_invoke(
    benchmark: Any, suite_measured: Any, variant_name: str, arch_name: str
) -> None:
    case = suite_measured(arch_name, variant_name)
    _bench(benchmark, LiteRT(case.model), case)


def test_tflm_invoke(
    benchmark: Any, suite_measured: Any, variant_name: str, arch_name: str
) -> None:
    case = suite_measured(arch_name, variant_name)
    if case.arena_bytes is None:
        benchmark.extra_info.update(case.extra_info)
        pytest.skip(f"not deployable on TFLM: {case.extra_info['tflm_error']}")
    _bench(benchmark, Micro(case.model, case.arena_bytes), case)
