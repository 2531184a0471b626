"""The typed parts records hold: errors, layers, board estimates, firmware per core,
per-series detection, and the conditions of a measurement."""

import dataclasses
from dataclasses import dataclass
from typing import Self

from bench.cache import digest


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
