"""`edgebench run`: data -> baseline -> variants -> measurements -> results.json + REPORT.md."""

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import (
    MeasurementError,
    RunFailed,
    UsageError,
    detection,
    energy,
    graph,
    instructions,
    report,
    results,
    seeds,
    targets,
)
from bench.cache import Cache, code_version, digest_bytes, write_atomic
from bench.config import RunConfig, catalog, check
from bench.data import Dataset
from bench.data.loaders import load
from bench.data.windows import Windows, make_windows, series_windows
from bench.executor import Died, cores, executor
from bench.isolate import Limits, default_timeout
from bench.output import staging, swap_in
from bench.pipeline import (
    Settings,
    Stopwatch,
    add_instructions,
    arena_and_instructions,
    baseline_figures,
    conditions,
    measure,
    measure_detection,
)
from bench.progress import Log, plain
from bench.schema import Conditions, Detection, Identity, Row, StepError, safe_name
from variants import REGISTRY
from variants.baseline import ARCHS
from variants.build import (
    BuildContext,
    Job,
    Outcome,
    cached_outcome,
    calibration_key,
    calibration_model,
    groups,
    trains,
    work,
)
from variants.external import KERAS, load_keras, read_tflite, user_arch


def lineage(name: str) -> str:
    """`float32 > pruned80 > pruned80_int8`: the chain of parents in the registry."""
    chain = [name]
    while parent := REGISTRY[chain[0]].parent:
        chain.insert(0, parent)
    return " > ".join(chain)


def add_deltas(rows: list[Row]) -> None:
    """Comparisons with float32 of the same arch and dataset, and each F1 target's verdict."""
    refs = {(r.arch, r.id.dataset): r for r in rows if r.variant == "float32"}
    for row in rows:
        registered = row.id.recipe_params is not None  # not a user's .tflite
        target = REGISTRY[row.variant].f1_target if registered else None
        ref = refs.get((row.arch, row.id.dataset))
        row.vs_float32 = row.against(ref, target)


def save_model(out: Path, model: bytes, row: Row) -> None:
    """The model into `out/models/`, and where it is and its hash into the row."""
    artifact = out / "models" / f"{row.arch}-{row.variant}.tflite"
    write_atomic(artifact, model)
    row.id.artifact = str(artifact.relative_to(out))
    row.id.sha256 = hashlib.sha256(model).hexdigest()


@dataclass
class Session:
    """One run: what its stages read. `how` holds the steps' settings and the stopwatch."""

    cfg: RunConfig
    how: Settings
    log: Log
    machine: dict
    cache: Cache

    @property
    def clock(self) -> Stopwatch:
        return self.how.clock


def settings(cfg: RunConfig, timings: bool = True) -> Settings:
    cat = catalog(cfg)
    return Settings(
        cfg.threshold,
        cfg.latency_samples,
        cat,
        cat.select(cfg.boards),
        timings,
        Cache(cfg.cache),
    )


def identity(s: Session, dataset: Dataset, window: int | None, **given: Any) -> Identity:
    """A row's identity: `given` and the conditions this run measures it under."""
    where = row_conditions(s.cfg, dataset, window, s.machine)
    fields = {"dataset": dataset.name, "window": window, **given}
    return Identity(**fields, conditions=where, measure_key=where.key())


def row_conditions(
    cfg: RunConfig, dataset: Dataset, window: int | None, machine: dict
) -> Conditions:
    """The conditions a row of this run is measured under (see `schema.Conditions`)."""
    versions = machine["packages"]
    return conditions(
        dataset=dataset.name,
        data_digest=data_key(cfg, dataset)["digest"],
        window=window,
        channels=len(dataset.channels),
        scaling=cfg.scaling,
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        learning_rate=cfg.train.learning_rate,
        seed=cfg.train.seed,
        threshold=cfg.threshold,
        latency_samples=cfg.latency_samples,
        machine=machine["fingerprint"],
        litert=versions["ai-edge-litert"],
        tflite_micro=versions["tflite-micro"],
        valgrind=instructions.valgrind_version(),
    )


def data_key(cfg: RunConfig, dataset: Dataset) -> dict:
    """What the built models depend on in the data: the values and labels themselves."""
    found = digest_bytes(
        *(
            s.name.encode()
            + s.values.tobytes()
            + s.labels.tobytes()
            + f"{s.train_end},{s.val_end},{s.log}".encode()
            for s in dataset.series
        )
    )
    return {"dataset": dataset.name, "digest": found, "scaling": cfg.scaling}


def contexts(cfg: RunConfig, dataset: Dataset, cache: Cache) -> list[BuildContext]:
    """One build context per architecture, or one for the user's Keras model."""
    key = data_key(cfg, dataset)
    if cfg.model is not None:
        model = load_keras(cfg.model)
        window = model_window(cfg, dataset, model.input_shape[1])
        ctx = BuildContext(
            user_arch(cfg.model, window),
            make_windows(dataset.series, window, cfg.scaling),
            cfg.train,
            key,
            cache,
            source=cfg.model,
        )
        ctx._model = model
        return [ctx]
    return [
        BuildContext(
            ARCHS[a],
            make_windows(dataset.series, cfg.window or ARCHS[a].window, cfg.scaling),
            cfg.train,
            key,
            cache,
        )
        for a in cfg.archs
    ]


def model_window(cfg: RunConfig, dataset: Dataset, inputs: int) -> int:
    """The window length a user's model takes: its input width over the channels."""
    channels = len(dataset.channels)
    if inputs % channels:
        raise UsageError(
            f"{cfg.model}: input width {inputs} cannot be filled with windows of "
            f"dataset {dataset.name!r} ({channels} channels)"
        )
    window = inputs // channels
    if cfg.window is not None and cfg.window != window:
        raise UsageError(
            f"{cfg.model}: the model takes windows of {window}, "
            f"but --window is {cfg.window}; drop --window or match it"
        )
    return window


def trace(windows: Windows) -> dict:
    """The test windows' labels and end points: what the report plots scores against."""
    return {
        "end": windows.test.end.tolist(),
        "y": windows.test.y_end.tolist(),
        "series": windows.test.series.tolist(),
        "names": list(windows.series_names),
    }


def build_all(
    s: Session, contexts: list[BuildContext], rows: int | None = None
) -> list[dict[str, Any]]:
    """Per context, every variant: from the cache where it is there (no TensorFlow), else
    built on the executor, the float models trained first, then the recipes in groups, in
    parallel. Value: an `Outcome`, or `Died`. The stopwatch gets each phase's wall time.
    The first `rows` contexts (default all) make rows; the rest (other seeds, other
    series) are scored for detection alone."""
    found: list[dict[str, Any]] = [{} for _ in contexts]
    todo: dict[int, list[str]] = {}
    for i, ctx in enumerate(contexts):
        for name in s.cfg.variants:
            known = cached_outcome(REGISTRY[name], ctx)
            if known is None:
                todo.setdefault(i, []).append(name)
            else:
                found[i][name] = known
    if todo:
        _build_on_workers(s, contexts, todo, found, rows)
    return found


def _label(ctx: BuildContext, cfg: RunConfig) -> str:
    seed = f" seed {ctx.train_cfg.seed}" if len(cfg.seeds) > 1 else ""
    series = f" {ctx.data_key['series']}" if "series" in ctx.data_key else ""
    return f"[{ctx.arch.name}{seed}{series}]"


def _build_on_workers(
    s: Session,
    contexts: list[BuildContext],
    todo: dict[int, list[str]],
    found: list[dict[str, Any]],
    rows: int | None,
) -> None:
    """The float models first, then the calibration models; each float model, once
    trained, releases its recipes (the groups that train first, the cheap conversions
    after), so no worker waits for the slowest training. Each worker also runs the
    deterministic measurements of what it built (arena search, detection, agreement) into
    the cache, where the measuring pass finds them."""
    cfg, clock, log, cache = s.cfg, s.clock, s.log, s.cfg.cache
    assert cache is not None  # `run` gives a run-only cache under --no-cache
    start, order = time.perf_counter(), list(todo)
    jobs: list[Any] = [Job.of(contexts[i], cache) for i in order]
    jobs += calibration_specs(cfg)
    owner = dict(enumerate(order))  # job index -> its context, for trainings and builds
    untrained, trained_at = set(order), start

    def recipes(j: int, done: Any) -> list[Job]:
        if j >= len(order) or not isinstance(done, float):
            return []
        i = order[j]
        ranked = sorted(groups(tuple(todo[i])), key=lambda group: not trains(group))
        detection_only = rows is not None and i >= rows
        new = [Job.of(contexts[i], cache, g, cfg.threshold, detection_only) for g in ranked]
        owner.update({len(jobs) + k: i for k in range(len(new))})
        return new

    with executor(cfg.executor, cfg.workers) as pool:
        for j, done in pool.map(work, jobs, then=recipes):
            if j not in owner:
                continue  # a calibration model, now in the cache
            i, job = owner[j], jobs[j]
            if job.names:
                for name, one in zip(job.names, _each(done, job.names), strict=True):
                    found[i][name] = one
                    log(f"{_label(contexts[i], cfg)} {name}: {_said(one)}")
                continue
            untrained.discard(i)
            if not untrained:  # the stages: until the last float model, and after
                trained_at = clock.add("train", start)
            if isinstance(done, float):
                contexts[i].train_seconds = done
                log(f"{_label(contexts[i], cfg)} float model ready ({done:.1f} s training)")
            else:  # a float model that could not be made fails its variants
                found[i] |= {name: done for name in todo[i]}
    clock.add("build", trained_at)


def calibration_specs(cfg: RunConfig) -> list[dict]:
    """The calibration models not in the cache yet."""
    cat, cache = catalog(cfg), Cache(cfg.calibration_cache)
    return [
        {"spec": cat.models[b], "cache": cfg.calibration_cache}
        for b in targets.BENCHMARKS
        if cache.read(calibration_key(cat.models[b]), "model.tflite") is None
    ]


def series_contexts(ctx: BuildContext, cfg: RunConfig, dataset: Dataset) -> list[BuildContext]:
    """One context per series that has a test part, its windows on their own. A series
    whose validation part is empty (SKAB's runs) gives the last 20 % of its training
    part to validation, where its own threshold is set."""
    found = []
    for i, series in enumerate(dataset.series):
        if series.val_end >= len(series.values):
            continue  # nothing to test (SKAB's anomaly-free run)
        if series.val_end == series.train_end:
            series = dataclasses.replace(series, train_end=int(series.train_end * 0.8))
        windows = series_windows(series, ctx.windows.length, cfg.scaling, index=i)
        key = {**ctx.data_key, "series": series.name, "train_end": series.train_end}
        found.append(BuildContext(ctx.arch, windows, ctx.train_cfg, key, ctx.cache))
    if not found:
        raise UsageError(f"--per-series: dataset {dataset.name!r} has no series with a test part")
    return found


@dataclass
class PerSeries:
    """NAB's protocol (`--per-series`): per arch, one context per series, their outcomes
    in the same order, and the windows of every series together."""

    parts: dict[str, list[BuildContext]]
    outcomes: dict[str, list[dict[str, Any]]]
    wholes: dict[str, Windows]


def per_series_detection(s: Session, rows: list[Row], split: PerSeries, reference: dict) -> None:
    """Each row's detection from one model per series, scored on all test points."""
    t = time.perf_counter()
    for row in rows:
        if not row.id.artifact:
            continue
        built = [found.get(row.variant) for found in split.outcomes[row.arch]]
        models = [b.model for b in built if isinstance(b, Outcome) and b.model is not None]
        if len(models) < len(built):
            row.fail(StepError.of("detection", "a series' build failed"))
            continue
        row.detection = detection.measure_per_series(
            models,
            [c.windows for c in split.parts[row.arch]],
            split.wholes[row.arch],
            s.how.threshold,
            {k: v for k, v in reference[row.arch].items() if isinstance(v, dict)},
        )
    s.clock.add("per_series", t)


def replace_seed(ctx: BuildContext, seed: int) -> BuildContext:
    train = replace(ctx.train_cfg, seed=seed)
    return BuildContext(ctx.arch, ctx.windows, train, ctx.data_key, ctx.cache, ctx.source)


def add_seed_figures(
    s: Session, rows: list[Row], contexts: list[BuildContext], outcomes: list[dict[str, Any]]
) -> None:
    """Detection of every other seed's build of each variant, then each row's figures
    over all seeds (`schema.Seeds`)."""
    t = time.perf_counter()
    by_seed: dict[tuple[str, str], dict[int, Detection]] = {}
    for row in rows:
        by_seed[(row.arch, row.variant)] = {s.cfg.seeds[0]: row.detection}
    for ctx, found in zip(contexts, outcomes, strict=True):
        for name, one in found.items():
            scored = Detection()
            if not isinstance(one, Died) and one.model is not None:
                scored = measure_detection(one.model, ctx.windows, s.how)
            by_seed.setdefault((ctx.arch.name, name), {})[ctx.train_cfg.seed] = scored
    for row in rows:
        mine = by_seed[(row.arch, row.variant)]
        float32 = by_seed.get((row.arch, "float32"), {})
        row.seeds = seeds.figures(row.variant, mine, float32)
    s.clock.add("seeds", t)


def _each(done: Any, names: tuple[str, ...]) -> list:
    return [done] * len(names) if isinstance(done, Died) else done


def _said(one: Outcome | Died) -> str:
    if isinstance(one, Died):
        return f"build failed: {one.reason}"
    if one.skipped:
        return f"not applicable: {one.skipped}"
    if one.error:
        return f"build failed: {one.error[0]}: {one.error[1]}"
    return "from the cache" if one.cached else f"built in {one.build_seconds:.1f} s"


def _build_error(one: Outcome | Died) -> StepError:
    if isinstance(one, Died):
        return StepError.of("build", one.reason, "WorkerDied")
    kind, message = one.error or ("BuildError", "the recipe built no model")
    return StepError.of("build", message, kind)


def registry_rows(
    s: Session, ctx: BuildContext, dataset: Dataset, outcomes: dict[str, Any]
) -> list[Row]:
    """One row per registered variant of `ctx`'s arch: measured, skipped or failed."""
    rows = []
    for name in s.cfg.variants:
        variant = REGISTRY[name]
        s.log(f"[{ctx.arch.name}] {name}: measuring", start=True)
        row = Row(
            identity(
                s,
                dataset,
                ctx.windows.length,
                variant=name,
                arch=ctx.arch.name,
                parent=variant.parent,
                recipe=variant.summary,
                recipe_params=variant.params,
                lineage=lineage(name),
                f1_target=str(variant.f1_target) if variant.f1_target else None,
            )
        )
        one = outcomes[name]
        if not isinstance(one, Died) and one.skipped:
            row.id.recipe_skipped = one.skipped
        elif isinstance(one, Died) or one.error or one.model is None:
            row.fail(_build_error(one))
        else:
            measured(s, row, one, ctx)
        rows.append(row)
    return rows


def measured(s: Session, row: Row, one: Outcome, ctx: BuildContext) -> None:
    """A built variant's model saved and measured into its row."""
    assert one.model is not None
    if one.note:
        s.log(f"warning: [{ctx.arch.name}] {one.name}: {one.note}")
    save_model(s.cfg.out, one.model, row)
    row.id.cache_key, row.id.cached, row.id.build_seconds = one.key, one.cached, one.build_seconds
    detect = s.cfg.model is None or s.cfg.dataset is not None
    measure(one.model, ctx.windows.test.x, ctx.windows if detect else None, s.how, row)
    if not detect:
        row.id.detection_skipped = SKIPPED


def baselines(windows: Windows, cfg: RunConfig, dataset: Dataset, cache: Cache) -> dict:
    """The non-learned detectors on these test points; what cannot be computed is the
    user's input (data too short for its window), said before any training."""
    try:
        found = baseline_figures(windows, cfg.threshold, cache)
    except MeasurementError as err:
        raise UsageError(
            f"dataset {dataset.name!r}: the baselines cannot be computed "
            f"({err}); give more data or a shorter --window"
        ) from None
    return {"dataset": dataset.name, "test_points": len(windows.test.y_end), **found}


def scalers(windows: Windows) -> list[dict]:
    """Each series' scaling, fitted on its training part: what firmware must apply."""
    return [
        {"series": name, **dataclasses.asdict(scaler)}
        for name, scaler in zip(windows.series_names, windows.scalers, strict=True)
    ]


SKIPPED = (
    "a model brought in is scored for detection only on data you name: pass "
    "--dataset (nepse for the built-in stream)"
)


def tflite_row(s: Session, path: Path, dataset: Dataset) -> tuple[Row, Windows | None]:
    """A user's .tflite, measured as it is; detection when its input is a window."""
    cfg = s.cfg
    model = read_tflite(path)
    shape, out_shape = graph.io_shapes(model)
    limits = Limits(
        cfg.measure_timeout or default_timeout(len(model)),
        cfg.measure_memory_bytes,
        cfg.max_tensor_bytes,
    )
    how = replace(s.how, isolate=limits)  # every step in a child bounded in time and memory
    windows = None
    if cfg.dataset is not None and len(shape) == 2 and shape == out_shape:
        windows = make_windows(dataset.series, model_window(cfg, dataset, shape[1]), cfg.scaling)
        inputs = windows.test.x
    else:
        rng = np.random.default_rng(cfg.train.seed)
        per_window = 4 * math.prod(shape)
        count = min(256, max(2, cfg.max_tensor_bytes // per_window))
        inputs = rng.random((count, *shape[1:]), dtype=np.float32)
    name = safe_name(path.stem)
    s.log(f"[user] {name}: measuring", start=True)
    window = windows.length if windows else None
    given = {"variant": name, "arch": "user", "recipe": f"user model {path.name}"}
    row = Row(identity(s, dataset, window, **given, input_shape=shape))
    row.id.dataset = dataset.name if windows else None
    save_model(cfg.out, model, row)
    if cfg.dataset is None:
        row.id.detection_skipped = SKIPPED
    elif windows is None:
        row.id.detection_skipped = (
            f"input {shape} -> output {out_shape} is not a window "
            "autoencoder; latency used random inputs"
        )
    measure(model, inputs, windows, how, row)
    return row, windows


def calibrate(cat: targets.Catalog, cache: Cache) -> dict:
    """Build each calibration model (MLPerf Tiny ad01 and the KWS DS-CNN), count its work
    and TFLM instructions from the flatbuffer, and set the estimator beside every
    published measurement."""
    models, counted = {}, {}
    built = {bench: calibration_model(cat.models[bench], cache) for bench in targets.BENCHMARKS}
    shapes = {bench: graph.measure(model) for bench, model in built.items()}
    measured = {bench: arena_and_instructions(model, cache) for bench, model in built.items()}
    arenas = {bench: micro for bench, (micro, _) in measured.items()}
    counts = {bench: count for bench, (_, count) in measured.items()}
    for bench, shape in shapes.items():
        work = targets.Work.of_layers(shape.layers)
        counted[bench] = work
        count = counts.get(bench)
        models[bench] = {
            "name": cat.models[bench]["name"],
            "macs_counted": work.dense_macs + work.conv_macs,
            "macs_published": cat.models[bench]["macs"],
            "work_counted": dataclasses.asdict(work),
            "work_catalog": dataclasses.asdict(cat.work(bench)),
            "ops": shape.ops,
            "tflm_instructions": count.tflm_instructions if count else None,
            "tflm_error": arenas[bench].tflm_error,
        }
    return {
        "models": models,
        "catalog": cat.path,
        "fixed_cycles": cat.fixed,
        "rows": energy.calibration(cat, counted),
    }


def run(cfg: RunConfig, command: str = "edgebench run", log: Log = plain) -> dict:
    """Everything is written into a staging folder beside `--out` and swapped in at the
    end: a failed or killed run leaves the previous output as it was."""
    check(cfg)
    try:
        with staging(cfg.out) as (stage, scratch):
            # --no-cache: a cache for this run only (workers hand their results over in it)
            cache = cfg.cache or scratch
            working = replace(
                cfg, out=stage, cache=cache, calibration_cache=cfg.calibration_cache or cache
            )
            res = measure_all(working, cfg.as_dict(), command, log)
            refuse_if_all_failed(res["rows"], cfg.out)
            swap_in(stage, cfg.out)
    except OSError as err:
        raise UsageError(
            f"cannot write the output beside {cfg.out}: {err.strerror or err}; pick another --out"
        ) from None
    return res


def refuse_if_all_failed(rows: list[Row], out: Path) -> None:
    """A run with no numbers at all (one cause failed every row) does not replace good
    output."""
    failed = [r for r in rows if r.size.size_bytes is None and not r.id.recipe_skipped]
    if rows and len(failed) == len(rows):
        first = next(iter((failed[0].id.errors or {}).values()), None)
        why = str(first or "Error: no figures")[:300]
        raise RunFailed(f"every row failed ({why}); {out} is left as it was")


@dataclass
class Measured:
    """What the measuring stages hand the results file: the rows, and per arch the test
    points' trace, the baselines and each series' scaling."""

    rows: list[Row] = field(default_factory=list)
    traces: dict[str, dict] = field(default_factory=dict)
    baselines: dict[str, dict] = field(default_factory=dict)
    scaling: dict[str, list] = field(default_factory=dict)

    def windows(self, s: Session, arch: str, windows: Windows, dataset: Dataset) -> None:
        """What the report needs of `arch`'s windows (and what firmware must apply)."""
        self.traces[arch] = trace(windows)
        self.baselines[arch] = baselines(windows, s.cfg, dataset, s.cache)
        self.scaling[arch] = scalers(windows)


def measure_all(cfg: RunConfig, config: dict, command: str, log: Log) -> dict:
    """The run itself, writing into `cfg.out` (the staging folder); `config` is what the
    user asked for, as recorded in the results. The stages: data; train, build and
    measure; count instructions; derive the comparisons; calibrate; write."""
    start = time.perf_counter()
    s = Session(cfg, settings(cfg), log, results.machine_info(), Cache(cfg.cache))
    dataset = load(cfg.dataset or "nepse", cfg.stream, cfg.csv_columns)
    for warning in dataset.warnings:
        log(f"warning: {warning}")
    s.clock.add("data", start)
    brought = cfg.model is not None and cfg.model.suffix not in KERAS
    found = brought_tflite(s, dataset) if brought else registry(s, dataset)
    add_instructions(found.rows, cfg.out, s.cache, s.clock, min(cfg.workers, cores()))
    add_deltas(found.rows)
    t = time.perf_counter()
    calibration = calibrate(s.how.catalog, Cache(cfg.calibration_cache))
    s.clock.add("calibration", t)
    out: dict[str, Any] = {
        "schema_version": results.SCHEMA_VERSION,
        "created": results.now_iso(),
        "command": command,
        "code_version": code_version(),
        "machine": s.machine,
        "config": config,
        "dataset": dataset.summary(),
        "project": results.project_info(),
        "stages_s": s.clock.seconds,
        "rows": found.rows,
        "traces": found.traces,
        "baselines": found.baselines,
        "scaling": found.scaling,
        "boards": {b.key: b.as_dict() for b in s.how.boards},
        "estimate_defaults": s.how.catalog.defaults,
        "calibration": calibration,
    }
    out["stages_s"]["total"] = time.perf_counter() - start
    return write(s, out)


def write(s: Session, out: dict) -> dict:
    """results.json, then the report from what the file holds, nothing else."""
    path = s.cfg.out / "results.json"
    results.write(out, path)
    out = results.read(path)
    report.write(out, s.cfg.out, cache=s.cache)
    return out


def brought_tflite(s: Session, dataset: Dataset) -> Measured:
    """A user's .tflite: one row, measured as it is."""
    assert s.cfg.model is not None
    found = Measured()
    row, windows = tflite_row(s, s.cfg.model, dataset)
    found.rows.append(row)
    if windows is not None:
        found.windows(s, "user", windows, dataset)
    return found


def registry(s: Session, dataset: Dataset) -> Measured:
    """Every registered variant of every arch (or of the user's Keras model): trained,
    built on the executor, measured; over seeds or series when asked."""
    cfg, found = s.cfg, Measured()
    built = contexts(cfg, dataset, s.cache)
    for ctx in built:  # before any training: what the data cannot serve
        detection.check_policy(cfg.threshold, ctx.windows.val.y_end)
        found.windows(s, ctx.arch.name, ctx.windows, dataset)
    wholes = {c.arch.name: c.windows for c in built}
    # more training seeds, or the other series: detection only
    others = [replace_seed(ctx, seed) for seed in cfg.seeds[1:] for ctx in built]
    parts = {c.arch.name: series_contexts(c, cfg, dataset) for c in built if cfg.per_series}
    if cfg.per_series:
        built = [mine[0] for mine in parts.values()]  # the rows show the first series'
        others = [c for mine in parts.values() for c in mine[1:]]
    outcomes = build_all(s, built + others, rows=len(built))
    for ctx, one in zip(built, outcomes, strict=False):
        found.rows += registry_rows(s, ctx, dataset, one)
    if cfg.per_series:
        rest = iter(outcomes[len(built) :])  # `others`: each arch's series after its first
        by_arch = {
            arch: [outcomes[i], *(next(rest) for _ in mine[1:])]
            for i, (arch, mine) in enumerate(parts.items())
        }
        per_series_detection(s, found.rows, PerSeries(parts, by_arch, wholes), found.baselines)
    elif others:
        add_seed_figures(s, found.rows, others, outcomes[len(built) :])
    return found
