"""Session fixtures of the benchmark suite: each variant built (through the cache) and
measured once by the run's own pipeline, whatever number of tests read it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest


@dataclass
class Case:
    model: bytes
    window: np.ndarray
    extra_info: dict
    config: object
    arena_bytes: int | None


@pytest.fixture(scope="session")
def suite_measured(suite_config: Any) -> Callable[[str, str], Case]:
    from bench import pipeline, schema
    from bench.build import build
    from bench.cache import Cache
    from bench.data.loaders import load
    from bench.session import settings
    from bench.train import contexts
    from variants import REGISTRY, NotApplicable

    dataset = load(suite_config.dataset, suite_config.stream, suite_config.csv_columns)
    ctxs = {
        ctx.arch.name: ctx for ctx in contexts(suite_config, dataset, Cache(suite_config.cache))
    }
    how = settings(suite_config, timings=False)  # pytest-benchmark times the invokes
    extra_keys = schema.scalar_fields(
        schema.Size, schema.Graph, schema.Tflm, schema.Detection, schema.Agreement
    )
    done = {}

    def measured(arch: str, variant: str) -> Case:
        if (arch, variant) not in done:
            ctx = ctxs[arch]
            try:
                model = build(REGISTRY[variant], ctx).model
            except NotApplicable as err:
                pytest.skip(f"{variant} does not apply to {arch}: {err}")
            row = pipeline.measure(model, ctx.windows.test.x, ctx.windows, how)
            extra = {
                "arch": arch,
                "variant": variant,
                "dataset": dataset.name,
                **{k: row.value(k) for k in extra_keys},
                "est_energy_uj": {b: e.est_energy_uj for b, e in (row.boards.boards or {}).items()},
                "errors": {k: str(e) for k, e in (row.id.errors or {}).items()} or None,
            }
            done[arch, variant] = Case(
                model, ctx.windows.test.x[0], extra, suite_config, row.tflm.arena_bytes
            )
        return done[arch, variant]

    return measured
