"""The one schema of `results.json`: typed records per metric family, with units.

A row of the results file is flat (`row["size_bytes"]`), and every key it may hold
is a field of exactly one record below. Each metric module returns its record; the
pipeline merges records into the row with `to_dict`. Field metadata carries the
unit, the report's column label and format, and how the gate judges the field, so
the report, the gate, pytest-benchmark's `extra_info`, the JSON Schema printed by
`edgebench schema` and the tests all derive from here.

Each record also names the measurement conditions its numbers depend on
(`DEPENDS_ON`, keys of `Conditions`): the gate compares a field of two rows only
when those conditions agree, and otherwise says "not comparable".
"""

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from bench.cache import digest
from bench.data.windows import SCALINGS

SCHEMA_VERSION = 5

# What an `arch` or `variant` may be: it becomes part of file names (plots, models, the
# export's folder) and of markdown, so no separators, dots, spaces or markup.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,99}")
# Free text read from a file (a dataset's name, messages): no control characters.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(text: str) -> str:
    """A file's stem as a row name: every character `NAME` refuses becomes `_`."""
    name = re.sub(r"[^A-Za-z0-9_+-]", "_", text)[:100]
    return name if NAME.fullmatch(name) else f"m{name}"[:100]


GATING = ("gate", "allowance", "samples", "breakdown")


def metric(
    unit: str = "",
    doc: str = "",
    label: str = "",
    fmt: str = "{}",
    best: str | None = None,
    **gating: str,
) -> Any:
    """A field with its unit and how it is shown and gated.

    best: "min" or "max" (bold in report tables). `gating`: gate: "max" (must not grow),
    "min" (must not fall), "true" (must stay true) or "timing" (statistical, over
    `samples`); allowance: the `gate.Tolerances` field that loosens it (a `_ratio` of the
    baseline); breakdown: the field whose parts a failure names (instructions per
    operator)."""
    if set(gating) - set(GATING):
        raise TypeError(f"metric() takes no {', '.join(sorted(set(gating) - set(GATING)))}")
    meta = {"unit": unit, "doc": doc, "label": label, "fmt": fmt, "best": best}
    return field(default=None, metadata=meta | {k: gating.get(k) for k in GATING})


class Record:
    """A metric family: a dataclass whose fields are row keys."""

    DEPENDS_ON: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, row: dict) -> Self:
        """The record of a flat row, its nested values typed (`Layer`, `BoardEstimate`...)."""
        hints = _hints(cls)
        return cls(
            **{f.name: _typed(hints[f.name], row.get(f.name)) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        )

    def measured(self) -> bool:
        """Whether any figure of the record is there (a step that did not run: none)."""
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))  # type: ignore[arg-type]


def _typed(tp: Any, value: Any) -> Any:
    """JSON data as the annotation `tp` says: dataclasses built, through lists, maps and
    optionals (the file was validated against the same annotations)."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    if origin is list and isinstance(value, list):
        return [_typed(args[0], v) for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _typed(args[1], v) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return tp(**{k: _typed(hints[k], v) for k, v in value.items()})  # type: ignore[operator]
    return value


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# ---- nested values -----------------------------------------------------------------------


@dataclass
class StepError:
    """Why one step of the pipeline produced no numbers."""

    stage: str
    kind: str  # the error type: MeasurementError, RuntimeError, ...
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    @classmethod
    def of(cls, stage: str, err: BaseException | str, kind: str = "MeasurementError") -> Self:
        """The error of `stage`: an exception (its type is the kind) or words."""
        if isinstance(err, BaseException):
            kind, err = type(err).__name__, str(err)
        return cls(stage, kind, err.strip()[:500])


@dataclass
class Layer:
    op: str
    input_shape: list[int]
    output_shape: list[int]
    params: int
    weight_bytes: int
    macs: int


@dataclass
class Allocation:
    used_bytes: int
    requested_bytes: int
    count: int


@dataclass
class BoardEstimate:
    dtype: str  # the kernels: int8 or float32
    est_latency_ms: float
    est_energy_uj: float
    est_battery_days: float
    fits: bool
    fit_reason: str
    calibrated: bool  # every figure used comes from published measurements
    est_cycles: float | None = None
    kernels: str | None = None  # the kernel library the estimate stands for
    battery_capped: bool | None = None  # at the battery's shelf life
    basis: str | None = None  # "firmware on <core>": its instructions and measured sizes;
    # "MACs: ..." or None (older files): MACs and the flatbuffer plus the runtime constants
    # the 90 % intervals, from the fit's leave-one-out errors; None: the fit has none
    est_latency_ms_low: float | None = None
    est_latency_ms_high: float | None = None
    est_energy_uj_low: float | None = None
    est_energy_uj_high: float | None = None
    est_battery_days_low: float | None = None
    est_battery_days_high: float | None = None


@dataclass
class CoreFirmware:
    """One variant's firmware for one Cortex-M core, linked and run in its emulator."""

    core: str
    flash_bytes: int  # text + rodata + the load image of .data
    flash_model_bytes: int  # the flatbuffer
    flash_tflm_bytes: int  # the interpreter and its kernels (TFLM + CMSIS-NN)
    flash_rest_bytes: int  # libc, libstdc++, startup, main and alignment
    ram_bytes: int  # arena + static data + stack
    ram_arena_bytes: int  # arena_used_bytes() on the 32-bit target; invoked at that size
    ram_static_bytes: int  # .data + .bss besides the arena and the I/O buffers
    ram_stack_bytes: int  # the stack's high-water mark (painted, read back)
    instructions: int  # per invoke; two invokes agree
    instructions_by_op: dict[str, int]  # (interpreter) = the rest of Invoke()
    output_max_abs_diff: float  # from host TFLM's output, for the same fixed input
    output_matches_host: bool  # integers exactly; floats within 1e-5 of the largest


@dataclass
class SeriesDetection:
    point_precision: float
    point_recall: float
    point_f1: float
    far: float | None
    mar: float | None
    events: int
    event_recall: float | None
    detection_delay_mean: float | None
    false_alarms_per_1000: float | None
    nab_score_standard: float | None = None
    nab_score_low_fp: float | None = None
    nab_score_low_fn: float | None = None


# ---- conditions of measurement -------------------------------------------------------------


@dataclass
class Conditions:
    """What a row's numbers were measured under, apart from the model itself."""

    dataset: str | None = None
    data_digest: str | None = None
    window: int | None = None
    channels: int | None = None
    scaling: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int | None = None
    threshold: str | None = None
    score: str | None = None  # --score as asked (auto: chosen on validation)
    latency_samples: int | None = None
    machine: str | None = None  # the machine fingerprint
    litert: str | None = None  # ai-edge-litert version
    tflite_micro: str | None = None
    valgrind: str | None = None
    code_size: str | None = None  # hashes of the measuring modules' sources
    code_tflm: str | None = None
    code_latency: str | None = None
    code_detection: str | None = None
    code_instructions: str | None = None
    firmware: str | None = None  # compiler, TFLM tree and unicorn versions
    code_firmware: str | None = None

    def key(self) -> str:
        """A digest of the conditions; a field added since schema v5 counts once set, so
        the files written before it keep their keys."""
        given = dataclasses.asdict(self)
        return digest({k: v for k, v in given.items() if k not in ADDED or v is not None})


ADDED = ("score",)  # Conditions fields added since schema v5
MODEL_SHAPE = ("window", "channels")
TRAINING = ("dataset", "data_digest", "scaling", "epochs", "batch_size", "learning_rate", "seed")


# ---- the records ---------------------------------------------------------------------------


@dataclass
class Identity(Record):
    """Which model a row is, where it came from, and under what conditions it was measured."""

    variant: str = metric(doc="registry name, or the stem of a user's model", label="variant")
    arch: str = metric(doc="architecture, or 'user'")
    dataset: str | None = metric()
    window: int | None = metric(unit="points")
    parent: str | None = metric()
    recipe: str | None = metric()
    recipe_params: dict[str, Any] | None = metric()
    lineage: str | None = metric(label="lineage")
    student: bool | None = metric(doc="a distilled student: another architecture than its teacher")
    trained_on: str | None = metric(
        doc="the data its recipe trained or calibrated on, where the run scored it on none"
    )
    f1_target: str | None = metric()
    input_shape: list[int] | None = metric()
    artifact: str | None = metric(doc="the .tflite, relative to the results file")
    sha256: str | None = metric(doc="of the .tflite: the same hash is the same model")
    cache_key: str | None = metric()
    cached: bool | None = metric()
    build_seconds: float | None = metric(unit="s", label="build s", fmt="{:.1f}")
    conditions: Conditions | None = metric()
    measure_key: str | None = metric(doc="hash of `conditions`")
    errors: dict[str, StepError] | None = metric(doc="stage -> why it produced nothing")
    detection_skipped: str | None = metric()
    recipe_skipped: str | None = metric(doc="why the recipe does not apply to this arch")


@dataclass
class Size(Record):
    DEPENDS_ON = (*MODEL_SHAPE, "code_size")

    size_bytes: int = metric(
        "bytes",
        "the .tflite flatbuffer",
        "size B",
        "{:,}",
        "min",
        gate="max",
        allowance="size_allowance_bytes",
    )
    size_data_bytes: int = metric(
        "bytes", "buffers of constant tensors", "weights B", "{:,}", "min"
    )
    size_nondata_bytes: int = metric("bytes", "graph, quantization, metadata", "other B", "{:,}")
    size_gzip_bytes: int = metric("bytes", "gzip -9 of the flatbuffer", "gzip B", "{:,}", "min")
    params: int = metric("count", "elements of constant tensors as stored", "params", "{:,}", "min")


@dataclass
class Graph(Record):
    DEPENDS_ON = (*MODEL_SHAPE, "code_size")

    graph_sha256: str | None = metric(
        doc="sha256 of what the model computes (operators, tensors, weights), without the "
        "converter's metadata: equal for models that compute alike"
    )
    input_elements: int = metric("count")
    output_elements: int = metric("count")
    macs: int = metric(
        "count", "multiply-accumulates per inference at batch 1", "MACs", "{:,}", gate="max"
    )
    layers: list[Layer] = metric(doc="per operator, in execution order")
    ops: dict[str, int] = metric("count", "operator type -> count", "ops")
    float_compute_ops: dict[str, int] = metric(
        "count", "operators touching a float tensor", "float compute ops"
    )
    sparsity: float | None = metric("ratio", "share of zero weights", "sparsity", "{:.1%}")
    weight_unique_values: list[int] = metric(
        "count", "distinct values per weight tensor", "unique weights, max per layer"
    )
    weight_unique_per_channel_max: int | None = metric("count", label="max per channel", fmt="{:,}")


@dataclass
class Timing:
    """One runtime's timed invokes of one window each: the shape both latency records
    hold, under their own names (`latency_us_p50`, `tflm_latency_us_p50`, ...)."""

    p50: float  # us
    p99: float
    mean: float
    stdev: float
    min: float
    samples: int
    samples_us: list[float]


class Timed(Record):
    """A record that holds a `Timing` under names that start with `PREFIX`."""

    PREFIX: ClassVar[str] = ""

    @classmethod
    def names(cls) -> dict[str, str]:
        """Timing field -> this record's field."""
        special = {"samples": "latency_samples", "samples_us": "latency_samples_us"}
        return {
            f.name: cls.PREFIX + special.get(f.name, f"latency_us_{f.name}")
            for f in dataclasses.fields(Timing)
        }

    @classmethod
    def of(cls, timing: Timing, **rest: Any) -> Self:
        given = {mine: getattr(timing, name) for name, mine in cls.names().items()}
        return cls(**given, **rest)

    @property
    def timing(self) -> Timing | None:
        """The invokes timed, or None when this runtime timed none."""
        values = {name: getattr(self, mine) for name, mine in self.names().items()}
        return None if values["p50"] is None else Timing(**values)


@dataclass
class HostLatency(Timed):
    DEPENDS_ON = (*MODEL_SHAPE, "latency_samples", "machine", "litert", "code_latency")

    latency_us_p50: float = metric(
        "us",
        "LiteRT invoke, one window, one thread",
        "LiteRT p50 us",
        "{:.2f}",
        "min",
        gate="timing",
        samples="latency_samples_us",
    )
    latency_us_p99: float = metric("us", label="LiteRT p99 us", fmt="{:.2f}", best="min")
    latency_us_mean: float = metric("us")
    latency_us_stdev: float = metric("us")
    latency_us_min: float = metric("us")
    latency_samples: int = metric("count")
    latency_samples_us: list[float] = metric("us", "every timed invoke")
    throughput_windows_per_s: float = metric(
        "windows/s", "batched: quantize, invoke, dequantize", "windows/s", "{:,.0f}", "max"
    )
    litert_xnnpack_refused: str | None = metric(
        doc="XNNPACK's words when it refused to prepare the model: LiteRT's built-in kernels "
        "then ran it (latency, detection); null: LiteRT's default XNNPACK delegate ran it"
    )


@dataclass
class Tflm(Record):
    """Can TFLite Micro run it, and in how small an arena (64-bit host build)."""

    DEPENDS_ON = (*MODEL_SHAPE, "tflite_micro", "code_tflm")

    tflm_deployable: bool = metric(label="deployable", gate="true")
    tflm_error: str | None = metric(doc="TFLM's own words when not deployable")
    tflm_advice: str | None = metric(doc="the refusal in words, with the known rewrite")
    tflm_failing_ops: dict[str, str] | None = metric()
    arena_bytes: int | None = metric(
        "bytes",
        "smallest arena that allocates and invokes",
        "arena B",
        "{:,}",
        "min",
        gate="max",
        allowance="arena_allowance_bytes",
    )
    arena_recorded_bytes: int | None = metric(
        "bytes", "RecordingMicroAllocator total", "recorded B", "{:,}"
    )
    arena_head_bytes: int | None = metric("bytes")
    arena_tail_bytes: int | None = metric("bytes")
    arena_breakdown: dict[str, Allocation] | None = metric()
    arena_probes: int | None = metric("count")
    arena_crashed_sizes: list[int] | None = metric("bytes", "arena sizes at which TFLM crashed")
    arena_search_seconds: float | None = metric("s", label="search s", fmt="{:.2f}")


@dataclass
class TflmLatency(Timed):
    PREFIX = "tflm_"
    DEPENDS_ON = (*MODEL_SHAPE, "latency_samples", "machine", "tflite_micro", "code_latency")

    tflm_latency_us_p50: float = metric(
        "us",
        "TFLM invoke, reference kernels, host",
        "TFLM p50 us",
        "{:.2f}",
        "min",
        gate="timing",
        samples="tflm_latency_samples_us",
    )
    tflm_latency_us_p99: float = metric("us", label="TFLM p99 us", fmt="{:.2f}", best="min")
    tflm_latency_us_mean: float = metric("us")
    tflm_latency_us_stdev: float = metric("us")
    tflm_latency_us_min: float = metric("us")
    tflm_latency_samples: int = metric("count")
    tflm_latency_samples_us: list[float] = metric("us", "every timed invoke")


@dataclass
class Instructions(Record):
    """Instructions per inference of TFLM's host build under valgrind: exact, repeatable."""

    # int8 kernels branch on the data (LOGISTIC's), so the trained weights count too
    DEPENDS_ON = (*MODEL_SHAPE, *TRAINING, "tflite_micro", "valgrind", "code_instructions")

    tflm_instructions: int | None = metric(
        "instructions",
        "inside MicroInterpreter::Invoke(), one inference, zero input",
        "TFLM instr",
        "{:,}",
        "min",
        gate="max",
        allowance="instructions_allowance_ratio",
        breakdown="tflm_instructions_by_op",
    )
    tflm_instructions_by_op: dict[str, int] | None = metric(
        "instructions", "per operator type; (interpreter) = the rest of Invoke()"
    )
    tflm_instructions_tool: str | None = metric(doc="valgrind and tflite-micro versions")
    tflm_instructions_error: str | None = metric(doc="why there is no count")


@dataclass
class Firmware(Record):
    """The firmware that would ship: TFLM + CMSIS-NN cross-compiled per Cortex-M core,
    flash and RAM read from the linked image, instructions counted in unicorn."""

    DEPENDS_ON = (*MODEL_SHAPE, *TRAINING, "firmware", "code_firmware")

    firmware: dict[str, CoreFirmware] | None = metric(doc="core -> its firmware's figures")
    firmware_errors: dict[str, str] | None = metric(
        doc="core -> why it has no figures (does not link, faults, no kernel)"
    )
    firmware_tool: str | None = metric(doc="compiler, TFLM tree digest and unicorn")
    firmware_error: str | None = metric(doc="why no core has figures (unavailable: ...)")

    def on(self, core: str) -> CoreFirmware | None:
        return (self.firmware or {}).get(core)


@dataclass
class Detection(Record):
    """Quality on the test part, threshold from validation only: point level first."""

    DEPENDS_ON = (*MODEL_SHAPE, *TRAINING, "threshold", "score", "litert", "code_detection")

    point_precision: float = metric(
        "ratio", "each point scored by the window ending at it", "point P", "{:.3f}", "max"
    )
    point_recall: float = metric("ratio", label="point R", fmt="{:.3f}", best="max")
    point_f1: float = metric(
        "ratio",
        "the primary figure",
        "point F1",
        "{:.3f}",
        "max",
        gate="min",
        allowance="f1_tolerance",
    )
    point_f1_boot_low: float | None = metric(
        "ratio", "95 % block-bootstrap interval over the test points (see `bootstrap`)"
    )
    point_f1_boot_high: float | None = metric("ratio")
    far: float | None = metric("ratio", "false alarms / normal points", "FAR", "{:.3f}", "min")
    far_boot_low: float | None = metric("ratio")
    far_boot_high: float | None = metric("ratio")
    mar: float | None = metric("ratio", "missed / anomalous points", "MAR", "{:.3f}", "min")
    all_rows_point_f1: float | None = metric(
        "ratio",
        "point F1 over every row of each tested series, training rows included (scored "
        "in-sample): SKAB's leaderboard counts this way",
        "all-rows F1",
        "{:.3f}",
        "max",
    )
    all_rows_far: float | None = metric(
        "ratio", "FAR over every row, training rows included", "all-rows FAR", "{:.3f}", "min"
    )
    all_rows_mar: float | None = metric(
        "ratio", "MAR over every row, training rows included", "all-rows MAR", "{:.3f}", "min"
    )
    point_roc_auc: float | None = metric("ratio", "of point scores", "ROC-AUC", "{:.3f}", "max")
    point_pr_auc: float | None = metric(
        "ratio",
        "of point scores; threshold-free, so gated beside point F1",
        "PR-AUC",
        "{:.3f}",
        "max",
        gate="min",
        allowance="f1_tolerance",
    )
    alarm_rate: float = metric("ratio", "alarmed test points / test points", "alarm rate", "{:.3f}")
    events: int = metric("count", "runs of anomalous points", "events", "{:,}")
    event_recall: float | None = metric("ratio", label="event recall", fmt="{:.2f}", best="max")
    event_recall_boot_low: float | None = metric("ratio")
    event_recall_boot_high: float | None = metric("ratio")
    detection_delay_mean: float | None = metric(
        "points", label="delay pts", fmt="{:.1f}", best="min"
    )
    false_alarms_per_1000: float | None = metric(
        "per 1000 normal points", label="false alarms /1000", fmt="{:.1f}", best="min"
    )
    nab_score_standard: float | None = metric(
        "score 0-100",
        "NAB's standard profile (null detector 0, perfect 100)",
        "NAB std",
        "{:.1f}",
        "max",
    )
    nab_score_standard_boot_low: float | None = metric("score 0-100")
    nab_score_standard_boot_high: float | None = metric("score 0-100")
    nab_score_standard_swept: float | None = metric(
        "score 0-100",
        "the best standard score over every threshold on the test points, as NAB's runner "
        "sweeps it over the corpus: comparable with NAB's scoreboard; chosen on the points "
        "it scores, so a ceiling, never a verdict",
        "NAB std swept",
        "{:.1f}",
    )
    nab_score_low_fp: float | None = metric(
        "score 0-100", "NAB's reward-low-FP profile", "NAB low FP", "{:.1f}", "max"
    )
    nab_score_low_fn: float | None = metric(
        "score 0-100", "NAB's reward-low-FN profile", "NAB low FN", "{:.1f}", "max"
    )
    baseline_random_point_f1: float = metric(
        "ratio",
        "expected point F1 of random alarms at this model's alarm rate",
        "random at rate",
        "{:.3f}",
    )
    baseline_best: str = metric(doc="the baseline with the best point F1 on these points")
    baseline_best_point_f1: float = metric("ratio", label="best baseline F1", fmt="{:.3f}")
    baseline_best_far: float | None = metric(
        "ratio", "the best baseline's FAR on these points", "best baseline FAR", "{:.3f}"
    )
    point_f1_delta_vs_baseline_low: float | None = metric(
        "ratio", "paired 95 % interval of point F1 minus the best baseline's"
    )
    point_f1_delta_vs_baseline_high: float | None = metric("ratio")
    vs_baseline: str | None = metric(
        doc="above, below, or within noise: where that paired interval lies against 0",
        label="vs baseline",
    )
    baseline_informative: str | None = metric(
        doc="the best learned-free baseline that is a detector (neither constant nor alarming "
        "on half the normal points): the one whose false alarms license a variant's"
    )
    baseline_informative_point_f1: float | None = metric(
        "ratio", label="informative baseline F1", fmt="{:.3f}"
    )
    baseline_informative_far: float | None = metric(
        "ratio", label="informative baseline FAR", fmt="{:.3f}"
    )
    point_f1_delta_vs_informative_low: float | None = metric(
        "ratio", "paired 95 % interval of point F1 minus the informative baseline's"
    )
    point_f1_delta_vs_informative_high: float | None = metric("ratio")
    bootstrap: str | None = metric(doc="the block bootstrap behind every interval here")
    detection_warnings: list[str] = metric(doc="why a figure here is not to be trusted")
    window_precision: float = metric(
        "ratio", "window level: a window is anomalous if any of its points is", "window P", "{:.3f}"
    )
    window_recall: float = metric("ratio", "window level", "window R", "{:.3f}")
    window_f1: float = metric(
        "ratio", "window level (flatters: see point F1)", "window F1", "{:.3f}"
    )
    window_roc_auc: float | None = metric("ratio", "window level", "window ROC-AUC", "{:.3f}")
    window_pr_auc: float | None = metric("ratio", "window level", "window PR-AUC", "{:.3f}")
    per_series: dict[str, SeriesDetection] = metric()
    threshold: float = metric(
        "score", "the score above which a window alarms (see window_score)", "threshold", "{:.3g}"
    )
    threshold_policy: str = metric()
    window_score: str | None = metric(
        doc="how a window's reconstruction errors make its score: mean, last or max:k",
        label="score",
    )
    score_choice: str | None = metric(doc="why this score: given, or chosen on validation")
    validation_point_pr_auc: float | None = metric(
        "ratio", "point PR-AUC on validation, what `--score auto` chooses on"
    )
    test_windows: int = metric("count")
    test_anomalous_windows: int = metric("count")
    test_scores: list[float] = metric("score", "per test window, 4 significant digits")


@dataclass
class Agreement(Record):
    """Do TFLM and LiteRT score the test windows alike?"""

    DEPENDS_ON = (*Detection.DEPENDS_ON, "tflite_micro", "code_tflm")

    tflm_score_max_abs_diff: float = metric(
        "score", label="max abs score diff vs LiteRT", fmt="{:.2g}"
    )
    tflm_decisions_differ: int = metric(
        "count", "test windows alarmed by one runtime only", "decisions differ", "{:,}"
    )


@dataclass
class Boards(Record):
    DEPENDS_ON = (*MODEL_SHAPE, "code_size")

    boards: dict[str, BoardEstimate] = metric(doc="board key -> estimate")

    def get(self, board: str) -> BoardEstimate | None:
        return (self.boards or {}).get(board)

    def latency_ms(self, board: str) -> float | None:
        """The estimated latency on `board`, or None without an estimate there."""
        est = self.get(board)
        return None if est is None else est.est_latency_ms

    def latency_ms_high(self, board: str) -> float | None:
        """The upper end of its 90 % interval, or None without one."""
        est = self.get(board)
        return None if est is None else est.est_latency_ms_high


@dataclass
class VsFloat32(Record):
    """Against float32 of the same arch and dataset."""

    DEPENDS_ON = Detection.DEPENDS_ON

    point_f1_delta_vs_float32: float | None = metric("ratio", label="dF1 vs float32", fmt="{:+.3f}")
    point_f1_ratio_vs_float32: float | None = metric("ratio")
    size_ratio_vs_float32: float | None = metric("ratio", label="x float32", fmt="{:.2f}")
    params_ratio_vs_float32: float | None = metric("ratio", label="x float32 params", fmt="{:.2f}")
    f1_target_met: bool | None = metric(doc="the recipe's promise, on point F1")
    point_f1_delta_vs_float32_low: float | None = metric(
        "ratio", "paired 95 % block-bootstrap interval of point F1 minus float32's"
    )
    point_f1_delta_vs_float32_high: float | None = metric("ratio")
    f1_target_judged: str | None = metric(
        doc="the recipe's promise on that paired interval: met, missed or within noise",
        label="F1 target",
    )
    point_f1_matched_delta_vs_float32: float | None = metric(
        "ratio",
        "point F1 minus float32's, alarming on as many test points as float32 did (the "
        "highest scores): the models' difference, not their thresholds'",
        "dF1 at float32's alarms",
        "{:+.3f}",
    )
    point_f1_matched_delta_vs_float32_low: float | None = metric(
        "ratio", "its paired 95 % block-bootstrap interval"
    )
    point_f1_matched_delta_vs_float32_high: float | None = metric("ratio")
    score_rank_correlation: float | None = metric(
        "correlation",
        "Spearman's, of the test scores with float32's",
        "rank corr vs float32",
        "{:.3f}",
        "max",
    )
    decision_agreement: float | None = metric(
        "ratio",
        "share of test points decided as float32 did, alarming on as many (its highest)",
        "agreement vs float32",
        "{:.3f}",
        "max",
    )
    point_pr_auc_delta_vs_float32: float | None = metric(
        "ratio", "threshold-free", "dPR-AUC", "{:+.3f}"
    )
    point_roc_auc_delta_vs_float32: float | None = metric(
        "ratio", "threshold-free", "dROC-AUC", "{:+.3f}"
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


@dataclass
class Seeds(Record):
    """Over training seeds (`--seeds`): each seed trains and builds the variant anew and
    is scored on the same test points; 95 % intervals are Student-t over the seeds."""

    DEPENDS_ON = Detection.DEPENDS_ON

    seeds: list[int] | None = metric(
        doc="the training seeds; the row's other figures are the first's"
    )
    point_f1_by_seed: list[float | None] | None = metric("ratio")
    point_f1_mean: float | None = metric("ratio", label="point F1 mean", fmt="{:.3f}")
    point_f1_std: float | None = metric("ratio", doc="sample standard deviation over seeds")
    point_f1_ci95_low: float | None = metric("ratio")
    point_f1_ci95_high: float | None = metric("ratio")
    far_by_seed: list[float | None] | None = metric("ratio")
    far_mean: float | None = metric("ratio", label="FAR mean", fmt="{:.3f}")
    far_ci95_low: float | None = metric("ratio")
    far_ci95_high: float | None = metric("ratio")
    point_f1_delta_mean: float | None = metric(
        "ratio", "against float32 of the same seed", "dF1 mean", "{:+.3f}"
    )
    point_f1_delta_ci95_low: float | None = metric("ratio")
    point_f1_delta_ci95_high: float | None = metric("ratio")
    f1_target_verdict: str | None = metric(
        doc="met, missed, or within noise (the interval of the target's margin holds 0)",
        label="F1 target over seeds",
    )


RECORDS: tuple[type[Record], ...] = (
    Identity,
    Size,
    Graph,
    HostLatency,
    Tflm,
    TflmLatency,
    Instructions,
    Firmware,
    Detection,
    Agreement,
    Boards,
    VsFloat32,
    Seeds,
)
REQUIRED = ("variant", "arch")


def label_of(arch: str, variant: str) -> str:
    """`arch/variant`: how a row is named in tables, messages and findings."""
    return f"{arch}/{variant}"


@dataclass
class Row:
    """One model on one dataset: its records, typed. A step that did not run leaves its
    record with every figure None (`measured()` tells). The file holds the row flat,
    every key a field of exactly one record: `Row.of` reads it, `to_dict` writes it."""

    id: Identity
    size: Size = field(default_factory=Size)
    graph: Graph = field(default_factory=Graph)
    litert: HostLatency = field(default_factory=HostLatency)
    tflm: Tflm = field(default_factory=Tflm)
    tflm_timing: TflmLatency = field(default_factory=TflmLatency)
    instructions: Instructions = field(default_factory=Instructions)
    firmware: Firmware = field(default_factory=Firmware)
    detection: Detection = field(default_factory=Detection)
    agreement: Agreement = field(default_factory=Agreement)
    boards: Boards = field(default_factory=Boards)
    vs_float32: VsFloat32 = field(default_factory=VsFloat32)
    seeds: Seeds = field(default_factory=Seeds)

    @classmethod
    def of(cls, flat: dict) -> "Row":
        return cls(
            Identity.from_dict(flat),
            Size.from_dict(flat),
            Graph.from_dict(flat),
            HostLatency.from_dict(flat),
            Tflm.from_dict(flat),
            TflmLatency.from_dict(flat),
            Instructions.from_dict(flat),
            Firmware.from_dict(flat),
            Detection.from_dict(flat),
            Agreement.from_dict(flat),
            Boards.from_dict(flat),
            VsFloat32.from_dict(flat),
            Seeds.from_dict(flat),
        )

    def to_dict(self) -> dict:
        """Identity's fields, then those of every record that holds a figure."""
        flat = self.id.to_dict()
        for record in self.records()[1:]:
            if record.measured():
                flat.update(record.to_dict())
        return flat

    def records(self) -> list[Record]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]

    def put(self, record: Record) -> None:
        """Set the record of its kind (a step's result)."""
        setattr(self, ATTRIBUTE[type(record)], record)

    def value(self, name: str) -> Any:
        """A field by its name (the report's and the gate's columns are schema names)."""
        return getattr(self.holding(name), name)

    def holding(self, name: str) -> Record:
        """The record that holds the field `name`."""
        record: Record = getattr(self, ATTRIBUTE[record_of(name)])
        return record

    @property
    def key(self) -> tuple[str | None, str, str]:
        """What identifies a row in a results file: (dataset, arch, variant)."""
        return self.id.dataset, self.id.arch, self.id.variant

    @property
    def label(self) -> str:
        return label_of(self.id.arch, self.id.variant)

    @property
    def arch(self) -> str:
        return self.id.arch

    @property
    def variant(self) -> str:
        return self.id.variant

    def against(self, ref: "Row | None", target: Any = None) -> VsFloat32:
        """This row against float32 of its arch and dataset (`ref`; None: none ran);
        `target`, the recipe's `F1Target` or None, gives `f1_target_met`."""
        ref = ref or Row(Identity())
        f1, ref_f1 = self.detection.point_f1, ref.detection.point_f1
        delta = None if f1 is None or ref_f1 is None else f1 - ref_f1
        return VsFloat32(
            point_f1_delta_vs_float32=delta,
            point_f1_ratio_vs_float32=_ratio(f1, ref_f1),
            size_ratio_vs_float32=_ratio(self.size.size_bytes, ref.size.size_bytes),
            params_ratio_vs_float32=_ratio(self.size.params, ref.size.params),
            f1_target_met=None if target is None or delta is None else target.met(f1, ref_f1),
        )

    def fail(self, error: StepError) -> None:
        """Record why `error.stage` produced nothing, beside the row's other errors."""
        self.id.errors = {**(self.id.errors or {}), error.stage: error}


# Which attribute of a Row holds each record.
ATTRIBUTE: dict[type[Record], str] = {tp: name for name, tp in typing.get_type_hints(Row).items()}


def _fields() -> dict[str, tuple[type[Record], dataclasses.Field]]:
    found: dict[str, tuple[type[Record], dataclasses.Field]] = {}
    for record in RECORDS:
        for f in dataclasses.fields(record):  # type: ignore[arg-type]
            if f.name in found:
                raise TypeError(f"row field {f.name!r} is declared twice")
            found[f.name] = (record, f)
    return found


FIELDS = _fields()


def info(name: str) -> dict:
    """A row field's metadata: unit, doc, label, fmt, best, gate, allowance, samples."""
    return dict(FIELDS[name][1].metadata)


def record_of(name: str) -> type[Record]:
    return FIELDS[name][0]


def column(name: str) -> tuple[str, str, str, str | None]:
    """(header, key, format, best) of a report column."""
    meta = FIELDS[name][1].metadata
    return meta["label"] or name, name, meta["fmt"], meta["best"]


def gated() -> list[str]:
    """The fields the gate checks against a baseline, in schema order."""
    return [name for name, (_, f) in FIELDS.items() if f.metadata["gate"]]


def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def scalar_fields(*records: type[Record]) -> list[str]:
    """Fields holding one number, string or flag (for `benchmark.extra_info`)."""
    scalars = (int, float, str, bool, type(None))
    names = []
    for record in records:
        hints = _hints(record)
        for f in dataclasses.fields(record):  # type: ignore[arg-type]
            args = typing.get_args(hints[f.name]) or (hints[f.name],)
            if all(a in scalars for a in args):
                names.append(f.name)
    return names


# ---- JSON Schema ---------------------------------------------------------------------------


SCALARS: dict[Any, dict] = {
    type(None): {"type": "null"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    Any: {},
}


def _json_type(tp: Any) -> dict:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_json_type(a) for a in args]}
    if tp in SCALARS:
        return dict(SCALARS[tp])
    if origin is list:
        return {"type": "array", "items": _json_type(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _json_type(args[1])}
    if dataclasses.is_dataclass(tp):
        return _object(tp)  # type: ignore[arg-type]
    raise TypeError(f"no JSON Schema for {tp!r}")


# Units whose figures cannot be negative, and the ratios that are shares (0 to 1): a
# results file holding `arena_bytes: -16` or `point_f1: 7.5` is refused on reading.
NONNEGATIVE = {"bytes", "count", "instructions", "points", "s", "us", "windows/s"}
NOT_SHARES = ("ratio_vs", "delta", "ci95", "_std")


def bounds(name: str, unit: str) -> dict:
    """The JSON Schema bounds of a numeric field."""
    if unit == "ratio" and not any(part in name for part in NOT_SHARES):
        return {"minimum": 0, "maximum": 1}
    if name == "instructions":  # an invoke runs some
        return {"minimum": 1}
    if unit in NONNEGATIVE or unit.startswith("per ") or name.endswith(UNSIGNED):
        return {"minimum": 0}
    if "rank_correlation" in name:
        return {"minimum": -1, "maximum": 1}
    if name.startswith("nab_score") and "delta" not in name:  # 100 is a perfect detector
        return {"minimum": -NAB_FLOOR, "maximum": 100 + 1e-6}
    return {}


UNSIGNED = ("_bytes", "_instructions", "_abs_diff")  # sizes, counts, distances by name
NAB_FLOOR = 1e9  # no NAB score of a results file edgebench wrote is this low


def _bounded(prop: dict, limits: dict) -> dict:
    """`prop` with `limits` on each of its numbers (through unions, lists and maps)."""
    if prop.get("type") in ("number", "integer"):
        return {**prop, **limits}
    if "anyOf" in prop:
        prop = {**prop, "anyOf": [_bounded(p, limits) for p in prop["anyOf"]]}
    if isinstance(prop.get("items"), dict):  # not into maps: "(interpreter)" can be < 0
        prop = {**prop, "items": _bounded(prop["items"], limits)}
    return prop


def _object(cls: type, required: tuple[str, ...] | None = None) -> dict:
    hints = _hints(cls)
    props = {}
    for f in dataclasses.fields(cls):
        prop = _bounded(_json_type(hints[f.name]), bounds(f.name, f.metadata.get("unit", "")))
        meta = f.metadata
        text = "; ".join(
            t for t in (meta.get("doc"), meta.get("unit") and f"unit: {meta['unit']}") if t
        )
        if text:
            prop["description"] = text
        props[f.name] = prop
    # a field with a default may be left out
    names = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "required": list(required if required is not None else names),
    }


def record_schema(cls: type) -> dict:
    """The JSON Schema of one record (a dataclass): its types, bounds and no other key."""
    return _object(cls)


def row_schema() -> dict:
    props: dict = {}
    for record in RECORDS:
        props.update(_object(record)["properties"])
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "required": list(REQUIRED),
        # what TFLM runs, it ran in a measured arena
        "if": {"properties": {"tflm_deployable": {"const": True}}, "required": ["tflm_deployable"]},
        "then": {"properties": {"arena_bytes": {"type": "integer", "minimum": 1}}},
    }


MAX_ROWS = 5_000  # a default run has 45; more is not a results file edgebench wrote
_INTS = {"type": "array", "items": {"type": "integer", "minimum": 0}}
TRACE = {  # per arch: the test points' end index, label, series, and the series' names
    "type": "object",
    "required": ["end", "y", "series", "names"],
    "properties": {
        "end": _INTS,
        "y": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 1}},
        "series": _INTS,
        "names": {"type": "array", "items": {"type": "string"}},
    },
}


_NUMBER = {"type": "number", "minimum": 0}
BOARD = {  # a board of the catalog as the run saw it: what the report reads of it
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "core": {"type": "string"},
        "clock_mhz": _NUMBER,
        "flash_bytes": {"type": "integer", "minimum": 0},
        "sram_bytes": {"type": "integer", "minimum": 0},
        "active_mw": _NUMBER,
        "sleep_uw": _NUMBER,
        "library": {"type": "string"},
    },
}


def _strict(required: list[str], props: dict, optional: dict | None = None) -> dict:
    """An object of `props` (all required) and `optional`, and no other key."""
    return {
        "type": "object",
        "required": required,
        "properties": {**props, **(optional or {})},
        "additionalProperties": False,
    }


MAX_CHANNELS = 4096  # far beyond any series a window model reads
_TEXT = {"type": "string", "maxLength": 300}
_MS = {"type": "number", "exclusiveMinimum": 0}
_SIGNED = {"type": "number"}
_OPT_NUMBER = {"anyOf": [_SIGNED, {"type": "null"}]}
_NONNEGATIVE = {"type": "number", "minimum": 0}
_VALUES = {"type": "array", "items": _SIGNED, "minItems": 1, "maxItems": MAX_CHANNELS}
SCALING = _strict(  # one series' scaling, as the firmware applies it
    ["series", "kind", "log", "shift", "scale"],
    {
        "series": _TEXT,
        "kind": {"enum": list(SCALINGS)},
        "log": {"type": "boolean"},
        "shift": _VALUES,
        "scale": {**_VALUES, "items": {"type": "number", "exclusiveMinimum": 0}},
    },
    {"input_low": _VALUES, "input_high": _VALUES},
)
_CAL_ROW = _strict(  # a published result, fitted
    ["board", "software", "published_ms", "est_ms", "error_ms", "loo_error_ms"],
    {
        "board": _TEXT,
        "software": _TEXT,
        "published_ms": _MS,
        "est_ms": _MS,
        "error_ms": _SIGNED,
        "loo_error_ms": _OPT_NUMBER,
    },
    {
        "benchmark": _TEXT,  # written since schema 5; the files before fitted AD alone
        "library": _TEXT,  # before the fits took only CMSIS-NN rows
        "kernels": _TEXT,
        "why": _TEXT,  # why the fits do not use the row
        "dtype": _TEXT,
        "published_uj": _MS,
        "est_uj": _MS,
        "error_uj": _OPT_NUMBER,
    },
)
_FW_ROW = _strict(
    ["benchmark", "software", "published_ms", "instructions", "est_ms", "error_ms", "loo_error_ms"],
    {
        "benchmark": _TEXT,
        "software": _TEXT,
        "published_ms": _MS,
        "instructions": {"type": "integer", "minimum": 1},
        "est_ms": _MS,
        "error_ms": _SIGNED,
        "loo_error_ms": _OPT_NUMBER,
    },
)
_REFERENCE = _strict(  # a published row the fit does not use, and why
    ["benchmark", "software", "published_ms", "why"],
    {"benchmark": _TEXT, "software": _TEXT, "published_ms": _MS, "why": _TEXT},
)
_FACTOR = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}
_FW_FIT = _strict(  # a board's cycles per instruction, fitted on its core's firmware rows
    ["board", "core", "cpi", "rows", "note"],
    {
        "board": _TEXT,
        "core": _TEXT,
        "cpi": {"anyOf": [_MS, {"type": "null"}]},
        "rows": {"type": "array", "items": _FW_ROW},
        "note": _TEXT,
    },
    {  # since the fits took only CMSIS-NN rows, with an interval
        "low": _FACTOR,
        "high": _FACTOR,
        "basis": _TEXT,
        "calibrated": {"type": "boolean"},
        "references": {"type": "array", "items": _REFERENCE},
    },
)
_COUNT = {"type": "integer", "minimum": 0}
_REF_MODEL = {  # a reference model the published results ran, as built and counted here
    "type": "object",
    "required": ["name", "macs_counted", "macs_published", "ops"],
    "properties": {
        "name": _TEXT,
        "macs_counted": _COUNT,
        "macs_published": _COUNT,
        "ops": {"type": "object", "additionalProperties": _COUNT},
        "tflm_instructions": {"anyOf": [_COUNT, {"type": "null"}]},
        "firmware_instructions": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
        },
    },
}
CALIBRATION = {
    "type": "object",
    "properties": {
        "models": {"type": "object", "additionalProperties": _REF_MODEL},
        "catalog": {"type": "string"},
        "fixed_cycles": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
        },
        "rows": {"type": "array", "items": _CAL_ROW},
        "firmware": {"type": "object", "additionalProperties": _FW_FIT},
        "firmware_check": _strict(["inside", "rows"], {"inside": _COUNT, "rows": _COUNT}),
    },  # and what files before the reference models held: model, macs_counted, ...
}


_TEXTS = {"type": "array", "items": _TEXT}
_OPT_TEXT = {"anyOf": [_TEXT, {"type": "null"}]}
DATASET = {  # what the run measured on, as the report reads it (older files: fewer keys)
    "type": "object",
    "properties": {
        "name": _OPT_TEXT,
        "protocol": _OPT_TEXT,
        "channels": _TEXTS,
        "series": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _TEXT} | {k: _COUNT for k in ("points", "train_end")},
            },
        },
        "points": _COUNT,
        "anomalous_points": _COUNT,
        "warnings": _TEXTS,
        "leaderboard": {
            "type": "object",
            "properties": {
                "metric": _TEXT,
                "source": _TEXT,
                "compare": _TEXT,
                "figures": {
                    "type": "object",
                    "additionalProperties": {"type": ["number", "string"]},
                },
            },
        },
    },
}
_SEEDED = {
    "type": "object",
    "required": ["seed"],
    "properties": {"seed": {"type": "integer", "minimum": 0}},
}
CONFIG = {  # what the user asked for: the parts the report and the gate read, typed
    "type": "object",
    "properties": {
        "threshold": _TEXT,
        "stream": _SEEDED,
        "train": _SEEDED,
        "constraints": {"type": "object"},
        "archs": _TEXTS,
        "variants": _TEXTS,
    },
}


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a results file of this schema version."""
    obj, text = {"type": "object"}, {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"edgebench-results-v{SCHEMA_VERSION}",
        "title": "edgebench results",
        "type": "object",
        "required": ["schema_version", "created", "machine", "config", "rows"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "created": text,
            "command": text,
            "code_version": text,
            "machine": {
                "type": "object",
                "required": ["fingerprint", "packages"],
                "properties": {"fingerprint": text, "packages": obj},
            },
            "config": CONFIG,
            "dataset": DATASET,
            "project": obj,
            "stages_s": {"type": "object", "additionalProperties": {"type": "number"}},
            "rows": {"type": "array", "items": row_schema(), "maxItems": MAX_ROWS},
            "traces": {"type": "object", "additionalProperties": TRACE},
            "baselines": obj,
            "scaling": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": SCALING, "maxItems": 10_000},
            },
            "boards": {"type": "object", "additionalProperties": BOARD},
            "estimate_defaults": {"type": "object", "additionalProperties": _NONNEGATIVE},
            "calibration": CALIBRATION,
        },
        "additionalProperties": False,
    }
