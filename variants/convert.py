"""Keras -> .tflite with the real TF converter (batch 1, as MCU firmware runs it), its native
chatter kept off the console."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.build import BuildContext


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 (where the converter's C++ logs go) to a temp file."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@dataclass(frozen=True)
class Conversion:
    """How the TF converter quantizes. `representative`: the windows that set the ranges
    (full-integer quantization); `int8_io`: int8 input and output; `per_tensor`: one
    scale per dense weight tensor (no per-channel buffers in TFLM's arena); `int16x8`:
    16-bit activations, 8-bit weights, int16 input and output."""

    optimize: bool = False
    float16: bool = False
    representative: Any = None
    int8_io: bool = False
    per_tensor: bool = False
    int16x8: bool = False


FLOAT = Conversion()  # as trained: float32 weights and activations


def to_tflite(model: Any, how: Conversion = FLOAT) -> bytes:
    """The Keras model as a .tflite flatbuffer, converted `how`."""
    from variants._tf import tf

    # Batch 1, as firmware runs it: static shapes everywhere (a dynamic batch leaves -1 in
    # RESHAPE, which TFLM refuses) and TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM.
    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], _holder(model))
    _configure(converter, how)
    quantizing = how.optimize or how.float16 or how.representative is not None
    with quiet_native_stderr(), breadcrumb("quantizing" if quantizing else "converting"):
        return converter.convert()


BREADCRUMBS = "EDGEBENCH_BREADCRUMBS"  # a folder: what each worker process is doing


@contextlib.contextmanager
def breadcrumb(doing: str) -> Iterator[None]:
    """While the converter runs, `doing` in a file named by this process's pid under
    $EDGEBENCH_BREADCRUMBS (if set): a worker the converter kills leaves it behind, and
    the run says which step crashed (`crashed_doing`)."""
    folder = os.environ.get(BREADCRUMBS)
    path = Path(folder) / str(os.getpid()) if folder else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doing)
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def crashed_doing(folder: Path, pid: int | None) -> str | None:
    """What the worker `pid` was doing in the converter when it died, or None."""
    path = folder / str(pid)
    if pid is None or not path.is_file():
        return None
    doing = path.read_text()[:40]
    path.unlink(missing_ok=True)
    return doing


def _configure(converter: Any, how: Conversion) -> None:
    from variants._tf import tf

    if how.optimize or how.float16 or how.representative is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if how.float16:
        converter.target_spec.supported_types = [tf.float16]
    if how.representative is not None:
        samples = np.asarray(how.representative, dtype=np.float32)
        converter.representative_dataset = lambda: ([s[None]] for s in samples)
    if how.int8_io:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    if how.per_tensor:
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    if how.int16x8:
        ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        converter.target_spec.supported_ops = [ops]
        converter.inference_input_type = converter.inference_output_type = tf.int16


def _holder(model: Any) -> Any:
    """What the converter saves beside the function: the model's variables alone. Handing it
    the Keras model makes it serialize every layer first (3-6x the conversion's time), and
    for some models (QAT Conv1D) that fails and the converter silently takes its other path."""
    from variants._tf import tf

    holder = tf.Module()
    holder.weights = list(model.variables)
    return holder


def to_int8(
    ctx: "BuildContext", model: Any, representative_windows: int = 500, **options: Any
) -> bytes:
    """Full-integer quantization with int8 input and output (or `int16x8`), its ranges set
    on representative training windows spread evenly over the training part."""
    x = ctx.windows.train.x
    pick = np.linspace(0, len(x) - 1, min(representative_windows, len(x))).astype(int)
    int8_io = not options.get("int16x8", False)
    return to_tflite(model, Conversion(representative=x[pick], int8_io=int8_io, **options))
