"""Unit-test fixtures: a private cache and small built models."""

import os
from collections.abc import Mapping

import pytest


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """A cache private to this test session (every test), never a user's cache; shared
    by the session's xdist processes, which write it atomically."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "cache"
    path.mkdir(exist_ok=True)
    os.environ["EDGEBENCH_CACHE"] = str(path)
    # the firmware stage only where a test asks for it with --tflm-tree: a user's tree
    # would otherwise make every run of the suite build firmware for every core
    os.environ.pop("EDGEBENCH_TFLM_TREE", None)
    return path


@pytest.fixture(scope="session")
def tiny_ctx(cache_dir):
    """A build context on a short stream with the seed architecture and one epoch."""
    from bench.build import BuildContext
    from bench.cache import Cache
    from bench.data.synthetic import StreamConfig, nepse_stream
    from bench.data.windows import make_windows
    from variants.baseline import ARCHS, TrainConfig

    stream = StreamConfig(sessions=40)
    windows = make_windows(nepse_stream(stream), ARCHS["seed"].window)
    return BuildContext(
        ARCHS["seed"], windows, TrainConfig(epochs=1), {"stream": stream}, Cache(cache_dir)
    )


@pytest.fixture(scope="session")
def tiny_models(tiny_ctx):
    """Variant name -> Built, for every registered variant on the tiny context, each
    built when first asked for: a test file that needs int8 does not wait for QAT."""
    return _Built(tiny_ctx)


class _Built(Mapping):
    def __init__(self, ctx):
        from variants import REGISTRY

        self._ctx, self._registry, self._found = ctx, REGISTRY, {}

    def __getitem__(self, name: str):
        from bench.build import build

        if name not in self._found:
            self._found[name] = build(self._registry[name], self._ctx)
        return self._found[name]

    def __iter__(self):
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)


SLOW_FIXTURES = {"quick_run", "user_models", "family"}  # each trains or runs the command


def pytest_collection_modifyitems(items):
    """Tests that need a whole run or trained families are `slow`: `pytest -m "not slow"`
    is the inner loop; the README's test command (and CI) runs everything."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
