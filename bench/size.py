"""Flatbuffer size: total, weight buffers vs the rest, gzip, and stored parameters.

`size_data_bytes` sums the buffers that constant tensors point to; metadata buffers
(runtime version, conversion metadata) count as non-data, like the graph itself.

`params` counts the elements of constant tensors (weights, biases and any other
constant) as stored: the converter drops an all-zero bias, so an untrained model
can store fewer parameters than Keras counts.
"""

import gzip

import numpy as np

from bench.graph import checked, parse
from bench.schema import Size


@checked
def measure(model: bytes) -> Size:
    root = parse(model)
    buffer_bytes = [
        root.Buffers(i).DataLength() or int(root.Buffers(i).Size())
        for i in range(root.BuffersLength())
    ]
    params, weight_buffers = 0, set()
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            if buffer_bytes[tensor.Buffer()] > 0:
                weight_buffers.add(tensor.Buffer())
                params += int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
    data = sum(buffer_bytes[b] for b in weight_buffers)
    return Size(
        size_bytes=len(model),
        size_data_bytes=data,
        size_nondata_bytes=len(model) - data,
        size_gzip_bytes=len(gzip.compress(model, compresslevel=9, mtime=0)),
        params=params,
    )
