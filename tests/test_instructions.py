"""Instruction counts of the real TFLite Micro interpreter under valgrind, and the exact
latency gate they make."""

import copy
import shutil

import numpy as np
import pytest
from helpers import compare, said

from bench import gate, graph, instructions, tflm
from variants.convert import Conversion, to_tflite

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind")

DUMP = """\
version: 1
creator: callgrind-3.19.0
events: Ir
fn=(1) tflite::micro::MicroInterpreter::Invoke()
0 15
cfn=(2) tflite::micro::MicroInterpreterGraph::InvokeSubgraph(int)
calls=1 0
0 1000
fn=(2)
0 40
cfn=(3) tflite::micro::(anonymous namespace)::FullyConnectedEval(TfLiteContext*, TfLiteNode*)
calls=2 0
0 900
cfn=(4) tflite::(anonymous namespace)::LogisticEval(TfLiteContext*, TfLiteNode*)
calls=1 0
0 50
cfn=(5) tflite::micro::MicroInterpreterGraph::ResetTempAllocations()
calls=1 0
0 10
summary: 1015
totals: 1015
"""


def test_a_callgrind_dump_is_parsed_into_kernels_and_the_interpreter():
    total, by_function = instructions.parse(DUMP)
    assert total == 1015
    assert sum(by_function.values()) == 960
    ops = instructions.by_op(by_function, ["FULLY_CONNECTED", "LOGISTIC"], total)
    assert ops == {"FULLY_CONNECTED": 900, "LOGISTIC": 50, "(interpreter)": 65}


def _dense(*widths: int) -> bytes:
    from variants._tf import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.layers.Input((widths[0],))]
        + [keras.layers.Dense(w, activation="relu") for w in widths[1:]]
    )
    sample = np.random.default_rng(0).random((32, widths[0]), dtype=np.float32)
    return to_tflite(model, Conversion(representative=sample, int8_io=True))


@pytest.fixture(scope="module")
def counted():
    """Two dense int8 models, the second with one more layer; the first counted twice,
    in two valgrind processes side by side (one counts models 0 and 2, one model 1)."""
    small, bigger = _dense(16, 8, 16), _dense(16, 8, 16, 16)
    models = [
        (m, tflm.arena(m).arena_bytes, list(graph.measure(m).ops)) for m in (small, bigger, small)
    ]
    return instructions.count(models, processes=2)


@needs_valgrind
def test_counts_are_exact_and_repeatable(counted):
    small, bigger, again = counted
    assert small.tflm_instructions_error is None
    assert small.tflm_instructions > 1_000
    assert again.tflm_instructions == small.tflm_instructions
    assert again.tflm_instructions_by_op == small.tflm_instructions_by_op
    assert sum(small.tflm_instructions_by_op.values()) == small.tflm_instructions
    assert set(small.tflm_instructions_by_op) == {"FULLY_CONNECTED", "(interpreter)"}
    assert bigger.tflm_instructions > small.tflm_instructions
    said(small.tflm_instructions_tool, "valgrind-")


def _row(record, samples_us) -> dict:
    return {
        "dataset": "nepse",
        "arch": "seed",
        "variant": "int8",
        "sha256": "x",
        "tflm_deployable": True,
        "arena_bytes": 1872,
        "latency_us_p50": float(np.median(samples_us)),
        "latency_samples_us": list(samples_us),
        **record.to_dict(),
    }


@needs_valgrind
def test_a_rerun_under_machine_drift_passes_and_one_more_layer_fails(counted):
    small, bigger, again = counted
    samples = np.random.default_rng(0).lognormal(np.log(3.0), 0.05, 400)
    base = {"machine": {}, "rows": [_row(small, samples)]}
    drifted = {"machine": {}, "rows": [_row(again, samples * 1.3)]}  # a busier machine
    findings = compare(drifted, base)
    assert gate.verdict(findings) == 0
    assert ("tflm_instructions", gate.PASS) in {(f.metric, f.verdict) for f in findings}
    # the same drift does fail the opt-in wall-clock gate: it is not the default for this
    assert gate.verdict(compare(drifted, base, wall_clock=True)) == 1
    grown = {"machine": {}, "rows": [_row(bigger, samples)]}
    (failed,) = [f for f in compare(grown, base) if f.verdict == gate.FAIL]
    assert failed.metric == "tflm_instructions"
    said(failed.note, "FULLY_CONNECTED +")


def test_an_allowance_is_a_share_of_the_baseline_count():
    base = {"machine": {}, "rows": [{"arch": "a", "variant": "v", "tflm_instructions": 1000}]}
    now = copy.deepcopy(base)
    now["rows"][0]["tflm_instructions"] = 1010
    assert gate.verdict(compare(now, base)) == 1
    tol = gate.Tolerances(instructions_allowance_ratio=0.01)
    assert gate.verdict(compare(now, base, tol)) == 0


def test_without_valgrind_the_count_is_unavailable_and_says_why(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    (record,) = instructions.count([(b"model", 1024, [])])
    assert record.tflm_instructions is None
    assert record.tflm_instructions_error == (
        "unavailable: valgrind not found (apt-get install valgrind)"
    )


def test_wall_clock_needs_enough_independent_samples():
    base = {
        "machine": {},
        "rows": [{"arch": "a", "variant": "v", "latency_samples_us": [1.0] * 50}],
    }
    now = copy.deepcopy(base)
    now["rows"][0]["latency_samples_us"] = [2.0] * 50
    (finding,) = compare(now, base, wall_clock=True)
    assert finding.verdict == gate.NOISE
    said(finding.note, "too few samples")
