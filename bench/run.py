"""`edgebench run`: data -> baseline -> variants -> measurements -> results.json + REPORT.md."""

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import UsageError, detection, latency, report, results, size
from bench.data.synthetic import StreamConfig, nepse_stream
from bench.data.windows import make_windows
from variants import REGISTRY
from variants.baseline import ARCHS, TrainConfig
from variants.build import BuildContext, Cache, build, code_version, write_atomic


@dataclass(frozen=True)
class RunConfig:
    archs: tuple[str, ...] = ("seed", "deep")
    variants: tuple[str, ...] = tuple(REGISTRY)
    train: TrainConfig = field(default_factory=TrainConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    window: int | None = None  # None: each architecture's own default
    scaling: str = "minmax"
    threshold: str = "f1"
    latency_samples: int = 2000
    out: Path = Path("reports")
    cache: Path | None = None  # None: no cache
    quick: bool = False

    @classmethod
    def quick_config(cls, **overrides) -> "RunConfig":
        """Small and fast: for tests and smoke runs, not for conclusions."""
        base = cls(train=TrainConfig(epochs=3), stream=StreamConfig(sessions=60),
                   latency_samples=200, quick=True)
        return replace(base, **overrides)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["out"], d["cache"] = str(self.out), self.cache and str(self.cache)
        return d


def check(cfg: RunConfig) -> None:
    """Reject bad input before anything is trained or written."""
    for name in cfg.archs:
        if name not in ARCHS:
            raise UsageError(f"unknown architecture {name!r}; choose from {', '.join(ARCHS)}")
    for name in cfg.variants:
        if name not in REGISTRY:
            raise UsageError(f"unknown variant {name!r}; choose from {', '.join(REGISTRY)}")
    if not cfg.archs or not cfg.variants:
        raise UsageError("nothing to run: give at least one architecture and one variant")
    if cfg.train.epochs < 1 or cfg.train.batch_size < 1 or cfg.latency_samples < 2:
        raise UsageError("--epochs and --batch-size must be >= 1, --latency-samples >= 2")
    detection.check_policy(cfg.threshold)
    check_writable(cfg.out)


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".edgebench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"cannot write to output folder {out}: {err.strerror or err}; "
                         "pick another with --out") from None


class Stopwatch:
    """Accumulates wall seconds per stage name."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now


def measure_variant(built, ctx, cfg: RunConfig, clock: Stopwatch) -> dict:
    row, errors = {}, {}
    t = time.perf_counter()
    steps = (
        ("size", lambda: size.measure(built.model)),
        ("latency", lambda: latency.measure(built.model, ctx.windows.test.x,
                                            samples=cfg.latency_samples)),
        ("detection", lambda: detection.measure(built.model, ctx.windows, cfg.threshold)),
    )
    for stage, step in steps:
        try:
            row.update(step())
        except Exception as err:  # a metric that cannot run is reported, not fatal
            errors[stage] = f"{type(err).__name__}: {err}"
        t = clock.add(stage, t)
    if errors:
        row["errors"] = errors
    return row


def add_deltas(rows: list[dict]) -> None:
    """f1_delta_vs_float32 and size_ratio_vs_float32, within each arch and dataset."""
    refs = {(r["arch"], r["dataset"]): r for r in rows if r["variant"] == "float32"}
    for row in rows:
        ref = refs.get((row["arch"], row["dataset"]), {})
        f1, ref_f1 = row.get("f1"), ref.get("f1")
        row["f1_delta_vs_float32"] = None if f1 is None or ref_f1 is None else f1 - ref_f1
        sz, ref_sz = row.get("size_bytes"), ref.get("size_bytes")
        row["size_ratio_vs_float32"] = None if sz is None or not ref_sz else sz / ref_sz


def run(cfg: RunConfig, command: str = "edgebench run", log=print) -> dict:
    check(cfg)
    clock, start = Stopwatch(), time.perf_counter()
    t = start
    series = nepse_stream(cfg.stream)
    t = clock.add("data", t)
    cache = Cache(cfg.cache)
    rows = []
    for arch_name in cfg.archs:
        arch = ARCHS[arch_name]
        windows = make_windows(series, cfg.window or arch.window, cfg.scaling)
        data_key = {"stream": cfg.stream.as_dict(), "scaling": cfg.scaling}
        ctx = BuildContext(arch, windows, cfg.train, data_key, cache)
        t = clock.add("data", t)
        for name in cfg.variants:
            variant = REGISTRY[name]
            log(f"[{arch_name}] {name}: building")
            row = {"variant": name, "arch": arch_name, "dataset": series.name,
                   "window": windows.length, "parent": variant.parent,
                   "recipe": variant.summary, "params": variant.params}
            try:
                built = build(variant, ctx)
            except Exception as err:  # the variant's failure is a result, not a crash
                row["errors"] = {"build": f"{type(err).__name__}: {err}"}
                rows.append(row)
                log(f"[{arch_name}] {name}: build failed: {row['errors']['build']}")
                t = clock.add("build", t)
                continue
            t = clock.add("build", t)
            artifact = cfg.out / "models" / f"{arch_name}-{name}.tflite"
            write_atomic(artifact, built.model)
            row.update(artifact=str(artifact.relative_to(cfg.out)), cache_key=built.key,
                       cached=built.cached, build_seconds=built.build_seconds)
            log(f"[{arch_name}] {name}: measuring size, latency, detection"
                + (" (from cache)" if built.cached else ""))
            row.update(measure_variant(built, ctx, cfg, clock))
            t = time.perf_counter()
            rows.append(row)
        clock.seconds["train"] = clock.seconds.get("train", 0.0) + ctx.train_seconds
        clock.seconds["build"] = clock.seconds.get("build", 0.0) - ctx.train_seconds
    add_deltas(rows)
    out = {
        "schema_version": results.SCHEMA_VERSION,
        "created": results.now_iso(),
        "command": command,
        "code_version": code_version(),
        "machine": results.machine_info(),
        "config": cfg.as_dict(),
        "dataset": {"name": series.name, "points": len(series.values),
                    "train_end": series.train_end, "val_end": series.val_end,
                    "anomalous_points": int(series.labels.sum())},
        "stages_s": clock.seconds,
        "rows": rows,
    }
    out["stages_s"]["total"] = time.perf_counter() - start
    path = cfg.out / "results.json"
    results.write(out, path)
    out = results.read(path)  # the report renders what the file holds, nothing else
    report.write(out, cfg.out)
    return out
