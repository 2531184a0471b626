"""`edgebench targets`: the MCU catalog, its fits and what is calibrated."""

import argparse
from pathlib import Path

from bench.commands.common import Subparsers


def arguments(sub: Subparsers) -> None:
    targets = sub.add_parser(
        "targets",
        help="list the MCU catalog and its calibration",
        description="List the boards of the target catalog: clock, "
        "memory, power and cycles per MAC, and which are calibrated.",
    )
    targets.add_argument("--targets", type=Path, help="catalog TOML (default: built-in)")


def command(args: argparse.Namespace) -> int:
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
