"""One runtime interface, two interpreters: LiteRT (ai-edge-litert) and TFLite Micro.

Timing and scoring code use only the `Runtime` protocol: `quantize` float windows into
the model's input type, `set_input` one quantized window, `invoke`, read the
dequantized `output`, and `scores` (reconstruction MSE per window) for many windows.
A model with state (a converted LSTM keeps its hidden state in variable tensors) is
reset before each window is set, as firmware scoring independent windows must do.
Both runtimes open the model in this process: only models that LiteRT has opened in
an isolated probe (or that edgebench built) reach them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bench import graph

WARMUP = 200  # untimed invokes before timing, in the run and the pytest suite alike
BUDGET_NS = 50_000_000  # of timed invokes per model and runtime, once MIN_SAMPLES are in
MIN_SAMPLES = 200  # the wall-clock gate's block medians need 100 per side


def quantize(x: np.ndarray, dtype: Any, scale: float, zero: int) -> np.ndarray:
    """Float windows -> the model's input dtype (integer models take quantized input)."""
    if not np.issubdtype(dtype, np.integer):
        return np.asarray(x, dtype=dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, scale: float, zero: int) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer):
        return y.astype(np.float32, copy=False)
    return (y.astype(np.float32) - zero) * np.float32(scale)


class Runtime(Protocol):
    name: str

    def quantize(self, x: np.ndarray) -> np.ndarray: ...

    def set_input(self, q: np.ndarray) -> None: ...

    def invoke(self) -> None: ...

    def output(self) -> np.ndarray: ...

    def scores(
        self, x: np.ndarray, reduce: "Reduce" = ..., seen: np.ndarray | None = None
    ) -> np.ndarray: ...


Reduce = Callable[[np.ndarray], np.ndarray]  # (windows, values) squared errors -> scores


def mean_error(errors: np.ndarray) -> np.ndarray:
    """The window's mean squared error (the case study's score)."""
    return errors.mean(axis=1)


def mse(recon: np.ndarray, x: np.ndarray, reduce: Reduce = mean_error) -> np.ndarray:
    """Reconstruction error per window, reduced by `reduce` (default: the mean)."""
    return reduce((recon.reshape(len(x), -1) - x.reshape(len(x), -1)) ** 2)


class LiteRT:
    """A .tflite model on LiteRT, one thread; batch 1 unless `scores` resizes it. LiteRT
    hands what it can to its default delegate, XNNPACK; a model XNNPACK refuses to prepare
    runs on LiteRT's built-in kernels instead, and `xnnpack_refused` says why."""

    name = "litert"

    def __init__(self, model: bytes, batch: int = 1):
        self._model = model
        self.xnnpack_refused: str | None = None
        self._interpreter = self._open()
        self._stateful = graph.stateful(model)
        self.input = self._interpreter.get_input_details()[0]
        self.output_detail = self._interpreter.get_output_details()[0]
        self.batch = 0
        self._batches: bool | None = None
        self._resize(batch)

    def _open(self) -> Any:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        if self.xnnpack_refused is None:
            return Interpreter(model_content=self._model, num_threads=1)
        builtin = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        return Interpreter(
            model_content=self._model, num_threads=1, experimental_op_resolver_type=builtin
        )

    def _resize(self, batch: int) -> None:
        if batch == self.batch:
            return
        try:
            self._interpreter.resize_tensor_input(
                self.input["index"], [batch, *self.input["shape"][1:]]
            )
            self._interpreter.allocate_tensors()
        except RuntimeError as err:
            if self.xnnpack_refused is not None or "XNNPACK" not in str(err):
                raise
            self.xnnpack_refused = str(err).strip()
            self._interpreter = self._open()
            return self._resize(batch)
        self.batch = batch

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return quantize(x, self.input["dtype"], *self.input["quantization"])

    def set_input(self, q: np.ndarray) -> None:
        if self._stateful:
            self._interpreter.reset_all_variables()
        self._interpreter.set_tensor(self.input["index"], q)

    def invoke(self) -> None:
        self._interpreter.invoke()

    def output(self) -> np.ndarray:
        raw = self._interpreter.get_tensor(self.output_detail["index"])
        return dequantize(raw, *self.output_detail["quantization"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """A whole batch of float windows through quantize, invoke, dequantize."""
        self._resize(len(x))
        self.set_input(self.quantize(x))
        self.invoke()
        return self.output()

    def batches(self) -> bool:
        """Can the batch dimension be resized? Not for a model converted at batch 1 whose
        graph holds static shapes (RESHAPE to [1, ...])."""
        if self._batches is None:
            try:
                self._resize(2)
                self._batches = True
            except (ValueError, RuntimeError):
                self._batches = False
            self._reset()
        return self._batches

    def _reset(self) -> None:
        self.batch = 0
        self._interpreter.resize_tensor_input(self.input["index"], list(self.input["shape"]))
        self._interpreter.allocate_tensors()
        self.batch = int(self.input["shape"][0])

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The dequantized outputs of many inputs: batched where the model allows, else
        one invoke per input."""
        if self.batches():
            return self.run(x)
        q = self.quantize(x[:, None])
        found = []
        for window in q:
            self.set_input(window)
            self.invoke()
            found.append(self.output()[0])
        return np.stack(found)

    def scores(
        self,
        x: np.ndarray,
        reduce: Reduce = mean_error,
        seen: np.ndarray | None = None,
        chunk: int = 65_536,
    ) -> np.ndarray:
        """Each window's score: `reduce` of its squared reconstruction errors, the model
        given `seen` (default `x`) and its output compared with `x`."""
        given = x if seen is None else seen
        found = [
            mse(self.outputs(given[start : start + chunk]), x[start : start + chunk], reduce)
            for start in range(0, len(x), chunk)
        ]
        found = [part.astype(np.float32) for part in found]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.float32)


class Micro:
    """The TFLM interpreter, at an arena size already proven to work (by a probe)."""

    name = "tflm"

    def __init__(self, model: bytes, arena_size: int):
        from tflite_micro.python.tflite_micro import runtime

        self._interpreter = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
        self._stateful = graph.stateful(model)
        self.input = self._interpreter.get_input_details(0)
        self.output_detail = self._interpreter.get_output_details(0)

    @staticmethod
    def _params(detail: dict) -> tuple[float, int]:
        q = detail["quantization_parameters"]
        scales, zeros = q["scales"], q["zero_points"]
        return (float(scales[0]), int(zeros[0])) if len(scales) else (0.0, 0)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return quantize(x, self.input["dtype"], *self._params(self.input))

    def set_input(self, q: np.ndarray) -> None:
        if self._stateful:
            self._interpreter.reset()
        self._interpreter.set_input(q, 0)

    def invoke(self) -> None:
        self._interpreter.invoke()

    def output(self) -> np.ndarray:
        return dequantize(self._interpreter.get_output(0), *self._params(self.output_detail))

    def scores(
        self, x: np.ndarray, reduce: Reduce = mean_error, seen: np.ndarray | None = None
    ) -> np.ndarray:
        """One invoke per window: TFLM has no batching."""
        found = []
        for window in self.quantize((x if seen is None else seen)[:, None]):
            self.set_input(window)
            self.invoke()
            found.append(self.output().reshape(1, -1))
        if not found:
            return np.zeros(0, dtype=np.float32)
        return mse(np.concatenate(found), x, reduce).astype(np.float32)


@dataclass(frozen=True)
class Budget:
    """How long timing may take, read on which clock: `ns` of timed invokes (None: no
    limit). Tests pass a fake clock."""

    ns: int | None = BUDGET_NS
    clock: Callable[[], int] = time.perf_counter_ns


def time_invokes(
    rt: Runtime, windows: np.ndarray, samples: int, warmup: int = WARMUP, budget: Budget = Budget()
) -> list[int]:
    """Nanoseconds of each `invoke()` after `warmup` untimed ones; one window per invoke,
    cycling through `windows`, each set before the clock starts. Timing stops at
    `samples`, or earlier once `budget_ns` of timed invokes and MIN_SAMPLES are in (a
    slow model gets fewer samples, and the row says how many); warm-up stops at a fifth
    of the budget."""
    inputs = rt.quantize(windows[:, None])
    limit, clock = budget.ns if budget.ns is not None else float("inf"), budget.clock
    times: list[int] = []
    i = warm = timed = 0
    while len(times) < samples and not (len(times) >= MIN_SAMPLES and timed > limit):
        rt.set_input(inputs[i % len(inputs)])
        i += 1
        start = clock()
        rt.invoke()
        took = clock() - start
        if i <= warmup and warm <= limit / 5:
            warm += took
        else:
            times.append(took)
            timed += took
    return times
