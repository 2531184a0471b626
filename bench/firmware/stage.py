"""The firmware stage of a run: every TFLM-deployable row's model, linked for each
emulated core and run there, on worker processes, through the cache.

The cores' libraries are compiled first, in this process, `workers` compilers at a time
(cached after); then one task per model links and emulates it on every core."""

import functools
import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench import MeasurementError
from bench.cache import Cache, digest
from bench.executor import Died, Local
from bench.firmware import build, measure, toolchain
from bench.pipeline import Stopwatch, code_hashes
from bench.progress import Log, plain, stage
from bench.schema import CoreFirmware, Firmware, Row, record_schema

Outcome = dict[str, CoreFirmware | str]


@dataclass(frozen=True)
class Setup:
    found: toolchain.Toolchain | str  # or why there is none
    libraries: Path | None = None  # where the compiled objects live (None: the run's cache)
    cores: tuple[str, ...] = tuple(build.CORES)
    workers: int = 1
    log: Log = plain
    profile: str = build.DEFAULT_PROFILE  # the build profile: Os, O2 or O3


def add_firmware(rows: list[Row], root: Path, cache: Cache, clock: Stopwatch, setup: Setup) -> None:
    """Each built row's Firmware record: figures per core, or why there are none."""
    start = time.perf_counter()
    built = [r for r in rows if r.id.artifact]
    runs = [r for r in built if r.tflm.tflm_deployable and r.tflm.arena_bytes]
    for row in built:
        if isinstance(setup.found, str):
            row.firmware = Firmware(firmware_error=setup.found)
        elif row not in runs:
            why = (row.tflm.tflm_error or "not measured")[:200]
            row.firmware = Firmware(firmware_error=f"TFLM cannot run it: {why}")
    if isinstance(setup.found, str) or not runs:
        return
    models = [((root / str(r.id.artifact)).read_bytes(), r.tflm.arena_bytes or 0) for r in runs]
    tasks, used = _tasks(models, setup, setup.libraries or cache.root or root / ".firmware")
    for row, outcome in zip(runs, measured(tasks, cache, used, setup), strict=True):
        row.firmware = record(outcome, used)
        if row.id.conditions is not None:
            row.id.conditions.firmware = used
    clock.add("firmware", start)


def _tasks(
    models: list[tuple[bytes, int]], setup: Setup, folder: Path
) -> tuple[list[measure.Task], str]:
    """A task per (model, host arena) for every core of `setup`, and the tool they use."""
    tc = setup.found
    assert not isinstance(tc, str)
    tree = build.tree_digest(tc.tree)
    tasks = [
        measure.Task(m, arena, tc, setup.cores, folder, tree, setup.profile) for m, arena in models
    ]
    return tasks, toolchain.words(tc, tree, setup.profile)


def record(outcome: Outcome, used: str) -> Firmware:
    figures = {c: f for c, f in outcome.items() if isinstance(f, CoreFirmware)}
    errors = {c: f for c, f in outcome.items() if isinstance(f, str)}
    return Firmware(
        firmware=figures or None,
        firmware_errors=errors or None,
        firmware_tool=used,
        firmware_error=None if figures else next(iter(errors.values()), "no core measured"),
    )


def measured(
    tasks: list[measure.Task], cache: Cache, used: str, setup: Setup, what: str = "the run's"
) -> list[Outcome]:
    """Each task's outcome, from the cache or measured: libraries first, then the tasks
    on `setup.workers` worker processes."""
    code = code_hashes()["code_firmware"]
    keys = [
        digest({"model": hashlib.sha256(t.model).hexdigest(), "arena": t.host_arena,
                "cores": t.cores, "tool": used, "code": code})
        for t in tasks
    ]  # fmt: skip
    found: dict[int, Outcome] = {}
    for i, key in enumerate(keys):
        hit = cache.load(key, "firmware.json", functools.partial(_outcome, cores=tasks[i].cores))
        if hit is not None:
            found[i] = hit
    todo = [i for i in range(len(tasks)) if i not in found]
    if todo:
        broken = prepare([tasks[i] for i in todo], setup)
        runs = [replace(tasks[i], cores=_working(tasks[i].cores, broken)) for i in todo]
        cores = len(setup.cores) - len(broken)
        name = f"firmware: {what} models, linked and emulated on {cores} core(s)"
        stage(setup.log, name, len(runs), "models")
        results = {}
        with Local(setup.workers) as pool:
            for k, result in pool.map(measure.measure, runs) if runs[0].cores else ():
                results[k] = result
                setup.log(f"firmware: model {len(results)} of {len(runs)} measured", start=True)
        for k, i in enumerate(todo):
            result = results.get(k, {})
            found[i] = {**broken, **(_died(runs[k]) if isinstance(result, Died) else result)}
            if all(isinstance(f, CoreFirmware) for f in found[i].values()):
                # figures only: a failure (compile, link, emulate, a dead worker) is
                # measured again next time, never kept as the model's
                cache.write(keys[i], "firmware.json", json.dumps(_plain(found[i])).encode())
    return [found[i] for i in range(len(tasks))]


def prepare(tasks: list[measure.Task], setup: Setup) -> dict[str, str]:
    """Every core's library and the kernels the tasks' models use, compiled and cached
    here, `setup.workers` compilers at a time, so that the workers only link. A core whose
    compile fails (a broken source, a full disk) is returned with why, its rows say so."""
    first = tasks[0]
    ops = sorted({op for t in tasks for op in measure.operators(t.model)})
    tree = first.toolchain.tree
    known = build.known_operators(tree)
    broken = {}
    for name in first.cores:
        objects = build.Objects.at(
            first.cache_dir, first.toolchain, build.CORES[name], first.tree_digest, first.profile
        )
        try:
            build.library(objects, setup.workers, _compiling(setup, name))
            kernels = build.kernel_sources(tree, [op for op in ops if op in known])
            objects.compile(kernels, setup.workers, _compiling(setup, name))
        except (MeasurementError, OSError) as err:
            broken[name] = _why(err)
            setup.log(f"warning: firmware for {name}: {broken[name]}")
    return broken


def _compiling(setup: Setup, core: str) -> build.Compiling:
    """What the library's compile says: a stage of its files, then each file as it starts."""

    def said(source: str | None, total: int) -> None:
        if source is None:
            stage(setup.log, f"firmware: TFLM + CMSIS-NN for {core} (once)", total, "files")
        else:
            setup.log(f"firmware: {core}: compiling {Path(source).name}", start=True)

    return said


def _why(err: Exception) -> str:
    if isinstance(err, OSError):
        return f"the firmware cache could not be written: {err.strerror or err}"
    return str(err)[:300]


def _working(cores: tuple[str, ...], broken: dict[str, str]) -> tuple[str, ...]:
    return tuple(c for c in cores if c not in broken)


def _died(task: measure.Task) -> Outcome:
    return {
        core: "the emulator's worker process died (crashed or ran out of memory)"
        for core in task.cores
    }


def _plain(outcome: Outcome) -> dict:
    return {c: asdict(f) if isinstance(f, CoreFirmware) else f for c, f in outcome.items()}


def _outcome(data: object, cores: tuple[str, ...]) -> Outcome:
    """A cached entry's figures, each checked against the schema; ValueError if not."""
    if not isinstance(data, dict) or sorted(data) != sorted(cores):
        raise ValueError(f"not the figures of cores {', '.join(cores)}")
    return {core: core_figures(f) for core, f in data.items()}


def core_figures(data: object) -> CoreFirmware:
    """CoreFirmware from JSON that its schema accepts (types, bounds, no other key)."""
    import jsonschema

    try:
        jsonschema.validate(data, record_schema(CoreFirmware))
    except jsonschema.ValidationError as err:
        raise ValueError(err.message[:120]) from None
    assert isinstance(data, dict)
    return CoreFirmware(**data)


def reference_counts(
    models: dict[str, tuple[bytes, int]], setup: Setup, cache: Cache
) -> dict[str, dict[str, int]]:
    """Benchmark -> core -> instructions per invoke of its reference model's firmware
    (a core whose firmware failed is left out)."""
    folder = setup.libraries or cache.root
    assert folder is not None
    tasks, used = _tasks(list(models.values()), setup, folder)
    outcomes = measured(tasks, cache, used, setup, "the reference (MLPerf Tiny)")
    return {
        bench: {c: f.instructions for c, f in outcome.items() if isinstance(f, CoreFirmware)}
        for bench, outcome in zip(models, outcomes, strict=True)
    }
