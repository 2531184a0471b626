"""What a flatbuffer holds, read with the LiteRT schema: operators, weights, float compute."""

from collections import Counter

import numpy as np
from ai_edge_litert import schema_py_generated as schema

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT16: np.float16,
           schema.TensorType.INT8: np.int8, schema.TensorType.UINT8: np.uint8,
           schema.TensorType.INT16: np.int16, schema.TensorType.INT32: np.int32}
_FLOATS = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)


def parse(model: bytes):
    """The flatbuffer's root `Model`; a ValueError when the bytes are not a .tflite model."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    return schema.Model.GetRootAs(model, 0)


def _op_code_names(root) -> list[str]:
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


def _operators(root):
    """(name, subgraph, operator) in execution order over every subgraph."""
    names = _op_code_names(root)
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for j in range(graph.OperatorsLength()):
            op = graph.Operators(j)
            yield names[op.OpcodeIndex()], graph, op


def op_names(model: bytes) -> list[str]:
    return [name for name, _, _ in _operators(parse(model))]


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


def float_compute_ops(model: bytes) -> list[str]:
    """Operators that read or write a float tensor: none in a fully integer model."""
    root, ops = parse(model), []
    for name, graph, op in _operators(root):
        tensors = [*op.InputsAsNumpy(), *op.OutputsAsNumpy()]
        if any(i >= 0 and graph.Tensors(int(i)).Type() in _FLOATS for i in tensors):
            ops.append(name)
    return ops


def measure(model: bytes) -> dict:
    weights = weight_tensors(model)
    total = sum(w.size for w in weights)
    return {
        "ops": dict(Counter(op_names(model))),
        "float_compute_ops": dict(Counter(float_compute_ops(model))),
        "sparsity": sum(int(np.count_nonzero(w == 0)) for w in weights) / total if total else None,
        "weight_unique_values": [int(np.unique(w).size) for w in weights],
        "weight_unique_per_channel_max": max(
            (int(np.unique(row).size) for w in weights for row in w.reshape(len(w), -1)),
            default=None),
    }
