"""The Python entry point: run the harness, read results, get typed records.

    from bench import api

    res = api.run(archs=("seed",), variants=("float32", "int8"), quick=True, out="runs/a")
    for row in res["rows"]:
        size, detection = api.record(row, api.Size), api.record(row, api.Detection)
        print(row["variant"], size.size_bytes, detection.point_f1, detection.far)
    print(api.answer(res))  # per board, the variant to ship

`run` takes `RunConfig` fields (`bench.run.RunConfig`) as keywords; `quick=True` starts
from the quick configuration. Errors are `bench.UsageError` (the input) as in the CLI.
Builds run in worker processes, which import the calling script again: call
`run` under `if __name__ == "__main__":` in a script file.
"""

from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from bench import results
from bench.schema import (
    Agreement,
    Boards,
    Detection,
    Graph,
    HostLatency,
    Identity,
    Instructions,
    Record,
    Size,
    Tflm,
    TflmLatency,
    VsFloat32,
)

R = TypeVar("R", bound=Record)

__all__ = [
    "Agreement",
    "Boards",
    "Detection",
    "Graph",
    "HostLatency",
    "Identity",
    "Instructions",
    "Size",
    "Tflm",
    "TflmLatency",
    "VsFloat32",
    "answer",
    "load",
    "record",
    "run",
]


def run(quick: bool = False, log=None, **fields) -> dict:
    """Train, build, measure and write results and report into `out`; the results."""
    from bench.progress import plain
    from bench.run import RunConfig
    from bench.run import run as run_harness

    base = RunConfig.quick_config() if quick else RunConfig()
    for key in ("out", "cache", "calibration_cache", "model", "targets"):
        if fields.get(key) is not None:
            fields[key] = Path(fields[key])
    return run_harness(replace(base, **fields), command="bench.api.run", log=log or plain)


def load(path) -> dict:
    """A results file, migrated to the current schema and validated."""
    return results.read(Path(path))


def record(row: dict, kind: type[R]) -> R:
    """One metric family of a row as its typed record (nested values stay plain)."""
    return kind.from_dict(row)


def answer(res: dict) -> str:
    """The table `edgebench run` prints: per board, the variant to ship."""
    from bench.report import answer_table

    return answer_table(res)
