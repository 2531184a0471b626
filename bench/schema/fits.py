"""The board fits of a run (the results file's `calibration`): the reference models as
built and counted here, the MAC estimator beside every published result, and each
board's cycles per instruction fitted on its core's firmware counts."""

from dataclasses import dataclass, field
from typing import Annotated, Any

from bench.schema.base import Bounds, Count, NonNegative, Part, Positive, Text


@dataclass(kw_only=True)
class PublishedFit(Part):
    """A published MLPerf Tiny result with the MAC estimator beside it: in sample and,
    for the rows the fits use, leave-one-out (its core's fit without the row)."""

    board: Text
    software: Text
    published_ms: Positive
    est_ms: Positive
    error_ms: float
    loo_error_ms: float | None
    benchmark: Text = "ad"  # files before schema 5 fitted AD alone
    kernels: Text = "cmsis-nn"  # which kernels ran: cmsis-nn, x-cube-ai, mvp, bosch-hale
    why: Text | None = None  # why the fits do not use the row
    dtype: Text | None = None
    library: Text | None = None  # before the fits took only CMSIS-NN rows
    published_uj: Positive | None = None
    est_uj: Positive | None = None
    error_uj: float | None = None

    def fitted(self) -> bool:
        return self.why is None

    def reference(self) -> bool:
        """Other software than CMSIS-NN on the CPU: shown for scale, never fitted."""
        return not self.fitted() and self.kernels != "cmsis-nn"


@dataclass(kw_only=True)
class FirmwareRow(Part):
    """A published result the CPI fit uses, with its reference model's firmware count."""

    benchmark: Text
    software: Text
    published_ms: Positive
    instructions: Annotated[int, Bounds(minimum=1)]
    est_ms: Positive
    error_ms: float
    loo_error_ms: float | None


@dataclass(kw_only=True)
class Reference(Part):
    """A published row of the board that the CPI fit does not use, and why."""

    benchmark: Text
    software: Text
    published_ms: Positive
    why: Text


Factor = Annotated[float, Bounds(exclusiveMinimum=0)]


@dataclass(kw_only=True)
class BoardFit(Part):
    """One board's cycles per instruction, its interval, and the rows behind it."""

    board: Text
    core: Text
    cpi: Positive | None
    rows: list[FirmwareRow] = field(default_factory=list)  # its own rows, with errors
    note: Text = ""
    low: Factor | None = None  # the 90 % interval, as factors on the estimate
    high: Factor | None = None
    basis: Text = ""  # what the CPI rests on, in words
    calibrated: bool = False  # fitted on results of its own core
    references: list[Reference] = field(default_factory=list)  # rows the fit does not use

    def interval(self) -> tuple[float, float] | None:
        return None if self.low is None or self.high is None else (self.low, self.high)


@dataclass(kw_only=True)
class ReferenceModel(Part):
    """A reference model the published results ran, as built and counted here."""

    name: Text
    macs_counted: Count
    macs_published: Count
    ops: dict[str, Count]
    tflm_instructions: Count | None = None
    tflm_error: Text | None = None
    work_counted: dict[str, Any] | None = None  # `catalog.Work`, from the flatbuffer
    work_catalog: dict[str, Any] | None = None  # as the catalog states it
    firmware_instructions: dict[str, Annotated[int, Bounds(minimum=1)]] = field(
        default_factory=dict
    )


@dataclass(kw_only=True)
class FirmwareCheck(Part):
    """How many published rows fall inside the interval of a fit on the other model."""

    inside: Count
    rows: Count


@dataclass(kw_only=True)
class Calibration(Part):
    """The fits of the board estimates to published results."""

    catalog: str | None = None  # the catalog's path
    models: dict[str, ReferenceModel] = field(default_factory=dict)
    fixed_cycles: dict[str, NonNegative] = field(default_factory=dict)
    rows: list[PublishedFit] = field(default_factory=list)
    firmware: dict[str, BoardFit] = field(default_factory=dict)
    firmware_check: FirmwareCheck | None = None
