"""One run's session: its config, the measuring steps' settings (with the stopwatch),
the log, the machine and the cache; every stage of `bench.run` takes it."""

from dataclasses import dataclass

from bench.cache import Cache
from bench.config import RunConfig, catalog
from bench.pipeline import Settings, Stopwatch
from bench.progress import Log
from bench.schema import Machine


@dataclass
class Session:
    """One run: what its stages read. `how` holds the steps' settings and the stopwatch."""

    cfg: RunConfig
    how: Settings
    log: Log
    machine: Machine
    cache: Cache

    @property
    def clock(self) -> Stopwatch:
        return self.how.clock


def settings(cfg: RunConfig, timings: bool = True) -> Settings:
    """What the measuring steps take from the config (`timings=False`: the pytest suite
    times the invokes itself)."""
    cat = catalog(cfg)
    return Settings(
        cfg.threshold,
        cfg.latency_samples,
        cat,
        cat.select(cfg.boards),
        timings,
        Cache(cfg.cache),
        score=cfg.score,
    )
