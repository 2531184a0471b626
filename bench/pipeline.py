"""The one measurement pipeline: the run, `--model` and the pytest-benchmark suite all
measure a model with `measure`, in the same order, with the same warm-up.

Each step takes what it needs explicitly (the threshold for agreement, the MACs and
arena for the boards) and returns its schema record; a step that fails records a
typed `StepError` in the row and the steps that needed its output are skipped.
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench import (
    baselines,
    detection,
    fidelity,
    graph,
    instructions,
    isolate,
    latency,
    size,
    source_digest,
    tflm,
)
from bench.boards.catalog import Board, Catalog, Work
from bench.boards.estimate import Footprint, estimate
from bench.cache import Cache, digest, digest_bytes
from bench.data.windows import Windows
from bench.detection import Cut, Score
from bench.isolate import Limits
from bench.schema import (
    Agreement,
    Conditions,
    Detection,
    Identity,
    Instructions,
    Record,
    Row,
    Size,
    StepError,
    Tflm,
    Trace,
)

# The measuring code behind each condition: a change to it makes old rows not comparable.
MEASURING_CODE = {
    "code_size": ("size.py", "graph.py"),
    "code_tflm": ("tflm.py", "runtime.py"),
    "code_latency": ("latency.py", "runtime.py"),
    "code_detection": (
        "detection.py",
        "metrics.py",
        "baselines.py",
        "bootstrap.py",
        "nab.py",
        "fidelity.py",
        "runtime.py",
        "data/windows.py",
    ),
    "code_instructions": ("instructions.py",),
    "code_firmware": (
        "firmware/build.py",
        "firmware/emulate.py",
        "firmware/measure.py",
        "firmware/resolver.py",
        "firmware/templates/main.cc",
        "firmware/templates/startup.c",
        "firmware/templates/link.ld",
    ),
}
R = TypeVar("R", bound=Record)


def code_hashes() -> dict[str, str]:
    return {name: source_digest(*files) for name, files in MEASURING_CODE.items()}


class Stopwatch:
    """Accumulates wall seconds per stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now


@dataclass(frozen=True)
class Settings:
    """What the steps take from the run's configuration."""

    threshold: str  # the threshold policy
    latency_samples: int
    catalog: Catalog
    boards: list[Board]
    timings: bool = True  # False: the pytest-benchmark suite times the invokes itself
    cache: Any = None  # a `bench.build.Cache` for the deterministic steps; None: none
    isolate: Limits | None = None  # a foreign model: every step in a bounded child
    clock: Stopwatch = field(default_factory=Stopwatch)  # wall s per step
    score: str = "auto"  # the window score (`detection.Score`), or auto: chosen on validation

    @property
    def scoring(self) -> "Scoring":
        return Scoring(self.threshold, self.score)


@dataclass(frozen=True)
class Scoring:
    """How detection scores and thresholds: the threshold policy, and the window score
    (`auto`: each candidate measured, the best on validation PR-AUC chosen)."""

    policy: str = "auto"
    score: str = "auto"

    def scores(self, length: int) -> list[Score]:
        """The scores to measure: the one given, or every candidate of `auto`."""
        if self.score == "auto":
            return detection.candidates(length)
        return [Score.parse(self.score)]


def _digest(*arrays: np.ndarray) -> str:
    return digest_bytes(*(np.ascontiguousarray(a).tobytes() for a in arrays))


def windows_digest(windows: Windows) -> str:
    """What detection and agreement read of the windows."""
    r, v, t = windows.train, windows.val, windows.test
    labels = [windows.labels[i] for i in sorted(windows.labels)]
    return _digest(
        r.x,
        r.end,
        r.series,
        v.x,
        v.y,
        v.y_end,
        v.series,
        t.x,
        t.y,
        t.y_end,
        t.series,
        t.end,
        *labels,
    )


def _versions() -> str:
    from importlib.metadata import version

    return f"litert {version('ai-edge-litert')} tflm {version('tflite-micro')}"


def memo(cache: Cache | None, kind: type[R], model: bytes, inputs: dict, run: Callable[[], R]) -> R:
    """`run()`, or its record from the cache: deterministic steps (size, whose gzip takes
    a while, the arena search, detection, agreement) keyed by the model's sha256, what
    else they read, the measuring code and the interpreters' versions. A warm run
    re-measures only the timings."""
    parts = {"step": kind.__name__, "model": hashlib.sha256(model).hexdigest(), **inputs}
    return _cached(cache, parts, run, lambda record: record.to_dict(), kind.from_dict)


def baseline_figures(windows: Windows, policy: str, cache: Cache | None) -> dict[str, dict]:
    """The baseline detectors' figures (`baselines.baselines`), through the cache: a warm
    run need not import scikit-learn."""
    parts = {"step": "baselines", **_seen(windows, policy)}
    return _cached(cache, parts, lambda: baselines.baselines(windows, policy))


def _cached(
    cache: Cache | None,
    parts: dict,
    run: Callable[[], Any],
    dump: Callable[[Any], Any] = lambda x: x,
    load: Callable[[Any], Any] = lambda x: x,
) -> Any:
    """`run()`, or what the cache holds under a key over `parts`, the measuring code and
    the interpreters' versions (`dump`/`load`: to and from JSON data)."""
    if cache is None:
        return run()
    hit = _read(cache, parts, load)
    if hit is not None:
        return hit
    found = run()
    _write(cache, parts, dump(found))
    return found


def measure(
    model: bytes,
    inputs: np.ndarray,
    windows: Windows | None,
    settings: Settings,
    row: Row | None = None,
) -> Row:
    """Every metric of one model, into `row` (a new one by default): `inputs` are the
    windows timed, `windows` (or None) the splits for detection and agreement."""
    clock, row = settings.clock, row or Row(Identity())

    def step(stage: str, run: Callable[[], R]) -> R | None:
        start = time.perf_counter()
        record: R | None = None
        try:
            limits = settings.isolate
            record = run() if limits is None else isolate.run(run, limits, stage)
            row.put(record)
        except Exception as err:  # a metric that cannot run is reported, not fatal
            row.fail(StepError.of(stage, err))
        clock.add(stage, start)
        return record

    cache = settings.cache
    sized = step("size", lambda: memo(cache, Size, model, {}, lambda: size.measure(model)))
    shape = step("graph", lambda: graph.measure(model))
    micro = step("tflm", lambda: search_arena(model, cache))
    arena = micro.arena_bytes if micro is not None and micro.tflm_deployable else None
    if settings.timings:
        step("latency", lambda: latency.measure(model, inputs, settings.latency_samples))
        if arena is not None:
            step(
                "tflm_latency", lambda: tflm.latency(model, arena, inputs, settings.latency_samples)
            )
    if windows is not None:
        scoring, cache = settings.scoring, settings.cache
        found = step("detection", lambda: detect(model, windows, scoring, cache))
        if found is not None and arena is not None:
            cut = Cut(found.threshold, scoring.policy, found.window_score or "mean")
            step("tflm_agreement", lambda: agree(model, arena, windows, cache, [cut])[0])
    if sized is not None and shape is not None and micro is not None:
        footprint = Footprint(
            Work.of_layers(shape.layers),
            shape.float_compute_ops,
            sized.size_bytes,
            micro.tflm_deployable,
            arena,
            shape.input_elements + shape.output_elements,
        )
        step("boards", lambda: estimate(footprint, settings.catalog, settings.boards))
    return row


def _seen(windows: Windows, policy: str) -> dict:
    return {"windows": windows_digest(windows), "policy": policy}


def search_arena(model: bytes, cache: Cache | None) -> Tflm:
    """TFLM's arena search and deployability, through the cache."""
    return memo(cache, Tflm, model, {}, lambda: tflm.arena(model))


def detect(
    model: bytes,
    windows: Windows,
    scoring: Scoring,
    cache: Cache | None,
    whose: str = "this model's",
) -> Detection:
    """Detection with its baselines under `scoring`, through the cache; under `auto`, the
    candidate with the best validation PR-AUC on this model (`whose`, as the choice
    names it)."""
    found = detect_each(model, windows, scoring, cache)
    if scoring.score != "auto":
        return found[0]
    return detection.choose(found, whose)


def detect_each(
    model: bytes, windows: Windows, scoring: Scoring, cache: Cache | None
) -> list[Detection]:
    """Detection under each of `scoring.scores`, each through the cache; what is missing
    is measured in one pass of inference."""
    scores = scoring.scores(windows.length)
    sha = hashlib.sha256(model).hexdigest()
    keys = [
        {"step": "Detection", "model": sha, **_seen(windows, scoring.policy), "score": str(sc)}
        for sc in scores
    ]

    def missing(todo: list[int]) -> list[Detection]:
        reference = baseline_figures(windows, scoring.policy, cache)
        wanted = [scores[i] for i in todo]
        return list(detection.measure(model, windows, scoring.policy, reference, wanted).values())

    return _each_cached(cache, keys, Detection.from_dict, missing)


def _each_cached(
    cache: Cache | None,
    keys: list[dict],
    load: Callable[[Any], R],
    measure: Callable[[list[int]], list[R]],
) -> list[R]:
    """The record of each key from the cache; those missing measured together
    (`measure(their indices)`) and written."""
    found = [_read(cache, k, load) for k in keys]
    todo = [i for i, f in enumerate(found) if f is None]
    for i, record in zip(todo, measure(todo) if todo else [], strict=True):
        found[i] = record
        _write(cache, keys[i], record.to_dict())
    return [f for f in found if f is not None]


def _read(cache: Cache | None, parts: dict, load: Callable[[Any], R]) -> R | None:
    return None if cache is None else cache.load(_key(parts), "record.json", load)


def _write(cache: Cache | None, parts: dict, data: Any) -> None:
    if cache is not None:
        cache.write(_key(parts), "record.json", json.dumps(data).encode())


def _key(parts: dict) -> str:
    return digest({**parts, "code": code_hashes(), "versions": _versions()})


def agree(
    model: bytes, arena: int, windows: Windows, cache: Cache | None, cuts: list[Cut]
) -> list[Agreement]:
    """TFLM's decisions against LiteRT's at each cut, through the cache; what is missing
    is measured in one pass of each interpreter."""
    sha = hashlib.sha256(model).hexdigest()
    keys = [
        {
            "step": "Agreement",
            "model": sha,
            **_seen(windows, c.policy),
            "arena": arena,
            "threshold": c.threshold,
            "score": c.score,
        }
        for c in cuts
    ]

    def missing(todo: list[int]) -> list[Agreement]:
        given = [(cuts[i].threshold, _reduce(cuts[i].score, windows.channels)) for i in todo]
        x = windows.test.x
        return tflm.agreement(model, arena, x, given, windows.seen(x))

    return _each_cached(cache, keys, Agreement.from_dict, missing)


def _reduce(score: str, channels: int) -> Callable[[np.ndarray], np.ndarray]:
    parsed = Score.parse(score)
    return lambda errors: parsed.of(errors, channels)


def prefetch(
    model: bytes, windows: Windows, scoring: Scoring, cache: Cache, detection_only: bool = False
) -> None:
    """The deterministic steps of `measure` (arena search, detection, agreement; or
    detection alone) into the cache, where `measure` finds them: a build worker calls it
    on what it built, under every score `auto` may choose. A step that fails here is left
    for `measure` to run and report."""
    try:
        found = detect_each(model, windows, scoring, cache)
        if detection_only:
            return
        micro = search_arena(model, cache)
        if micro.tflm_deployable and micro.arena_bytes is not None:
            cuts = [Cut(f.threshold, scoring.policy, f.window_score or "mean") for f in found]
            agree(model, micro.arena_bytes, windows, cache, cuts)
    except Exception:  # measured again, and reported, by `measure`
        pass


def measure_detection(model: bytes, windows: Windows, settings: Settings) -> Detection:
    """Detection alone (another seed's build of a variant); every figure None on failure."""
    try:
        return detect(model, windows, settings.scoring, settings.cache)
    except Exception:  # the seed's figure is missing; the interval says so by its absence
        return Detection()


def fidelity_figures(row: Row, ref: Row, trace: Trace, target: Any, cache: Cache | None) -> dict:
    """`fidelity.compare` of `row` against float32 `ref` (and the recipe's F1 `target`),
    through the cache, keyed by the two models' test scores and thresholds and the test
    points: a warm run imports no scipy."""
    seen = [(r.detection.test_scores, r.detection.threshold) for r in (row, ref)]
    parts = {"step": "fidelity", "scores": digest(seen), "trace": digest(trace.to_dict())}
    parts |= {"window": str(row.id.window), "target": str(target)}
    return _cached(cache, parts, lambda: fidelity.compare(row, ref, trace, target))


def conditions(**given: Any) -> Conditions:
    """What a row is measured under, with the measuring code's hashes."""
    return Conditions(**{**given, **code_hashes()})


def count_instructions(
    models: list[tuple[bytes, int, list[str]]], cache: Cache, processes: int = 1
) -> list[Instructions]:
    """`instructions.count` in `processes` valgrind runs, through a cache keyed by each
    model's sha256, the tools and the counting code: a warm run starts no valgrind."""
    used = instructions.tool()
    keys = [
        digest({"model": hashlib.sha256(m).hexdigest(), "tool": used, "code": code_hashes()})
        for m, _, _ in models
    ]
    found: dict[int, Instructions] = {}
    for i, key in enumerate(keys):
        hit = cache.load(key, "instructions.json", lambda d: Instructions(**d))
        if hit is not None:
            found[i] = hit
    todo = [i for i in range(len(models)) if i not in found]
    counted = instructions.count([models[i] for i in todo], processes)
    for i, record in zip(todo, counted, strict=True):
        found[i] = record
        if record.tflm_instructions is not None:
            cache.write(keys[i], "instructions.json", json.dumps(record.to_dict()).encode())
    return [found[i] for i in range(len(models))]


def add_instructions(
    rows: list[Row], root: Path, cache: Cache, clock: Stopwatch, processes: int = 1
) -> None:
    """Instructions per inference of every row's model that TFLM runs, counted in
    `processes` valgrind processes (`bench/instructions.py`)."""
    start = time.perf_counter()
    built = [row for row in rows if row.id.artifact]
    runs = [row for row in built if row.tflm.tflm_deployable and row.tflm.arena_bytes]
    for row in built:
        if not row.tflm.tflm_deployable:
            why = (row.tflm.tflm_error or "not measured")[:200]
            row.instructions = Instructions(
                tflm_instructions_error=f"TFLM cannot run it: {why}",
                tflm_instructions_tool=instructions.tool(),
            )
    models = [
        (_model(root, row), arena, list(row.graph.ops or {}))
        for row in runs
        if (arena := row.tflm.arena_bytes) is not None
    ]
    for row, record in zip(runs, count_instructions(models, cache, processes), strict=True):
        row.instructions = record
        if record.tflm_instructions is None and record.tflm_instructions_error != (
            instructions.UNAVAILABLE
        ):
            row.fail(StepError.of("instructions", record.tflm_instructions_error or "no count"))
    clock.add("instructions", start)


def _model(root: Path, row: Row) -> bytes:
    return (root / str(row.id.artifact)).read_bytes()


def arena_and_instructions(model: bytes, cache: Cache) -> tuple[Tflm, Instructions | None]:
    """A reference model's arena search and instruction count, through the caches (a
    build worker fills them; `bench.boards.references` reads them)."""
    micro = search_arena(model, cache)
    if not micro.arena_bytes:
        return micro, None
    ops = list(graph.measure(model).ops)
    return micro, count_instructions([(model, micro.arena_bytes, ops)], cache)[0]
