"""`edgebench diff`: two runs side by side."""

import argparse
import sys
from pathlib import Path

from bench import UsageError
from bench.commands.common import LATEST, Subparsers


def arguments(sub: Subparsers) -> None:
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


def command(args: argparse.Namespace) -> int:
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
