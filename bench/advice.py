"""TFLite Micro's refusals in words, with the known rewrite (`tflm_advice.toml`)."""

import functools
import tomllib
from pathlib import Path

ADVICE = Path(__file__).with_name("tflm_advice.toml")


@functools.cache
def _table() -> tuple[dict, ...]:
    return tuple(tomllib.loads(ADVICE.read_text())["advice"])


def advice(error: str | None) -> str | None:
    """`OP: the reason in words; the rewrite`, or None for a refusal not in the table."""
    for entry in _table():
        if error and entry["match"] in error:
            return f"{entry['op']}: {entry['reason']}; {entry['rewrite']}"
    return None
