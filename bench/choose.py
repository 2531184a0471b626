"""Which variant to ship: one rule, one answer per board (and per architecture).

The rule: among the variants that meet the constraints (run on TFLite Micro, lose at
most the allowed point F1 against float32, beat the best non-learned baseline, and
any limits given) and fit the board (flash: model + runtime; SRAM: arena + I/O +
runtime), ship the one that spends the least estimated energy per inference; ties go
to the smaller flatbuffer, then the better point F1. With several training seeds
(`--seeds`), point F1 and its loss are the means over seeds, and a loss whose 95 %
interval straddles the limit is said to be within noise. The report's first screen, its
per-architecture tables and the answer `edgebench run` prints all come from `answer`.

Pure functions over result rows; nothing here runs a model.
"""

import math
from dataclasses import asdict, dataclass, fields

from bench import InvalidResults
from bench.schema import Row

Objectives = tuple[tuple[str, str], ...]
# (row field, "min" or "max"): smaller flash, faster, better detection
OBJECTIVES: Objectives = (("size_bytes", "min"), ("latency_us_p50", "min"), ("point_f1", "max"))


def _better_or_equal(a: Row, b: Row, objectives: Objectives) -> bool:
    return all(
        a.value(k) <= b.value(k) if sense == "min" else a.value(k) >= b.value(k)
        for k, sense in objectives
    )


def pareto(rows: list[Row], objectives: Objectives = OBJECTIVES) -> list[Row]:
    """Rows that no other row beats on every objective (and strictly on one)."""
    scored = [r for r in rows if all(r.value(k) is not None for k, _ in objectives)]
    return [
        r
        for r in scored
        if not any(
            _better_or_equal(o, r, objectives)
            and any(o.value(k) != r.value(k) for k, _ in objectives)
            for o in scored
            if o is not r
        )
    ]


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True)
class Constraints:
    """What a variant must satisfy to be recommended. `None` leaves a limit out."""

    require_tflm: bool = True
    max_f1_loss: float | None = 0.02  # point F1, against float32 of the same arch
    min_f1: float | None = None  # point F1
    max_far: float | None = None  # false alarms / normal points
    beat_baselines: bool = True  # point F1 above the best non-learned baseline's
    max_size_bytes: int | None = None
    max_arena_bytes: int | None = None
    max_latency_us: float | None = None
    max_est_latency_ms: float | None = None  # on each board, for the per-board choice

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def saved(cls, res: dict) -> "Constraints":
        """The constraints a results file's run chose by, checked: a file from elsewhere
        may hold anything there."""
        given = (res.get("config") or {}).get("constraints") or {}
        types = {f.name: f.type for f in fields(cls)}
        if not isinstance(given, dict) or set(given) - set(types):
            raise InvalidResults("config.constraints: not the constraints of a run")
        for key, value in given.items():
            flag = "bool" in str(types[key])
            ok = isinstance(value, bool) if flag else value is None or _number(value)
            if not ok:
                raise InvalidResults(f"config.constraints.{key}: {value!r} is not a limit")
        return cls(**given)

    def __str__(self) -> str:
        parts = ["runs on TFLite Micro"] if self.require_tflm else []
        for key, text in (
            ("max_f1_loss", "point F1 loss vs float32 <= {}"),
            ("min_f1", "point F1 >= {}"),
            ("max_far", "FAR <= {}"),
            ("max_size_bytes", "size <= {:,} B"),
            ("max_arena_bytes", "arena <= {:,} B"),
            ("max_latency_us", "LiteRT p50 <= {} us"),
            ("max_est_latency_ms", "estimated board latency <= {} ms"),
        ):
            value = getattr(self, key)
            if value is not None:
                parts.append(text.format(value))
        if self.beat_baselines:
            parts.append("beats the best baseline's point F1")
        return ", ".join(parts) or "none"

    def rejects(self, row: Row) -> str | None:
        """Why `row` is out, or None when it qualifies."""
        if row.id.errors:
            return "failed: " + "; ".join(row.id.errors)
        if row.id.recipe_skipped:
            return f"not applicable: {row.id.recipe_skipped}"
        if self.require_tflm and not row.tflm.tflm_deployable:
            why = (row.tflm.tflm_error or "not measured").split("; ")
            return f"not deployable on TFLite Micro: {'; '.join(why[:2])}"
        if row.detection.point_f1 is None:
            # a brought model scored on no data: judged on fit, energy and latency alone
            return self.over_resources(row) if row.id.detection_skipped else "no detection result"
        f1, delta = point_f1(row)
        loss, best = -(delta or 0.0), row.detection.baseline_best_point_f1
        if self.beat_baselines and best is not None and f1 <= best:
            return (
                f"point F1 {f1:.3f} does not beat the baseline "
                f"{row.detection.baseline_best} ({best:.3f})"
            )
        checks = (
            (self.max_f1_loss, loss, "point F1 loss {:.3f} > {}", "max"),
            (self.min_f1, f1, "point F1 {:.3f} < {}", "min"),
            (self.max_far, row.detection.far, "FAR {:.3f} > {}", "max"),
        )
        return _first_over(checks) or self.over_resources(row)

    def over_resources(self, row: Row) -> str | None:
        """The limits on size, arena and host latency, which hold with or without data."""
        return _first_over(
            (
                (self.max_size_bytes, row.size.size_bytes, "size {:,} > {:,}", "max"),
                (self.max_arena_bytes, row.tflm.arena_bytes, "arena {:,} > {:,}", "max"),
                (self.max_latency_us, row.litert.latency_us_p50, "p50 {:.2f} us > {}", "max"),
            )
        )


def _first_over(checks: tuple[tuple[float | None, float | None, str, str], ...]) -> str | None:
    """The first limit a value breaks (a missing value breaks it), in words."""
    for limit, value, text, sense in checks:
        if limit is None:
            continue
        if value is None or (value > limit if sense == "max" else value < limit):
            return text.format(value if value is not None else float("nan"), limit)
    return None


def point_f1(row: Row) -> tuple[float, float | None]:
    """(point F1, its delta vs float32): the means over seeds when the run had several
    (`--seeds`), else the one seed's."""
    if row.seeds.point_f1_mean is not None:
        return row.seeds.point_f1_mean, row.seeds.point_f1_delta_mean
    return row.detection.point_f1, row.vs_float32.point_f1_delta_vs_float32


def within_noise(row: Row, constraints: Constraints) -> bool:
    """Does the 95 % interval over seeds of the F1 lost against float32 straddle the
    allowed loss? Then another seed could flip the verdict."""
    low, high = row.seeds.point_f1_delta_ci95_low, row.seeds.point_f1_delta_ci95_high
    limit = constraints.max_f1_loss
    return None not in (low, high, limit) and low <= -limit <= high  # type: ignore[operator]


def answer(rows: list[Row], constraints: Constraints, board: str) -> Row | None:
    """The variant of `rows` to ship to `board` by the rule above, or None."""
    ok = []
    for row in rows:
        est = row.boards.get(board)
        if est is None or not est.fits or constraints.rejects(row) is not None:
            continue
        limit = constraints.max_est_latency_ms
        if limit is None or est.est_latency_ms <= limit:
            ok.append(row)
    return min(ok, key=lambda r: _cost(r, board), default=None)


def _cost(row: Row, board: str) -> tuple[float, int, float]:
    """Least energy on `board`, then the smaller flatbuffer, then the better F1."""
    est = row.boards.get(board)
    assert est is not None  # `answer` kept only rows with an estimate
    f1 = point_f1(row)[0] if row.detection.point_f1 is not None else 0.0  # unscored: 0
    return est.est_energy_uj, row.size.size_bytes, -f1
