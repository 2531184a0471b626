"""How fast `edgebench run` is on this machine: a cold and a warm default run, the
build stage of a cold quick run with 1 and with N workers, and a cold 5-seed quick run;
with the peak memory of each run summed over all its processes: resident (RSS,
counting the pages the workers share with their fork server once per process),
proportional (PSS, each shared page split among its sharers: what the run takes) and
PSS's anonymous part (without the clean pages of mapped files, such as TensorFlow's
libraries, which the kernel can drop and read again). Writes benchmarks/speed.md,
which the README quotes. Timings belong here, never in the tests.

    python benchmarks/speed.py [--workers N]
"""

import argparse
import contextlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

OUT = Path(__file__).with_name("speed.md")


def run(*args: str, cache: Path, out: Path) -> tuple[float, tuple[float, ...], dict]:
    """Wall seconds, the peak RSS, PSS and anonymous PSS summed over the run's process
    tree (GB; RSS sampled every 0.1 s, PSS every 1 s: reading it costs the kernel time
    the run would otherwise have) and the results of one `edgebench run`."""
    command = [sys.executable, "-m", "bench.cli", "run", "--quiet", "--cache", str(cache)]
    start = time.perf_counter()
    child = subprocess.Popen(
        [*command, "--out", str(out), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peaks = [0, 0, 0]
    for tick in itertools.count():
        if child.poll() is not None:
            break
        now = _tree_memory(child.pid, pss=tick % 10 == 0)
        peaks = [max(peak, kb) for peak, kb in zip(peaks, now, strict=True)]
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        said = child.stderr.read()[-500:] if child.stderr else b""
        raise SystemExit(f"edgebench run {' '.join(args)} failed: {said!r}")
    return (
        seconds,
        tuple(kb * 1024 / 1e9 for kb in peaks),
        json.loads((out / "results.json").read_text()),
    )


def _tree_memory(pid: int, pss: bool) -> tuple[int, int, int]:
    """RSS and (when `pss`, else 0) PSS and its anonymous part, in kB, summed over `pid`
    and its descendants (the fork server, the workers)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, 0
    total = [0, 0, 0]
    for proc in procs:
        with contextlib.suppress(OSError, psutil.Error):
            if pss:
                found = _rollup(proc.pid)
                total = [
                    t + found[k] for t, k in zip(total, ("Rss", "Pss", "Pss_Anon"), strict=True)
                ]
            else:
                total[0] += proc.memory_info().rss // 1024
    return total[0], total[1], total[2]


def _rollup(pid: int) -> dict[str, int]:
    """The kernel's memory totals of one process, in kB (Linux's smaps_rollup)."""
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {line.split(":")[0]: int(line.split()[1]) for line in lines}


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
        "Stages: *train*, until the last float model is ready (the calibration models and "
        "the first recipes are built beside); *build*, from then until the last variant is "
        "built; *the rest*, start-up, measuring and the report.",
        "",
        "| run | wall s | train s | build s | the rest s | rows "
        "| peak RSS, all processes, GB | peak PSS, all processes, GB | of which anonymous |",
        "|---|---|---|---|---|---|---|---|---|",
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
            (
                f"quick, cold, --workers {args.workers}, --seeds 0,1,2,3,4",
                ("--quick", "--workers", str(args.workers), "--seeds", "0,1,2,3,4"),
                "seeds",
            ),
        ]
        wall, executor = {}, {}
        for label, extra, cache in cases:
            seconds, (rss, pss, anon), res = run(
                *extra, cache=root / cache, out=root / f"out-{cache}"
            )
            wall[cache] = seconds
            stages = res["stages_s"]
            executor[cache] = stages.get("train", 0) + stages.get("build", 0)
            rest = seconds - stages.get("train", 0) - stages.get("build", 0)
            lines.append(
                f"| {label} | {seconds:.1f} | {stages.get('train', 0):.1f} | "
                f"{stages.get('build', 0):.1f} | {rest:.1f} | {len(res['rows'])} | "
                f"{rss:.2f} | {pss:.2f} | {anon:.2f} |"
            )
            print(lines[-1], flush=True)
    ratio = wall["seeds"] / wall[f"quick{args.workers}"]
    speedup = executor["quick1"] / executor[f"quick{args.workers}"]
    lines += [
        "",
        f"{args.workers} workers train and build {speedup:.2f}x as fast as 1 (train + build "
        "stages, quick, cold).",
        f"5 seeds take {ratio:.2f}x the wall time of 1 seed (both quick, cold).",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
