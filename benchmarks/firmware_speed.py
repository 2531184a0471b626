"""What the firmware path costs on this machine, against its targets: the default run
without a tree; the same run with one, the libraries and reference models cached (the
firmware stage may add at most 50 %); and the one-time cost of the libraries and the
reference models, once per tree, compiler and build profile (at most 90 s). Each run
keeps nothing of its own (`--no-cache`): only the libraries and the reference models
are kept, as they are across a user's runs. Replaces the "## Firmware" section of
benchmarks/speed.md. Timings belong here, never in the tests.

    python benchmarks/firmware_speed.py --tflm-tree ../shared/tflm
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.firmware import build, measure, toolchain

OUT = Path(__file__).with_name("speed.md")
HEADER = "## Firmware"
RUN_SHARE = 0.50  # the firmware stage's most, over the run without a tree
ONCE_S = 90.0  # the libraries and reference models, once


def _run(cache: Path, out: Path, tree: Path | None, opt: str) -> tuple[float, dict]:
    """Seconds of one default run (nothing of its own cached), and its results."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("EDGEBENCH_TFLM_TREE", None)
    extra = ["--tflm-tree", str(tree), "--firmware-opt", opt] if tree else []
    command = [sys.executable, "-m", "bench.cli", "run", "--quiet", "--no-cache"]
    start = time.perf_counter()
    subprocess.run(
        [*command, "--cache", str(cache), "--out", str(out), *extra],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, json.loads((out / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflm-tree", type=Path, required=True)
    parser.add_argument("--firmware-opt", default=build.DEFAULT_PROFILE, choices=build.PROFILES)
    args = parser.parse_args()
    found = toolchain.find(toolchain.check_tree(args.tflm_tree, "--tflm-tree"))
    if isinstance(found, str):
        sys.exit(found)
    jobs = len(os.sched_getaffinity(0))
    opt = args.firmware_opt
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"  # what a user's runs keep: the reference models, the libraries
        _run(cache, root / "out", None, opt)  # the reference models built on the host, once
        plain_s, res = _run(cache, root / "out", None, opt)
        first_s, _ = _run(cache, root / "out", found.tree, opt)  # libraries, references' firmware
        again_s, fw_res = _run(cache, root / "out", found.tree, opt)
        per_image = _per_image(fw_res, root / "out", found, cache, opt)
    added, once = again_s - plain_s, first_s - again_s
    lines = [
        HEADER,
        "",
        f"Measured by `python benchmarks/firmware_speed.py` (arm-none-eabi-gcc "
        f"{found.gcc_version}, -{opt}, {jobs} cores, {time.strftime('%Y-%m-%d')}); the "
        "default run, keeping nothing of its own.",
        "",
        f"- without a tree: {plain_s:.0f} s ({len(res['rows'])} rows).",
        f"- with one, the libraries and reference models cached: {again_s:.0f} s, "
        f"+{added:.0f} s = +{added / plain_s:.0%} (target at most +{RUN_SHARE:.0%}: "
        f"{'met' if added <= RUN_SHARE * plain_s else 'MISSED'}); "
        f"{len(per_image)} images, one linked and emulated in {statistics.median(per_image):.2f} s "
        f"(median; worst {max(per_image):.2f} s, one process).",
        f"- once per tree, compiler and profile (every core's library, the reference "
        f"models' firmware counted): {once:.0f} s (target at most {ONCE_S:.0f} s: "
        f"{'met' if once <= ONCE_S else 'MISSED'}).",
    ]
    text = OUT.read_text() if OUT.exists() else ""
    head = text.split(HEADER)[0].rstrip()
    OUT.write_text((head + "\n\n" if head else "") + "\n".join(lines) + "\n")
    print("\n".join(lines))


def _per_image(
    res: dict, out: Path, found: toolchain.Toolchain, cache: Path, opt: str
) -> list[float]:
    """Seconds per (variant, core), measured again here one pair at a time."""
    tree = build.tree_digest(found.tree)
    seconds = []
    for row in res["rows"]:
        if not row.get("firmware"):
            continue
        model = (out / row["artifact"]).read_bytes()
        for core in row["firmware"]:
            task = measure.Task(model, row["arena_bytes"], found, (core,), cache, tree, opt)
            start = time.perf_counter()
            measure.measure(task)
            seconds.append(time.perf_counter() - start)
    return seconds


if __name__ == "__main__":
    main()
