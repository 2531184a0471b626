"""The results file: one schema, step-by-step migration, refusal of what fails it."""

import copy
import json
import math
from pathlib import Path

import pytest
from helpers import compare, edgebench, unsaid

from bench import InvalidResults, gate, results, schema

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def small() -> dict:
    return json.loads((GOLDEN / "results-small.json").read_text())


def test_a_version_1_file_is_read_through_the_migration():
    old = json.loads((GOLDEN / "results-v1.json").read_text())
    assert old["schema_version"] == 1
    unsaid(old["rows"][0], "conditions")
    res = results.read(GOLDEN / "results-v1.json")
    assert res.schema_version == schema.SCHEMA_VERSION
    row = res.rows[0]
    assert row.id.conditions.epochs == old["config"]["train"]["epochs"]
    assert row.id.conditions.code_size == "v1"  # v1 did not record its measuring code
    assert row.id.measure_key == row.id.conditions.key()
    assert res == results.read(GOLDEN / "results-small.json")


def test_migrated_rows_are_not_comparable_with_rows_of_todays_code(small):
    now = copy.deepcopy(small)
    for row in now["rows"]:
        row["conditions"]["code_size"] = "abc"
    findings = [f for f in compare(now, small) if f.metric == "size_bytes"]
    assert [f.verdict for f in findings] == [gate.NOT_COMPARABLE] * len(small["rows"])
    assert findings[0].note == "code_size v1 -> abc (same model)"


def test_every_row_field_belongs_to_one_record_with_a_unit_or_no_number():
    for name, (_, field) in schema.FIELDS.items():
        assert field.metadata["doc"] is not None, name
        if name.endswith(("_bytes", "_us", "_ms", "_uj")) and "samples" not in name:
            assert field.metadata["unit"], name
    assert schema.gated() == [
        "size_bytes",
        "macs",
        "latency_us_p50",
        "tflm_deployable",
        "arena_bytes",
        "tflm_latency_us_p50",
        "tflm_instructions",
        "point_f1",
        "point_pr_auc",
    ]


def _broken(small: dict, change) -> dict:
    res = copy.deepcopy(small)
    change(res)
    return res


CASES = {
    "a row without arch": (
        lambda r: r["rows"][1].pop("arch"),
        "row 1 (None/float16): 'arch' is a required property",
    ),
    "f1 as a string": (
        lambda r: r["rows"][2].update(point_f1="0.9"),
        "row 2 (seed/int8), field 'point_f1': '0.9' is not of type 'number'",
    ),
    "a row that is not an object": (
        lambda r: r["rows"].append([1, 2]),
        "row 5: [1, 2] is not of type 'object'",
    ),
    "an unknown field": (
        lambda r: r["rows"][0].update(speed=1),
        "row 0 (seed/float32): Additional properties are not allowed",
    ),
    "NaN": (
        lambda r: r["rows"][3].update(size_bytes=math.nan),
        "row 3 (seed/pruned50), field 'size_bytes': not a finite number",
    ),
    "inf in a sample": (
        lambda r: r["rows"][0]["latency_samples_us"].__setitem__(5, math.inf),
        "row 0 (seed/float32), field 'latency_samples_us.5': not a finite number",
    ),
    "a duplicate row": (
        lambda r: r["rows"].append(copy.deepcopy(r["rows"][2])),
        "rows 2 and 5 are both seed/int8 on nepse",
    ),
    "no machine": (lambda r: r.pop("machine"), "'machine' is a required property"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_file_that_fails_the_schema_is_refused_with_one_line(small, tmp_path, case):
    change, message = CASES[case]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_broken(small, change)))  # NaN and inf as JSON's extensions
    with pytest.raises(InvalidResults) as err:
        results.read(path)
    assert message in str(err.value)
    unsaid(str(err.value), "\n")
    for command in (
        ["report", path],
        ["gate", path, "--baseline", path],
        ["export", "int8", "--results", path],
    ):
        done = edgebench(*command)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.strip().splitlines() == [f"edgebench: error: {err.value}"], (
            command,
            done.stderr,
        )
