"""edgebench: measure compressed TinyML anomaly detectors side by side.

Errors at the library's boundaries: `UsageError` and its kinds are the user's input,
found before any work and shown as one line with exit 2; `MeasurementError` is a
measurement that could not be made, recorded in its row.
"""

from collections.abc import Iterable
from pathlib import Path


def source_digest(*files: str) -> str:
    """A short hash over these files of the `bench` package (names and contents): what
    cached results were computed by."""
    from bench.cache import sources_digest

    root = Path(__file__).parent
    return sources_digest((file, root / file) for file in files)


class UsageError(Exception):
    """Bad input from the user: the CLI prints it as one line and exits 2."""


class InvalidResults(UsageError):
    """A results, baseline or budgets file that edgebench cannot use."""


class InvalidModel(UsageError):
    """A model file that is not a usable model."""


class InvalidData(UsageError):
    """A dataset that cannot be used as given."""


class RunFailed(Exception):
    """A run that measured nothing: one line and exit 1, the earlier output kept."""


class MeasurementError(Exception):
    """A metric that could not be measured on a model: a row error, not a user error."""


def names(text: str) -> tuple[str, ...]:
    """`float32, int8,` -> ("float32", "int8"): a comma-separated list of names."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def unknown(kind: str, name: str, choices: Iterable[str]) -> UsageError:
    """`unknown variant 'int9'; did you mean 'int8'? (choose from ...)`"""
    import difflib

    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UsageError(f"unknown {kind} {name!r}{hint} (choose from {', '.join(choices)})")
