"""A NEPSE-like trading-volume stream with injected, labelled anomalies.

Nepal Stock Exchange trades one session a day (11:00-15:00, Sunday-Thursday);
we model 5-minute volume bars. Volume is log-normal around a U-shaped
intraday profile (busy open and close), on a slowly drifting daily level with
a weekday effect. Anomalies are injected only after the training part, so the
model trains on normal behaviour, and both validation and test hold every kind:

- spike: 1-3 bars at 8-12x volume (the case study's ~10x bursts);
- level_shift: 24-96 bars at 3x or 0.3x volume (news, halts of a sector);
- dropout: 4-12 bars of zero volume (feed outage);
- flatline: 6-20 bars repeating one value (a stuck feed).
"""

from dataclasses import asdict, dataclass

import numpy as np

from bench.data import Dataset, Series

KINDS = ("spike", "level_shift", "dropout", "flatline")


@dataclass(frozen=True)
class StreamConfig:
    seed: int = 7
    sessions: int = 250  # about one trading year
    bars_per_session: int = 48  # 5-minute bars over a 4-hour session
    base_volume: float = 50_000.0
    noise_sigma: float = 0.25  # std of log-volume noise
    train_frac: float = 0.6
    val_frac: float = 0.2
    # anomalies per 100 sessions of the validation and test parts
    spikes: float = 12.0
    level_shifts: float = 3.0
    dropouts: float = 4.0
    flatlines: float = 4.0

    def as_dict(self) -> dict:
        return asdict(self)


def intraday_profile(bars: int) -> np.ndarray:
    """Log-volume offset per bar: a U shape, high at the open and the close."""
    k = np.arange(bars)
    return 0.9 * np.exp(-k / (bars / 10)) + 0.6 * np.exp(-(bars - 1 - k) / (bars / 12))


def normal_volume(cfg: StreamConfig, rng: np.random.Generator) -> np.ndarray:
    days, bars = cfg.sessions, cfg.bars_per_session
    level = np.zeros(days)
    for d in range(1, days):  # mean-reverting drift of the daily level
        level[d] = 0.97 * level[d - 1] + rng.normal(0.0, 0.08)
    weekday = np.array([0.10, 0.0, -0.05, 0.0, 0.08])[np.arange(days) % 5]
    log_volume = (
        np.log(cfg.base_volume)
        + (level + weekday)[:, None]
        + intraday_profile(bars)[None, :]
        + rng.normal(0.0, cfg.noise_sigma, size=(days, bars))
    )
    return np.exp(log_volume).ravel()


@dataclass
class _Stream:
    """The stream's values, labels and anomaly kinds, anomalies injected in place."""

    volume: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray

    def inject(self, span: tuple[int, int], cfg: StreamConfig, rng: np.random.Generator) -> None:
        """Inject anomalies of every kind into [start, stop) without overlaps."""
        start, stop = span
        sessions = (stop - start) / cfg.bars_per_session
        plan = [
            ("spike", cfg.spikes, (1, 3)),
            ("level_shift", cfg.level_shifts, (24, 96)),
            ("dropout", cfg.dropouts, (4, 12)),
            ("flatline", cfg.flatlines, (6, 20)),
        ]
        for kind, rate, (lo, hi) in plan:
            count = max(1, round(rate * sessions / 100))
            placed = tries = 0
            while placed < count and tries < 1000:
                tries += 1
                length = int(rng.integers(lo, hi + 1))
                a = int(rng.integers(start + 1, stop - length))
                b = a + length
                if self.labels[a - 1 : b + 1].any():  # keep a normal gap between anomalies
                    continue
                if kind == "spike":
                    self.volume[a:b] *= rng.uniform(8.0, 12.0)
                elif kind == "level_shift":
                    self.volume[a:b] *= rng.choice([3.0, 0.3])
                elif kind == "dropout":
                    self.volume[a:b] = 0.0
                else:
                    self.volume[a:b] = self.volume[a - 1]
                self.labels[a:b] = 1
                self.kinds[a:b] = kind
                placed += 1


def nepse_stream(cfg: StreamConfig = StreamConfig()) -> Series:
    """The default dataset: deterministic for a given config (seed included)."""
    rng = np.random.default_rng(cfg.seed)
    volume = normal_volume(cfg, rng)
    n = len(volume)
    stream = _Stream(volume, np.zeros(n, dtype=np.int8), np.full(n, "", dtype=object))
    bars = cfg.bars_per_session
    train_end = int(cfg.sessions * cfg.train_frac) * bars
    val_end = int(cfg.sessions * (cfg.train_frac + cfg.val_frac)) * bars
    stream.inject((train_end, val_end), cfg, rng)
    stream.inject((val_end, n), cfg, rng)
    labels, kinds = stream.labels, stream.kinds
    return Series(
        "nepse", volume[:, None], labels, kinds, train_end, val_end, ("volume",), log=True
    )


def nepse_dataset(cfg: StreamConfig = StreamConfig()) -> Dataset:
    return Dataset("nepse", [nepse_stream(cfg)], "synthetic")
