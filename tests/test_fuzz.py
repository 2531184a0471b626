"""Seeded fuzzing of every input kind besides models (those are in test_hostile.py):
results files, dates in a CSV, budgets and the project's config.

Each mutant must be accepted or refused with the documented error (`UsageError` and its
kinds, one line); any other exception is a crash. The counts are printed (`-s`) for the
closing note, and the test fails on any crash.
"""

import contextlib
import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench import UsageError, diff, gate, report, results
from bench.data.loaders import CsvColumns, load_csv

GOLDEN = Path(__file__).parent / "golden" / "results-small.json"
HOSTILE_VALUES = [
    None,
    -16,
    7.5,
    10**400,
    -(2**70),
    "",
    "../../etc",
    "/abs/pwn",
    "a\x00b",
    "<script>x</script>",
    [],
    {},
    [[[[[]]]]],
    {"y": 1},
    True,
    "1e999",
    "NaN",
]


def _paths(value, path=()):
    """Every JSON path in `value`, lists sampled (their first three items)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:3]):
            yield from _paths(item, (*path, i))


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _results_mutants(count: int, seed: int = 0):
    base = json.loads(GOLDEN.read_text())
    paths = [p for p in _paths(base) if p]
    rng = np.random.default_rng(seed)
    for _ in range(count):
        doc = copy.deepcopy(base)
        for _ in range(int(rng.integers(1, 4))):
            path = paths[int(rng.integers(len(paths)))]
            value = HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]
            with contextlib.suppress(KeyError, IndexError, TypeError):  # a removed path
                _set(doc, path, copy.deepcopy(value))
        yield json.dumps(doc, allow_nan=True, default=str)


def _one_line(err: Exception) -> None:
    assert "\n" not in str(err), str(err)


def test_fuzzed_results_files_are_read_or_refused(tmp_path, capsys):
    """Every consumer of a results file (report, gate, diff) on each mutant that reads."""
    counts = dict.fromkeys(("inputs", "read", "refused", "crashes"), 0)
    base = results.read(GOLDEN)
    folder = tmp_path / "run"
    folder.mkdir()
    for i, text in enumerate(_results_mutants(400)):
        counts["inputs"] += 1
        path = folder / "results.json"
        path.write_text(text)
        try:
            res = results.read(path)
        except UsageError as err:
            _one_line(err)
            counts["refused"] += 1
            continue
        counts["read"] += 1
        try:
            report.render(res)
            gate.compare(res, base, gate.Tolerances())
            diff.render(diff.compare(base, res))
            if i % 20 == 0:  # figures are slow: a share of the mutants
                report.write(res, tmp_path / f"r{i}")
        except UsageError as err:
            _one_line(err)
        except Exception as err:  # a crash: what the test exists to find
            counts["crashes"] += 1
            print("crash", type(err).__name__, err)
    with capsys.disabled():
        print(f"\nresults files: {counts}")
    assert counts["crashes"] == 0
    assert counts["inputs"] == 400
    assert counts["refused"] > 100  # most mutants break the schema


DATES = [
    "2024-01-01 00:{m:02d}:00",
    "2024-01-01T00:{m:02d}:00Z",
    "2024-01-01 00:{m:02d}:00+05:00",
    "2024-01-01 00:{m:02d}:00-03:30",
    "01/02/2024 00:{m:02d}",
    "not a date",
    "",
    "2024-13-45 99:{m:02d}:00",
    "1e300",
    "9999-12-31 23:{m:02d}:59+14:00",
]


def test_fuzzed_dates_are_read_or_refused(tmp_path, capsys):
    """Mixed offsets, naive beside aware, impossible dates, numbers as dates."""
    rng = np.random.default_rng(1)
    counts = dict.fromkeys(("inputs", "loaded", "refused", "crashes"), 0)
    for k in range(60):
        lines = ["timestamp,value,label"]
        for i in range(200):
            stamp = DATES[int(rng.integers(len(DATES)))] if rng.random() < 0.3 else DATES[0]
            lines.append(f"{stamp.format(m=i % 60)},{math.sin(i / 5):.3f},{int(i % 50 == 0)}")
        path = tmp_path / f"d{k}.csv"
        path.write_text("\n".join(lines) + "\n")
        counts["inputs"] += 1
        try:
            load_csv(path, CsvColumns())
            counts["loaded"] += 1
        except UsageError as err:
            _one_line(err)
            counts["refused"] += 1
        except Exception as err:
            counts["crashes"] += 1
            print("crash", type(err).__name__, err)
    with capsys.disabled():
        print(f"\ndates: {counts}")
    assert counts["crashes"] == 0
    assert counts["loaded"] > 0


CONFIGS = [
    "[tool.edgebench\n",
    "[tool]\nedgebench = 3\n",
    "[tool.edgebench]\ngates = 'x'\n",
    "[tool.edgebench.gates]\nbudgets = 1\n",
    '[tool.edgebench.gates.budgets."*"]\nmax_size_bytes = -1\n',
    '[tool.edgebench.gates.budgets."*"]\nmin_point_f1 = 5\n',
    '[tool.edgebench.gates.budgets."*"]\nmax_far = 2\n',
    '[tool.edgebench.gates.budgets."a/b/c"]\nmax_far = 0.1\n',
    '[tool.edgebench.gates.budgets."*"]\nmax_est_latency_ms = { board = 3, ms = 1 }\n',
    "[tool.edgebench.gates.tolerances]\nalpha = nan\n",
    "[tool.edgebench.gates.tolerances]\nlatency_factor = inf\n",
    "\xff\xfe",
]


@pytest.mark.parametrize("text", CONFIGS)
def test_malformed_project_config_is_one_line(tmp_path, text):
    path = tmp_path / "pyproject.toml"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(UsageError) as caught:
        gate.load_gates(None, pyproject=path)
    _one_line(caught.value)
