"""Figures over training seeds (`--seeds`): mean, standard deviation and a Student-t 95 %
interval per metric, and whether a recipe's F1 target holds beyond the noise."""

import statistics

from bench import UsageError, names
from bench.schema import Detection, Seeds
from variants import REGISTRY


def parse(text: str) -> tuple[int, ...]:
    """`0,1,2` -> (0, 1, 2); duplicates, non-integers or nothing: one UsageError."""
    try:
        seeds = tuple(int(part) for part in names(text))
    except ValueError:
        raise UsageError(
            f"--seeds {text!r}: give integers separated by commas, e.g. 0,1,2"
        ) from None
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds {text!r}: a seed is given twice; give each once")
    return seeds


def interval(values: list[float]) -> tuple[float, float | None, float | None, float | None]:
    """(mean, sample std, 95 % low, 95 % high); no spread from a single value."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None, None
    from scipy import stats

    std = statistics.stdev(values)
    half = stats.t.ppf(0.975, len(values) - 1) * std / len(values) ** 0.5
    return mean, std, mean - half, mean + half


def verdict(margins: list[float]) -> str:
    """`met` when the whole interval of the target's margin is >= 0, `missed` when it is
    all below, else `within noise`."""
    mean, _, low, high = interval(margins)
    if low is None or high is None:
        return "met" if mean >= 0 else "missed"
    return "met" if low >= -1e-12 else "missed" if high < 0 else "within noise"


def _floats(values: list) -> list[float] | None:
    """The values as floats, or None when a seed has none (it failed)."""
    return None if any(v is None for v in values) else [float(v) for v in values]


def figures(variant: str, by_seed: dict[int, Detection], float32: dict[int, Detection]) -> Seeds:
    """`by_seed[seed]`: the variant's detection for that seed (every figure None where its
    build or scoring failed); `float32[seed]` float32's of the same arch."""
    seeds = sorted(by_seed)
    raw_f1: list[float | None] = [by_seed[s].point_f1 for s in seeds]
    raw_far: list[float | None] = [by_seed[s].far for s in seeds]
    found = Seeds(seeds=seeds, point_f1_by_seed=raw_f1, far_by_seed=raw_far)
    f1, far = _floats(raw_f1), _floats(raw_far)
    if f1 is None:
        return found  # a seed failed: no interval over what is missing
    mean, found.point_f1_std, low, high = interval(f1)
    found.point_f1_mean, found.point_f1_ci95_low, found.point_f1_ci95_high = mean, low, high
    if far is not None:
        found.far_mean, _, found.far_ci95_low, found.far_ci95_high = interval(far)
    refs = _floats([float32.get(s, Detection()).point_f1 for s in seeds])
    if refs is None:
        return found
    mean, _, low, high = interval([a - b for a, b in zip(f1, refs, strict=True)])
    found.point_f1_delta_mean, found.point_f1_delta_ci95_low = mean, low
    found.point_f1_delta_ci95_high = high
    target = REGISTRY[variant].f1_target if variant in REGISTRY else None
    if target is not None:
        found.f1_target_verdict = verdict(
            [target.margin(a, b) for a, b in zip(f1, refs, strict=True)]
        )
    return found
