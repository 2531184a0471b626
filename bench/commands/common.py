"""What several commands share: where runs live, and the constraints' options."""

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from bench import UsageError

if TYPE_CHECKING:
    from bench.choose import Constraints


RUNS, LATEST = Path("reports/runs"), Path("reports/latest")  # a run's default home


def add_constraints(parser: argparse.ArgumentParser) -> None:
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


def constraints(args: argparse.Namespace, base: "Constraints | None" = None) -> "Constraints":
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


class Parser(argparse.ArgumentParser):
    """argparse, with a did-you-mean for a misspelt option or command, and its error in
    one line (`--help` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        hint = suggestion(self, message) or f"; `{self.prog} --help` shows the usage"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    import difflib
    import re

    wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if wrong:
        known, given = re.findall(r"'([^']*)'", wrong.group(2)), [wrong.group(1)]
    elif message.startswith("unrecognized arguments:"):
        known = sorted({o for p in parsers(parser) for a in p._actions for o in a.option_strings})
        given = [w.split("=")[0] for w in message.split(":", 1)[1].split() if w.startswith("-")]
    else:
        return ""
    hints = [close[0] for g in given if (close := difflib.get_close_matches(g, known, 1))]
    return f"; did you mean {' '.join(hints)}?" if hints else ""


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and its subcommands' parsers."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [p for sub in action.choices.values() for p in parsers(sub)]
    return found


Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"
