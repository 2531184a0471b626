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
import traceback
from pathlib import Path

import numpy as np
import pytest
from helpers import FIGURES, unsaid

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


def _rich(base: dict, model: bytes | None = None) -> dict:
    """The golden file with every section a run writes now: firmware figures, a board's
    firmware fit, the scaling the export reads, intervals; its int8 row measuring `model`."""
    import hashlib

    row = base["rows"][2]
    row |= {"firmware": {"cortex-m4+fp": FIGURES}, "firmware_tool": "gcc, TFLM tree 0a, u"}
    row |= {"point_f1_boot_low": 0.1, "point_f1_boot_high": 0.4, "score_rank_correlation": 0.9}
    if model is not None:
        row["sha256"] = hashlib.sha256(model).hexdigest()
    fit_row = {"benchmark": "ad", "software": "TFLM", "published_ms": 10.0, "instructions": 9}
    fit_row |= {"est_ms": 9.0, "error_ms": -0.1, "loo_error_ms": 0.2}
    fit = {"board": "b", "core": "cortex-m4+fp", "cpi": 1.5, "rows": [fit_row], "note": "n"}
    base["calibration"]["firmware"] = {"b": fit}
    scaling = {"series": "s", "kind": "minmax", "log": True, "shift": [9.4], "scale": [2.8]}
    base["scaling"] = {"seed": [scaling | {"input_low": [0.0], "input_high": [1.0]}]}
    return base


def _results_mutants(count: int, seed: int = 0, model: bytes | None = None):
    base = _rich(json.loads(GOLDEN.read_text()), model)
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
    assert str(err).splitlines() == [str(err)]


def test_fuzzed_results_files_are_read_or_refused(tmp_path, capsys, tiny_models):
    """Every consumer of a results file (report, gate, diff, export) on each mutant that
    reads, the firmware, calibration, scaling and interval sections among the mutated."""
    counts = dict.fromkeys(("inputs", "read", "refused", "crashes"), 0)
    base = results.read(GOLDEN)
    folder = tmp_path / "run"
    (folder / "models").mkdir(parents=True)
    model = tiny_models["int8"].model
    (folder / "models" / "seed-int8.tflite").write_bytes(model)
    for i, text in enumerate(_results_mutants(400, model=model)):
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
            _export(res, path, tmp_path / f"e{i}")
            if i % 20 == 0:  # figures are slow: a share of the mutants
                report.write(res, tmp_path / f"r{i}")
        except UsageError as err:
            _one_line(err)
        except Exception as err:  # a crash: what the test exists to find
            counts["crashes"] += 1
            print("crash", type(err).__name__, err)
            traceback.print_exc(limit=-3)
    with capsys.disabled():
        print(f"\nresults files: {counts}")
    assert counts["crashes"] == 0
    assert counts["inputs"] == 400
    assert counts["refused"] > 100  # most mutants break the schema


def _export(res: dict, path: Path, out: Path) -> None:
    from bench import export

    fw = export.from_results(res, path, "int8", "seed")
    export.check(fw)
    export.write(out, fw)
    header = (out / "model_data.h").read_text()
    unsaid(header.split("*/", 1)[-1].split("\n", 1)[0], "*/ ")  # no code after a comment


def test_fuzzed_firmware_cache_entries_are_the_figures_or_made_anew(tmp_path, capsys):
    """A sealed firmware.json, its bytes mutated: read back as the very figures, or as a
    miss (made anew), never as other figures."""
    import functools

    from bench.cache import Cache
    from bench.firmware.stage import _outcome, core_figures

    cores = ("cortex-m4+fp",)
    cache, clean = Cache(tmp_path), {cores[0]: core_figures(FIGURES)}
    rng = np.random.default_rng(0)
    counts = dict.fromkeys(("inputs", "same", "made anew", "wrong figures"), 0)
    for _ in range(300):
        cache.write("k", "firmware.json", json.dumps({cores[0]: FIGURES}).encode())
        entry = cache.path("k", "firmware.json")
        assert entry is not None
        data = bytearray(entry.read_bytes())
        at = int(rng.integers(len(data)))
        kind = int(rng.integers(3))
        if kind == 0:
            data[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            del data[at:]
        else:
            data[at:at] = rng.choice(list(b'0123456789",{}[]: '), 3).astype(np.uint8).tobytes()
        entry.write_bytes(bytes(data))
        counts["inputs"] += 1
        with contextlib.redirect_stderr(None):
            found = cache.load("k", "firmware.json", functools.partial(_outcome, cores=cores))
        key = "made anew" if found is None else "same" if found == clean else "wrong figures"
        counts[key] += 1
    with capsys.disabled():
        print(f"\nfirmware cache entries: {counts}")
    assert counts["wrong figures"] == 0
    assert counts["made anew"] > 250


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
            traceback.print_exc(limit=-3)
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
