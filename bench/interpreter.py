"""The host interpreter (ai-edge-litert), with int8 input/output handled for the caller."""

import numpy as np
from ai_edge_litert.interpreter import Interpreter


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
        """Float windows -> the model's input dtype (int8 models take quantized input)."""
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return np.asarray(x, dtype=np.float32)
        scale, zero = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def dequantize(self, y: np.ndarray) -> np.ndarray:
        if self.output["dtype"] == np.float32:
            return y
        scale, zero = self.output["quantization"]
        return (y.astype(np.float32) - zero) * scale

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
        scores[start : start + len(part)] = np.mean((model.run(part) - part) ** 2, axis=1)
    return scores
