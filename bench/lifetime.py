"""No process outlives the run, and a killed run leaves no staging behind: each child
edgebench starts dies with its parent."""

import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Have the kernel send `sig` to this process when its parent dies, however the
    parent dies (SIGKILL included); Linux only, elsewhere nothing."""
    if sys.platform != "linux":
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent:  # the parent died before the call above
        os._exit(1)


def watch(*folders: Path) -> int:
    """A child that removes `folders` when this process dies, however it dies (its pid:
    kill it with SIGKILL once the folders are dealt with)."""
    pid = os.fork()
    if pid:
        return pid
    try:

        def clean(_signum: int, _frame: object) -> None:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            os._exit(0)

        signal.signal(signal.SIGTERM, clean)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C is the run's to handle
        die_with_parent(signal.SIGTERM)
        while True:
            signal.pause()
    finally:
        os._exit(1)


def stop(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
