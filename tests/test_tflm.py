import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import said, typed

from bench import UsageError, export, graph, tflm
from bench.runtime import Budget, Micro, mean_error, time_invokes
from bench.schema import Allocation, Scaling
from variants.convert import Conversion, to_tflite

RECORDED = """\
[RecordingMicroAllocator] Arena allocation total 1488 bytes
[RecordingMicroAllocator] Arena allocation head 32 bytes
[RecordingMicroAllocator] Arena allocation tail 1456 bytes
[RecordingMicroAllocator] 'TfLiteEvalTensor data' used 192 bytes with alignment overhead \
(requested 192 bytes for 8 allocations)
[RecordingMicroAllocator] 'Persistent buffer data' used 328 bytes with alignment overhead \
(requested 288 bytes for 9 allocations)
"""


def test_allocator_breakdown_is_parsed():
    parsed = tflm.parse_allocations(RECORDED)
    assert parsed["arena_recorded_bytes"] == 1488
    assert (parsed["arena_head_bytes"], parsed["arena_tail_bytes"]) == (32, 1456)
    assert parsed["arena_breakdown"]["Persistent buffer data"] == Allocation(
        used_bytes=328, requested_bytes=288, count=9
    )
    assert len(parsed["arena_breakdown"]) == 2


@pytest.mark.parametrize("need", [1, 16, 17, 1000, 12_345, 8 << 20])
def test_bisection_finds_the_smallest_fitting_multiple_of_16(need):
    asked = []

    def fits(size):
        asked.append(size)
        return size >= need

    found = tflm.smallest_arena(fits, hi=8 << 20)
    assert found == -(-need // 16) * 16
    assert len(asked) <= 20  # log2 of the range in 16-byte steps


@pytest.mark.parametrize("guess", [None, 16, 1000, 1008, 1024, 12_345, 8 << 20])
@pytest.mark.parametrize("need", [1, 16, 1000, 1008, 12_345])
def test_a_guess_never_changes_the_answer_and_a_right_one_takes_two_probes(need, guess):
    asked = []

    def fits(size):
        asked.append(size)
        return size >= need

    found = tflm.smallest_arena(fits, hi=1 << 20, guess=guess)
    assert found == -(-need // 16) * 16
    if guess is not None and -(-guess // 16) * 16 == found:
        assert len(asked) <= 2


def test_a_probe_that_crashes_takes_only_its_own_process():
    def segfault(model, arena_size, allocations):
        os.kill(os.getpid(), signal.SIGSEGV)

    result = tflm.probe(b"", 4096, run=segfault)
    assert not result.ok
    said(result.error, "crashed (SIGSEGV) with a 4,096-byte arena")
    assert tflm.probe(b"", 1, run=lambda *a: 0).ok  # and the harness goes on


def test_a_probe_that_raises_reports_the_exception():
    def boom(model, arena_size, allocations):
        os.write(1, b"kernel says no\n")
        raise RuntimeError("TFLM failed to allocate tensors")

    result = tflm.probe(b"", 1024, run=boom)
    assert not result.ok
    assert result.error == "kernel says no; RuntimeError: TFLM failed to allocate tensors"


def test_real_arena_is_the_smallest_that_works(tiny_models):
    model = tiny_models["int8"].model
    measured = tflm.arena(model)
    assert measured.tflm_deployable
    assert measured.tflm_error is None
    size = measured.arena_bytes
    assert size == 1872  # the tiny seed int8 model on the 64-bit host build
    assert measured.arena_recorded_bytes == 1488  # what the recording allocator sums
    assert (tflm.probe(model, size).ok, tflm.probe(model, size - 16).ok) == (True, False)
    said(measured.arena_breakdown, "TfLiteEvalTensor data")


def test_float16_is_refused_with_the_kernels_reason(tiny_models):
    measured = tflm.arena(tiny_models["float16"].model)
    assert measured.tflm_deployable is False
    said(measured.tflm_error, "DEQUANTIZE")
    said(measured.tflm_failing_ops, "DEQUANTIZE")


def test_hybrid_dynamic_range_is_refused_with_the_kernels_reason():
    from variants._tf import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.layers.Input((64,)), keras.layers.Dense(32), keras.layers.Dense(64)]
    )  # >= 1,024 weights: quantized
    measured = tflm.arena(to_tflite(model, Conversion(optimize=True)))
    assert measured.tflm_deployable is False
    said(measured.tflm_error, "FLOAT32 with filter type: INT8")
    said(measured.tflm_failing_ops, "FULLY_CONNECTED")


def test_tflm_scores_agree_with_litert(tiny_ctx, tiny_models):
    x = tiny_ctx.windows.test.x[:64]
    f32, i8 = tiny_models["float32"].model, tiny_models["int8"].model
    cuts = [(0.01, mean_error), (0.01, lambda errors: errors[:, -1])]
    same, newest = tflm.agreement(f32, tflm.arena(f32).arena_bytes, x, cuts)
    assert same.tflm_score_max_abs_diff < 1e-5
    assert same.tflm_decisions_differ == 0
    assert newest.tflm_score_max_abs_diff < 1e-5
    assert newest.tflm_score_max_abs_diff != same.tflm_score_max_abs_diff  # another score
    quantized = tflm.agreement(i8, tflm.arena(i8).arena_bytes, x, cuts[:1])[0]
    assert quantized.tflm_score_max_abs_diff < 0.05


def test_tflm_latency_from_a_fake_clock(tiny_ctx, tiny_models):
    micro = Micro(tiny_models["int8"].model, tflm.GENEROUS_ARENA)
    ticks = iter(range(0, 10**9, 700))
    times = time_invokes(micro, tiny_ctx.windows.test.x, 10, 2, Budget(clock=lambda: next(ticks)))
    assert times == [700] * 10


@pytest.mark.parametrize(
    ("name", "ident"),
    [("deep-int8", "deep_int8"), ("8bit.model v2", "m_8bit_model_v2"), ("--", "model")],
)
def test_c_identifiers_are_sanitized(name, ident):
    assert export.c_identifier(name) == ident


def test_arena_constant_adds_the_margin_and_aligns():
    assert export.arena_constant(1000, 0.25) == 1264
    assert export.arena_constant(1024, 0.0) == 1024


def _firmware(tiny_models, tiny_ctx) -> export.Firmware:
    scaler = tiny_ctx.windows.scaler
    return export.Firmware(
        "seed-int8",
        tiny_models["int8"].model,
        1872,
        0.25,
        window=10,
        channels=1,
        scaling=Scaling(
            series="nepse",
            kind=scaler.kind,
            log=scaler.log,
            shift=list(scaler.shift),
            scale=list(scaler.scale),
            input_low=[0.0],
            input_high=[1.0],
        ),
        threshold=0.0818,
        score="max:3",
    )


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C/C++ compiler")
def test_export_compiles_as_c_and_cpp_and_holds_the_model(tmp_path, tiny_models, tiny_ctx):
    fw = _firmware(tiny_models, tiny_ctx)
    export.write(tmp_path, fw)
    (tmp_path / "use.c").write_text("""
#include "model_data.h"
#include <stdint.h>
#include <stdio.h>
int main(void) {
  const unsigned char* m = g_seed_int8_model_data;
  printf("%u %c%c%c%c %d %d %d %d %d %d %d", g_seed_int8_model_data_len, m[4], m[5], m[6], m[7],
         SEED_INT8_ARENA_SIZE, SEED_INT8_WINDOW, SEED_INT8_INPUT_INT8,
         SEED_INT8_THRESHOLD > 0.08f, (int)((uintptr_t)m % 16), SEED_INT8_SCORE_POINTS,
         SEED_INT8_SCORE_MAX);
  return 0;
}
""")
    for command in (
        ["gcc", "-std=c99", "-Wall", "-Werror", "-c", "use.c"],
        ["gcc", "-std=c99", "-Wall", "-Werror", "-c", "model_data.c"],  # C, and C++ below
        ["g++", "-std=c++17", "-Wall", "-Werror", "-x", "c++", "-c", "model_data.c", "-o", "cc.o"],
        ["g++", "-std=c++17", "-Wall", "-Werror", "use.o", "model_data.o", "-o", "check"],
        ["g++", "-std=c++17", "-Wall", "-Werror", "main.cc", "model_data.o", "-o", "example"],
    ):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
    out = subprocess.run([tmp_path / "check"], capture_output=True, text=True, check=True)
    assert out.stdout == f"{len(fw.model)} TFL3 2352 10 1 1 0 3 1"  # max:3: the newest 3
    example = subprocess.run([tmp_path / "example"], capture_output=True, text=True)
    assert example.returncode == 0
    said(example.stdout, "threshold 0.0818")
    ops = (tmp_path / "model_ops.h").read_text()
    said(
        ops,
        "resolver.AddFullyConnected(EDGEBENCH_REGISTRATION(0, tflite::Register_FULLY_CONN",
        "resolver.AddLogistic(EDGEBENCH_REGISTRATION(1, tflite::Register_LOGISTIC()))",
    )


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
def test_export_compiles_for_a_cortex_m4(tmp_path, tiny_models, tiny_ctx):
    fw = _firmware(tiny_models, tiny_ctx)
    export.write(tmp_path, fw)
    (tmp_path / "use.c").write_text(
        '#include "model_data.h"\nint size(void) { return SEED_INT8_ARENA_SIZE; }\n'
    )
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            "-std=c99",
            "-mcpu=cortex-m4",
            "-mthumb",
            "-Wall",
            "-Werror",
            "-c",
            "use.c",
        ],
        cwd=tmp_path,
        check=True,
    )


def test_export_refuses_a_variant_tflm_cannot_run(tmp_path):
    res = {
        "rows": [
            {
                "variant": "float16",
                "arch": "seed",
                "tflm_deployable": False,
                "tflm_error": "DEQUANTIZE refused",
            }
        ]
    }
    with pytest.raises(UsageError, match="not deployable on TFLite Micro: DEQUANTIZE"):
        export.from_results(typed(res), tmp_path / "results.json", "float16", None)


def test_export_asks_for_the_arch_when_ambiguous(tmp_path):
    res = {"rows": [{"variant": "int8", "arch": a} for a in ("seed", "deep")]}
    with pytest.raises(UsageError, match="seed, deep; choose one with --arch"):
        export.from_results(typed(res), tmp_path / "results.json", "int8", None)


def test_inputs_of_any_shape_run_on_tflm():
    from variants._tf import keras

    model = keras.Sequential(
        [
            keras.layers.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    flat = to_tflite(model)
    inputs = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    measured = tflm.arena(flat)
    assert measured.tflm_deployable
    assert measured.arena_bytes == 1904
    timed = tflm.latency(flat, measured.arena_bytes, inputs, samples=5, warmup=1)
    assert timed.tflm_latency_samples == len(timed.tflm_latency_samples_us) == 5


TREE = Path(__file__).resolve().parents[2] / "shared" / "tflm"


def _host_build(tree: Path, folder: Path, sources: list[str]) -> list[Path]:
    """TFLM's sources compiled for this host (CMSIS-NN's portable C paths), in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    from bench.firmware import build

    includes = [f"-I{tree / i}" for i in build.INCLUDES]
    defines = ["-DTF_LITE_STATIC_MEMORY", "-DCMSIS_NN", "-DTF_LITE_STRIP_ERROR_STRINGS"]

    def one(source: str) -> Path:
        target = folder / (source.replace("/", "_") + ".o")
        cxx = source.endswith(".cc")
        compiler = ["g++", "-std=c++17", "-fno-rtti", "-fno-exceptions"] if cxx else ["gcc"]
        command = [*compiler, "-O1", *defines, *includes, "-c", str(tree / source)]
        subprocess.run([*command, "-o", str(target)], check=True, capture_output=True)
        return target

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(one, sources))


@pytest.mark.slow
@pytest.mark.skipif(not TREE.is_dir() or shutil.which("g++") is None, reason="no TFLM tree")
def test_the_exported_example_streams_windows_as_tflm_scores_them(tmp_path, tiny_models, tiny_ctx):
    """Built on the host over a TFLM tree: set up once, five windows of its demo stream
    scored and checked against TFLM's Python interpreter on the same windows."""
    from tflite_micro.python.tflite_micro import runtime

    from bench.firmware import build

    fw = _firmware(tiny_models, tiny_ctx)
    export.write(tmp_path, fw)
    ops = tuple(dict.fromkeys(graph.op_names(fw.model)))
    objects = _host_build(
        TREE, tmp_path, build.framework_sources(TREE) + build.kernel_sources(TREE, ops)
    )
    subprocess.run(["ar", "rcs", "libtflm.a", *map(str, objects)], cwd=tmp_path, check=True)
    subprocess.run(["gcc", "-c", "model_data.c"], cwd=tmp_path, check=True)
    includes = [f"-I{TREE / i}" for i in build.INCLUDES]
    linked = subprocess.run(
        ["g++", "-std=c++17", "-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_STRIP_ERROR_STRINGS",
         *includes, "main.cc", "model_data.o", "libtflm.a", "-o", "stream"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert linked.returncode == 0, linked.stderr[-2000:]
    done = subprocess.run([tmp_path / "stream"], capture_output=True, text=True, check=True)
    scores = [float(line.split()[3]) for line in done.stdout.splitlines()]
    assert len(scores) == export.STREAM_WINDOWS

    interpreter = runtime.Interpreter.from_bytes(fw.model, arena_size=1 << 16)
    qin, qout = interpreter.get_input_details(0), interpreter.get_output_details(0)
    (s_in,), (z_in,) = (qin["quantization_parameters"][k] for k in ("scales", "zero_points"))
    (s_out,), (z_out,) = (qout["quantization_parameters"][k] for k in ("scales", "zero_points"))
    f32 = np.float32
    stream = f32(1) + f32(0.5) * np.sin(f32(0.3) * np.arange(10 + 5, dtype=f32))
    shift, scale = f32(fw.scaling.shift[0]), f32(fw.scaling.scale[0])
    for t, score in enumerate(scores):
        raw = stream[t : t + 10]
        scaled = ((np.log1p(raw) if fw.scaling.log else raw) - shift) / scale
        # the demo stream lies below the training range: the model is given 0s
        x = np.clip(scaled, f32(0), f32(1)) / f32(s_in)
        rounded = np.sign(x) * np.floor(np.abs(x) + 0.5)  # lround: half away from zero
        q = np.clip(rounded + z_in, -128, 127).astype(np.int8)
        interpreter.set_input(q.reshape(qin["shape"]), 0)
        interpreter.invoke()
        y = f32(s_out) * (interpreter.get_output(0).reshape(-1).astype(f32) - f32(z_out))
        newest = ((y - scaled) ** 2)[-3:]  # max:3, against the unclipped values
        assert score == pytest.approx(float(newest.max()), rel=1e-3)
