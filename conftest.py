"""pytest options and session fixtures shared by the unit tests (tests/) and the
pytest-benchmark suite over the registry (bench/test_*.py, run by `pytest bench/`)."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MAX_TEST_PROCESSES = 4  # each test process may run a whole `edgebench run` (~3 GB)


def pytest_xdist_auto_num_workers(config):
    """`pytest -n auto` (the README's test command): one process per core, at most 4."""
    return min(MAX_TEST_PROCESSES, len(os.sched_getaffinity(0)))


def _names(text):
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


def pytest_addoption(parser):
    group = parser.getgroup("edgebench", "edgebench benchmark suite (pytest bench/)")
    group.addoption("--variants", help="comma-separated variants (default: the registry)")
    group.addoption("--arch", help="comma-separated architectures (default: all)")
    group.addoption(
        "--dataset",
        default="nepse",
        help="dataset: nepse (built in), nab:PATH, skab:PATH or csv:FILE",
    )
    group.addoption(
        "--quick",
        action="store_true",
        help="the small `edgebench run --quick` configuration: short stream, 3 epochs, few rounds",
    )


@pytest.fixture(scope="session")
def suite_config(pytestconfig):
    """The run configuration the suite benchmarks; it shares the CLI's build cache."""
    from dataclasses import replace

    from bench.cache import default_cache_dir
    from bench.config import RunConfig, check

    opts = pytestconfig.option
    cfg = RunConfig.quick_config() if opts.quick else RunConfig()
    overrides = {"archs": _names(opts.arch), "variants": _names(opts.variants)}
    cfg = replace(
        cfg,
        dataset=opts.dataset,
        cache=default_cache_dir(),
        out=default_cache_dir() / "suite",
        **{k: v for k, v in overrides.items() if v},
    )
    try:
        check(cfg)
    except Exception as err:
        raise pytest.UsageError(str(err)) from None
    return cfg


def pytest_generate_tests(metafunc):
    """Parametrize the suite over the registry (ids = variant names) and architectures."""
    if "variant_name" in metafunc.fixturenames:
        from variants import REGISTRY
        from variants.baseline import DEFAULT_ARCHS

        opts = metafunc.config.option
        names = _names(opts.variants) or tuple(REGISTRY)
        archs = _names(opts.arch) or DEFAULT_ARCHS
        metafunc.parametrize("variant_name", names, ids=names)
        metafunc.parametrize("arch_name", archs, ids=archs)
