"""The results file: machine info, atomic write, and a checked, migrated, typed read.

The one reader and writer of the file: everything else gets a `Results` (its classes
are in `bench/schema/file.py`). Reading a file of an older schema version
migrates it step by step (`update_to_N`, as asv does); a newer, zero, negative or
non-integer version is refused, and so is a file that fails the JSON Schema, holds a
non-finite number, or two rows for one (dataset, arch, variant).
"""

import dataclasses
import datetime as dt
import json
import math
import platform
import subprocess
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench import InvalidResults, files
from bench.cache import digest, write_text_atomic
from bench.schema import (
    CONTROL,
    MAX_ROWS,
    NAME,
    SCHEMA_VERSION,
    Conditions,
    Machine,
    Project,
    Results,
    Row,
    Scaling,
    StepError,
    Trace,
    json_schema,
    label_of,
)

PACKAGES = (
    "edgebench",
    "tensorflow",
    "tf-keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "tflite-micro",
    "numpy",
    "scikit-learn",
    "pandas",
)
# What timings depend on besides the CPU: every runtime that executes or converts a model.
RUNTIMES = ("ai-edge-litert", "tflite-micro", "tensorflow", "numpy")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> Machine:
    freq = psutil.cpu_freq()
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "cpu_mhz_max": round(freq.max, 1) if freq and freq.max else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    # Timings compare only between results with the same fingerprint.
    basis = [
        info["machine"],
        info["cpu"],
        info["cores_logical"],
        info["python"],
        *(info["packages"][name] for name in RUNTIMES),
    ]
    info["fingerprint"] = digest(basis)
    return Machine.from_dict(info)


def project_info() -> Project:
    """The git commit of the edgebench checkout that ran, when it is one."""
    here = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        done = subprocess.run(
            ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() if done.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    except (OSError, subprocess.SubprocessError):
        commit = dirty = None
    return Project(git_commit=commit, git_dirty=dirty)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write(results: Results, path: Path) -> None:
    """The results with their `Row`s flat, as the schema describes the file."""
    write_text_atomic(path, json.dumps(results.to_dict(), indent=1, allow_nan=False) + "\n")


def read(path: Path) -> Results:
    """Load, migrate and validate a results file; any problem is one InvalidResults line."""
    try:
        return _read(path)
    except RecursionError:  # JSON nested thousands deep, in the parser or in the checks
        raise InvalidResults(f"{path}: nested too deep to be a results file") from None


def _read(path: Path) -> Results:
    if not Path(path).exists():
        raise InvalidResults(f"{path}: no such results file; run `edgebench run` first")
    try:
        results = json.loads(files.read_text(Path(path), "results file", InvalidResults))
    except json.JSONDecodeError as err:
        raise InvalidResults(f"{path}: not a readable results file ({err})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise InvalidResults(f"{path}: not an edgebench results file (no 'rows' list)")
    version = results.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or not version >= 1:
        raise InvalidResults(
            f"{path}: schema_version {version!r} is not a version "
            "(an integer >= 1); the file is damaged"
        )
    if version > SCHEMA_VERSION:
        raise InvalidResults(
            f"{path}: schema_version {version} is newer than this edgebench "
            f"reads ({SCHEMA_VERSION}); upgrade edgebench"
        )
    results = migrated(results, version)
    validate(results, str(path))
    return Results.from_dict(results)


def migrated(results: dict, version: int) -> dict:
    """A results file of schema `version`, taken step by step to the current one."""
    for step in range(version + 1, SCHEMA_VERSION + 1):
        results = MIGRATIONS[step](results)
        results["schema_version"] = step
    return results


def validate(results: dict, where: str) -> None:
    """Finite numbers, the JSON Schema, one row per (dataset, arch, variant)."""
    import jsonschema

    if len(results["rows"]) > MAX_ROWS:  # before the schema: its checks grow with the rows
        raise InvalidResults(
            f"{where}: {len(results['rows']):,} rows, more than the {MAX_ROWS:,} a results "
            "file holds"
        )
    bad = _non_finite(results)
    if bad is not None:
        raise InvalidResults(f"{where}: {_place(results, bad)}: not a finite number in range")
    validator = _validator(jsonschema)(_schema())
    if not validator.is_valid(results):  # the fast path; best_match only to say what is wrong
        error = jsonschema.exceptions.best_match(validator.iter_errors(results))
        place = _place(results, list(error.absolute_path))
        raise InvalidResults(f"{where}: {place}: {error.message[:200]}")
    _check_parts(results, where)
    seen: dict[tuple, int] = {}
    for i, row in enumerate(results["rows"]):
        key = (row.get("dataset"), row["arch"], row["variant"])
        if key in seen:
            name = label_of(row["arch"], row["variant"])
            raise InvalidResults(
                f"{where}: rows {seen[key]} and {i} are both {name} "
                f"on {row.get('dataset')}; one row per model and dataset"
            )
        seen[key] = i
        _check_names(row, f"{where}: row {i}")


def _check_parts(results: dict, where: str) -> None:
    """The parts of each trace and scaling agree in length."""
    for arch, trace in (results.get("traces") or {}).items():
        if not Trace.from_dict(trace).agrees():
            raise InvalidResults(f"{where}: the trace of {arch!r} has parts that do not agree")
    for arch, parts in (results.get("scaling") or {}).items():
        if not all(Scaling.from_dict(part).agrees() for part in parts):
            raise InvalidResults(f"{where}: the scaling of {arch!r} has parts that disagree")


def _check_names(row: dict, where: str) -> None:
    """Names that become file names and markdown, and an artifact inside the run folder:
    a results file from elsewhere must not steer where edgebench reads or writes."""
    for key in ("arch", "variant"):
        if not NAME.fullmatch(row[key]):
            raise InvalidResults(
                f"{where}: {key} {row[key][:60]!r} is not a name (letters, digits, _ + -)"
            )
    dataset = row.get("dataset")
    if dataset is not None and (CONTROL.search(dataset) or len(dataset) > 200):
        raise InvalidResults(f"{where}: dataset {dataset[:60]!r} holds control characters")
    artifact = row.get("artifact")
    if artifact is not None and not inside(artifact):
        raise InvalidResults(f"{where}: artifact {artifact[:60]!r} lies outside the run folder")


def inside(relative: str) -> bool:
    """A relative path that stays below the folder it is relative to."""
    parts = Path(relative).parts
    return bool(parts) and not Path(relative).is_absolute() and ".." not in parts


def artifact_path(results_path: Path, artifact: str) -> Path:
    """Where a row's model is: inside the results file's folder, symbolic links resolved,
    or InvalidResults."""
    root = Path(results_path).resolve().parent
    path = (root / artifact).resolve()
    if not inside(artifact) or not path.is_relative_to(root):
        raise InvalidResults(f"{results_path}: artifact {artifact[:60]!r} lies outside its folder")
    return path


_SCHEMA: dict = {}


def _validator(jsonschema: Any) -> Any:
    """Draft 2020-12, with arrays of plain numbers (latency samples, score traces:
    most of a file) checked in one pass instead of one schema descent per element."""
    base = jsonschema.Draft202012Validator
    items = base.VALIDATORS["items"]

    def fast_items(validator: Any, schema: dict, instance: Any, parent: Any) -> Iterator[Any]:
        if schema.get("type") in ("number", "integer") and isinstance(instance, list):
            kinds = (int,) if schema["type"] == "integer" else (int, float)
            low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
            if all(type(x) in kinds and low <= x <= high for x in instance):
                return
        yield from items(validator, schema, instance, parent)

    return jsonschema.validators.extend(base, {"items": fast_items})


def _schema() -> dict:
    if not _SCHEMA:
        _SCHEMA.update(json_schema())
    return _SCHEMA


def _place(results: dict, path: list) -> str:
    """`row 3 (deep/int8), field 'f1'` from a JSON path."""
    if len(path) >= 2 and path[0] == "rows" and isinstance(path[1], int):
        row = results["rows"][path[1]]
        who = f" ({row.get('arch')}/{row.get('variant')})" if isinstance(row, dict) else ""
        rest = ".".join(map(str, path[2:]))
        return f"row {path[1]}{who}" + (f", field {rest!r}" if rest else "")
    return f"field {'.'.join(map(str, path))!r}" if path else "the file"


def _non_finite(value: Any, path: tuple = ()) -> list | None:
    if isinstance(value, float) and not math.isfinite(value):
        return list(path)
    if isinstance(value, int) and abs(value) > 2**63:  # no figure is this large
        return list(path)
    items = (
        value.items()
        if isinstance(value, dict)
        else (enumerate(value) if isinstance(value, list) else ())
    )
    for key, item in items:
        found = _non_finite(item, (*path, key))
        if found is not None:
            return found
    return None


# ---- migrations: MIGRATIONS[n] takes a version n-1 file to version n -------------------


def update_to_2(res: dict) -> dict:
    """v1 -> v2: window-level figures renamed `window_*` (point F1 is the primary figure
    now, and the comparisons with float32 are on it); typed step errors; measurement
    conditions per row. v1 recorded neither the measuring code nor the data digest, so
    they are "v1"/None: a v1 row is comparable with another v1 row, and `not comparable`
    with a v2 row where it matters."""
    cfg, machine = res.get("config") or {}, res.get("machine") or {}
    train, packages = cfg.get("train") or {}, machine.get("packages") or {}
    channels = len((res.get("dataset") or {}).get("channels") or []) or None
    for row in res["rows"]:
        if not isinstance(row, dict):
            continue
        for old, new in WINDOW_LEVEL.items():
            if old in row:
                row[new] = row.pop(old)
        for old in ("f1_delta_vs_float32", "f1_ratio_vs_float32"):  # were window level
            row.pop(old, None)
        if "f1_target_met" in row:
            row["f1_target_met"] = None  # v1 judged window F1; v2's targets are point F1
        errors = row.get("errors")
        if isinstance(errors, dict):
            row["errors"] = {stage: _step_error(stage, text) for stage, text in errors.items()}
        conditions = Conditions(
            dataset=row.get("dataset"),
            window=row.get("window"),
            channels=channels,
            scaling=cfg.get("scaling"),
            epochs=train.get("epochs"),
            batch_size=train.get("batch_size"),
            learning_rate=train.get("learning_rate"),
            seed=train.get("seed"),
            threshold=cfg.get("threshold"),
            latency_samples=cfg.get("latency_samples"),
            machine=machine.get("fingerprint"),
            litert=packages.get("ai-edge-litert"),
            tflite_micro=packages.get("tflite-micro"),
            code_size="v1",
            code_tflm="v1",
            code_latency="v1",
            code_detection="v1",
            code_instructions="v1",
        )
        row["conditions"] = dataclasses.asdict(conditions)
        row["measure_key"] = conditions.key()
    _point_deltas(res["rows"])
    return res


def update_to_3(res: dict) -> dict:
    """v2 -> v3: rows may carry figures over training seeds (`schema.Seeds`); nothing
    else changed, so a v2 file needs no edit."""
    return res


def update_to_4(res: dict) -> dict:
    """v3 -> v4: detection rows may carry the all-rows figures (`all_rows_point_f1`,
    `all_rows_far`, `all_rows_mar`); a v3 file simply lacks them."""
    return res


def update_to_5(res: dict) -> dict:
    """v4 -> v5: a row may say that XNNPACK refused its model (`litert_xnnpack_refused`);
    a v4 row whose model XNNPACK refused has no LiteRT figures at all, only errors."""
    return res


def update_to_6(res: dict) -> dict:
    """v5 -> v6: the parts around the rows are typed (`schema.Results`) and hold no other
    key. The board fits before the reference models were built here kept one model's
    `model`, `macs_counted` and `macs_published` beside the rows; no report read them."""
    cal = res.get("calibration")
    if isinstance(cal, dict) and "models" not in cal:
        for old in ("model", "macs_counted", "macs_published"):
            cal.pop(old, None)
    return res


WINDOW_LEVEL = {
    "precision": "window_precision",
    "recall": "window_recall",
    "f1": "window_f1",
    "roc_auc": "window_roc_auc",
    "pr_auc": "window_pr_auc",
}


def _point_deltas(rows: list) -> None:
    """v2's point-F1 comparisons with float32, by the one rule the run uses."""
    dicts = [r for r in rows if isinstance(r, dict)]
    refs = {(r.get("arch"), r.get("dataset")): r for r in dicts if r.get("variant") == "float32"}
    for row in dicts:
        ref = refs.get((row.get("arch"), row.get("dataset"))) or {}
        numbers = [
            v for v in (row.get("point_f1"), ref.get("point_f1")) if isinstance(v, float | int)
        ]
        if row.get("point_f1") is None or len(numbers) < 2:
            continue
        found = Row.of(row).against(Row.of(ref))
        row["point_f1_delta_vs_float32"] = found.point_f1_delta_vs_float32
        row["point_f1_ratio_vs_float32"] = found.point_f1_ratio_vs_float32


def _step_error(stage: str, text: object) -> dict:
    kind, sep, message = str(text).partition(": ")
    return dataclasses.asdict(StepError(stage, kind if sep else "Error", message or str(text)))


MIGRATIONS = {2: update_to_2, 3: update_to_3, 4: update_to_4, 5: update_to_5, 6: update_to_6}
