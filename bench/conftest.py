"""Session fixtures of the benchmark suite: each variant built (through the cache) and
measured once, whatever number of tests read it."""

from dataclasses import dataclass

import numpy as np
import pytest

EXTRA_KEYS = ("size_bytes", "size_gzip_bytes", "params", "macs", "sparsity", "arena_bytes",
              "tflm_deployable", "tflm_error", "f1", "roc_auc", "pr_auc", "threshold")


@dataclass
class Case:
    model: bytes
    window: np.ndarray
    extra_info: dict
    config: object


@pytest.fixture(scope="session")
def suite_measured(suite_config):
    from bench import detection, energy, graph, size, tflm
    from bench.data.loaders import load
    from bench.run import catalog, contexts
    from variants import REGISTRY
    from variants.build import Cache, build

    dataset = load(suite_config.dataset, suite_config.stream, suite_config.csv_columns)
    ctxs = {ctx.arch.name: ctx
            for ctx in contexts(suite_config, dataset, Cache(suite_config.cache))}
    cat = catalog(suite_config)
    boards = cat.select(suite_config.boards)
    done = {}

    def measured(arch: str, variant: str) -> Case:
        if (arch, variant) not in done:
            ctx = ctxs[arch]
            model = build(REGISTRY[variant], ctx).model
            info = {"arch": arch, "variant": variant, "dataset": dataset.name,
                    **size.measure(model), **graph.measure(model), **tflm.arena(model),
                    **detection.measure(model, ctx.windows, suite_config.threshold)}
            extra = {k: info.get(k) for k in ("arch", "variant", "dataset", *EXTRA_KEYS)}
            extra["est_energy_uj"] = {b: e["est_energy_uj"] for b, e in
                                      energy.estimate(info, cat, boards).items()}
            done[arch, variant] = Case(model, ctx.windows.test.x[0], extra, suite_config)
        return done[arch, variant]

    return measured
