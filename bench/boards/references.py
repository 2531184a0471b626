"""The reference models the published results ran (MLPerf Tiny ad01, the KWS DS-CNN),
built and counted here, and the estimators set beside every published result: what
the board estimates are fitted and judged on."""

import dataclasses

from bench import graph
from bench.boards import cpi
from bench.boards.catalog import BENCHMARKS, Catalog, Work
from bench.boards.estimate import calibration
from bench.build import reference_model
from bench.cache import Cache
from bench.firmware.stage import Setup, reference_counts
from bench.pipeline import arena_and_instructions
from bench.schema import Calibration, ReferenceModel


def measure(cat: Catalog, cache: Cache, setup: Setup | None = None) -> Calibration:
    """Build each reference model, count its work and TFLM instructions from the
    flatbuffer, and set the MAC estimator beside every published result; with a firmware
    `setup`, also count each model's firmware on the boards' cores, fit each core's
    cycles per instruction (`cpi`), and check the fit's intervals on models it never
    saw."""
    models, counted = {}, {}
    built = {bench: reference_model(cat.models[bench], cache) for bench in BENCHMARKS}
    shapes = {bench: graph.measure(model) for bench, model in built.items()}
    measured = {bench: arena_and_instructions(model, cache) for bench, model in built.items()}
    arenas = {bench: micro for bench, (micro, _) in measured.items()}
    counts = {bench: count for bench, (_, count) in measured.items()}
    for bench, shape in shapes.items():
        work = Work.of_layers(shape.layers)
        counted[bench] = work
        count = counts.get(bench)
        models[bench] = ReferenceModel(
            name=cat.models[bench]["name"],
            macs_counted=work.dense_macs + work.conv_macs,
            macs_published=cat.models[bench]["macs"],
            work_counted=dataclasses.asdict(work),
            work_catalog=dataclasses.asdict(cat.work(bench)),
            ops=shape.ops,
            tflm_instructions=count.tflm_instructions if count else None,
            tflm_error=arenas[bench].tflm_error,
        )
    out = Calibration(
        models=models, catalog=cat.path, fixed_cycles=cat.fixed, rows=calibration(cat, counted)
    )
    if setup is not None and not isinstance(setup.found, str):
        references = {b: (built[b], a) for b in built if (a := arenas[b].arena_bytes)}
        on_cores = reference_counts(references, setup, cache)
        out.firmware = cpi.fit(cat, on_cores)
        out.firmware_check = cpi.model_transfer(cat, on_cores)
        for bench, by_core in on_cores.items():
            models[bench].firmware_instructions = by_core
    return out
