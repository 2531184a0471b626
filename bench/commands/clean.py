"""`edgebench clean`: old runs removed."""

import argparse

from bench.commands.common import LATEST, RUNS, Subparsers


def arguments(sub: Subparsers) -> None:
    clean = sub.add_parser(
        "clean",
        help="remove old runs from reports/runs, keeping the newest N",
        description="Remove the run folders under reports/runs/ but the newest N; the run "
        "reports/latest points to and folders no edgebench run wrote are kept.",
    )
    clean.add_argument(
        "--keep", type=int, default=5, help="how many newest runs to keep (default 5)"
    )


def command(args: argparse.Namespace) -> int:
    from bench.output import clean

    gone = clean(RUNS, args.keep, LATEST) if RUNS.is_dir() else []
    print(
        f"removed {len(gone)} run folder(s) from {RUNS}: "
        + (", ".join(p.name for p in gone) or "none")
    )
    return 0
