"""The measure stage: one `Row` per variant (measured, skipped or failed), the user's
.tflite, figures over seeds and series, and the comparisons with float32."""

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import MeasurementError, UsageError, detection, graph, instructions, seeds
from bench.build import BuildContext, Outcome
from bench.cache import Cache, write_atomic
from bench.config import RunConfig
from bench.data import Dataset
from bench.data.windows import Windows, make_windows
from bench.executor import Died
from bench.external import read_tflite
from bench.isolate import Limits, default_timeout
from bench.pipeline import (
    Settings,
    baseline_figures,
    conditions,
    detect,
    fidelity_figures,
    measure,
    measure_detection,
)
from bench.schema import (
    ArchBaselines,
    Conditions,
    Detection,
    Identity,
    Machine,
    Row,
    Scaling,
    StepError,
    Trace,
    safe_name,
)
from bench.session import Session
from bench.train import data_key, model_window
from variants import REGISTRY


def lineage(name: str) -> str:
    """`float32 > pruned80 > pruned80_int8`: the chain of parents in the registry."""
    chain = [name]
    while parent := REGISTRY[chain[0]].parent:
        chain.insert(0, parent)
    return " > ".join(chain)


def add_deltas(rows: list[Row], traces: dict[str, Trace], cache: Cache | None = None) -> None:
    """Comparisons with float32 of the same arch and dataset, each F1 target's verdict,
    and the fidelity figures on the arch's test points (`traces`)."""
    refs = {(r.arch, r.id.dataset): r for r in rows if r.variant == "float32"}
    for row in rows:
        registered = row.id.recipe_params is not None  # not a user's .tflite
        target = REGISTRY[row.variant].f1_target if registered else None
        ref = refs.get((row.arch, row.id.dataset))
        row.vs_float32 = row.against(ref, target)
        if ref is not None and row.arch in traces:
            figures = fidelity_figures(row, ref, traces[row.arch], target, cache)
            row.vs_float32 = replace(row.vs_float32, **figures)


def save_model(out: Path, model: bytes, row: Row) -> None:
    """The model into `out/models/`, and where it is and its hash into the row."""
    artifact = out / "models" / f"{row.arch}-{row.variant}.tflite"
    write_atomic(artifact, model)
    row.id.artifact = str(artifact.relative_to(out))
    row.id.sha256 = hashlib.sha256(model).hexdigest()


def identity(s: Session, data: Dataset, window: int | None, **given: Any) -> Identity:
    """A row's identity: `given` and the conditions this run measures it under on `data`
    (whose name the row carries unless `given` says otherwise)."""
    where = row_conditions(s.cfg, data, window, s.machine)
    fields = {"dataset": data.name, "window": window, **given}
    return Identity(**fields, conditions=where, measure_key=where.key())


def row_conditions(
    cfg: RunConfig, dataset: Dataset, window: int | None, machine: Machine
) -> Conditions:
    """The conditions a row of this run is measured under (see `schema.Conditions`)."""
    versions = machine.packages
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
        score=cfg.score,
        latency_samples=cfg.latency_samples,
        machine=machine.fingerprint,
        litert=versions["ai-edge-litert"],
        tflite_micro=versions["tflite-micro"],
        valgrind=instructions.valgrind_version(),
    )


def trace(windows: Windows) -> Trace:
    """The test windows' labels and end points: what the report plots scores against."""
    return Trace(
        end=windows.test.end.tolist(),
        y=windows.test.y_end.tolist(),
        series=windows.test.series.tolist(),
        names=list(windows.series_names),
    )


@dataclass
class PerSeries:
    """NAB's protocol (`--per-series`): per arch, one context per series, their outcomes
    in the same order, and the windows of every series together."""

    parts: dict[str, list[BuildContext]]
    outcomes: dict[str, list[dict[str, Any]]]
    wholes: dict[str, Windows]


def per_series_detection(
    s: Session, rows: list[Row], split: PerSeries, reference: dict[str, ArchBaselines]
) -> None:
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
        parts, choice = [c.windows for c in split.parts[row.arch]], row.detection.score_choice
        row.detection = detection.measure_per_series(
            detection.PerSeries(models, parts, split.wholes[row.arch]),
            s.how.threshold,
            detection.Score.parse(row.detection.window_score or "mean"),
            reference[row.arch].detectors(),
        )
        row.detection.score_choice = choice
    s.clock.add("per_series", t)


def add_seed_figures(
    s: Session, rows: list[Row], contexts: list[BuildContext], outcomes: list[dict[str, Any]]
) -> None:
    """Detection of every other seed's build of each variant, then each row's figures
    over all seeds (`schema.Seeds`)."""
    t = time.perf_counter()
    by_seed: dict[tuple[str, str], dict[int, Detection]] = {}
    chosen: dict[str, str | None] = {}  # each arch's window score, as its rows were measured
    for row in rows:
        by_seed[(row.arch, row.variant)] = {s.cfg.seeds[0]: row.detection}
        chosen[row.arch] = row.detection.window_score or chosen.get(row.arch)
    for ctx, found in zip(contexts, outcomes, strict=True):
        how = replace(s.how, score=chosen.get(ctx.arch.name) or s.how.score)
        for name, one in found.items():
            scored = Detection()
            if not isinstance(one, Died) and one.model is not None:
                scored = measure_detection(one.model, ctx.windows, how)
            by_seed.setdefault((ctx.arch.name, name), {})[ctx.train_cfg.seed] = scored
    for row in rows:
        mine = by_seed[(row.arch, row.variant)]
        float32 = by_seed.get((row.arch, "float32"), {})
        row.seeds = seeds.figures(row.variant, mine, float32)
    s.clock.add("seeds", t)


def _build_error(one: Outcome | Died) -> StepError:
    if isinstance(one, Died):
        return StepError.of("build", one.reason, "WorkerDied")
    kind, message = one.error or ("BuildError", "the recipe built no model")
    return StepError.of("build", message, kind)


def registry_rows(
    s: Session, ctx: BuildContext, dataset: Dataset, outcomes: dict[str, Any]
) -> list[Row]:
    """One row per registered variant of `ctx`'s arch: measured, skipped or failed, all
    under the window score float32 chooses (`arch_settings`)."""
    rows, (how, why) = [], arch_settings(s, ctx, outcomes.get("float32"))
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
                student=variant.student or None,
                trained_on=trained_on(s, dataset, variant),
                f1_target=str(variant.f1_target) if variant.f1_target else None,
            )
        )
        one = outcomes[name]
        if not isinstance(one, Died) and one.skipped:
            row.id.recipe_skipped = one.skipped
        elif isinstance(one, Died) or one.error or one.model is None:
            row.fail(_build_error(one))
        else:
            measured(s, row, one, ctx, how)
            row.id.detection_skipped = unscored(s, dataset)
            if row.detection.window_score is not None:
                row.detection.score_choice = why or row.detection.score_choice
        rows.append(row)
    return rows


def arch_settings(s: Session, ctx: BuildContext, float32: Any) -> tuple[Settings, str | None]:
    """The settings an arch's rows are measured under, and why its window score: the
    one given, or under `--score auto` the one float32's validation PR-AUC chooses (with
    no float32, each model chooses on its own validation)."""
    if s.how.score != "auto":
        return s.how, f"{s.how.score}: given (--score)"
    if not isinstance(float32, Outcome) or float32.model is None:
        return s.how, None
    try:
        best = detect(float32.model, ctx.windows, s.how.scoring, s.how.cache, "float32")
    except Exception:  # float32's detection fails, and says why, in its own row
        return s.how, None
    return replace(s.how, score=best.window_score or "mean"), best.score_choice


def measured(s: Session, row: Row, one: Outcome, ctx: BuildContext, how: Settings) -> None:
    """A built variant's model saved and measured into its row (its scores too where its
    detection is not scored: they show its agreement with float32)."""
    assert one.model is not None
    if one.note:
        s.log(f"warning: [{ctx.arch.name}] {one.name}: {one.note}")
    save_model(s.cfg.out, one.model, row)
    row.id.cache_key, row.id.cached, row.id.build_seconds = one.key, one.cached, one.build_seconds
    measure(one.model, ctx.windows.test.x, ctx.windows, how, row)


def unscored(s: Session, dataset: Dataset) -> str | None:
    """Why the registry's rows are not scored for detection: a model brought without
    --dataset, or data without labels; None when they are."""
    if s.cfg.model is not None and s.cfg.dataset is None:
        return SKIPPED
    if not dataset.labelled:
        return NO_LABELS
    return None


def trained_on(s: Session, dataset: Dataset, variant: Any) -> str | None:
    """Where a brought Keras model's data-dependent recipe trained or calibrated without
    data named for it (--dataset): the built-in stream."""
    if s.cfg.model is None or s.cfg.dataset is not None or not variant.needs_data():
        return None
    return f"{dataset.name} (the built-in stream: no --dataset given)"


def baselines(windows: Windows, cfg: RunConfig, dataset: Dataset, cache: Cache) -> ArchBaselines:
    """The non-learned detectors on these test points; what cannot be computed is the
    user's input (data too short for its window), said before any training."""
    val = windows.val.y_end
    if len(val) and val.all():
        raise UsageError(
            f"dataset {dataset.name!r}: every one of the {len(val):,} validation points is "
            "labelled anomalous, and the threshold is set on normal validation points; give "
            "data with normal points between the training and test parts"
        )
    try:
        found = baseline_figures(windows, cfg.threshold, cache)
    except MeasurementError as err:
        raise UsageError(
            f"dataset {dataset.name!r}: the baselines cannot be computed "
            f"({err}); give more data or a shorter --window"
        ) from None
    return ArchBaselines(dataset=dataset.name, test_points=len(windows.test.y_end), **found)


def scalers(windows: Windows) -> list[Scaling]:
    """Each series' scaling, fitted on its training part, and the range the model's input
    is clipped to (`Windows.seen`): what firmware must apply."""
    low, high = windows.input_range
    clip = {"input_low": low.tolist(), "input_high": high.tolist()}
    return [
        Scaling.from_dict({"series": name, **dataclasses.asdict(scaler), **clip})
        for name, scaler in zip(windows.series_names, windows.scalers, strict=True)
    ]


SKIPPED = (
    "a model brought in is scored for detection only on data you name: pass "
    "--dataset (nepse for the built-in stream)"
)
NO_LABELS = "the data hold no label column: their scores are measured, not their detection"


def tflite_row(s: Session, path: Path, dataset: Dataset) -> tuple[Row, Windows | None]:
    """A user's .tflite, measured as it is; detection when its input is a window."""
    cfg = s.cfg
    model = read_tflite(path)
    shape, out_shape = graph.io_shapes(model)
    limits = Limits(cfg.measure_timeout or default_timeout(len(model)), cfg.measure_memory_bytes)
    how = replace(s.how, isolate=limits)  # every step in a child bounded in time and memory
    windows = None
    if cfg.dataset is not None and len(shape) == 2 and shape == out_shape:
        windows = make_windows(dataset.series, model_window(cfg, dataset, shape[1]), cfg.scaling)
        detection.check_score(cfg.score, windows.length)
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
    named = dataset.name if windows else None  # detection measured on it, or none
    row = Row(identity(s, dataset, window, **given, dataset=named, input_shape=shape))
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


@dataclass
class Measured:
    """What the measuring stages hand the results file: the rows, and per arch the test
    points' trace, the baselines and each series' scaling."""

    rows: list[Row] = field(default_factory=list)
    traces: dict[str, Trace] = field(default_factory=dict)
    baselines: dict[str, ArchBaselines] = field(default_factory=dict)
    scaling: dict[str, list[Scaling]] = field(default_factory=dict)

    def windows(self, s: Session, arch: str, windows: Windows, dataset: Dataset) -> None:
        """What the report needs of `arch`'s windows (and what firmware must apply)."""
        self.traces[arch] = trace(windows)
        self.baselines[arch] = baselines(windows, s.cfg, dataset, s.cache)
        self.scaling[arch] = scalers(windows)
