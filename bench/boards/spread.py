"""How far an estimate may be from the truth: a 90 % interval from leave-one-out errors.

A fit is judged on the published results it did not see: each result predicted by the fit
of the others (leave-one-out), of the other boards (a board with no result of its own) or
of the other cores (a core with none). The errors' root mean square on the log scale, s,
from n errors, gives the interval estimate x [e^-ts, e^ts], t Student's quantile of a
two-sided 90 % with n - 1 degrees of freedom (s is itself estimated from few rows)."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Spread:
    """The interval as factors on the estimate, and how many errors it rests on."""

    low: float
    high: float
    errors: int

    @classmethod
    def of(cls, errors: Sequence[float]) -> "Spread | None":
        """From relative errors (estimate / published - 1); None from fewer than two."""
        from scipy import stats

        if len(errors) < 2:
            return None
        s = math.sqrt(sum(math.log1p(e) ** 2 for e in errors) / len(errors))
        t = float(stats.t.ppf(0.95, len(errors) - 1))
        return cls(math.exp(-t * s), math.exp(t * s), len(errors))

    def around(self, value: float) -> tuple[float, float]:
        return value * self.low, value * self.high


def geomean(values: Sequence[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def held_out(
    rows: Sequence[T],
    predict: Callable[[T, list[T]], float | None],
    truth: Callable[[T], float],
    apart: Callable[[T], object] | None = None,
) -> list[float | None]:
    """Each row's relative error when predicted from the others: all of them, or (with
    `apart`) those that differ from it there (another board, another core). None where
    nothing is left to predict from."""
    errors: list[float | None] = []
    for row in rows:
        rest = [r for r in rows if r is not row and (apart is None or apart(r) != apart(row))]
        guess = predict(row, rest) if rest else None
        errors.append(None if guess is None else guess / truth(row) - 1.0)
    return errors


def pooled(
    rows: Sequence[T],
    predict: Callable[[T, list[T]], float | None],
    truth: Callable[[T], float],
    group: Callable[[T], object],
    apart: Callable[[T], object] | None = None,
) -> list[float]:
    """`held_out` within each group of rows (a core's), the errors pooled over the groups;
    None where nothing was left to predict from is dropped."""
    errors: list[float] = []
    for key in dict.fromkeys(map(group, rows)):
        errors += known(held_out([r for r in rows if group(r) == key], predict, truth, apart))
    return errors


def known(errors: Sequence[float | None]) -> list[float]:
    return [e for e in errors if e is not None]
