"""The `edgebench` command as a user runs it, for the end-to-end tests."""

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path


def edgebench(*args, cwd=None, process: bool = False, timeout: float = 900):
    """`edgebench ARGS`: its exit code, stdout and stderr (a `CompletedProcess`).

    By default through `bench.cli.main` (what the console script runs), in this process: every
    run's workers then fork from this process's one fork server, which imports TensorFlow
    once per test process instead of once per run. `process=True` starts a fresh
    interpreter, for what only a process shows: a crash of the main process, what it
    imports, a time limit (`timeout`)."""
    argv = [str(a) for a in args]
    if process:
        return subprocess.run(
            [sys.executable, "-m", "bench.cli", *argv],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            timeout=timeout,
        )
    from bench.cli import main

    out, err, before = io.StringIO(), io.StringIO(), Path.cwd()
    try:
        os.chdir(cwd or before)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse's usage errors
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["edgebench", *argv], code, out.getvalue(), err.getvalue())


def estimate(ms: float, spread: tuple[float, float] | None = (0.85, 1.17)) -> dict:
    """A board estimate as a run writes it: with its 90 % interval (`spread`: factors)."""
    interval = (
        {}
        if spread is None
        else {"est_latency_ms_low": ms * spread[0], "est_latency_ms_high": ms * spread[1]}
    )
    return {
        "dtype": "int8",
        "est_latency_ms": ms,
        **interval,
        "est_energy_uj": 1.0,
        "est_battery_days": 100.0,
        "fits": True,
        "fit_reason": "",
        "calibrated": True,
    }


def typed(res: dict):
    """The results as `results.read` gives them: migrated and typed (`schema.Results`);
    what `res` leaves out of what a file must hold, empty."""
    import copy

    from bench.results import migrated
    from bench.schema import SCHEMA_VERSION, Results

    res = migrated(copy.deepcopy(res), res.get("schema_version", SCHEMA_VERSION))
    machine = {"fingerprint": "", "packages": {}} | res.get("machine", {})
    given = {"schema_version": SCHEMA_VERSION, "created": "", "config": {}}
    return Results.from_dict(given | res | {"machine": machine, "schema_version": SCHEMA_VERSION})


def compare(now: dict, base: dict, *args, **kwargs):
    """`gate.compare` on results written as plain data (rows as dicts)."""
    from bench import gate

    return gate.compare(typed(now), typed(base), *args, **kwargs)


def budgets(res: dict, table: dict):
    from bench import gate

    return gate.budgets(typed(res), table)


FIGURES = {  # one core's firmware figures, as a run writes them
    "core": "cortex-m4+fp",
    "flash_bytes": 40_000,
    "flash_model_bytes": 2_000,
    "flash_tflm_bytes": 30_000,
    "flash_rest_bytes": 8_000,
    "ram_bytes": 20_000,
    "ram_arena_bytes": 1_000,
    "ram_static_bytes": 2_000,
    "ram_stack_bytes": 17_000,
    "instructions": 9_000,
    "instructions_by_op": {"(interpreter)": 1_000, "FULLY_CONNECTED": 8_000},
    "output_max_abs_diff": 0.0,
    "output_matches_host": True,
}


def _closest(text, fragment: str) -> str:
    import difflib

    lines = text.splitlines() if isinstance(text, str) else [str(t) for t in text]
    near = difflib.get_close_matches(fragment, lines, n=1, cutoff=0.0)
    return f"\n  {fragment!r}\n    nearest: {near[0]!r}" if near else f"\n  {fragment!r}"


def said(text, *fragments: str) -> None:
    """Each of `fragments` is in `text` (a string or a collection). A failure names every
    one missing and, beside it, the nearest line of `text`, as pytest's `fnmatch_lines`
    reports: not a wall of output to search."""
    missing = [f for f in fragments if f not in text]
    assert missing == [], "not said:" + "".join(_closest(text, f) for f in missing)


def unsaid(text, *fragments: str) -> None:
    """None of `fragments` is in `text`; a failure names each one found, on its line."""
    found = [f for f in fragments if f in text]
    assert found == [], "said, and should not be:" + "".join(_closest(text, f) for f in found)


def starts(text: str, prefix: str) -> None:
    """`text` begins with `prefix`: a failure shows the two side by side."""
    assert text[: len(prefix)] == prefix


def ends(text: str, suffix: str) -> None:
    """`text` ends with `suffix`: a failure shows the two side by side."""
    assert text[len(text) - len(suffix) :] == suffix
