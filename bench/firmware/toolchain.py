"""What the firmware path needs, found or named: the Arm cross-compiler with newlib,
a TFLM source tree, and the unicorn emulator (installed with edgebench).

Each is optional: without one, every firmware figure reads "unavailable: <what is
missing>, <how to get it>" and the rest of the run is unaffected."""

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import UsageError

TREE_ENV = "EDGEBENCH_TFLM_TREE"
GCC = "arm-none-eabi-gcc"
GET_GCC = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib"
GET_TREE = (
    f"give --tflm-tree or {TREE_ENV}: a tree made by tflite-micro's create_tflm_tree.py "
    "(see docs/firmware.md)"
)
# files whose presence makes a folder a TFLM tree with CMSIS-NN kernels
TREE_MARKS = (
    "tensorflow/lite/micro/micro_interpreter.cc",
    "tensorflow/lite/micro/micro_mutable_op_resolver.h",
    "tensorflow/lite/micro/kernels/cmsis_nn",
    "third_party/cmsis_nn/Include/arm_nnfunctions.h",
    "third_party/flatbuffers/include",
)


@dataclass(frozen=True)
class Toolchain:
    gcc: str
    tree: Path
    gcc_version: str


def check_tree(path: Path, where: str) -> Path:
    """`path` if it is a TFLM tree with CMSIS-NN; else a UsageError naming `where`."""
    from bench.firmware.build import known_operators

    missing = [m for m in TREE_MARKS if not (path / m).exists()]
    if not path.is_dir() or missing:
        what = "is not a folder" if not path.is_dir() else f"lacks {missing[0]}"
    elif not known_operators(path.resolve()):
        what = "registers no operator kernel"
    else:
        return path.resolve()
    raise UsageError(
        f"{where} {path} {what}: not a TFLM tree with CMSIS-NN kernels; "
        "make one with tflite-micro's create_tflm_tree.py (see docs/firmware.md)"
    )


def tree_from(option: Path | None) -> Path | None:
    """The tree the user gave (option first, then the environment), checked; None if
    neither names one."""
    if option is not None:
        return check_tree(option, "--tflm-tree")
    env = os.environ.get(TREE_ENV)
    return check_tree(Path(env), TREE_ENV) if env else None


@functools.cache
def _gcc_version(gcc: str) -> str | None:
    try:
        done = subprocess.run(
            [gcc, "-dumpfullversion"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _newlib(gcc: str) -> bool:
    """Whether the compiler finds newlib-nano (the C library the firmware links)."""
    try:
        done = subprocess.run(
            [gcc, "-print-file-name=libc_nano.a"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return Path(done.stdout.strip()).is_file()


def missing_emulator() -> str | None:
    try:
        import capstone  # noqa: F401
        import elftools  # noqa: F401
        import unicorn  # noqa: F401
    except ImportError as err:
        return f"unavailable: no {err.name} module, reinstall edgebench (pip install -e .)"
    return None


def find(tree: Path | None) -> Toolchain | str:
    """The toolchain, or the line that says what is missing and how to get it."""
    gcc = shutil.which(GCC)
    version = _gcc_version(gcc) if gcc else None
    if gcc is None or version is None:
        return f"unavailable: no {GCC} on PATH, {GET_GCC}"
    if not _newlib(gcc):
        return f"unavailable: {GCC} has no newlib-nano, {GET_GCC}"
    if tree is None:
        return f"unavailable: no TFLM tree, {GET_TREE}"
    return missing_emulator() or Toolchain(gcc, tree, version)


def words(tc: Toolchain, tree_digest: str, profile: str) -> str:
    """The build and emulator behind a firmware figure, in words: the comparison key."""
    from importlib.metadata import version

    return (
        f"arm-none-eabi-gcc {tc.gcc_version} -{profile}, TFLM tree {tree_digest}, "
        f"unicorn {version('unicorn')}"
    )


def profile_of(said: str | None) -> str:
    """The build profile `words` names: Os for the results from before the choice."""
    found = re.search(r"arm-none-eabi-gcc \S+ -(O[s23])\b", said or "")
    return found.group(1) if found else "Os"


def tree_of(said: str | None) -> str | None:
    """The TFLM tree's digest `words` names, if it names one."""
    found = re.search(r"TFLM tree ([0-9a-f]+)", said or "")
    return found.group(1) if found else None
