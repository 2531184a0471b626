"""What a flatbuffer holds: its operators, read with the LiteRT schema."""

from collections import Counter

from ai_edge_litert import schema_py_generated as schema

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def parse(model: bytes):
    """The flatbuffer's root `Model`; a ValueError when the bytes are not a .tflite model."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    return schema.Model.GetRootAs(model, 0)


def op_names(model: bytes) -> list[str]:
    """Operator names in execution order over every subgraph."""
    root = parse(model)
    codes = []
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i)
        # builtin codes >= 127 live in BuiltinCode; DeprecatedBuiltinCode holds the rest
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = _OP_NAMES.get(number, f"BUILTIN_{number}")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        codes.append(name)
    return [codes[graph.Operators(j).OpcodeIndex()]
            for g in range(root.SubgraphsLength())
            for graph in [root.Subgraphs(g)]
            for j in range(graph.OperatorsLength())]


def measure(model: bytes) -> dict:
    return {"ops": dict(Counter(op_names(model)))}
