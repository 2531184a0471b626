"""The results file: schema, machine info, atomic write and checked read."""

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

from bench import UsageError

SCHEMA_VERSION = 1
PACKAGES = ("edgebench", "tensorflow", "tf-keras", "tensorflow-model-optimization",
            "ai-edge-litert", "tflite-micro", "numpy", "scikit-learn", "pandas")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    freq = psutil.cpu_freq()
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "cpu_mhz_max": round(freq.max, 1) if freq and freq.max else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    # Timings compare only between results with the same fingerprint.
    basis = [info["machine"], info["cpu"], info["cores_logical"], info["python"],
             info["packages"]["ai-edge-litert"]]
    info["fingerprint"] = hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:12]
    return info


def project_info() -> dict:
    """The git commit of the edgebench checkout that ran, when it is one."""
    here = Path(__file__).resolve().parent.parent

    def git(*args):
        done = subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True,
                              timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    except (OSError, subprocess.SubprocessError):
        commit = dirty = None
    return {"git_commit": commit, "git_dirty": dirty}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file beside `path`, then rename: an interrupted write leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode())


def write(results: dict, path: Path) -> None:
    write_text_atomic(path, json.dumps(results, indent=1, allow_nan=False) + "\n")


def read(path: Path) -> dict:
    """Load and check a results file; any problem is one UsageError line."""
    try:
        results = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file; run `edgebench run` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: not a readable results file ({err})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise UsageError(f"{path}: not an edgebench results file (no 'rows' list)")
    version = results.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UsageError(f"{path}: schema_version {version!r} is not one this edgebench reads "
                         f"(<= {SCHEMA_VERSION}); upgrade edgebench")
    return results
