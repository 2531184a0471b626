"""The one schema of `results.json`: typed records per metric family, with units.

A row of the results file is flat (`row["size_bytes"]`), and every key it may hold
is a field of exactly one record (`measures`, `quality`; their parts in `parts`), the
row of them in `row`, the JSON Schema in `document`. Each metric module returns its record; the
pipeline merges records into the row with `to_dict`. Field metadata carries the
unit, the report's column label and format, and how the gate judges the field, so
the report, the gate, pytest-benchmark's `extra_info`, the JSON Schema printed by
`edgebench schema` and the tests all derive from here.

Each record also names the measurement conditions its numbers depend on
(`DEPENDS_ON`, keys of `Conditions`): the gate compares a field of two rows only
when those conditions agree, and otherwise says "not comparable".
"""

from bench.schema.base import (
    CONTROL,
    GATING,
    NAME,
    SCHEMA_VERSION,
    Record,
    label_of,
    metric,
    safe_name,
)
from bench.schema.document import (
    BOARD,
    CALIBRATION,
    CONFIG,
    DATASET,
    MAX_CHANNELS,
    MAX_ROWS,
    NAB_FLOOR,
    NONNEGATIVE,
    NOT_SHARES,
    SCALARS,
    SCALING,
    TRACE,
    UNSIGNED,
    bounds,
    json_schema,
    record_schema,
    row_schema,
)
from bench.schema.measures import (
    Firmware,
    Graph,
    HostLatency,
    Identity,
    Instructions,
    Size,
    Tflm,
    TflmLatency,
    Timed,
)
from bench.schema.parts import (
    ADDED,
    MODEL_SHAPE,
    TRAINING,
    Allocation,
    BoardEstimate,
    Conditions,
    CoreFirmware,
    Layer,
    SeriesDetection,
    StepError,
    Timing,
)
from bench.schema.quality import (
    Agreement,
    Boards,
    Detection,
    Seeds,
    VsFloat32,
)
from bench.schema.row import (
    ATTRIBUTE,
    FIELDS,
    RECORDS,
    REQUIRED,
    Row,
    column,
    gated,
    info,
    record_of,
    scalar_fields,
)

__all__ = [
    "ADDED",
    "ATTRIBUTE",
    "BOARD",
    "CALIBRATION",
    "CONFIG",
    "CONTROL",
    "DATASET",
    "FIELDS",
    "GATING",
    "MAX_CHANNELS",
    "MAX_ROWS",
    "MODEL_SHAPE",
    "NAB_FLOOR",
    "NAME",
    "NONNEGATIVE",
    "NOT_SHARES",
    "RECORDS",
    "REQUIRED",
    "SCALARS",
    "SCALING",
    "SCHEMA_VERSION",
    "TRACE",
    "TRAINING",
    "UNSIGNED",
    "Agreement",
    "Allocation",
    "BoardEstimate",
    "Boards",
    "Conditions",
    "CoreFirmware",
    "Detection",
    "Firmware",
    "Graph",
    "HostLatency",
    "Identity",
    "Instructions",
    "Layer",
    "Record",
    "Row",
    "Seeds",
    "SeriesDetection",
    "Size",
    "StepError",
    "Tflm",
    "TflmLatency",
    "Timed",
    "Timing",
    "VsFloat32",
    "bounds",
    "column",
    "gated",
    "info",
    "json_schema",
    "label_of",
    "metric",
    "record_of",
    "record_schema",
    "row_schema",
    "safe_name",
    "scalar_fields",
]
