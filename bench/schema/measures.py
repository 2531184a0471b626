"""The records of what a model is and how it runs: identity, size, graph, host and
TFLM latency, the arena, instruction counts and the firmware."""

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from bench.schema.base import Record, metric
from bench.schema.parts import (
    MODEL_SHAPE,
    TRAINING,
    Allocation,
    Conditions,
    CoreFirmware,
    Layer,
    StepError,
    Timing,
)


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
