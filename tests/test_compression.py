"""The compression recipes on the tiny context: each does what its name says."""

import numpy as np
import pytest
from helpers import typed

from bench import graph
from bench.rows import lineage
from bench.runtime import LiteRT
from variants import REGISTRY, F1Target
from variants.baseline import ARCHS, build_model


@pytest.mark.parametrize(
    ("name", "target"),
    [("pruned50", 0.5), ("pruned50_int8", 0.5), ("pruned80", 0.8), ("pruned80_int8", 0.8)],
)
def test_pruning_reaches_its_target_sparsity(tiny_models, name, target):
    measured = graph.measure(tiny_models[name].model).sparsity
    assert measured >= target - 0.02


def test_unpruned_models_are_dense(tiny_models):
    assert graph.measure(tiny_models["float32"].model).sparsity < 0.05


def test_qat_is_int8_from_input_to_output(tiny_models):
    model = tiny_models["qat"].model
    assert graph.float_compute_ops(model) == []
    host = LiteRT(model)
    assert host.input["dtype"] == np.int8
    assert host.output_detail["dtype"] == np.int8
    assert graph.float_compute_ops(tiny_models["float32"].model)  # the check can fail


def test_clustering_bounds_the_unique_weight_values(tiny_models):
    clusters = REGISTRY["clustered16"].params["clusters"]
    float_weights = graph.weight_tensors(tiny_models["clustered16"].model)
    assert [np.unique(w).size for w in float_weights if np.unique(w).size > clusters] == []
    # int8 scales each output channel on its own: the bound holds per channel
    int8 = graph.measure(tiny_models["clustered16_int8"].model)
    assert int8.weight_unique_per_channel_max <= clusters


def test_the_student_is_smaller_than_its_teacher(tiny_models):
    student = graph.measure(tiny_models["distilled"].model)
    assert REGISTRY["distilled"].params["alpha"] == 0.5
    from bench import size

    assert (
        size.measure(tiny_models["distilled"].model).params
        < size.measure(tiny_models["float32"].model).params
    )
    assert student.ops["FULLY_CONNECTED"] >= 2


def test_the_deep_student_has_at_most_a_quarter_of_the_teachers_parameters():
    deep = ARCHS["deep"]
    teacher = build_model(deep, deep.window).count_params()
    student = build_model(deep, deep.window, hidden=deep.student).count_params()
    assert student <= 0.25 * teacher


def test_lineage_follows_the_parents():
    assert lineage("pruned80_int8") == "float32 > pruned80 > pruned80_int8"
    assert lineage("float32") == "float32"


def test_f1_targets():
    loss, ratio = F1Target(max_loss=0.01), F1Target(min_ratio=0.95)
    met = [loss.met(0.875, 0.88), loss.met(0.869, 0.88), ratio.met(0.95, 1.0), ratio.met(0.9, 1.0)]
    assert met == [True, False, True, False]
    assert str(F1Target(max_loss=0.02)) == "loss <= 0.02"


def test_every_recipe_records_its_build_cost_and_parent(tiny_models):
    for name, built in tiny_models.items():
        assert built.build_seconds > 0
        parent = REGISTRY[name].parent
        assert parent is None or parent in REGISTRY


def _dense_weight_scales(model: bytes) -> list[int]:
    """How many scales each FULLY_CONNECTED weight tensor carries."""
    from ai_edge_litert.interpreter import Interpreter

    found = []
    for t in Interpreter(model_content=model).get_tensor_details():
        q = t["quantization_parameters"]
        if len(t["shape"]) == 2 and t["dtype"] == np.int8 and min(t["shape"]) > 1:
            found.append(len(q["scales"]))
    return found


def test_int8_per_tensor_has_one_scale_per_dense_weight(tiny_models):
    per_channel = _dense_weight_scales(tiny_models["int8"].model)
    per_tensor = _dense_weight_scales(tiny_models["int8_per_tensor"].model)
    assert max(per_channel) > 1  # (empty: max raises)
    assert set(per_tensor) == {1}


def test_int16x8_takes_int16_and_keeps_int8_weights(tiny_models):
    model = tiny_models["int16x8"].model
    host = LiteRT(model)
    assert host.input["dtype"] == np.int16
    assert host.output_detail["dtype"] == np.int16
    assert graph.float_compute_ops(model) == []
    assert {w.dtype for w in graph.weight_tensors(model)} == {np.dtype(np.int8)}


def test_dynamic_range_on_a_small_model_computes_as_float32_and_the_report_says_so(tiny_models):
    from bench import graph, report
    from bench.schema import Row

    same, other = (graph.digest(tiny_models[n].model) for n in ("float32", "dynamic_range"))
    assert tiny_models["float32"].model != tiny_models["dynamic_range"].model  # metadata
    assert same == other  # every tensor under 1,024 elements stays float
    assert graph.digest(tiny_models["int8"].model) != same
    rows = [
        Row.of({"arch": "seed", "variant": v, "graph_sha256": d, "sha256": v})
        for v, d in (("float32", same), ("dynamic_range", other), ("int8", "x"))
    ]
    assert report.identical(typed({"rows": rows})) == [
        "",
        "Identical models:",
        "",
        "- `seed`: `dynamic_range` computes exactly as `float32` (the same graph and weights; "
        "only the converter's metadata differs): its figures are that model's",
    ]
