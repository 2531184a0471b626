"""What a run is asked to do (`RunConfig`), and the checks that refuse bad input before
any work. The CLI's `--help` shows these defaults; the API takes these fields."""

import math
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bench import UsageError
from bench.boards.catalog import Catalog, load
from bench.choose import Constraints
from bench.data.loaders import CsvColumns
from bench.data.synthetic import StreamConfig
from bench.executor import check_executor, check_workers, cores
from bench.external import KERAS, check_path
from bench.firmware.toolchain import tree_from
from bench.isolate import MAX_TENSOR_BYTES, check_tensors
from bench.output import check_out, check_writable
from variants import REGISTRY, check_names
from variants.baseline import DEFAULT_ARCHS, TrainConfig


@dataclass(frozen=True)
class RunConfig:
    dataset: str | None = None  # nepse (None: the built-in default), nab:PATH, skab:PATH,
    # csv:FILE; a model brought in with --model is scored for detection only when named
    csv_columns: CsvColumns = field(default_factory=CsvColumns)
    archs: tuple[str, ...] = DEFAULT_ARCHS
    variants: tuple[str, ...] = tuple(REGISTRY)
    train: TrainConfig = field(default_factory=TrainConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    window: int | None = None  # None: each architecture's own default
    scaling: str = "minmax"
    threshold: str = "auto"
    score: str = "auto"  # a window's score (`detection.Score`); auto: chosen on validation
    latency_samples: int = 2000
    out: Path = Path("reports")
    cache: Path | None = None  # None: no cache
    calibration_cache: Path | None = None  # the catalog's reference models, kept even
    # under --no-cache (they do not depend on the run); None: the run's cache
    model: Path | None = None  # a user's .tflite or Keras model instead of the archs
    constraints: Constraints = field(default_factory=Constraints)  # for the recommendation
    targets: Path | None = None  # MCU catalog; None: the built-in bench/boards/catalog.toml
    boards: tuple[str, ...] = ()  # () = every board of the catalog
    inferences_per_second: float | None = None  # None: the catalog's default
    quick: bool = False
    workers: int = field(default_factory=cores)  # build processes (--workers)
    seeds: tuple[int, ...] = ()  # --seeds: training seeds (the first is train.seed)
    executor: str = "local"  # or ray[=ADDRESS]
    per_series: bool = False  # one model per series (NAB's protocol)
    measure_timeout: float | None = None  # s per measurement of a brought .tflite; None:
    # scaled to its size (`isolate.default_timeout`)
    measure_memory_bytes: int = 4 << 30  # address space each such measurement may add
    max_tensor_bytes: int = MAX_TENSOR_BYTES  # a brought model's larger tensor: refused
    tflm_tree: Path | None = None  # TFLM + CMSIS-NN sources for the firmware; None: the
    # EDGEBENCH_TFLM_TREE environment variable, else no firmware figures
    firmware_cores: tuple[str, ...] = ()  # () = every emulated core
    firmware_opt: str = "Os"  # the firmware's build profile: Os, O2 or O3

    @classmethod
    def quick_config(cls, **overrides: Any) -> "RunConfig":
        """Small and fast: for tests and smoke runs, not for conclusions."""
        base = cls(
            train=TrainConfig(epochs=3),
            stream=StreamConfig(sessions=60),
            latency_samples=200,
            quick=True,
        )
        return replace(base, **overrides)

    def as_dict(self) -> dict:
        d = asdict(self)
        for key in PATHS:
            d[key] = None if d[key] is None else str(d[key])
        return d


PATHS = tuple(f.name for f in fields(RunConfig) if "Path" in str(f.type))  # out, cache, ...


def check(cfg: RunConfig) -> None:
    """Reject bad input before anything is trained or written."""
    check_names(cfg.archs, cfg.variants)
    check_workers(cfg.workers)
    check_executor(cfg.executor)
    if cfg.per_series and (cfg.model is not None or len(cfg.seeds) > 1):
        raise UsageError("--per-series trains the archs per series: drop --model and --seeds")
    if not cfg.archs or not cfg.variants:
        raise UsageError("nothing to run: give at least one architecture and one variant")
    _check_numbers(cfg)
    if cfg.model is not None:
        check_path(cfg.model)
        if cfg.model.suffix not in KERAS:  # refused before anything opens it
            check_tensors(cfg.model.read_bytes(), cfg.max_tensor_bytes, str(cfg.model))
    from bench.detection import check_score
    from bench.metrics import check_policy

    check_policy(cfg.threshold)
    check_score(cfg.score)
    tree_from(cfg.tflm_tree)
    check_cores(cfg.firmware_cores, cfg.firmware_opt)
    catalog(cfg).select(cfg.boards)
    for cache in {cfg.cache, cfg.calibration_cache} - {None}:
        assert cache is not None
        check_writable(cache, "the cache", "--cache or EDGEBENCH_CACHE (or --no-cache)")
    temp = Path(tempfile.gettempdir())
    check_writable(temp, "the temporary folder", "TMPDIR")
    if shutil.disk_usage(temp).free < MIN_TEMP_BYTES:
        free = shutil.disk_usage(temp).free >> 20
        raise UsageError(f"the temporary folder {temp} has {free} MiB free; point TMPDIR elsewhere")
    check_out(cfg.out, inputs(cfg))


def check_cores(names: tuple[str, ...], profile: str = "Os") -> None:
    """The firmware's cores and build profile, as the build knows them."""
    from bench import unknown
    from bench.firmware.build import CORES, PROFILES

    if profile not in PROFILES:
        raise unknown("firmware build profile", profile, PROFILES)
    for name in names:
        if not name:
            raise UsageError(f"--firmware-cores holds an empty name: give {', '.join(CORES)}")
        if name not in CORES:
            raise unknown("core", name, CORES)


MAX_TIMEOUT_S = 86_400  # a day: beyond it, a timestamp overflows and no one waits
MAX_TENSOR_BYTES = 1 << 40  # beyond any machine's memory
MAX_SEEDS = 100  # each trains every variant anew
MIN_TEMP_BYTES = 64 << 20  # TensorFlow's converter and the firmware's images need room


def _check_numbers(cfg: RunConfig) -> None:
    if cfg.window is not None and cfg.window < 2:
        raise UsageError(f"--window {cfg.window}: a window holds at least 2 points")
    if cfg.train.epochs < 1 or cfg.train.batch_size < 1 or cfg.latency_samples < 2:
        raise UsageError("--epochs and --batch-size must be >= 1, --latency-samples >= 2")
    timeout = 1.0 if cfg.measure_timeout is None else cfg.measure_timeout
    limits = (timeout, cfg.measure_memory_bytes, cfg.max_tensor_bytes)
    if not all(math.isfinite(v) and v > 0 for v in limits) or timeout > MAX_TIMEOUT_S:
        raise UsageError(
            f"--measure-timeout must be a number of seconds from 0 to {MAX_TIMEOUT_S:,} and "
            f"--max-tensor-bytes a positive number up to {MAX_TENSOR_BYTES:,}"
        )
    if cfg.max_tensor_bytes > MAX_TENSOR_BYTES:
        raise UsageError(f"--max-tensor-bytes must be at most {MAX_TENSOR_BYTES:,}")
    if len(cfg.seeds) > MAX_SEEDS:
        raise UsageError(f"--seeds: {len(cfg.seeds):,} seeds; give at most {MAX_SEEDS}")
    if cfg.inferences_per_second is not None and not 0 < cfg.inferences_per_second < math.inf:
        raise UsageError("--rate must be a positive number of inferences per second")
    for seed in (cfg.train.seed, cfg.stream.seed, *cfg.seeds):
        if not 0 <= seed < 2**32:
            raise UsageError(f"seed {seed} is out of range: give 0 to {2**32 - 1}")


def inputs(cfg: RunConfig) -> list[Path | None]:
    """The files and folders the run reads: none may lie inside its output."""
    data = (cfg.dataset or "").partition(":")[2]
    return [cfg.model, cfg.targets, Path(data).expanduser() if data else None]


def catalog(cfg: RunConfig) -> Catalog:
    """The target catalog with the run's inference rate."""
    loaded = load(cfg.targets)
    if cfg.inferences_per_second is not None:
        loaded.defaults["inferences_per_second"] = cfg.inferences_per_second
    return loaded
