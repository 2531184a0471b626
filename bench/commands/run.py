"""`edgebench run`: its options, the RunConfig they make, and the run."""

import argparse
import datetime as dt
import os
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench import names
from bench.commands.common import LATEST, RUNS, Subparsers, add_constraints, constraints

if TYPE_CHECKING:
    from bench.config import RunConfig


def arguments(sub: Subparsers) -> None:
    from bench.config import RunConfig

    run = sub.add_parser(
        "run",
        help="train, build variants, measure, write results and report",
        description="Train the detector on the built-in NEPSE-like stream, "
        "build the registered variants, measure them, and write "
        "OUT/results.json and OUT/REPORT.md.",
    )
    default, quick = RunConfig(), RunConfig.quick_config()
    _data_args(run, default)
    _training_args(run, default, quick)
    _measuring_args(run, default, quick)
    _output_args(run)
    _execution_args(run)
    add_constraints(run)


def _data_args(run: argparse.ArgumentParser, default: "RunConfig") -> None:
    from variants import REGISTRY
    from variants.baseline import ARCHS

    run.add_argument(
        "--dataset",
        default=None,
        help="nepse (built in, default), "
        "nab:PATH, skab:PATH (a checkout of either benchmark) or csv:FILE; with --model, "
        "detection is measured only when the data is named",
    )
    columns = default.csv_columns
    run.add_argument("--time-column", default=columns.time, help="csv: the timestamp column")
    run.add_argument(
        "--value-columns",
        type=names,
        default=None,
        help="csv: value columns, comma-separated (default: all but time, label)",
    )
    run.add_argument(
        "--label-column",
        default=None,
        help=f"csv: the 0/1 label column (default {columns.label}, used when present; a "
        "column named here must be there)",
    )
    run.add_argument(
        "--sep",
        default=None,
        help="csv: the field separator (default: sniffed from the header: , ; tab or |)",
    )
    run.add_argument(
        "--arch",
        type=names,
        default=None,
        help=f"architectures, comma-separated, of {','.join(ARCHS)} (default: "
        f"{','.join(default.archs)})",
    )
    run.add_argument(
        "--variants",
        type=names,
        default=None,
        help=f"variants, comma-separated (default: all of {','.join(REGISTRY)})",
    )
    run.add_argument(
        "--model",
        type=Path,
        help="benchmark your own model instead: a .tflite "
        "(measured as it is) or a .keras/.h5 model (the variants are built from "
        "it; loaded in safe mode)",
    )


def _training_args(run: argparse.ArgumentParser, default: "RunConfig", quick: "RunConfig") -> None:
    from variants.baseline import ARCHS

    train = default.train
    run.add_argument(
        "--epochs",
        type=int,
        help=f"training epochs (default {train.epochs}; --quick: {quick.train.epochs})",
    )
    run.add_argument(
        "--batch-size", type=int, help=f"training batch size (default {train.batch_size})"
    )
    run.add_argument(
        "--seed",
        type=int,
        help=f"seed of the stream and of training (default: stream {default.stream.seed}, "
        f"training {train.seed})",
    )
    own = ", ".join(f"{a.name} {a.window}" for a in ARCHS.values())
    run.add_argument(
        "--window",
        type=int,
        help=f"window length for every architecture (default: the architecture's own: {own})",
    )
    run.add_argument(
        "--scaling",
        choices=("minmax", "standard"),
        help="per channel (after log1p for the volume stream), fitted on each series' "
        f"training part only (default {default.scaling})",
    )
    run.add_argument(
        "--seeds",
        help="training seeds, comma-separated (e.g. 0,1,2,3,4): each trains and builds every "
        "variant anew; rows keep the first seed's measurements and add, over seeds, mean, "
        "standard deviation and 95 %% intervals of point F1, FAR and the F1 lost against "
        "float32, and whether each F1 target is met, missed or within noise",
    )
    run.add_argument(
        "--per-series",
        action="store_true",
        help="one model per series of a multi-series dataset (NAB's protocol), each "
        "thresholded on its own validation part, trained in parallel on the executor; "
        "detection is scored over all test points, the rest is the first series' model",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="small stream, 3 epochs, few samples: a smoke test, not a benchmark",
    )


def _measuring_args(run: argparse.ArgumentParser, default: "RunConfig", quick: "RunConfig") -> None:
    from bench.detection import SCORES
    from bench.firmware.build import CORES, PROFILES

    run.add_argument(
        "--threshold",
        help=f"threshold policy on validation data: auto (default {default.threshold}:"
        " f1 when validation holds anomalies, else percentile:99), f1, or "
        "percentile:P of the normal validation windows' scores",
    )
    run.add_argument(
        "--score",
        help=f"a window's anomaly score (default {default.score}): {SCORES}",
    )
    run.add_argument(
        "--latency-samples",
        type=int,
        help="timed invokes per variant and runtime, at most (default "
        f"{default.latency_samples}; --quick: {quick.latency_samples}); fewer once 200 are "
        "in and they add up to 50 ms",
    )
    run.add_argument(
        "--measure-timeout",
        type=float,
        help="seconds each measurement of a --model .tflite may take, in its isolated "
        "child (default: 60 plus 10 per MB of model)",
    )
    run.add_argument(
        "--max-tensor-bytes",
        type=int,
        help="a --model .tflite declaring a larger tensor is refused unopened "
        f"(default {default.max_tensor_bytes:,})",
    )
    run.add_argument(
        "--tflm-tree",
        type=Path,
        help="a TFLM + CMSIS-NN source tree (tflite-micro's create_tflm_tree.py) to build "
        "and emulate each variant's firmware per Cortex-M core (default: "
        "$EDGEBENCH_TFLM_TREE; without one the firmware figures say unavailable)",
    )
    run.add_argument(
        "--firmware-cores",
        type=lambda text: tuple(c.strip() for c in text.split(",")),
        help="comma-separated cores to build firmware for (default: all of "
        + ", ".join(CORES)
        + ")",
    )
    run.add_argument(
        "--firmware-opt",
        choices=PROFILES,
        help="the firmware's build profile: Os (size, the default), O2 or O3 (fewer "
        "instructions, more flash); the figures, the comparison key and the export's "
        "Makefile carry it",
    )
    run.add_argument(
        "--targets",
        type=Path,
        help="MCU catalog TOML (default: the built-in "
        "bench/boards/catalog.toml; `edgebench targets` lists it)",
    )
    run.add_argument(
        "--boards",
        type=names,
        default=None,
        help="boards to estimate for, comma-separated (default: all)",
    )
    run.add_argument(
        "--rate",
        type=float,
        help="inferences per second for battery life (default: the catalog's, 1)",
    )


def _output_args(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder: new, empty or an earlier run's (default: a new "
        "reports/runs/<time>/, linked as reports/latest)",
    )
    run.add_argument("--quiet", action="store_true", help="print only the answer")
    run.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default $EDGEBENCH_CACHE or ~/.cache/edgebench)",
    )
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="build and measure every model anew; the catalog's reference models "
        "(board calibration, the same for every run) still come from --cache",
    )


def _execution_args(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--executor",
        help="where training and builds run: local (default; --workers processes) or "
        "ray[=HOST:PORT] (a Ray cluster; without an address, a local Ray instance with "
        '--workers CPUs; pip install -e ".[ray]")',
    )
    run.add_argument(
        "--workers",
        type=int,
        help="worker processes that train and build variants in parallel, each on one "
        "TensorFlow thread, so the models are the same for any N (default: the number "
        "of cores); a worker that dies fails only its own variants",
    )


def _run_config(args: argparse.Namespace) -> "RunConfig":
    from bench.cache import default_cache_dir
    from bench.config import RunConfig
    from bench.data.loaders import CsvColumns
    from bench.seeds import parse as parse_seeds

    cfg = RunConfig.quick_config() if args.quick else RunConfig()
    train = cfg.train
    if args.epochs is not None:
        train = replace(train, epochs=args.epochs)
    if args.batch_size is not None:
        train = replace(train, batch_size=args.batch_size)
    if args.seed is not None:
        train = replace(train, seed=args.seed)
    seeds = parse_seeds(args.seeds) if args.seeds else ()
    if seeds:
        train = replace(train, seed=seeds[0])
    stream = cfg.stream if args.seed is None else replace(cfg.stream, seed=args.seed)
    overrides = {
        "archs": args.arch,
        "variants": args.variants,
        "window": args.window,
        "scaling": args.scaling,
        "threshold": args.threshold,
        "score": args.score,
        "latency_samples": args.latency_samples,
        "workers": args.workers,
        "seeds": seeds or None,
        "executor": args.executor,
        "per_series": args.per_series or None,
        "measure_timeout": args.measure_timeout,
        "max_tensor_bytes": args.max_tensor_bytes,
        "tflm_tree": args.tflm_tree,
        "firmware_cores": args.firmware_cores,
        "firmware_opt": args.firmware_opt,
    }
    columns = CsvColumns(
        args.time_column,
        args.value_columns or (),
        args.label_column or CsvColumns.label,
        label_required=args.label_column is not None,
        sep=args.sep,
    )
    return replace(
        cfg,
        dataset=args.dataset,
        csv_columns=columns,
        train=train,
        stream=stream,
        out=args.out,
        model=args.model,
        constraints=constraints(args),
        targets=args.targets,
        boards=args.boards or (),
        inferences_per_second=args.rate,
        cache=None if args.no_cache else (args.cache or default_cache_dir()),
        calibration_cache=args.cache or default_cache_dir(),
        **{k: v for k, v in overrides.items() if v is not None},
    )


def _check_names(args: argparse.Namespace) -> None:
    """Names first, before any heavy import: a typo costs a fraction of a second."""
    from bench.executor import check_executor, check_workers
    from bench.seeds import parse as parse_seeds
    from variants import check_names

    check_names(args.arch or (), args.variants or ())
    if getattr(args, "workers", None) is not None:
        check_workers(args.workers)
    if getattr(args, "seeds", None):
        parse_seeds(args.seeds)
    if getattr(args, "executor", None):
        check_executor(args.executor)


def command(args: argparse.Namespace) -> int:
    _check_names(args)
    from bench.run import run

    default_out = args.out is None
    if default_out:  # a fresh folder per run, beside the others, never the committed sample
        args.out = RUNS / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    from bench.progress import Progress

    cfg = _run_config(args)
    total = (
        1
        if cfg.model is not None and cfg.model.suffix == ".tflite"
        else ((1 if cfg.model is not None else len(cfg.archs)) * len(cfg.variants))
    )
    with Progress(total, quiet=args.quiet) as progress:
        res = run(cfg, command=shlex.join(["edgebench", *args.argv]), log=progress)
    if default_out:
        _point_latest_at(args.out)
    failed = sum(1 for r in res.rows if r.id.errors)
    from bench.report import answer_text

    print(answer_text(res))
    print(
        f"\nwrote {args.out / 'REPORT.md'} and results.json ({len(res.rows)} rows, "
        f"{failed} with errors) in {time.perf_counter() - args.started:.1f} s, the "
        "command's wall time"
    )
    return 0


def _point_latest_at(out: Path) -> None:
    """`reports/latest` -> the newest run (a relative link, replaced atomically)."""
    tmp = LATEST.with_name(f".latest-{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.relative_to(LATEST.parent))
        os.replace(tmp, LATEST)
    except OSError:
        tmp.unlink(missing_ok=True)
