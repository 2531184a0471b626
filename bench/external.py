"""A user's own model (`--model PATH`): a .tflite measured as it is, or a Keras model
that the registry's recipes start from instead of the trained baseline."""

import zipfile
from pathlib import Path
from typing import Any

from bench import InvalidModel, UsageError, files
from bench.cache import digest_bytes
from variants.baseline import Arch

TFLITE, KERAS = (".tflite",), (".keras", ".h5")


def check_path(path: Path) -> None:
    if path.suffix not in TFLITE + KERAS:
        raise UsageError(
            f"{path}: unknown model type {path.suffix!r}; give a {', '.join(TFLITE + KERAS)} file"
        )
    if files.check(path, "model file") == 0:
        raise UsageError(f"{path}: the model file is empty")
    if path.suffix == ".keras" and zipfile.is_zipfile(path):  # a zip: what it unpacks to
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
        if unpacked > files.max_bytes():
            raise UsageError(
                f"{path}: unpacks to {unpacked:,} bytes, over the limit of "
                f"{files.max_bytes():,}; raise EDGEBENCH_MAX_INPUT_BYTES if it is genuine"
            )


def _open_on_litert(model: bytes, _arena: int, _allocations: bool) -> int:
    """In a forked child: open, allocate, invoke at batch 1 and at batch 2 on LiteRT."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    batched = [2, *detail["shape"][1:]]
    try:  # the detection and throughput paths resize the batch
        interpreter.resize_tensor_input(detail["index"], batched)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError):
        return 0  # a model that refuses a batch: those paths say so in its row
    interpreter.set_tensor(detail["index"], np.zeros(batched, detail["dtype"]))
    interpreter.invoke()
    return 0


def read_tflite(path: Path) -> bytes:
    """The flatbuffer, once LiteRT has opened, allocated and invoked it in an isolated
    child: a model that crashes the interpreter costs the child, never the harness."""
    check_path(path)
    return opened(files.read_bytes(path, "model file"), path)


def opened(model: bytes, path: Path) -> bytes:
    """`model` (read from `path`) once LiteRT has opened it in an isolated child."""
    from bench.tflm import probe

    found = probe(model, 0, run=_open_on_litert, label="LiteRT")
    if found.crashed:
        raise InvalidModel(f"{path}: {found.error} opening this model; it is not a usable .tflite")
    if not found.ok:
        reason = found.error.removeprefix("TFLM failed without a message") or "no reason given"
        raise InvalidModel(
            f"{path}: not a valid .tflite model ({reason[:200]}); "
            "was it truncated or is it another format?"
        )
    return model


def load_keras(path: Path) -> Any:
    """Load in safe mode: a Lambda layer's Python code is refused, in .keras and .h5 alike."""
    from variants._tf import keras  # first: it picks tf_keras and quiets TensorFlow
    from variants.convert import quiet_native_stderr

    SafeModeScope = keras.src.saving.serialization_lib.SafeModeScope

    check_path(path)
    try:
        with SafeModeScope(True), quiet_native_stderr():
            model = keras.models.load_model(path, compile=False)
    except Exception as err:  # any loader failure is the file's problem, said in one line
        first = (str(err).strip().splitlines() or [""])[0].split(". ")[0]
        raise UsageError(
            f"{path}: cannot load this Keras model ({type(err).__name__}: {first[:200]})"
        ) from None
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is not None and len(shape) == 3 and None not in shape[1:]:
        return flat(model, shape[1], shape[2])
    if shape is None or len(shape) != 2 or shape[1] is None:
        raise UsageError(
            f"{path}: input shape {model.input_shape} cannot be filled with windows of a "
            "series; the model must take (batch, window) or (batch, window, channels) input"
        )
    return model


def flat(model: Any, steps: int, channels: int) -> Any:
    """A (window, channels) model taking and giving flat windows, as the pipeline has them."""
    from variants._tf import keras

    layers = keras.layers
    return keras.Sequential(
        [
            layers.Input((steps * channels,)),
            layers.Reshape((steps, channels)),
            model,
            layers.Reshape((steps * channels,)),
        ],
        name=f"flat_{model.name}",
    )


def file_hash(path: Path) -> str:
    return digest_bytes(path.read_bytes())


def user_arch(path: Path, window: int) -> Arch:
    """A user's model as an arch: dense and linear-output for the recipes that build a
    model of their own (the distilled student), as the windows are standardized."""
    return Arch("user", window, (), "linear", f"user model {path.name}")
