"""Which variant to ship: one rule, one answer per board (and per architecture).

The rule: among the variants that meet the constraints and fit the board (flash: model
+ runtime; SRAM: arena + I/O + runtime), ship the one that spends the least estimated
energy per inference; ties go to the smaller flatbuffer, then the better point F1. To
meet the constraints a variant must
- run on TFLite Micro and lose at most the allowed point F1 against float32;
- beat every baseline's point F1 beyond noise: the constant ones (always alarm, random
  alarms at its rate) are the floor, and the best *informative* one (a learned-free
  detector that is neither constant nor degenerate, i.e. alarming on some points and on
  fewer than half of the normal ones: today the rolling z-score) must be beaten too;
- raise false alarms on fewer than half of the normal points (at that rate an alarm
  says no more than a coin), and on no more of them than the informative baseline does.
  Only an informative baseline licenses a false-alarm rate: always alarm and random
  never do;
- on NAB's data, score above the null detector's NAB standard score of 0;
- meet any limits given. A board latency limit is met only when the upper end of the
  estimate's 90 % interval is within it; an estimate within the limit whose interval
  reaches past it is within noise, and one without an interval (an uncalibrated figure)
  cannot meet a limit.
Where detection cannot be scored (a model brought without --dataset, data without
labels) the detection rules give way to agreement: a variant derived from float32 ships
only with its scores compared with float32's (rank correlation measured), and a
distilled student, another architecture, not at all.

Noise: "beats" needs the paired block-bootstrap interval of the F1 difference
(`bench.bootstrap`) wholly above 0; a loss against float32 is out only when its paired
interval lies wholly below the allowed loss, and said to be within noise when it
straddles it. With several training seeds (`--seeds`), point F1 and its loss are the
means over seeds, and their Student-t interval adds the training noise. The report's
first screen, its per-architecture tables and the answer `edgebench run` prints all
come from `answer`.

Pure functions over result rows; nothing here runs a model.
"""

import math
from dataclasses import asdict, dataclass, fields

from bench import InvalidResults
from bench.baselines import DEGENERATE_FAR
from bench.schema import Results, Row

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
    beat_baselines: bool = True  # point F1 above the best non-learned baseline's, beyond noise
    baseline_far: bool = True  # and no more false alarms than that baseline raises
    max_size_bytes: int | None = None
    max_arena_bytes: int | None = None
    max_latency_us: float | None = None
    max_est_latency_ms: float | None = None  # on each board, for the per-board choice

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def saved(cls, res: Results) -> "Constraints":
        """The constraints a results file's run chose by, checked: a file from elsewhere
        may hold anything there."""
        given = res.setting("constraints") or {}
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
            ("max_est_latency_ms", "estimated board latency <= {} ms (the 90 % interval)"),
        ):
            value = getattr(self, key)
            if value is not None:
                parts.append(text.format(value))
        if self.beat_baselines:
            parts.append(
                "beats every baseline's point F1 beyond noise (on NAB also the null "
                "detector's score)"
            )
        if self.baseline_far:
            parts.append(
                "false alarms on fewer than half the normal points and no more than the "
                "informative baseline raises"
            )
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
        if row.id.detection_skipped:  # no labels to score on: fit, energy and agreement
            return unscored(row) or self.over_resources(row)
        if row.detection.point_f1 is None:
            return "no detection result"
        f1, _ = point_f1(row)
        if self.beat_baselines and (reason := below_baseline(row) or below_informative(row)):
            return reason
        if self.baseline_far and (reason := more_false_alarms(row)):
            return reason
        if self.beat_baselines and (reason := below_null_on_nab(row)):
            return reason
        checks = (
            (self.max_f1_loss, judged_loss(row), "point F1 loss {:.3f} > {}" + _beyond(row), "max"),
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


def below_baseline(row: Row) -> str | None:
    """Why `row` does not beat its best baseline beyond noise, or None when it does."""
    found, (f1, _) = row.detection, point_f1(row)
    best = found.baseline_best_point_f1
    if best is None:
        return None
    name = (found.baseline_best or "").replace("_", " ")
    if f1 <= best:
        return f"point F1 {f1:.3f} does not beat the baseline {name} ({best:.3f})"
    low, high = found.point_f1_delta_vs_baseline_low, found.point_f1_delta_vs_baseline_high
    if low is not None and high is not None and low <= 0:
        return (
            f"point F1 {f1:.3f} beats the baseline {name} ({best:.3f}) only within noise "
            f"(paired 95 % interval {low:+.3f} to {high:+.3f})"
        )
    return None


def unscored(row: Row) -> str | None:
    """Why a variant whose detection nobody scored cannot ship: a student of another
    architecture (only scored detection can vouch for it), or a variant whose agreement
    with its float32 was not measured; None for the rest (the float32 itself, a model
    brought as it is, a variant whose scores were compared with float32's)."""
    if row.id.student:
        return (
            "a distilled student, another architecture than the model it learnt from: it "
            "ships only where its detection was scored on labelled data"
        )
    if row.id.parent is not None and row.vs_float32.score_rank_correlation is None:
        return "its agreement with float32 was not measured (no scores to compare)"
    return None


def below_informative(row: Row) -> str | None:
    """Why `row` does not beat the informative baseline beyond noise, or None."""
    found = row.detection
    low, high = found.point_f1_delta_vs_informative_low, found.point_f1_delta_vs_informative_high
    if found.baseline_informative is None or low is None or high is None or low > 0:
        return None
    name = found.baseline_informative.replace("_", " ")
    return (
        f"point F1 {point_f1(row)[0]:.3f} does not beat the informative baseline {name} "
        f"({found.baseline_informative_point_f1:.3f}) beyond noise (paired 95 % interval "
        f"{low:+.3f} to {high:+.3f})"
    )


def more_false_alarms(row: Row) -> str | None:
    """Why `row` raises too many false alarms, or None: half the normal points or more,
    or more than the informative baseline (the only one that licenses a rate)."""
    mine, found = row.detection.far, row.detection
    if mine is None:
        return None
    if mine >= DEGENERATE_FAR:
        return (
            f"{1000 * mine:.1f} false alarms per 1,000 normal points: on half of them or "
            "more an alarm says no more than a coin"
        )
    theirs = found.baseline_informative_far
    if found.baseline_informative is None or theirs is None or mine <= theirs:
        return None
    name = found.baseline_informative.replace("_", " ")
    return (
        f"{1000 * mine:.1f} false alarms per 1,000 normal points, more than the informative "
        f"baseline {name}'s {1000 * theirs:.1f}"
    )


def below_null_on_nab(row: Row) -> str | None:
    """On NAB's data: why `row` does not beat NAB's null detector (standard score 0)."""
    score = row.detection.nab_score_standard
    if row.id.dataset != "nab" or score is None or score > 0:
        return None
    return f"NAB standard score {score:.1f} is not above the null detector's 0"


def judged_loss(row: Row) -> float:
    """The point F1 lost against float32 as the loss rule reads it: over seeds, the mean;
    else the least loss the paired test interval allows (its upper end), or the plain
    difference without one."""
    if row.seeds.point_f1_mean is not None:
        return -(row.seeds.point_f1_delta_mean or 0.0)
    high = row.vs_float32.point_f1_delta_vs_float32_high
    delta = row.vs_float32.point_f1_delta_vs_float32
    return -(high if high is not None else delta or 0.0)


def _beyond(row: Row) -> str:
    """How a loss was judged, when an interval judged it."""
    if row.seeds.point_f1_mean is not None:
        return " (mean over seeds)"
    return "" if row.vs_float32.point_f1_delta_vs_float32_high is None else " beyond noise"


def point_f1(row: Row) -> tuple[float, float | None]:
    """(point F1, its delta vs float32): the means over seeds when the run had several
    (`--seeds`), else the one seed's."""
    if row.seeds.point_f1_mean is not None:
        return row.seeds.point_f1_mean, row.seeds.point_f1_delta_mean
    return row.detection.point_f1, row.vs_float32.point_f1_delta_vs_float32


def within_noise(row: Row, constraints: Constraints) -> bool:
    """Does the 95 % interval of the F1 lost against float32 (over seeds, else paired
    over the test points) straddle the allowed loss? Then noise could flip the verdict."""
    low, high = row.seeds.point_f1_delta_ci95_low, row.seeds.point_f1_delta_ci95_high
    if low is None:
        low = row.vs_float32.point_f1_delta_vs_float32_low
        high = row.vs_float32.point_f1_delta_vs_float32_high
    limit = constraints.max_f1_loss
    return None not in (low, high, limit) and low <= -limit <= high  # type: ignore[operator]


def answer(rows: list[Row], constraints: Constraints, board: str) -> Row | None:
    """The variant of `rows` to ship to `board` by the rule above, or None."""
    ok = [
        r for r in _fitting(rows, constraints, board) if latency_over(r, constraints, board) is None
    ]
    return min(ok, key=lambda r: _cost(r, board), default=None)


def _fitting(rows: list[Row], constraints: Constraints, board: str) -> list[Row]:
    """The rows that fit `board` and meet every constraint but its latency limit."""
    return [
        r
        for r in rows
        if (est := r.boards.get(board)) is not None and est.fits and constraints.rejects(r) is None
    ]


def latency_over(row: Row, constraints: Constraints, board: str) -> str | None:
    """Why the row's estimate on `board` does not surely meet the latency limit: "over",
    "within noise" (the estimate meets it, its interval's upper end does not) or
    "uncalibrated" (no interval); None when it does, or there is no limit."""
    limit, est = constraints.max_est_latency_ms, row.boards.get(board)
    if limit is None or est is None:
        return None
    if est.est_latency_ms > limit:
        return "over"
    if est.est_latency_ms_high is None:
        return "uncalibrated"
    return "within noise" if est.est_latency_ms_high > limit else None


def held_back(rows: list[Row], constraints: Constraints, board: str) -> Row | None:
    """The variant that would ship to `board` if its latency estimate's interval did not
    reach past the limit (or it had one), when that is not the answer; else None."""
    unsure = [
        r
        for r in _fitting(rows, constraints, board)
        if latency_over(r, constraints, board) in (None, "within noise", "uncalibrated")
    ]
    pick = min(unsure, key=lambda r: _cost(r, board), default=None)
    return None if pick is None or latency_over(pick, constraints, board) is None else pick


def nothing_qualifies(rows: list[Row], constraints: Constraints) -> str | None:
    """Why no variant of an arch ships to any board, in one line: the reason its best
    scored variant is out, or that those that qualify fit no board."""
    if not rows:
        return None
    ok = [r for r in rows if constraints.rejects(r) is None]
    if ok:
        return f"{len(ok)} variant(s) meet the constraints but fit no board within its limits."
    scored = [r for r in rows if r.detection.point_f1 is not None and not r.id.errors]
    best = max(scored or rows, key=lambda r: r.detection.point_f1 or 0.0)
    return f"Its best-scoring variant, `{best.label}`: {constraints.rejects(best)}."


def _cost(row: Row, board: str) -> tuple[float, int, float]:
    """Least energy on `board`, then the smaller flatbuffer, then the better F1."""
    est = row.boards.get(board)
    assert est is not None  # `answer` kept only rows with an estimate
    f1 = point_f1(row)[0] if row.detection.point_f1 is not None else 0.0  # unscored: 0
    return est.est_energy_uj, row.size.size_bytes, -f1
