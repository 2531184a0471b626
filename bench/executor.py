"""Where a run's heavy tasks (training, building variants) execute: a pool of local
worker processes (`--workers N`) or a Ray cluster (`--executor ray[=ADDRESS]`). Both
offer `map(task, items, then)` (a result may release more tasks) and the same guarantees.

Local workers fork from a server process that imported TensorFlow (and TFMOT) once, with
one BLAS thread, so that it holds no thread for a fork to lose: a worker starts in a
fraction of a second instead of spending ~6 s of CPU on the imports, and the workers
share those pages (`bench/_forkserver.py` keeps the garbage collector off them).
TensorFlow runs on one thread everywhere (`variants/_tf.py`), and numpy's BLAS in a
worker too, so the built models are the same bytes for any number of workers (and as
with spawned workers) and workers never oversubscribe the cores.

A task that kills its worker (a converter segfault, the OOM killer) costs only that
task: the tasks that were unfinished when the pool broke are rerun one per fresh worker,
and the one that breaks its worker again comes back as `Died`, with the signal that
killed it.
"""

import concurrent.futures as cf
import contextlib
import importlib.util
import multiprocessing
import multiprocessing.context
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import forkserver
from typing import Any

from bench import UsageError
from bench.lifetime import die_with_parent, mark_run


@dataclass(frozen=True)
class Died:
    """A task whose worker process died before it returned; run alone, the signal that
    killed it and its pid (where the task may have left a breadcrumb), and what it was
    doing when the caller knows (`said`)."""

    killed_by: str | None = None  # the signal's name
    pid: int | None = None
    said: str | None = None  # what the task was doing, in words, where it is known

    @property
    def reason(self) -> str:
        if self.said:
            return self.said
        how = (
            f"killed by {self.killed_by}"
            if self.killed_by
            else "crashed, was killed or ran out of memory"
        )
        return f"its worker process died ({how}); the rest of the run went on"

    @classmethod
    def of(cls, processes: dict) -> "Died":
        """From the one worker a task ran alone in (`ProcessPoolExecutor._processes`)."""
        for pid, process in processes.items():
            code = process.exitcode
            if code is not None and code < 0:
                with contextlib.suppress(ValueError):
                    return cls(signal.Signals(-code).name, pid)
            return cls(None, pid)
        return cls()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_workers(workers: int) -> None:
    if workers < 1:
        raise UsageError(f"--workers {workers}: give at least 1 worker process")
    if workers > 4 * cores():
        raise UsageError(
            f"--workers {workers}: at most {4 * cores()} on this machine's {cores()} cores "
            "(each worker holds a TensorFlow of its own)"
        )


def _one_thread() -> None:
    """In a fresh worker, before numpy's BLAS starts its threads; and the worker dies
    with the fork server, which dies with the run (`bench._forkserver`)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    die_with_parent()


def _forkserver() -> multiprocessing.context.BaseContext:
    """The start method of local workers: forked from a server that has TensorFlow loaded
    and, started with OMP_NUM_THREADS=1, no BLAS thread (TensorFlow's import starts none)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["bench._forkserver"])
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    mark_run()  # the server and its workers exit when this process is gone
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before
    return ctx


@contextlib.contextmanager
def _main_spec() -> Iterator[None]:
    """While the pool starts workers: a script's `__main__` names `bench._worker_main`, so
    that workers import that instead of the script (an unguarded `api.run` in a script
    would run again in each of them). A module run with -m, or none, is left alone."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = importlib.util.find_spec("bench._worker_main")
    try:
        yield
    finally:
        main.__spec__ = None


Then = Callable[[int, Any], Sequence[Any]] | None  # a result's follow-up items
Results = Iterator[tuple[int, Any]]


def _more(then: Then, i: int, result: Any, items: list[Any]) -> list[Any]:
    """The follow-ups of item `i`'s result, appended to `items`."""
    found = list(then(i, result)) if then is not None else []
    items.extend(found)
    return found


def _unstick(pool: cf.ProcessPoolExecutor) -> None:
    """Before Python 3.11.5 (CPython gh-94777), a broken pool's queue feeder could stay
    blocked writing a task to the dead worker's pipe, and the pool's shutdown waited
    for it forever; closing the pipe's read end, as later versions do, frees it."""
    if sys.version_info >= (3, 11, 5):
        return
    reader = getattr(getattr(pool, "_call_queue", None), "_reader", None)  # private
    if reader is not None:
        reader.close()


class Local:
    """Worker processes on this machine; a context manager that owns the pool."""

    def __init__(self, workers: int):
        check_workers(workers)
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._main = contextlib.ExitStack()

    def __enter__(self) -> "Local":
        self._main.enter_context(_main_spec())
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._main.close()
        if self._pool is None:
            return
        if kind is not None and issubclass(kind, KeyboardInterrupt):  # SIGINT or SIGTERM:
            for process in list(self._pool._processes.values()):  # no task is waited for
                process.kill()
        self._pool.shutdown(wait=kind is None, cancel_futures=True)
        self._pool = None

    def _new_pool(self, workers: int) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_forkserver(),
            initializer=_one_thread,
        )

    def map(self, task: Callable[[Any], Any], items: list[Any], then: Then = None) -> Results:
        """(index, result or Died) for every item, as they finish. `task` must be a
        module-level function and must return its failures, not raise them. `then(index,
        result)`, called once the result is taken, may return more items: they are
        appended to `items` and run too (so indices stay those of `items`)."""
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        pending = {self._pool.submit(task, item): i for i, item in enumerate(items)}
        finished: set[int] = set()
        try:
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    result = future.result()
                    finished.add(i)
                    yield i, result
                    first = len(items)
                    for k, item in enumerate(_more(then, i, result, items)):
                        pending[self._pool.submit(task, item)] = first + k
        except BrokenProcessPool:
            _unstick(self._pool)
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            i = 0
            while i < len(items):  # grows as the reruns' follow-ups come in
                if i not in finished:
                    result = self._alone(task, items[i])
                    yield i, result
                    _more(then, i, result, items)
                i += 1

    def _alone(self, task: Callable[[Any], Any], item: Any) -> Any:
        """One task in a worker of its own: a second death is the task's doing. Its exit
        status is read once the pool has shut down: the pool's own thread reaps the worker
        then, and a read racing it finds the status gone (and reports 255)."""
        with self._new_pool(1) as pool:
            future = pool.submit(task, item)
            alone = dict(pool._processes or {})  # private: its one worker, whose exit tells
            try:
                return future.result()
            except BrokenProcessPool:
                _unstick(pool)
        return Died.of(alone)


class Ray:
    """The same tasks on a Ray cluster (`--executor ray[=ADDRESS]`; without an address, a
    local Ray instance with `workers` CPUs). A task whose worker dies comes back as `Died`
    (Ray does not retry it)."""

    def __init__(self, address: str | None, workers: int):
        import ray

        self._ray = ray
        ray.init(
            address=address or None,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )

    def __enter__(self) -> "Ray":
        return self

    def __exit__(self, *exc: object) -> None:
        self._ray.shutdown()

    def map(self, task: Callable[[Any], Any], items: list[Any], then: Then = None) -> Results:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(task)
        index = {remote.remote(item): i for i, item in enumerate(items)}
        pending = list(index)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    result = ray.get(ref)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.OutOfMemoryError):
                    result = Died()
                yield index[ref], result
                first = len(items)
                for k, item in enumerate(_more(then, index[ref], result, items)):
                    follow_up = remote.remote(item)
                    index[follow_up] = first + k
                    pending.append(follow_up)


def reachable(address: str, timeout: float = 8.0) -> None:
    """A Ray address that does not answer: one UsageError within about `timeout` seconds.
    A TCP connect is not proof (a proxy may accept anything): a child process joins the
    cluster and leaves."""
    probe = "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); ray.shutdown()"
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe, address], capture_output=True, text=True, timeout=timeout
        )
        why = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]
    except subprocess.TimeoutExpired:
        why = f"no answer within {timeout:g} s"
    if why:
        raise UsageError(
            f"--executor ray={address}: no Ray cluster answers there ({why[:160]}); "
            "start one (ray start --head) or drop the address for a local instance"
        )


def check_executor(spec: str) -> None:
    """Before any work: a known executor; for Ray, installed, and its cluster answering."""
    kind, _, address = spec.partition("=")
    if kind not in ("local", "ray") or (kind == "local" and address):
        raise UsageError(f"--executor {spec!r}: use local or ray[=HOST:PORT]")
    if kind == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError('--executor ray needs Ray: pip install -e ".[ray]"') from None
        if address:
            reachable(address)


def executor(spec: str, workers: int) -> "Local | Ray":
    """`local` (default) or `ray[=ADDRESS]` -> the executor, a context manager."""
    check_executor(spec)
    kind, _, address = spec.partition("=")
    return Ray(address or None, workers) if kind == "ray" else Local(workers)
