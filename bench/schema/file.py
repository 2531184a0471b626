"""The results file as a whole: `Results` and the typed parts around its rows.

`bench.results` alone reads and writes it (migrated, validated, then typed here); the
report, the gate, `diff`, the export and the API read attributes. The JSON Schema of the
file is derived from these classes (`bench.schema.document`).
"""

from dataclasses import dataclass, field
from typing import Annotated, Any

from bench.data.windows import SCALINGS
from bench.schema.base import SCHEMA_VERSION, Bounds, Count, NonNegative, Part, Positive, Text
from bench.schema.fits import Calibration
from bench.schema.row import Row

MAX_ROWS = 5_000  # a default run has 45; more is not a results file edgebench wrote
MAX_CHANNELS = 4096  # far beyond any series a window model reads


@dataclass(kw_only=True)
class Machine(Part):
    """The machine that measured: timings compare only under one `fingerprint`."""

    fingerprint: str
    packages: dict[str, str | None]
    platform: str | None = None
    machine: str | None = None
    cpu: str | None = None
    cores_physical: int | None = None
    cores_logical: int | None = None
    cpu_mhz_max: float | None = None
    memory_gib: float | None = None
    python: str | None = None


@dataclass(kw_only=True)
class Project(Part):
    """The git commit of the edgebench checkout that ran, when it is one."""

    git_commit: str | None = None
    git_dirty: bool | None = None


@dataclass(kw_only=True)
class SeriesSummary(Part):
    name: Text
    points: Count | None = None
    train_end: Count | None = None
    val_end: Count | None = None
    anomalous_points: Count | None = None
    test_anomalous_points: Count | None = None


@dataclass(kw_only=True)
class Leaderboard(Part):
    """Others' published figures on the dataset, and the row field they compare with."""

    metric: Text | None = None
    source: Text | None = None
    compare: Text | None = None
    figures: dict[str, float | str] = field(default_factory=dict)


@dataclass(kw_only=True)
class DatasetSummary(Part):
    """What the run measured on (older files: fewer keys)."""

    name: Text | None = None
    protocol: Text | None = None
    channels: list[Text] = field(default_factory=list)
    series: list[SeriesSummary] = field(default_factory=list)
    points: Count = 0
    anomalous_points: Count = 0
    warnings: list[Text] = field(default_factory=list)
    leaderboard: Leaderboard | None = None


Indices = list[Count]


@dataclass(kw_only=True)
class Trace(Part):
    """An arch's test points: their end index, label, series, and the series' names."""

    end: Indices
    y: list[Annotated[int, Bounds(minimum=0, maximum=1)]]
    series: Indices
    names: list[str]

    def agrees(self) -> bool:
        same = len(self.end) == len(self.y) == len(self.series)
        return same and all(i < len(self.names) for i in self.series)


Values = Annotated[list[float], Bounds(minItems=1, maxItems=MAX_CHANNELS)]
Scales = Annotated[list[Positive], Bounds(minItems=1, maxItems=MAX_CHANNELS)]


@dataclass(kw_only=True)
class Scaling(Part):
    """One series' scaling, as the firmware applies it."""

    series: Text
    kind: Annotated[str, Bounds(enum=list(SCALINGS))]
    log: bool
    shift: Values
    scale: Scales
    input_low: Values | None = None
    input_high: Values | None = None

    def agrees(self) -> bool:
        parts = (self.shift, self.scale, self.input_low, self.input_high)
        return len({len(p) for p in parts if p is not None}) == 1


@dataclass(kw_only=True)
class BoardInfo(Part):
    """A board of the catalog as the run saw it: what the report reads of it."""

    name: str
    core: str | None = None
    clock_mhz: NonNegative | None = None
    flash_bytes: Count | None = None
    sram_bytes: Count | None = None
    active_mw: NonNegative | None = None
    sleep_uw: NonNegative | None = None
    library: str | None = None
    cycles_per_mac: dict[str, Any] | None = None  # per dtype: per class, or one figure
    calibrated: dict[str, bool] | None = None


@dataclass(kw_only=True)
class ArchBaselines(Part):
    """The non-learned detectors on an arch's test points: per detector, its detection
    figures (row fields)."""

    dataset: str | None = None
    test_points: Count | None = None
    always_alarm: dict[str, Any] | None = None
    rolling_zscore: dict[str, Any] | None = None

    def detectors(self) -> dict[str, dict[str, Any]]:
        found = {"always_alarm": self.always_alarm, "rolling_zscore": self.rolling_zscore}
        return {name: figures for name, figures in found.items() if figures is not None}


_SEEDED = {
    "type": "object",
    "required": ["seed"],
    "properties": {"seed": {"type": "integer", "minimum": 0}},
}


CONFIG = {  # what the user asked for: the parts the report and the gate read, typed
    "type": "object",
    "properties": {
        "threshold": {"type": "string", "maxLength": 300},
        "stream": _SEEDED,
        "train": _SEEDED,
        "constraints": {"type": "object"},
        "archs": {"type": "array", "items": {"type": "string"}},
        "variants": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass(kw_only=True)
class Results(Part):
    """A results file: what ran where, its rows, and the parts the report needs."""

    schema_version: Annotated[int, Bounds(const=SCHEMA_VERSION)]
    created: str
    command: str | None = None
    code_version: str | None = None
    machine: Machine
    config: Annotated[dict[str, Any], Bounds(CONFIG)]  # the run's settings, as the user gave them
    dataset: DatasetSummary = field(default_factory=DatasetSummary)
    project: Project = field(default_factory=Project)
    stages_s: dict[str, float] = field(default_factory=dict)
    rows: Annotated[list[Row], Bounds(maxItems=MAX_ROWS)]
    traces: dict[str, Trace] = field(default_factory=dict)
    baselines: dict[str, ArchBaselines] = field(default_factory=dict)
    scaling: dict[str, Annotated[list[Scaling], Bounds(maxItems=10_000)]] = field(
        default_factory=dict
    )
    boards: dict[str, BoardInfo] = field(default_factory=dict)
    estimate_defaults: dict[str, NonNegative] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)

    def setting(self, name: str, default: Any = None) -> Any:
        """A setting of the run as recorded (`threshold`, `constraints`...)."""
        return self.config.get(name, default)

    def seeds(self) -> tuple[int | None, int | None]:
        """The stream's seed and the training seed."""
        stream, train = self.config.get("stream") or {}, self.config.get("train") or {}
        return stream.get("seed"), train.get("seed")

    def scaling_of(self, arch: str) -> "Scaling | None":
        """The first series' scaling of `arch`, as its firmware applies it."""
        return next(iter(self.scaling.get(arch) or []), None)
