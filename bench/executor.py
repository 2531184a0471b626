"""Where a run's heavy tasks (training, building variants) execute: a pool of spawned
worker processes (`--workers N`), each loading TensorFlow once.

Workers are spawned, not forked, so no TensorFlow thread state is copied. TensorFlow
runs on one thread everywhere (`variants/_tf.py`), and numpy's BLAS in a worker too, so
the built models are the same bytes for any number of workers and workers never
oversubscribe the cores. A task
that kills its worker (a converter segfault, the OOM killer) costs only that task: the
tasks that were unfinished when the pool broke are rerun one per fresh worker, and the
one that breaks its worker again comes back as `Died`.
"""

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from bench import UsageError


@dataclass(frozen=True)
class Died:
    """A task whose worker process died before it returned."""

    reason: str = (
        "its worker process died (crashed, was killed or ran out of memory); "
        "the rest of the run went on"
    )


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_workers(workers: int) -> None:
    if workers < 1:
        raise UsageError(f"--workers {workers}: give at least 1 worker process")


def _one_thread() -> None:
    """In a fresh worker, before numpy's BLAS starts its threads."""
    os.environ["OMP_NUM_THREADS"] = "1"


class Local:
    """Worker processes on this machine; a context manager that owns the pool."""

    def __init__(self, workers: int):
        check_workers(workers)
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> "Local":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _new_pool(self, workers: int) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_thread,
        )

    def map(self, task: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """(index, result or Died) for every item, as they finish. `task` must be a
        module-level function and must return its failures, not raise them."""
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        futures = {self._pool.submit(task, item): i for i, item in enumerate(items)}
        finished: set[int] = set()
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
                finished.add(futures[future])
        except BrokenProcessPool:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            for i in (i for i in range(len(items)) if i not in finished):
                yield i, self._alone(task, items[i])

    def _alone(self, task, item) -> Any:
        """One task in a worker of its own: a second death is the task's doing."""
        with self._new_pool(1) as pool:
            try:
                return pool.submit(task, item).result()
            except BrokenProcessPool:
                return Died()
