import numpy as np
import pytest

import variants
from variants import REGISTRY, register
from variants.baseline import ARCHS, TrainConfig, train


def test_registry_holds_the_post_training_recipes_with_known_parents():
    assert {"float32", "float16", "dynamic_range", "int8"} <= set(REGISTRY)
    for variant in REGISTRY.values():
        assert variant.parent is None or variant.parent in REGISTRY
        assert variant.summary


def test_a_name_registers_once(monkeypatch):
    monkeypatch.setattr(variants, "REGISTRY", dict(REGISTRY))
    with pytest.raises(ValueError, match="registered twice"):
        register("float32")(lambda ctx: b"")


def test_every_variant_builds_a_flatbuffer(tiny_models):
    assert set(tiny_models) == set(REGISTRY)
    for built in tiny_models.values():
        assert built.model[4:8] == b"TFL3"


def test_cache_serves_a_rebuild_without_training(tiny_ctx, tiny_models):
    from bench.build import BuildContext, build

    fresh = BuildContext(
        tiny_ctx.arch, tiny_ctx.windows, tiny_ctx.train_cfg, tiny_ctx.data_key, tiny_ctx.cache
    )
    again = build(REGISTRY["int8"], fresh)
    assert again.cached
    assert again.model == tiny_models["int8"].model
    assert fresh._model is None  # neither trained nor loaded


def test_cache_key_follows_parameters_and_training(tiny_ctx):
    base = tiny_ctx.key(variant="int8", params={"representative_windows": 500})
    assert base == tiny_ctx.key(variant="int8", params={"representative_windows": 500})
    assert base != tiny_ctx.key(variant="int8", params={"representative_windows": 100})


def test_training_is_deterministic_for_a_seed(tiny_ctx):
    x = tiny_ctx.windows.train.x[:256]
    cfg = TrainConfig(epochs=1, seed=3)
    a, b = train(ARCHS["seed"], x, cfg), train(ARCHS["seed"], x, cfg)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_architectures_have_the_documented_shapes():
    from variants.baseline import build_model

    seed = build_model(ARCHS["seed"], 10)
    assert seed.count_params() == 10 * 4 + 4 + 4 * 10 + 10  # the case study's 94
    deep = build_model(ARCHS["deep"], 48)
    assert 10_000 < deep.count_params() < 500_000
