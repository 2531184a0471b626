"""The non-learned detectors every figure stands beside, on the same test points:
always alarm, and a rolling z-score of the newest point against the rest of its window,
thresholded on validation like the model (the random detector is an expectation,
`metrics.random_point_f1`). A baseline whose alarms say nothing is degenerate."""

import numpy as np

from bench import nab
from bench.data.windows import Windows
from bench.metrics import (
    _as_all_rows,
    all_rows,
    point_curves,
    point_metrics,
    resolve_policy,
    tested_training,
    threshold_from_validation,
)
from bench.schema import Detection


def zscores(x: np.ndarray, length: int, channels: int) -> np.ndarray:
    """Per window: the largest |z| over channels of its newest point against the rest of
    the window (a rolling z-score: no learning, causal)."""
    w = x.reshape(len(x), length, channels).astype(np.float64)
    history, newest = w[:, :-1], w[:, -1]
    spread = history.std(axis=1)
    z = np.abs(newest - history.mean(axis=1)) / np.where(spread > 0, spread, 1e-9)
    return z.max(axis=1)


def baselines(windows: Windows, policy: str) -> dict[str, dict]:
    """Point figures of the non-learned detectors on the test points (and over all rows,
    as `all_rows`): always alarm, and the rolling z-score with its threshold set on
    validation by the same policy."""
    test = windows.test
    always = np.ones(len(test.y_end), dtype=int)
    every = np.concatenate([windows.labels[i] for i in np.unique(test.series)])
    found = {
        "always_alarm": Detection.merged(
            point_metrics(test.y_end, always),
            _as_all_rows(every, np.ones(len(every), dtype=int)),
            **nab.score(test.y_end, always, test.series),
            alarm_rate=1.0,
        ).figures()
    }
    parts = (tested_training(windows), windows.val, test)
    scored = [(p, zscores(p.x, windows.length, windows.channels)) for p in parts]
    z_test = scored[-1][1]
    cut = threshold_from_validation(
        scored[1][1], windows.val, resolve_policy(policy, windows.val.y_end)
    )
    alarms = (z_test > cut).astype(int)
    found["rolling_zscore"] = Detection.merged(
        point_metrics(test.y_end, alarms),
        point_curves(test.y_end, z_test),
        all_rows(windows.labels, scored, cut),
        **nab.score(test.y_end, alarms, test.series),
        nab_score_standard_swept=nab.swept(test.y_end, z_test, test.series),
        alarm_rate=float(alarms.mean()) if len(alarms) else 0.0,
        threshold=cut,
    ).figures()
    return found


def baseline_alarms(name: str, windows: Windows, reference: dict) -> np.ndarray | None:
    """The test alarms of baseline `name` (None: the random detector, an expectation)."""
    test = windows.test
    if name == "always_alarm":
        return np.ones(len(test.y_end), dtype=bool)
    if name == "rolling_zscore":
        cut = reference[name]["threshold"]
        return zscores(test.x, windows.length, windows.channels) > cut
    return None


DEGENERATE_FAR = 0.5  # alarming on half the normal points or more: no better than a coin


def degenerate(name: str, figures: dict) -> bool:
    """A learned-free detector whose alarms say nothing: it never alarms on the test
    points, or alarms on at least half of the normal ones (always alarm is the constant
    reference, never degenerate: it stays the floor of point F1)."""
    if name == "always_alarm":
        return False
    far = figures.get("far")
    return figures.get("alarm_rate", 0.0) <= 0 or far is None or far >= DEGENERATE_FAR


def informative(reference: dict[str, dict]) -> str | None:
    """The best (point F1) learned-free baseline that is a detector: neither constant nor
    degenerate. Its false-alarm rate is what licenses a variant's; None when none is."""
    found = {n: b for n, b in reference.items() if n != "always_alarm" and not degenerate(n, b)}
    return max(found, key=lambda n: found[n]["point_f1"], default=None)
