"""What a flatbuffer holds, read with the LiteRT schema: operators, weights, float compute."""

import functools
import hashlib
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from bench import InvalidModel
from bench.schema import Graph, Layer

R = TypeVar("R")

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.FLOAT16: np.float16,
    schema.TensorType.INT8: np.int8,
    schema.TensorType.UINT8: np.uint8,
    schema.TensorType.INT16: np.int16,
    schema.TensorType.INT32: np.int32,
}
_FLOATS = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)


# What reading a damaged flatbuffer raises inside the generated schema code.
DAMAGED = (
    struct.error,
    TypeError,
    IndexError,
    AttributeError,
    ValueError,
    KeyError,
    OverflowError,
    UnicodeDecodeError,
    MemoryError,
)


def checked(read: Callable[[bytes], R]) -> Callable[[bytes], R]:
    """Any failure to read the flatbuffer becomes one `InvalidModel`."""

    @functools.wraps(read)
    def wrapper(model: bytes) -> R:
        try:
            return read(model)
        except InvalidModel:
            raise
        except DAMAGED as err:
            raise InvalidModel(
                f"the flatbuffer is damaged ({type(err).__name__}: "
                f"{str(err)[:120]}); rebuild or re-export the model"
            ) from None

    return wrapper


def parse(model: bytes) -> Any:
    """The flatbuffer's root `Model`; InvalidModel when the bytes are not a .tflite model."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise InvalidModel("not a TFLite flatbuffer (no TFL3 identifier)")
    return schema.Model.GetRootAs(model, 0)


def _op_code_names(root: Any) -> list[str]:
    names = []
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i)
        # builtin codes >= 127 live in BuiltinCode; DeprecatedBuiltinCode holds the rest
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = _OP_NAMES.get(number, f"BUILTIN_{number}")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        names.append(name)
    return names


def _operators(root: Any) -> Iterator[tuple[str, Any, Any]]:
    """(name, subgraph, operator) in execution order over every subgraph."""
    names = _op_code_names(root)
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for j in range(graph.OperatorsLength()):
            op = graph.Operators(j)
            yield names[op.OpcodeIndex()], graph, op


@checked
def op_names(model: bytes) -> list[str]:
    return [name for name, _, _ in _operators(parse(model))]


@checked
def weight_tensors(model: bytes) -> list[np.ndarray]:
    """Constant tensors of rank >= 2 (weight matrices and kernels), as stored."""
    root, found = parse(model), []
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            data = root.Buffers(tensor.Buffer()).DataAsNumpy()
            if tensor.ShapeLength() >= 2 and isinstance(data, np.ndarray) and data.size:
                shape = tensor.ShapeAsNumpy()
                found.append(data.view(_DTYPES[tensor.Type()]).reshape(shape))
    return found


@checked
def stateful(model: bytes) -> bool:
    """Does the model carry state from one invoke to the next (variable tensors, as in a
    converted LSTM)? Then every window must start from a reset state."""
    root = parse(model)
    return any(
        root.Subgraphs(g).Tensors(t).IsVariable()
        for g in range(root.SubgraphsLength())
        for t in range(root.Subgraphs(g).TensorsLength())
    )


@checked
def float_compute_ops(model: bytes) -> list[str]:
    """Operators that read or write a float tensor: none in a fully integer model."""
    root, ops = parse(model), []
    for name, graph, op in _operators(root):
        tensors = [*op.InputsAsNumpy(), *op.OutputsAsNumpy()]
        if any(i >= 0 and graph.Tensors(int(i)).Type() in _FLOATS for i in tensors):
            ops.append(name)
    return ops


LAYOUT_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SHAPE"}  # move no data worth counting
POOLS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "SUM"}
# Operators whose work is multiply-accumulates, by the estimator's class.
MAC_OPS = {
    "FULLY_CONNECTED": "dense",
    "BATCH_MATMUL": "dense",
    "CONV_2D": "conv",
    "DEPTHWISE_CONV_2D": "conv",
}


def _shape(tensor: Any) -> list[int]:
    shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else []
    return [max(1, int(d)) for d in shape]  # a dynamic batch (-1) counts as 1


def _macs(name: str, inputs: list[list[int]], output: list[int]) -> int:
    """Multiply-accumulates of one operator at batch 1; the other ops count elements (of
    the output, or of the input for pooling, which reads each input element once)."""
    out = int(np.prod(output)) if output else 1
    if name == "FULLY_CONNECTED":
        return out * inputs[1][-1]  # weights are [outputs, inputs]
    if name == "CONV_2D":
        _, kh, kw, cin = inputs[1]
        return out * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = inputs[1]
        return out * kh * kw
    if name == "BATCH_MATMUL":
        return out * inputs[0][-1]
    if name in LAYOUT_OPS:
        return 0
    if name in POOLS and inputs:
        return int(np.prod(inputs[0]))
    return out


def _elements(graph: Any, indices: Any) -> int:
    return sum(int(np.prod(_shape(graph.Tensors(int(i))))) for i in indices)


@checked
def layers(model: bytes) -> list[Layer]:
    """Per operator: type, shapes, stored parameters, weight bytes and MACs (like an
    "analyze" report)."""
    root, found = parse(model), []
    for name, graph, op in _operators(root):
        ins = [graph.Tensors(int(i)) if i >= 0 else None for i in op.InputsAsNumpy()]
        outs = [graph.Tensors(int(i)) for i in op.OutputsAsNumpy()]
        consts = [t for t in ins if t is not None and root.Buffers(t.Buffer()).DataLength() > 0]
        shapes = [_shape(t) if t is not None else [] for t in ins]
        found.append(
            Layer(
                op=name,
                input_shape=shapes[0] if shapes else [],
                output_shape=_shape(outs[0]) if outs else [],
                params=sum(int(np.prod(_shape(t))) for t in consts),
                weight_bytes=sum(root.Buffers(t.Buffer()).DataLength() for t in consts),
                # an operator on constants only (float16 weights' DEQUANTIZE) runs once at load
                macs=0
                if ins and len(consts) == len(ins)
                else _macs(name, shapes, _shape(outs[0]) if outs else []),
            )
        )
    return found


@checked
def declared_tensors(model: bytes) -> list[tuple[str, list[int], int]]:
    """(name, shape, bytes per element) of every tensor of every subgraph, as declared."""
    root, found = parse(model), []
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            itemsize = np.dtype(_DTYPES.get(tensor.Type(), np.float64)).itemsize
            name = (tensor.Name() or b"").decode(errors="replace")
            found.append((name, _shape(tensor), itemsize))
    return found


@checked
def io_shapes(model: bytes) -> tuple[list[int], list[int]]:
    """The first input's and output's shapes as declared (a dynamic batch counts as 1)."""
    graph = parse(model).Subgraphs(0)
    return (
        _shape(graph.Tensors(int(graph.Inputs(0)))),
        _shape(graph.Tensors(int(graph.Outputs(0)))),
    )


@checked
def io_quantization(model: bytes) -> dict[str, dict]:
    """The first input's and output's type, scale and zero point (0 and 0 for float)."""
    graph = parse(model).Subgraphs(0)
    found = {}
    for side, index in (("input", graph.Inputs(0)), ("output", graph.Outputs(0))):
        tensor = graph.Tensors(int(index))
        q = tensor.Quantization()
        scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else [0.0]
        zeros = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else [0]
        found[side] = {
            "dtype": np.dtype(_DTYPES.get(tensor.Type(), np.float32)).name,
            "scale": float(scales[0]),
            "zero_point": int(zeros[0]),
        }
    return found


@checked
def digest(model: bytes) -> str:
    """The sha256 of what the model computes: each operator (its code, inputs and outputs)
    and each tensor (type, shape, quantization, stored bytes), without the converter's
    metadata; two models with the same digest compute alike."""
    root, sha = parse(model), hashlib.sha256()
    for name, _, op in _operators(root):
        sha.update(f"{name}{op.InputsAsNumpy().tolist()}{op.OutputsAsNumpy().tolist()}".encode())
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            q = tensor.Quantization()
            scales = q.ScaleAsNumpy().tolist() if q is not None and q.ScaleLength() else []
            zeros = q.ZeroPointAsNumpy().tolist() if q is not None and q.ZeroPointLength() else []
            sha.update(f"{tensor.Type()}{_shape(tensor)}{scales}{zeros}".encode())
            data = root.Buffers(tensor.Buffer()).DataAsNumpy()
            sha.update(data.tobytes() if isinstance(data, np.ndarray) else b"")
    return sha.hexdigest()


@checked
def measure(model: bytes) -> Graph:
    weights = weight_tensors(model)
    total = sum(w.size for w in weights)
    per_layer = layers(model)
    graph = parse(model).Subgraphs(0)
    return Graph(
        graph_sha256=digest(model),
        input_elements=_elements(graph, graph.InputsAsNumpy()),
        output_elements=_elements(graph, graph.OutputsAsNumpy()),
        macs=sum(layer.macs for layer in per_layer),
        layers=per_layer,
        ops=dict(Counter(op_names(model))),
        float_compute_ops=dict(Counter(float_compute_ops(model))),
        sparsity=sum(int(np.count_nonzero(w == 0)) for w in weights) / total if total else None,
        weight_unique_values=[int(np.unique(w).size) for w in weights],
        weight_unique_per_channel_max=max(
            (int(np.unique(row).size) for w in weights for row in w.reshape(len(w), -1)),
            default=None,
        ),
    )
