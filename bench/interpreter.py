"""The host interpreter (ai-edge-litert), with int8 input/output handled for the caller."""

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def quantize(x: np.ndarray, dtype, scale: float, zero: int) -> np.ndarray:
    """Float windows -> the model's input dtype (integer models take quantized input)."""
    if not np.issubdtype(dtype, np.integer):
        return np.asarray(x, dtype=dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, scale: float, zero: int) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer):
        return y.astype(np.float32, copy=False)
    return (y.astype(np.float32) - zero) * np.float32(scale)


class HostModel:
    """A .tflite model on LiteRT, one thread; `run` takes and returns float32 windows."""

    def __init__(self, model: bytes, batch: int = 1):
        self.interpreter = Interpreter(model_content=model, num_threads=1)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = None
        self.resize(batch)

    def resize(self, batch: int) -> None:
        if batch != self.batch:
            shape = [batch, *self.input["shape"][1:]]
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            self.interpreter.allocate_tensors()
            self.batch = batch

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return quantize(x, self.input["dtype"], *self.input["quantization"])

    def dequantize(self, y: np.ndarray) -> np.ndarray:
        return dequantize(y, *self.output["quantization"])

    def invoke_raw(self, q: np.ndarray) -> np.ndarray:
        """One invoke on already-quantized input of the current batch size."""
        self.interpreter.set_tensor(self.input["index"], q)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])

    def run(self, x: np.ndarray) -> np.ndarray:
        self.resize(len(x))
        return self.dequantize(self.invoke_raw(self.quantize(x)))


def reconstruction_error(model: HostModel, x: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Anomaly score per window: mean squared error against the float input, batched."""
    scores = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk]
        error = (model.run(part) - part) ** 2
        scores[start : start + len(part)] = error.reshape(len(part), -1).mean(axis=1)
    return scores
