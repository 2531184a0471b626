"""Deterministic measurements are cached by what they read: a warm run re-measures only
the timings."""

import pytest

from bench import detection, tflm
from bench.cache import Cache
from bench.detection import Score
from bench.pipeline import memo, windows_digest
from bench.schema import Detection, Tflm


def _never():
    raise AssertionError("measured again although cached")


def test_the_arena_search_and_detection_are_read_back_from_the_cache(
    tmp_path, tiny_models, tiny_ctx
):
    cache, model, windows = Cache(tmp_path), tiny_models["int8"].model, tiny_ctx.windows
    arena = memo(cache, Tflm, model, {}, lambda: tflm.arena(model))
    assert memo(cache, Tflm, model, {}, _never).to_dict() == arena.to_dict()
    seen = {"windows": windows_digest(windows), "policy": "auto"}
    found = memo(
        cache,
        Detection,
        model,
        seen,
        lambda: detection.measure(
            model, windows, "auto", detection.baselines(windows, "auto"), [Score("mean")]
        )["mean"],
    )
    assert memo(cache, Detection, model, seen, _never).to_dict() == found.to_dict()
    with pytest.raises(AssertionError, match="measured again"):  # other inputs, other key
        memo(cache, Detection, model, {**seen, "policy": "percentile:99"}, _never)
    with pytest.raises(AssertionError, match="measured again"):  # another model
        memo(cache, Tflm, tiny_models["float32"].model, {}, _never)
