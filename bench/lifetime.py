"""No process outlives the run, and a killed run leaves no staging behind: each child
edgebench starts dies with its parent."""

import ctypes
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

PR_SET_PDEATHSIG = 1
RUN_PID = "EDGEBENCH_RUN_PID"  # the process whose children these are: they check it lives


def mark_run() -> None:
    """In the process about to start children: they may check that it still lives."""
    os.environ[RUN_PID] = str(os.getpid())


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Have the kernel send `sig` to this process when its parent dies, however the
    parent dies (SIGKILL included); Linux only, elsewhere nothing. A process whose run
    died before this call (it was starting up) exits at once."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    if orphaned():
        os._exit(1)


def orphaned() -> bool:
    """Whether the run this process belongs to is gone: its parent is init, or the
    process that marked the run (`mark_run`) no longer exists."""
    if os.getppid() == 1:
        return True
    pid = os.environ.get(RUN_PID, "")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, as another user's process: not ours to judge
        return False
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def reap(entries: Iterable[Path], pattern: "re.Pattern[str]") -> None:
    """Remove the `entries` whose name `pattern` matches with a `pid` group naming a
    process that is gone: what an edgebench process killed with its watchdog (a SIGKILL
    of the whole process group) left behind. Others' entries, and live ones, stay."""
    for path in entries:
        found = pattern.search(path.name)
        if found is None or found["pid"] == str(os.getpid()) or alive(int(found["pid"])):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# what edgebench's processes make in the temporary folder, each named by its maker's pid
TEMPORARY = re.compile(r"^edgebench-(?:cache|fw|tmp)-(?P<pid>\d+)-")


def private_temp() -> Path | None:
    """A temporary folder of this process's own, made the default of it and of every child
    it starts (TensorFlow's converter, multiprocessing's pymp-* folders, the emulator's),
    removed when the process ends (after multiprocessing's own clean-up), or by the next
    command if this one is killed. None where the temporary folder's path is so long that
    a socket under it would not fit (then the system's is used, as before)."""
    base = Path(tempfile.gettempdir())
    reap(base.glob("edgebench-*"), TEMPORARY)
    if len(str(base)) > MAX_TEMP_PATH:
        return None
    folder = Path(tempfile.mkdtemp(prefix=f"edgebench-tmp-{os.getpid()}-", dir=base))
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    from multiprocessing import util

    util.Finalize(None, shutil.rmtree, (folder,), {"ignore_errors": True}, exitpriority=-1000)
    return folder


# AF_UNIX paths hold 107 bytes: the fork server's socket lies 60 below the temporary folder
MAX_TEMP_PATH = 40


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
