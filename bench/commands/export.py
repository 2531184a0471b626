"""`edgebench export`: a variant (or a brought model) as C, and its firmware project."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bench import UsageError
from bench.commands.common import LATEST, Subparsers

if TYPE_CHECKING:
    from bench.export import Firmware

ARENA_MARGIN = 0.25  # export's default margin over the measured arena


def arguments(sub: Subparsers) -> None:
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


def command(args: argparse.Namespace) -> int:
    from bench import export, results

    if not 0 <= args.arena_margin <= 10:  # NaN fails this too
        raise UsageError("--arena-margin must be a number from 0 to 10 (0.25 = 25 %)")
    if args.model is not None:
        from bench import tflm
        from bench.external import read_tflite
        from bench.schema import safe_name

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
