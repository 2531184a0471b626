"""Deterministic measurements are cached by what they read: a warm run re-measures only
the timings."""

import pytest

from bench import baselines, detection, tflm
from bench.cache import Cache
from bench.detection import Score
from bench.pipeline import memo, windows_digest
from bench.schema import Detection, Tflm, Trace


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
            model, windows, "auto", baselines.baselines(windows, "auto"), [Score("mean")]
        )["mean"],
    )
    assert memo(cache, Detection, model, seen, _never).to_dict() == found.to_dict()
    with pytest.raises(AssertionError, match="measured again"):  # other inputs, other key
        memo(cache, Detection, model, {**seen, "policy": "percentile:99"}, _never)
    with pytest.raises(AssertionError, match="measured again"):  # another model
        memo(cache, Tflm, tiny_models["float32"].model, {}, _never)


def test_fidelity_figures_are_cached_by_the_scores(tmp_path, monkeypatch):
    from bench import fidelity
    from bench.pipeline import fidelity_figures
    from bench.schema import Identity, Row

    def row(scores: list[float]) -> Row:
        found = Detection(test_scores=scores, threshold=0.5, point_f1=0.5)
        return Row(Identity(variant="v", arch="a", window=2), detection=found)

    trace = Trace(end=[1, 2, 3, 4], y=[0, 1, 0, 1], series=[0, 0, 0, 0], names=["s"])
    cache = Cache(tmp_path)
    first = fidelity_figures(
        row([0.1, 0.9, 0.2, 0.8]), row([0.1, 0.7, 0.3, 0.9]), trace, None, cache
    )
    assert first["decision_agreement"] == 1.0
    monkeypatch.setattr(fidelity, "compare", lambda *_: _never())
    again = fidelity_figures(
        row([0.1, 0.9, 0.2, 0.8]), row([0.1, 0.7, 0.3, 0.9]), trace, None, cache
    )
    assert again == first
    with pytest.raises(AssertionError, match="measured again"):  # other scores, other key
        fidelity_figures(row([0.9, 0.1, 0.2, 0.8]), row([0.1, 0.7, 0.3, 0.9]), trace, None, cache)
