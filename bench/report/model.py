"""One model's layers and operators."""

from tabulate import tabulate

from bench.schema import Row


def layer_table(row: Row) -> list[str]:
    """Per-layer analysis of one model: where its MACs and weight bytes go."""
    layers = row.graph.layers
    if not layers:
        return []
    macs = sum(la.macs for la in layers) or 1
    wbytes = sum(la.weight_bytes for la in layers) or 1
    body = [
        [
            i,
            la.op,
            "x".join(map(str, la.input_shape)),
            "x".join(map(str, la.output_shape)),
            f"{la.params:,}",
            f"{la.weight_bytes:,}",
            f"{la.macs:,}",
            f"{la.macs / macs:.1%}",
            f"{la.weight_bytes / wbytes:.1%}",
        ]
        for i, la in enumerate(layers)
    ]
    return [
        "",
        f"<details><summary>Per-layer analysis of <code>{row.variant}</code> "
        f"({row.graph.macs or 0:,} MACs)</summary>",
        "",
        tabulate(
            body,
            headers=[
                "#",
                "op",
                "input",
                "output",
                "params",
                "weight B",
                "MACs",
                "MACs %",
                "weights %",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        *op_table(row),
        "</details>",
    ]


def op_table(row: Row) -> list[str]:
    """Instructions per operator type beside its MACs: where the interpreter's time goes."""
    counts = row.instructions.tflm_instructions_by_op
    if not counts:
        return []
    macs: dict[str, int] = {}
    for la in row.graph.layers or []:
        macs[la.op] = macs.get(la.op, 0) + la.macs
    total = row.instructions.tflm_instructions or 1
    body = [
        [
            op,
            f"{n:,}",
            f"{n / total:.1%}",
            f"{macs.get(op, 0):,}",
            f"{n / macs[op]:.1f}" if macs.get(op) else "n/a",
        ]
        for op, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return [
        f"TFLM instructions per inference by operator ({total:,} in all; "
        f"{row.instructions.tflm_instructions_tool}):",
        "",
        tabulate(
            body,
            headers=["op", "instructions", "share", "MACs", "instr / MAC"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
