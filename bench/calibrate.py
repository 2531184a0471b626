"""The calibrate stage: the catalog's reference models (MLPerf Tiny ad01, the KWS
DS-CNN) built and counted, and the estimator set beside every published result."""

import dataclasses

from bench import energy, graph, targets
from bench.cache import Cache
from bench.firmware import boards
from bench.firmware.stage import Setup, reference_counts
from bench.pipeline import arena_and_instructions
from variants.build import calibration_model


def calibrate(cat: targets.Catalog, cache: Cache, setup: Setup | None = None) -> dict:
    """Build each calibration model (MLPerf Tiny ad01 and the KWS DS-CNN), count its work
    and TFLM instructions from the flatbuffer, and set the estimator beside every
    published result; with a firmware `setup`, also count each model's firmware on the
    boards' cores and fit each board's cycles per instruction (`firmware.boards`), and
    check the fit's intervals on models it never saw."""
    models, counted = {}, {}
    built = {bench: calibration_model(cat.models[bench], cache) for bench in targets.BENCHMARKS}
    shapes = {bench: graph.measure(model) for bench, model in built.items()}
    measured = {bench: arena_and_instructions(model, cache) for bench, model in built.items()}
    arenas = {bench: micro for bench, (micro, _) in measured.items()}
    counts = {bench: count for bench, (_, count) in measured.items()}
    for bench, shape in shapes.items():
        work = targets.Work.of_layers(shape.layers)
        counted[bench] = work
        count = counts.get(bench)
        models[bench] = {
            "name": cat.models[bench]["name"],
            "macs_counted": work.dense_macs + work.conv_macs,
            "macs_published": cat.models[bench]["macs"],
            "work_counted": dataclasses.asdict(work),
            "work_catalog": dataclasses.asdict(cat.work(bench)),
            "ops": shape.ops,
            "tflm_instructions": count.tflm_instructions if count else None,
            "tflm_error": arenas[bench].tflm_error,
        }
    out = {
        "models": models,
        "catalog": cat.path,
        "fixed_cycles": cat.fixed,
        "rows": energy.calibration(cat, counted),
    }
    if setup is not None and not isinstance(setup.found, str):
        references = {b: (built[b], a) for b in built if (a := arenas[b].arena_bytes)}
        on_cores = reference_counts(references, setup, cache)
        out["firmware"] = boards.as_results(boards.fit(cat, on_cores))
        out["firmware_check"] = boards.model_transfer(cat, on_cores)
        for bench, by_core in on_cores.items():
            models[bench]["firmware_instructions"] = by_core
    return out
