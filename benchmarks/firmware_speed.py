"""How fast the firmware path is on this machine: one core's TFLM + CMSIS-NN library
built cold; linking and emulating each default-run variant per core, libraries cached;
and how much a cold default run grows with the firmware stage, libraries cached.
Replaces the "## Firmware" section of benchmarks/speed.md. Timings belong here, never
in the tests.

    python benchmarks/firmware_speed.py --tflm-tree ../shared/tflm
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.firmware import build, measure, toolchain

OUT = Path(__file__).with_name("speed.md")
HEADER = "## Firmware"


def _run(cache: Path, out: Path, tree: Path | None) -> tuple[float, dict]:
    env = {**os.environ, "EDGEBENCH_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("EDGEBENCH_TFLM_TREE", None)
    extra = ["--tflm-tree", str(tree)] if tree else []
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--quiet", "--out", str(out), *extra],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, json.loads((out / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflm-tree", type=Path, required=True)
    parser.add_argument("--core", default="cortex-m4+fp")
    parser.add_argument("--keep", type=Path, help="copy the default run with firmware here")
    args = parser.parse_args()
    found = toolchain.find(toolchain.check_tree(args.tflm_tree, "--tflm-tree"))
    if isinstance(found, str):
        sys.exit(found)
    jobs = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        objects = build.Objects.at(
            root / "libs", found, build.CORES[args.core], build.tree_digest(found.tree)
        )
        start = time.perf_counter()
        build.library(objects, jobs)
        library_s = time.perf_counter() - start
        # libraries for every core, then the default run without and with firmware
        plain_s, res = _run(root / "plain", root / "out-plain", None)
        _run(root / "warmup", root / "out-warmup", found.tree)  # compiles every core once
        libs = root / "warmup"
        cold = root / "cold"
        cold.mkdir()
        for entry in libs.iterdir():  # a cold run cache, with only the libraries kept
            if entry.name == "firmware":
                entry.rename(cold / "firmware")
        firmware_s, fw_res = _run(cold, root / "out-cold", found.tree)
        per_pair = _per_pair(fw_res, root / "out-cold", found, cold)
        if args.keep:
            shutil.copytree(root / "out-cold", args.keep, dirs_exist_ok=True)
    lines = [
        HEADER,
        "",
        f"Measured by `python benchmarks/firmware_speed.py` ({found.gcc_version}, "
        f"{jobs} cores, {time.strftime('%Y-%m-%d')}).",
        "",
        f"- {args.core}'s library (framework and CMSIS-NN), cold, {jobs} compilers: "
        f"{library_s:.0f} s; cached after.",
        f"- link and emulate one (variant, core) of the default run, libraries cached: median "
        f"{statistics.median(per_pair):.2f} s, worst {max(per_pair):.2f} s over "
        f"{len(per_pair)} pairs (one process, including the arena search).",
        f"- cold default run: {plain_s:.0f} s without a tree, {firmware_s:.0f} s with one and "
        f"the libraries cached (+{firmware_s - plain_s:.0f} s; firmware stage "
        f"{fw_res['stages_s'].get('firmware', 0):.0f} s, calibration "
        f"{fw_res['stages_s'].get('calibration', 0):.0f} s, rows {len(res['rows'])}).",
    ]
    text = OUT.read_text() if OUT.exists() else ""
    head = text.split(HEADER)[0].rstrip()
    OUT.write_text((head + "\n\n" if head else "") + "\n".join(lines) + "\n")
    print("\n".join(lines))


def _per_pair(res: dict, out: Path, found: toolchain.Toolchain, cache: Path) -> list[float]:
    """Seconds per (variant, core), measured again here one pair at a time."""
    tree = build.tree_digest(found.tree)
    seconds = []
    for row in res["rows"]:
        if not row.get("firmware"):
            continue
        model = (out / row["artifact"]).read_bytes()
        for core in row["firmware"]:
            task = measure.Task(model, row["arena_bytes"], found, (core,), cache, tree)
            start = time.perf_counter()
            measure.measure(task)
            seconds.append(time.perf_counter() - start)
    return seconds


if __name__ == "__main__":
    main()
