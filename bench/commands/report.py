"""`edgebench report`: REPORT.md again from a results file."""

import argparse
import os
from pathlib import Path

from bench import UsageError
from bench.commands.common import LATEST, Subparsers, add_constraints, constraints


def arguments(sub: Subparsers) -> None:
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
    add_constraints(report)


def command(args: argparse.Namespace) -> int:
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
        path = report.write(res, out, constraints(args, saved), cache=figures)
    except OSError as err:
        raise UsageError(f"cannot write the report to {out}: {err.strerror or err}") from None
    print(f"wrote {path}")
    return 0
