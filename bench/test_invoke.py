"""The pytest-benchmark suite: one window's invoke per variant, on LiteRT and TFLite Micro.

Run with `pytest bench/ [--quick] [--variants ..] [--arch ..]`; every non-time metric of
the variant travels in `benchmark.extra_info`, so `--benchmark-json` holds the whole table.
"""

import pytest

from bench.interpreter import HostModel
from bench.tflm import MicroModel


def _rounds(suite_config):
    return suite_config.latency_samples, max(10, suite_config.latency_samples // 10)


def test_litert_invoke(benchmark, suite_measured, variant_name, arch_name):
    case = suite_measured(arch_name, variant_name)
    benchmark.extra_info.update(case.extra_info)
    host = HostModel(case.model)
    host.interpreter.set_tensor(host.input["index"], host.quantize(case.window[None]))
    rounds, warmup = _rounds(case.config)
    benchmark.pedantic(host.interpreter.invoke, rounds=rounds, warmup_rounds=warmup,
                       iterations=1)


def test_tflm_invoke(benchmark, suite_measured, variant_name, arch_name):
    case = suite_measured(arch_name, variant_name)
    benchmark.extra_info.update(case.extra_info)
    if not case.extra_info["tflm_deployable"]:
        pytest.skip(f"not deployable on TFLM: {case.extra_info['tflm_error']}")
    micro = MicroModel(case.model)
    micro.interpreter.set_input(micro.quantize(case.window[None]), 0)
    rounds, warmup = _rounds(case.config)
    benchmark.pedantic(micro.interpreter.invoke, rounds=rounds, warmup_rounds=warmup,
                       iterations=1)
