"""Where a command writes: an output folder it owns, staged and swapped in.

A run writes only into a folder that is empty or holds an earlier edgebench run. It
stages its whole output beside the folder and swaps it in at the end, file by file:
it replaces the files it wrote, deletes only the files that the earlier run listed in
its manifest, and leaves everything else in the folder alone.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from bench import UsageError, lifetime

MANIFEST = ".edgebench-files.json"  # the files a run wrote, relative to its folder
RESULTS = "results.json"


def is_run_folder(out: Path) -> bool:
    """Whether `out` holds an edgebench run: its manifest, or a results file that says so."""
    if (out / MANIFEST).is_file() or _starts(out / "REPORT.md", "# edgebench report"):
        return True
    head = _head(out / RESULTS) if (out / RESULTS).is_file() else ""
    return head.lstrip().startswith("{") and '"schema_version"' in head


def _head(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.read(4096).decode(errors="replace")
    except OSError:
        return ""


def _starts(path: Path, text: str) -> bool:
    return path.is_file() and _head(path).lstrip().startswith(text)


def check_out(out: Path, inputs: Iterable[Path | None] = ()) -> None:
    """`out` may be written: not the file system's root, empty or a run folder, writable,
    and holding none of the command's inputs. One UsageError line otherwise."""
    where = out.resolve()
    if where == Path(where.anchor):
        raise UsageError(f"--out {out} is the file system's root; give a folder of its own")
    if where.exists() and not where.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give a folder")
    if where.is_dir() and any(where.iterdir()) and not is_run_folder(where):
        raise UsageError(
            f"--out {out} holds files that no edgebench run wrote; "
            "give an empty or new folder, or an earlier run's"
        )
    for given in inputs:
        if given is not None and given.resolve().is_relative_to(where):
            raise UsageError(
                f"{given} lies inside --out {out}, which the run replaces; "
                "move it out or pick another --out"
            )
    check_writable(out)


def clean(runs: Path, keep: int, latest: Path) -> list[Path]:
    """Remove all but the newest `keep` run folders under `runs` (named by their start
    time); never the one `latest` points to, nor a folder no edgebench run wrote."""
    if keep < 0:
        raise UsageError(f"--keep {keep}: give how many of the newest runs to keep (0 or more)")
    pinned = latest.resolve() if latest.is_symlink() else None
    found = sorted((p for p in runs.iterdir() if p.is_dir() and is_run_folder(p)), reverse=True)
    gone = [p for p in found[keep:] if p.resolve() != pinned]
    for folder in gone:
        shutil.rmtree(folder)
    return gone


def check_writable(out: Path, what: str = "output folder", option: str = "--out") -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".edgebench-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UsageError(
            f"cannot write to {what} {out}: {err.strerror or err}; pick another with {option}"
        ) from None


def check_not_input(out: Path, inputs: Iterable[Path]) -> None:
    """A file written with `--out` never replaces one of the command's inputs."""
    for given in inputs:
        if out.resolve() == given.resolve():
            raise UsageError(f"--out {out} is an input of this command; give another file")


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


def _manifest(out: Path) -> list[str]:
    try:
        listed = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(listed, list):
        return []
    return [p for p in listed if isinstance(p, str) and ".." not in Path(p).parts]


STAGING = re.compile(r"\.staging-(?P<pid>\d+)$")


@contextlib.contextmanager
def staging(out: Path) -> Iterator[tuple[Path, Path]]:
    """(stage, scratch): a folder beside `out` that the run writes, and one for its
    run-only cache; both removed at the end, and by a watchdog child if the run is
    killed (SIGKILL included)."""
    stage = out.parent / f".{out.name}.staging-{os.getpid()}"
    if out.parent.is_dir():
        lifetime.reap(out.parent.glob(f".{out.name}.staging-*"), STAGING)
    lifetime.reap(Path(tempfile.gettempdir()).glob("edgebench-*"), lifetime.TEMPORARY)
    stage.mkdir(parents=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"edgebench-cache-{os.getpid()}-"))
    lifetime.mark_run()
    watchdog = lifetime.watch(stage, scratch)
    try:
        yield stage, scratch
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
        lifetime.stop(watchdog)


def swap_in(stage: Path, out: Path) -> None:
    """Each file of `stage` replaces its namesake in `out` (results.json last); the files
    the earlier run listed and this one did not write are deleted; nothing else is."""
    out.mkdir(parents=True, exist_ok=True)
    written = _files(stage)
    for name in sorted(written, key=lambda p: p == RESULTS):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / name, target)
    for name in sorted(set(_manifest(out)) - set(written)):
        old = out / name
        if old.is_file() and not old.is_symlink():
            old.unlink()
        if old.parent != out and old.parent.is_dir() and not any(old.parent.iterdir()):
            old.parent.rmdir()
    manifest = out / f".{MANIFEST}.{os.getpid()}.tmp"
    manifest.write_text(json.dumps(written, indent=0) + "\n")
    os.replace(manifest, out / MANIFEST)
