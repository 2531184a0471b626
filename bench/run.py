"""`edgebench run`: data -> baseline -> variants -> measurements -> results.json + REPORT.md.

Only the sequence of stages; each lives with its data: `bench.config` (checks),
`bench.data` (load), `bench.train` (train and build), `bench.rows` (measure),
`bench.pipeline` (instructions), `bench.boards.references`, `bench.results` (write).
"""

import time
from dataclasses import replace
from pathlib import Path

from bench import RunFailed, UsageError, detection, metrics, report, results
from bench.boards.cpi import refine_all
from bench.boards.references import measure as references
from bench.cache import Cache, code_version
from bench.config import RunConfig, check
from bench.data import Dataset
from bench.data.loaders import load
from bench.executor import cores
from bench.external import KERAS
from bench.firmware import toolchain
from bench.firmware.stage import Setup, add_firmware
from bench.output import staging, swap_in
from bench.pipeline import add_instructions
from bench.progress import Log, plain, stage
from bench.rows import (
    Measured,
    PerSeries,
    add_deltas,
    add_seed_figures,
    per_series_detection,
    registry_rows,
    tflite_row,
)
from bench.schema import SCHEMA_VERSION, DatasetSummary, Results, Row
from bench.session import Session, settings
from bench.train import build_all, contexts, replace_seed, series_contexts


def run(cfg: RunConfig, command: str = "edgebench run", log: Log = plain) -> Results:
    """Everything is written into a staging folder beside `--out` and swapped in at the
    end: a failed or killed run leaves the previous output as it was."""
    check(cfg)
    try:
        with staging(cfg.out) as (stage, scratch):
            # --no-cache: a cache for this run only (workers hand their results over in it)
            cache = cfg.cache or scratch
            working = replace(
                cfg, out=stage, cache=cache, calibration_cache=cfg.calibration_cache or cache
            )
            res = measure_all(working, cfg.as_dict(), command, log)
            refuse_if_all_failed(res.rows, cfg.out)
            swap_in(stage, cfg.out)
    except OSError as err:
        raise UsageError(_unwritable(err, cfg.out)) from None
    return res


def _unwritable(err: OSError, out: Path) -> str:
    """What could not be written, named: the output, the cache or the temporary folder."""
    where = Path(err.filename) if isinstance(err.filename, str) else None
    if where is None or where.resolve().is_relative_to(out.resolve().parent):
        return f"cannot write the output beside {out}: {err.strerror or err}; pick another --out"
    return (
        f"cannot write {where}: {err.strerror or err}; free room there, or point --cache "
        "or TMPDIR elsewhere"
    )


def refuse_if_all_failed(rows: list[Row], out: Path) -> None:
    """A run with no numbers at all (one cause failed every row) does not replace good
    output."""
    failed = [r for r in rows if r.size.size_bytes is None and not r.id.recipe_skipped]
    if rows and len(failed) == len(rows):
        first = next(iter((failed[0].id.errors or {}).values()), None)
        why = str(first or "Error: no figures")[:300]
        raise RunFailed(f"every row failed ({why}); {out} is left as it was")


def measure_all(cfg: RunConfig, config: dict, command: str, log: Log) -> Results:
    """The run itself, writing into `cfg.out` (the staging folder); `config` is what the
    user asked for, as recorded in the results. The stages: data; train, build and
    measure; count instructions; derive the comparisons; calibrate; write."""
    start = time.perf_counter()
    s = Session(cfg, settings(cfg), log, results.machine_info(), Cache(cfg.cache))
    dataset = load(cfg.dataset or "nepse", cfg.stream, cfg.csv_columns)
    for warning in dataset.warnings:
        log(f"warning: {warning}")
    s.clock.add("data", start)
    brought = cfg.model is not None and cfg.model.suffix not in KERAS
    found = brought_tflite(s, dataset) if brought else registry(s, dataset)
    add_instructions(found.rows, cfg.out, s.cache, s.clock, min(cfg.workers, cores()))
    setup = firmware_setup(cfg, s.log)
    add_firmware(found.rows, cfg.out, s.cache, s.clock, setup)
    add_deltas(found.rows, found.traces, s.cache)
    t = time.perf_counter()
    calibration = references(s.how.catalog, Cache(cfg.calibration_cache), setup)
    refine_all(found.rows, s.how.boards, calibration.firmware, s.how.catalog)
    s.clock.add("calibration", t)
    out = Results(
        schema_version=SCHEMA_VERSION,
        created=results.now_iso(),
        command=command,
        code_version=code_version(),
        machine=s.machine,
        config=config,
        dataset=DatasetSummary.from_dict(dataset.summary()),
        project=results.project_info(),
        stages_s=s.clock.seconds,
        rows=found.rows,
        traces=found.traces,
        baselines=found.baselines,
        scaling=found.scaling,
        boards={b.key: b.info() for b in s.how.boards},
        estimate_defaults=s.how.catalog.defaults,
        calibration=calibration,
    )
    out.stages_s["total"] = time.perf_counter() - start
    return write(s, out)


def write(s: Session, out: Results) -> Results:
    """results.json, then the report from what the file holds, nothing else."""
    path = s.cfg.out / "results.json"
    results.write(out, path)
    out = results.read(path)
    report.write(out, s.cfg.out, cache=s.cache)
    return out


def firmware_setup(cfg: RunConfig, log: Log) -> Setup:
    """The toolchain (or why none), the cores and the workers of the firmware stage; the
    libraries are kept with the reference models, even under --no-cache."""
    found = toolchain.find(toolchain.tree_from(cfg.tflm_tree))
    asked = cfg.firmware_cores or Setup.cores
    workers = min(cfg.workers, cores())
    return Setup(found, cfg.calibration_cache, tuple(asked), workers, log, cfg.firmware_opt)


def brought_tflite(s: Session, dataset: Dataset) -> Measured:
    """A user's .tflite: one row, measured as it is."""
    assert s.cfg.model is not None
    found = Measured()
    stage(s.log, "measuring", 1, "models")
    row, windows = tflite_row(s, s.cfg.model, dataset)
    found.rows.append(row)
    if windows is not None:
        found.windows(s, "user", windows, dataset)
    return found


def registry(s: Session, dataset: Dataset) -> Measured:
    """Every registered variant of every arch (or of the user's Keras model): trained,
    built on the executor, measured; over seeds or series when asked."""
    cfg, found = s.cfg, Measured()
    built = contexts(cfg, dataset, s.cache)
    for ctx in built:  # before any training: what the data cannot serve
        metrics.check_policy(cfg.threshold, ctx.windows.val.y_end)
        detection.check_score(cfg.score, ctx.windows.length)
        found.windows(s, ctx.arch.name, ctx.windows, dataset)
    wholes = {c.arch.name: c.windows for c in built}
    # more training seeds, or the other series: detection only
    others = [replace_seed(ctx, seed) for seed in cfg.seeds[1:] for ctx in built]
    parts = {c.arch.name: series_contexts(c, cfg, dataset) for c in built if cfg.per_series}
    if cfg.per_series:
        built = [mine[0] for mine in parts.values()]  # the rows show the first series'
        others = [c for mine in parts.values() for c in mine[1:]]
    outcomes = build_all(s, built + others, rows=len(built))
    stage(s.log, "measuring", len(built) * len(cfg.variants), "variants")
    for ctx, one in zip(built, outcomes, strict=False):
        found.rows += registry_rows(s, ctx, dataset, one)
    if cfg.per_series:
        rest = iter(outcomes[len(built) :])  # `others`: each arch's series after its first
        by_arch = {
            arch: [outcomes[i], *(next(rest) for _ in mine[1:])]
            for i, (arch, mine) in enumerate(parts.items())
        }
        per_series_detection(s, found.rows, PerSeries(parts, by_arch, wholes), found.baselines)
    elif others:
        add_seed_figures(s, found.rows, others, outcomes[len(built) :])
    return found
