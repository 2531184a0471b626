"""The executor: worker processes that train and build; a worker's death costs only its
own task, and the models do not depend on how many workers built them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import edgebench, said, starts

from bench import UsageError
from bench.executor import Died, Local, check_workers


def square_or_die(n: int) -> int:
    if n == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return n * n


def test_a_dying_task_fails_alone_and_the_rest_finish():
    with Local(2) as pool:
        found = dict(pool.map(square_or_die, [1, 2, 3, 4, 5]))
        again = dict(pool.map(square_or_die, [6]))  # the pool is usable afterwards
    assert {i: found[i] for i in (0, 1, 3, 4)} == {0: 1, 1: 4, 3: 16, 4: 25}
    assert isinstance(found[2], Died)
    said(found[2].reason, "died")
    assert again == {0: 36}


def test_the_signal_that_killed_a_task_is_read_every_time():
    # the pool's thread reaps the worker as it breaks; a read racing it said "no signal"
    # about one time in five
    with Local(1) as pool:
        deaths = [died for _ in range(10) for _, died in pool.map(square_or_die, [3])]
    assert [died.killed_by for died in deaths] == ["SIGKILL"] * 10


def first_dies_the_rest_measure(item: tuple[int, bytes]) -> int:
    if item[0] == 0:
        time.sleep(0.5)  # the next task's 4 MB wait in the pipe to this worker
        os.kill(os.getpid(), signal.SIGKILL)
    return len(item[1])


TASKS_BEHIND_A_DEATH = """
from bench.executor import Local
from test_executor import first_dies_the_rest_measure
with Local(1) as pool:
    found = dict(pool.map(first_dies_the_rest_measure, [(i, b"x" * (4 << 20)) for i in range(4)]))
print(sorted((i, type(v).__name__) for i, v in found.items()))
"""


def test_a_death_with_large_tasks_queued_behind_it_does_not_hang_the_pool():
    # before Python 3.11.5 the pool's feeder stayed blocked on the dead worker's pipe
    # and its shutdown waited forever (CPython gh-94777); in a process of its own, with
    # a time limit, so that a hang fails
    done = subprocess.run(
        [sys.executable, "-c", TASKS_BEHIND_A_DEATH],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(0, 'Died'), (1, 'int'), (2, 'int'), (3, 'int')]"


def test_follow_ups_run_too_and_a_dying_one_fails_alone():
    items = [1, 2]

    def then(i: int, result) -> list[int]:  # the square of 2 releases 3 (which dies) and 5
        return [3, 5] if result == 4 else []

    with Local(2) as pool:
        found = dict(pool.map(square_or_die, items, then=then))
    assert items == [1, 2, 3, 5]
    assert {i: found[i] for i in (0, 1, 3)} == {0: 1, 1: 4, 3: 25}
    assert isinstance(found[2], Died)


def convert_and_crash(folder: str) -> None:
    """A task that dies of SIGSEGV inside the converter's breadcrumb, as a crashing
    TFLite converter would."""
    from variants.convert import BREADCRUMBS, breadcrumb

    os.environ[BREADCRUMBS] = folder
    with breadcrumb("quantizing"):
        os.kill(os.getpid(), signal.SIGSEGV)


def test_a_converter_crash_is_said_with_its_signal_and_its_recipe(tmp_path):
    from bench.build import Job
    from bench.train import _each, split
    from variants.convert import crashed_doing

    with Local(1) as pool:
        ((_, died),) = pool.map(convert_and_crash, [str(tmp_path)])
    assert isinstance(died, Died)
    assert died.killed_by == "SIGSEGV"
    said(died.reason, "killed by SIGSEGV")
    assert (tmp_path / str(died.pid)).read_text() == "quantizing"  # left behind by the crash
    # a group of recipes that died runs again one by one; a recipe that died alone is said
    group = Job(None, None, None, {}, tmp_path, None, ("pruned50", "pruned50_int8"))
    assert split(group, died)
    assert not split(Job(None, None, None, {}, tmp_path, None, ("pruned50",)), died)
    (alone,) = _each(died, ("pruned50_int8",), tmp_path)
    assert alone.reason == "the TFLite converter crashed (SIGSEGV) quantizing pruned50_int8"
    assert crashed_doing(tmp_path, died.pid) is None  # read once, then removed
    (plain,) = _each(Died("SIGKILL", 1), ("float32",), tmp_path)  # no breadcrumb: no words
    starts(plain.reason, "its worker process died (killed by SIGKILL)")


def test_zero_workers_is_refused():
    with pytest.raises(UsageError, match="at least 1"):
        check_workers(0)
    done = edgebench("run", "--quick", "--workers", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    said(done.stderr, "--workers 0")


@pytest.mark.slow
def test_the_models_are_the_same_bytes_for_one_or_two_workers(tmp_path):
    found = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        done = edgebench(
            "run", "--quick", "--arch", "conv", "--variants", "float32,pruned50",
            "--workers", workers, "--no-cache", "--out", out,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = json.loads((out / "results.json").read_text())["rows"]
        found[workers] = [(r["arch"], r["variant"], r["sha256"], r["point_f1"]) for r in rows]
    assert found[1] == found[2]
    assert len(found[1]) == 2


@pytest.mark.slow
def test_a_ray_address_that_does_not_answer_is_one_line_exit_2_within_10_s():
    pytest.importorskip("ray")
    done = edgebench("run", "--quick", "--executor", "ray=127.0.0.1:1", process=True, timeout=20)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    said(done.stderr, "ray=127.0.0.1:1: no Ray cluster answers there")


@pytest.mark.slow
def test_a_local_ray_instance_builds_the_same_models(tmp_path):
    pytest.importorskip("ray")
    found = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        done = edgebench(
            "run", "--quick", "--arch", "seed", "--variants", "float32",
            "--executor", executor, "--workers", "2", "--no-cache", "--out", out,
            process=executor == "ray",  # Ray's driver keeps state in its process
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = json.loads((out / "results.json").read_text())["rows"]
        found[executor] = [
            (r["variant"], r["sha256"], r["arena_bytes"], r["point_f1"]) for r in rows
        ]
    assert found["ray"] == found["local"]
