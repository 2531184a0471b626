"""The `edgebench` command: run | report | export | gate | diff | schema | targets |
variants."""

import argparse
import datetime as dt
import math
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from bench import RunFailed, UsageError, names

if TYPE_CHECKING:
    from bench.choose import Constraints
    from bench.config import RunConfig
    from bench.export import Firmware

RUNS, LATEST = Path("reports/runs"), Path("reports/latest")  # a run's default home


def _add_constraints(parser: argparse.ArgumentParser) -> None:
    from bench.choose import Constraints

    default = Constraints()
    group = parser.add_argument_group("recommendation constraints (the report's summary)")
    group.add_argument(
        "--max-f1-loss",
        type=float,
        help="point F1 loss vs float32 allowed "
        f"(default {default.max_f1_loss}; a negative value drops the limit)",
    )
    group.add_argument("--min-f1", type=float, help="minimum point F1 on the test part")
    group.add_argument(
        "--max-far", type=float, help="maximum false alarm rate (false alarms / normal points, 0-1)"
    )
    group.add_argument("--max-size-bytes", type=int, help="maximum flatbuffer size")
    group.add_argument("--max-arena-bytes", type=int, help="maximum TFLM arena")
    group.add_argument("--max-latency-us", type=float, help="maximum LiteRT p50 latency")
    group.add_argument(
        "--max-est-latency-ms",
        type=float,
        help="maximum estimated latency on a board (the per-board choice)",
    )
    group.add_argument(
        "--any-runtime", action="store_true", help="also recommend variants TFLite Micro cannot run"
    )
    group.add_argument(
        "--ignore-baselines",
        action="store_true",
        help="also recommend variants whose point F1 does not beat the best non-learned "
        "baseline's beyond noise",
    )
    group.add_argument(
        "--allow-more-false-alarms",
        action="store_true",
        help="also recommend variants that raise more false alarms per 1,000 normal points "
        "than the baseline they beat",
    )


LIMITS = (
    "max_f1_loss",
    "min_f1",
    "max_far",
    "max_size_bytes",
    "max_arena_bytes",
    "max_latency_us",
    "max_est_latency_ms",
)


def _constraints(args: argparse.Namespace, base: "Constraints | None" = None) -> "Constraints":
    from bench.choose import Constraints

    given = {k: v for k in LIMITS if (v := getattr(args, k)) is not None}
    for key, value in given.items():
        if not -math.inf < value < math.inf:  # NaN fails this too
            raise UsageError(f"--{key.replace('_', '-')} {value}: give a finite number")
    if given.get("max_f1_loss", 0) < 0:
        given["max_f1_loss"] = None
    if not 0 <= given.get("max_far", 0) <= 1:
        raise UsageError(f"--max-far {given['max_far']} is not a rate: give 0 to 1")
    if args.any_runtime:
        given["require_tflm"] = False
    if args.ignore_baselines:
        given["beat_baselines"] = False
    if args.allow_more_false_alarms:
        given["baseline_far"] = False
    return replace(base or Constraints(), **given)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgebench", description="Benchmark compressed TinyML anomaly detectors side by side."
    )
    parser.add_argument(
        "--version", action="version", version=f"edgebench {metadata.version('edgebench')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _run_args,
        _report_args,
        _export_args,
        _gate_args,
        _targets_args,
        _diff_args,
        _clean_args,
    ):
        add(sub)
    sub.add_parser(
        "schema",
        help="print the JSON Schema of results.json",
        description="Print the JSON Schema (draft 2020-12) that a results.json of "
        "this edgebench version validates against.",
    )
    sub.add_parser(
        "variants",
        help="list the registered variants and architectures",
        description="List the registry's variants (name, parent, parameters, "
        "recipe) and the built-in architectures.",
    )
    return parser


Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _run_args(sub: Subparsers) -> None:
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
    _add_constraints(run)


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


def _report_args(sub: Subparsers) -> None:
    report = sub.add_parser(
        "report",
        help="re-render REPORT.md from a results file",
        description="Re-render REPORT.md from results.json alone; "
        "no model is run and TensorFlow is not loaded.",
    )
    report.add_argument(
        "results",
        type=Path,
        nargs="?",
        default=LATEST / "results.json",
        help="a results.json written by `edgebench run` (default: the latest "
        "run's, reports/latest/results.json)",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for REPORT.md and plots/ (default: beside the results)",
    )
    _add_constraints(report)


ARENA_MARGIN = 0.25  # export's default margin over the measured arena


def _export_args(sub: Subparsers) -> None:
    export = sub.add_parser(
        "export",
        help="write model_data.h/.cc for firmware",
        description="Write the flatbuffer as an aligned C array with its "
        "length and the measured TFLM arena size (plus a margin), from "
        "the model a results file measured, or from --model.",
    )
    export.add_argument("variant", nargs="?", help="variant name in the results file")
    export.add_argument("--arch", help="architecture of the variant, when several are there")
    export.add_argument(
        "--results",
        type=Path,
        default=LATEST / "results.json",
        help="results file to take the model from (default: the latest run's)",
    )
    export.add_argument("--model", type=Path, help="export this .tflite file instead")
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default reports/firmware/ARCH-VARIANT)",
    )
    export.add_argument(
        "--arena-margin",
        type=float,
        default=ARENA_MARGIN,
        help=f"margin added to the measured arena (default {ARENA_MARGIN} = "
        f"{100 * ARENA_MARGIN:.0f}%%)",
    )
    export.add_argument(
        "--tflm-tree",
        type=Path,
        help="a TFLM tree: also write firmware/, whose Makefile builds the very image a run "
        "measures (default: $EDGEBENCH_TFLM_TREE)",
    )


def _gate_args(sub: Subparsers) -> None:
    gate = sub.add_parser(
        "gate",
        help="fail on regressions against a baseline or budgets",
        description="Compare RESULTS with a baseline results file and with "
        "budgets; print the findings. Exit 0: all pass; 1: a regression; "
        "2: unusable input (a bad file, budget or option).",
    )
    gate.add_argument("results", type=Path, help="the results.json to judge")
    gate.add_argument("--baseline", type=Path, help="the results.json to compare with")
    gate.add_argument(
        "--budgets",
        type=Path,
        help="TOML with [tolerances] and "
        '[budgets."ARCH/VARIANT"] (default: [tool.edgebench.gates] in '
        "./pyproject.toml)",
    )
    gate.add_argument(
        "--wall-clock",
        action="store_true",
        help="also gate host wall-clock latency (same machine only; off by default: "
        "TFLM instruction counts are the exact latency gate)",
    )


def _targets_args(sub: Subparsers) -> None:
    targets = sub.add_parser(
        "targets",
        help="list the MCU catalog and its calibration",
        description="List the boards of the target catalog: clock, "
        "memory, power and cycles per MAC, and which are calibrated.",
    )
    targets.add_argument("--targets", type=Path, help="catalog TOML (default: built-in)")


def _clean_args(sub: Subparsers) -> None:
    clean = sub.add_parser(
        "clean",
        help="remove old runs from reports/runs, keeping the newest N",
        description="Remove the run folders under reports/runs/ but the newest N; the run "
        "reports/latest points to and folders no edgebench run wrote are kept.",
    )
    clean.add_argument(
        "--keep", type=int, default=5, help="how many newest runs to keep (default 5)"
    )


def _cmd_clean(args: argparse.Namespace) -> int:
    from bench.output import clean

    gone = clean(RUNS, args.keep, LATEST) if RUNS.is_dir() else []
    print(
        f"removed {len(gone)} run folder(s) from {RUNS}: "
        + (", ".join(p.name for p in gone) or "none")
    )
    return 0


def _diff_args(sub: Subparsers) -> None:
    diff = sub.add_parser(
        "diff",
        help="two runs side by side",
        description="Set two results files side by side: per variant, size, arena, "
        "instructions, host latency, point F1, FAR, NAB score and the board estimates; "
        "better and worse by each metric's sense, `not comparable` where the measurement "
        "conditions differ (as the gate decides). Reads files only; no model is run.",
    )
    diff.add_argument("a", type=Path, help="the earlier results.json (A)")
    diff.add_argument(
        "b",
        type=Path,
        nargs="?",
        default=LATEST / "results.json",
        help="the later results.json (B; default: the latest run's)",
    )
    diff.add_argument("--out", type=Path, help="also write the table as markdown to this file")
    diff.add_argument("--all", action="store_true", help="show unchanged metrics too")


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
        constraints=_constraints(args),
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


def _cmd_run(args: argparse.Namespace) -> int:
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
    failed = sum(1 for r in res["rows"] if r.id.errors)
    from bench.report import answer_text

    print(answer_text(res))
    print(
        f"\nwrote {args.out / 'REPORT.md'} and results.json ({len(res['rows'])} rows, "
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


def _cmd_report(args: argparse.Namespace) -> int:
    from bench import report, results
    from bench.cache import Cache, default_cache_dir
    from bench.choose import Constraints
    from bench.output import check_out

    res = results.read(args.results)
    out = args.out or args.results.parent
    check_out(out)
    saved = Constraints.saved(res)
    cache = default_cache_dir()  # where a run left the figures it drew from the same data
    figures = Cache(cache if os.access(cache, os.W_OK) else None)
    try:  # `check_out` made the folder
        path = report.write(res, out, _constraints(args, saved), cache=figures)
    except OSError as err:
        raise UsageError(f"cannot write the report to {out}: {err.strerror or err}") from None
    print(f"wrote {path}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from bench import export, results

    if not 0 <= args.arena_margin <= 10:  # NaN fails this too
        raise UsageError("--arena-margin must be a number from 0 to 10 (0.25 = 25 %)")
    if args.model is not None:
        from bench import tflm
        from bench.schema import safe_name
        from variants.external import read_tflite

        model, name = read_tflite(args.model), safe_name(args.model.stem)
        measured = tflm.arena(model)
        if not measured.tflm_deployable or measured.arena_bytes is None:
            raise UsageError(
                f"{args.model} is not deployable on TFLite Micro: {measured.tflm_error}"
            )
        fw = export.Firmware(f"user-{name}", model, measured.arena_bytes, args.arena_margin)
    elif args.variant:
        fw = export.from_results(
            results.read(args.results), args.results, args.variant, args.arch, args.arena_margin
        )
    else:
        raise UsageError("name a variant to export, or give --model PATH")
    export.check(fw)  # before a constant reaches any code
    out = args.out or Path("reports") / "firmware" / fw.name
    paths = export.write(out, fw, _firmware_project(fw, args.tflm_tree))
    print(
        f"wrote {', '.join(p.name for p in paths)} to {out} ({len(fw.model):,} bytes, arena "
        f"{export.arena_constant(fw.arena_bytes, args.arena_margin):,} bytes with margin)"
    )
    if (out / "firmware").is_dir():
        print(f'build the firmware: make -C {out / "firmware"} -j"$(nproc)" CORE=cortex-m4+fp')
    return 0


def _firmware_project(fw: "Firmware", tree_option: Path | None) -> dict[str, bytes] | None:
    """The measured firmware's build, where a TFLM tree is given (or in the environment)."""
    from bench.firmware import build, measure, project, toolchain

    tree = toolchain.tree_from(tree_option)
    if tree is None:
        return None
    if fw.tree is not None and build.tree_digest(tree) != fw.tree:
        raise UsageError(
            f"{tree} is not the TFLM tree the run built its firmware over (digest {fw.tree}): "
            "give that tree with --tflm-tree, or run again over this one"
        )
    return project.files(measure.program(fw.model, fw.arena_bytes), tree, fw.profile)


def _cmd_gate(args: argparse.Namespace) -> int:
    from bench import gate, results

    if args.baseline is None and args.budgets is None and not Path("pyproject.toml").is_file():
        raise UsageError("nothing to gate against: give --baseline and/or --budgets")
    tolerances, budgets = gate.load_gates(args.budgets)
    res = results.read(args.results)
    findings = []
    if args.baseline is not None:
        findings += gate.compare(
            res, results.read(args.baseline), tolerances, wall_clock=args.wall_clock
        )
    findings += gate.budgets(res, budgets)
    if not findings:
        raise UsageError("no gate applied: the baseline has no rows and no budget is set")
    print(gate.render(findings))
    failed = sum(f.verdict == gate.FAIL for f in findings)
    apart = sum(f.verdict == gate.NOT_COMPARABLE for f in findings)
    print(
        f"\n{len(findings)} checks, {failed} failed, {apart} not comparable"
        + (
            " (measured under other conditions: regenerate the baseline to gate them)"
            if apart
            else ""
        )
    )
    return gate.verdict(findings)


def _cmd_diff(args: argparse.Namespace) -> int:
    from bench import diff, results

    if args.out is not None:
        from bench.cache import write_text_atomic
        from bench.output import check_not_input

        check_not_input(args.out, (args.a, args.b))
    changes = diff.compare(results.read(args.a), results.read(args.b))
    print(diff.render(changes, colour=sys.stdout.isatty(), all_rows=args.all))
    if args.out is not None:
        text = f"# edgebench diff\n\nA: `{args.a}`\nB: `{args.b}`\n\n"
        try:
            write_text_atomic(args.out, text + diff.render(changes, all_rows=args.all) + "\n")
        except OSError as err:
            raise UsageError(f"cannot write {args.out}: {err.strerror or err}") from None
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    import json

    from bench.schema import json_schema

    print(json.dumps(json_schema(), indent=1))
    return 0


def _cmd_targets(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.boards.catalog import Board, load

    catalog = load(args.targets)

    def cpm(board: Board, dtype: str, op_class: str) -> str:
        mark = "" if board.calibrated[f"{dtype} {op_class}"] else " *"
        return f"{board.cycles_per_mac[dtype][op_class]:.2f}{mark}"

    body = [
        [
            b.key,
            b.name,
            b.core,
            f"{b.clock_mhz:g}",
            f"{b.flash_bytes // 1024:,}",
            f"{b.sram_bytes // 1024:,}",
            cpm(b, "int8", "dense"),
            cpm(b, "int8", "conv"),
            cpm(b, "float32", "dense"),
            f"{b.active_mw:.1f}" + ("" if b.calibrated["active_mw"] else " *"),
            f"{b.sleep_uw:g} *",
            f"{b.spread.low - 1:+.0%} / {b.spread.high - 1:+.0%}" if b.spread else "none",
            b.library,
        ]
        for b in catalog.boards.values()
    ]
    headers = [
        "board",
        "name",
        "core",
        "MHz",
        "flash KiB",
        "SRAM KiB",
        "cyc/MAC int8 dense",
        "int8 conv",
        "fp32 dense",
        "active mW",
        "sleep uW",
        "90 % interval",
        "kernels",
    ]
    print(tabulate(body, headers=headers, tablefmt="github", disable_numparse=True))
    fixed = ", ".join(f"{k} {v:g}" for k, v in catalog.fixed.items())
    names = " and ".join(m["name"] for m in catalog.models.values())
    print(
        f"\n* uncalibrated (basis in {catalog.path}); the rest is derived from the "
        f"{len(catalog.fitted())} of {len(catalog.published)} published results of {names} "
        "that ran CMSIS-NN's kernels on a CPU, pooled per core (the rest are references). "
        f"Fixed costs (priors, cycles): {fixed}."
    )
    return 0


def _cmd_variants(_args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from variants import REGISTRY
    from variants.baseline import ARCHS

    print(
        tabulate(
            [[v.name, v.parent or "", v.params or "", v.summary] for v in REGISTRY.values()],
            headers=["variant", "parent", "params", "recipe"],
            tablefmt="github",
        )
    )
    print()
    print(
        tabulate(
            [[a.name, a.window, a.summary] for a in ARCHS.values()],
            headers=["arch", "window", "model"],
            tablefmt="github",
        )
    )
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM (what CI runners, `timeout`, systemd and `docker stop` send), handled as
    SIGINT is: workers stopped, staging removed, earlier output intact."""


CLEANUP_S = 20.0  # after SIGTERM: the time the cleanup gets before the process just ends


def _terminate(_signum: int, _frame: object) -> None:
    # A backstop: should the cleanup hang, the process ends anyway; its children die with
    # it (parent-death signal) and the watchdog removes the staging.
    backstop = threading.Timer(CLEANUP_S, os._exit, (143,))
    backstop.daemon = True
    backstop.start()
    raise Terminated


class _Parser(argparse.ArgumentParser):
    """argparse, with a did-you-mean for a misspelt option or command, and its error in
    one line (`--help` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        hint = _suggestion(self, message) or f"; `{self.prog} --help` shows the usage"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    import difflib
    import re

    wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if wrong:
        known, given = re.findall(r"'([^']*)'", wrong.group(2)), [wrong.group(1)]
    elif message.startswith("unrecognized arguments:"):
        known = sorted({o for p in _parsers(parser) for a in p._actions for o in a.option_strings})
        given = [w.split("=")[0] for w in message.split(":", 1)[1].split() if w.startswith("-")]
    else:
        return ""
    hints = [close[0] for g in given if (close := difflib.get_close_matches(g, known, 1))]
    return f"; did you mean {' '.join(hints)}?" if hints else ""


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and its subcommands' parsers."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [p for sub in action.choices.values() for p in _parsers(sub)]
    return found


def _latest(args: argparse.Namespace) -> None:
    """The latest run's results, where a command was given none: `reports/latest` here or
    in the nearest folder above that has one (a run started anywhere in a project)."""
    default = LATEST / "results.json"
    if getattr(args, "model", None) is not None and args.command == "export":
        return  # it exports the model given, and reads no results
    for name in ("results", "b"):
        if getattr(args, name, None) != default or default.exists():
            continue
        here = Path.cwd().resolve()
        found = next((d / default for d in (here, *here.parents) if (d / default).exists()), None)
        if found is None:
            raise UsageError(
                f"no results file given, and no {default} in {here} or any folder above it: "
                "give one, or run `edgebench run` first"
            )
        setattr(args, name, found)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.argv, args.started = argv, started
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        _latest(args)
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"edgebench: error: {err}", file=sys.stderr)
        return 2
    except RunFailed as err:
        print(f"edgebench: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `edgebench variants | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as stop:
        why = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"edgebench: {why}; files already written are complete", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _cmd_run,
    "report": _cmd_report,
    "export": _cmd_export,
    "gate": _cmd_gate,
    "targets": _cmd_targets,
    "schema": _cmd_schema,
    "diff": _cmd_diff,
    "variants": _cmd_variants,
    "clean": _cmd_clean,
}


def console() -> None:
    """The `edgebench` command. After SIGTERM or SIGINT, once `main` has killed the workers
    and removed the staging, the process ends at once: interpreter shutdown would join the
    executor's threads, and those of a pool whose workers were killed need not finish.
    Everything the command and its children put in the temporary folder goes into one
    folder of its own, removed at the end."""
    from bench import lifetime

    temp = lifetime.private_temp()
    code = main()
    if code in (130, 143):  # no atexit: the folder goes now, and the pool's semaphores
        from multiprocessing import util

        util._run_finalizers(0)  # type: ignore[attr-defined]  # semaphores unlinked: no warning
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
