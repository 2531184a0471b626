"""`edgebench gate`: a run against a baseline and budgets, for CI."""

import argparse
from pathlib import Path

from bench import UsageError
from bench.commands.common import Subparsers


def arguments(sub: Subparsers) -> None:
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


def command(args: argparse.Namespace) -> int:
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
