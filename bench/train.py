"""The train-and-build stage: one build context per architecture (or the user's Keras
model, other seeds, other series), every variant from the cache or built on the
executor's workers, the float models first."""

import dataclasses
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import UsageError
from bench.boards.catalog import BENCHMARKS
from bench.build import (
    BuildContext,
    Job,
    Outcome,
    breadcrumbs,
    cached_outcome,
    groups,
    reference_key,
    trains,
    work,
)
from bench.cache import Cache, digest_bytes
from bench.config import RunConfig, catalog
from bench.data import Dataset
from bench.data.windows import make_windows, series_windows
from bench.executor import Died, executor
from bench.external import load_keras, user_arch
from bench.progress import Log, stage
from bench.session import Session
from variants import REGISTRY
from variants.baseline import ARCHS
from variants.convert import crashed_doing


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
    """The float models first, then the reference models; each float model, once
    trained, releases its recipes (the groups that train first, the cheap conversions
    after), so no worker waits for the slowest training. Each worker also runs the
    deterministic measurements of what it built (arena search, detection, agreement) into
    the cache, where the measuring pass finds them."""
    cfg, clock, log, cache = s.cfg, s.clock, s.log, s.cfg.cache
    assert cache is not None  # `run` gives a run-only cache under --no-cache
    crumbs = breadcrumbs(cache)
    start, order = time.perf_counter(), list(todo)
    jobs: list[Any] = [Job.of(contexts[i], cache) for i in order]
    jobs += reference_specs(cfg)
    owner = dict(enumerate(order))  # job index -> its context, for trainings and builds
    untrained, trained_at = set(order), start

    def recipes(j: int, done: Any) -> list[Job]:
        if split(jobs[j], done):  # each recipe of the group again, on its own
            new = [replace(jobs[j], names=(name,)) for name in jobs[j].names]
        elif j < len(order) and isinstance(done, float):
            i = order[j]
            ranked = sorted(groups(tuple(todo[i])), key=lambda group: not trains(group))
            detection_only = rows is not None and i >= rows
            new = [Job.of(contexts[i], cache, g, s.how.scoring, detection_only) for g in ranked]
        else:
            return []
        owner.update({len(jobs) + k: owner[j] for k in range(len(new))})
        return new

    log(
        f"training {len(order)} float model(s), then building their variants on "
        f"{cfg.workers} worker(s)"
    )
    steps = len(order) + sum(len(todo[i]) for i in order)
    stage(log, "training and building", steps, "models")
    with executor(cfg.executor, cfg.workers) as pool:
        for j, done in pool.map(work, jobs, then=recipes):
            if j not in owner:
                continue  # a reference model, now in the cache
            i, job = owner[j], jobs[j]
            if split(job, done):
                continue  # its recipes run again one by one: a crash costs only its own
            if job.names:
                for name, one in zip(job.names, _each(done, job.names, crumbs), strict=True):
                    found[i][name] = one
                    log(f"{_label(contexts[i], cfg)} {name}: {_said(one)}", start=True)
                continue
            untrained.discard(i)
            if not untrained:  # the stages: until the last float model, and after
                trained_at = clock.add("train", start)
            found[i] |= _trained(contexts[i], done, todo[i], log, _label(contexts[i], cfg))
    clock.add("build", trained_at)


def _trained(ctx: BuildContext, done: Any, names: list[str], log: Log, label: str) -> dict:
    """A float model's training: its seconds into `ctx`, said in the log; or, when it
    could not be made, that failure for each of its recipes."""
    if not isinstance(done, float):
        return dict.fromkeys(names, done)
    ctx.train_seconds = done
    log(f"{label} float model ready ({done:.1f} s training)", start=True)
    return {}


def split(job: Any, done: Any) -> bool:
    """Did a job of several recipes die? Then each runs again on its own."""
    return isinstance(job, Job) and len(job.names) > 1 and isinstance(done, Died)


def in_words(died: Died, name: str, doing: str | None) -> Died:
    """A recipe's death, said as the converter's crash when it died in the converter."""
    if doing is None:
        return died
    how = died.killed_by or "its process died"
    return replace(died, said=f"the TFLite converter crashed ({how}) {doing} {name}")


def reference_specs(cfg: RunConfig) -> list[dict]:
    """The reference models not in the cache yet."""
    cat, cache = catalog(cfg), Cache(cfg.calibration_cache)
    return [
        {"spec": cat.models[b], "cache": cfg.calibration_cache}
        for b in BENCHMARKS
        if cache.read(reference_key(cat.models[b]), "model.tflite") is None
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


def replace_seed(ctx: BuildContext, seed: int) -> BuildContext:
    train = replace(ctx.train_cfg, seed=seed)
    return BuildContext(ctx.arch, ctx.windows, train, ctx.data_key, ctx.cache, ctx.source)


def _each(done: Any, names: tuple[str, ...], crumbs: Path) -> list:
    """A build job's outcome per recipe; a recipe that died alone, in words."""
    if not isinstance(done, Died):
        return done
    if len(names) == 1:
        done = in_words(done, names[0], crashed_doing(crumbs, done.pid))
    return [done] * len(names)


def _said(one: Outcome | Died) -> str:
    if isinstance(one, Died):
        return f"build failed: {one.reason}"
    if one.skipped:
        return f"not applicable: {one.skipped}"
    if one.error:
        return f"build failed: {one.error[0]}: {one.error[1]}"
    return "from the cache" if one.cached else f"built in {one.build_seconds:.1f} s"
