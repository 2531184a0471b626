"""How fast `edgebench run` is on this machine: a cold and a warm default run, and the
build stage of a cold quick run with 1 and with N workers. Writes benchmarks/speed.md,
which the README quotes. Timings belong here, never in the tests.

    python benchmarks/speed.py [--workers N]
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).with_name("speed.md")


def run(*args: str, cache: Path, out: Path) -> tuple[float, dict]:
    """Wall seconds and the results of one `edgebench run`."""
    command = [sys.executable, "-m", "bench.cli", "run", "--quiet", "--cache", str(cache)]
    start = time.perf_counter()
    subprocess.run([*command, "--out", str(out), *args], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lines = [
        "# edgebench speed",
        "",
        f"Measured by `python benchmarks/speed.py` on {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| run | wall s | train s | build s | the rest s (measuring, calibration) | rows |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = [
            ("default, cold", (), "default"),
            ("default, warm (cache)", (), "default"),
            ("quick, cold, --workers 1", ("--quick", "--workers", "1"), "quick1"),
            (
                f"quick, cold, --workers {args.workers}",
                ("--quick", "--workers", str(args.workers)),
                f"quick{args.workers}",
            ),
        ]
        for label, extra, cache in cases:
            seconds, res = run(*extra, cache=root / cache, out=root / f"out-{cache}")
            stages = res["stages_s"]
            rest = seconds - stages.get("train", 0) - stages.get("build", 0)
            lines.append(
                f"| {label} | {seconds:.1f} | {stages.get('train', 0):.1f} | "
                f"{stages.get('build', 0):.1f} | {rest:.1f} | {len(res['rows'])} |"
            )
            print(lines[-1], flush=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    lines += ["", f"Largest process of all runs: {peak:.2f} GB resident at its peak."]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
