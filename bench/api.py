"""The Python entry point: run the harness, read results, get typed records.

    from bench import api

    res = api.run(archs=("seed",), variants=("float32", "int8"), quick=True, out="runs/a")
    for row in res.rows:  # `res`: the results file typed; each row an `api.Row`
        print(row.label, row.size.size_bytes, row.detection.point_f1, row.detection.far)
    print(api.answer(res))  # per board, the variant to ship

`run` takes `RunConfig` fields (`bench.config.RunConfig`) as keywords; `quick=True` starts
from the quick configuration. Errors are `bench.UsageError` (the input) as in the CLI.
Builds run in worker processes forked from edgebench's own fork server, which never
imports the calling script: `run` needs no `if __name__ == "__main__":` guard.
"""

from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import results
from bench.progress import Log
from bench.schema import (
    Agreement,
    Boards,
    Detection,
    Graph,
    HostLatency,
    Identity,
    Instructions,
    Results,
    Row,
    Seeds,
    Size,
    Tflm,
    TflmLatency,
    Timing,
    VsFloat32,
)

__all__ = [
    "Agreement",
    "Boards",
    "Detection",
    "Graph",
    "HostLatency",
    "Identity",
    "Instructions",
    "Results",
    "Row",
    "Seeds",
    "Size",
    "Tflm",
    "TflmLatency",
    "Timing",
    "VsFloat32",
    "answer",
    "load",
    "run",
]


def run(quick: bool = False, log: Log | None = None, **fields: Any) -> Results:
    """Train, build, measure and write results and report into `out`; the results."""
    from bench.config import PATHS, RunConfig
    from bench.progress import plain
    from bench.run import run as run_harness

    base = RunConfig.quick_config() if quick else RunConfig()
    for key in PATHS:
        if fields.get(key) is not None:
            fields[key] = Path(fields[key])
    return run_harness(replace(base, **fields), command="bench.api.run", log=log or plain)


def load(path: str | Path) -> Results:
    """A results file, migrated to the current schema, validated and typed."""
    return results.read(Path(path))


def answer(res: Results) -> str:
    """What `edgebench run` prints: per board, the variant to ship (and why an arch
    ships nowhere)."""
    from bench.report import answer_text

    return answer_text(res)
