"""TFLM + CMSIS-NN compiled for a Cortex-M core, and one model linked into an image.

Objects are compiled once per (core, tree, compiler, flags) and cached, each written
atomically, so runs and workers share them. Each carries a seal beside it: the digest of
what made it (the source, the flags, the compiler) and of its own bytes; one that does
not match is compiled again, with one warning line, never linked. Only what a model can
reach is compiled: the interpreter framework, CMSIS-NN (C, cheap; the linker keeps what
is called), and the kernels of the model's operators with the kernel files they include.
"""

import functools
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench import MeasurementError, UsageError, lifetime
from bench.cache import damaged, digest, digest_bytes, file_digest
from bench.firmware.resolver import resolver_header
from bench.firmware.toolchain import Toolchain


@dataclass(frozen=True)
class Core:
    name: str  # as the catalog's boards are grouped: cortex-m4+fp, ...
    flags: tuple[str, ...]
    unicorn_cpu: str  # the unicorn model of the core: UC_CPU_ARM_<...>


CORES = {
    c.name: c
    for c in (
        Core("cortex-m0plus", ("-mcpu=cortex-m0plus", "-mfloat-abi=soft"), "CORTEX_M0"),
        Core(
            "cortex-m4+fp",
            ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
            "CORTEX_M4",
        ),
        # single-precision FPU: unicorn's M7 model has no double-precision instructions
        # (the kernels use doubles only in Prepare, as library calls then)
        Core(
            "cortex-m7+fp",
            ("-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
            "CORTEX_M7",
        ),
        Core(
            "cortex-m33+fp",
            ("-mcpu=cortex-m33", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
            "CORTEX_M33",
        ),
    )
}

# Release flags: the build profile is the user's choice (`--firmware-opt`), size-optimised
# (-Os) by default, as mbed-os's release profile builds: on these parts flash is the
# scarcer resource; -O2 and -O3 trade flash for fewer instructions. Sections per
# function and datum so that --gc-sections drops what the model does not reach; error
# strings stripped; no exceptions or RTTI.
PROFILES = ("Os", "O2", "O3")
DEFAULT_PROFILE = "Os"
COMMON = ("-mthumb", "-ffunction-sections", "-fdata-sections", "-fno-common", "-g0")
CXX = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
       "-fno-unwind-tables", "-fno-use-cxa-atexit")  # fmt: skip
DEFINES = ("-DTF_LITE_STATIC_MEMORY", "-DCMSIS_NN", "-DTF_LITE_STRIP_ERROR_STRINGS", "-DNDEBUG")
INCLUDES = (
    ".",
    "third_party/flatbuffers/include",
    "third_party/gemmlowp",
    "third_party/ruy",
    "third_party/cmsis_nn",
    "third_party/cmsis_nn/Include",
    "third_party/cmsis/CMSIS/Core/Include",
)
LINK = ("-specs=nano.specs", "-specs=nosys.specs", "-Wl,--gc-sections", "-nostartfiles")

MICRO = "tensorflow/lite/micro"
KERNELS = f"{MICRO}/kernels"
# the interpreter without kernels: every .cc here is compiled (the linker drops the rest)
FRAMEWORK_DIRS = (
    MICRO,
    f"{MICRO}/arena_allocator",
    f"{MICRO}/memory_planner",
    f"{MICRO}/tflite_bridge",
    "tensorflow/lite/core",
    "tensorflow/lite/kernels",
    "tensorflow/compiler/mlir/lite",
)
FRAMEWORK_FILES = (f"{MICRO}/cortex_m_generic/debug_log.cc",)
SKIP = re.compile(r"(test|fake|mock)[^/]*$")
KERNEL_INCLUDE = re.compile(rf'#include "{KERNELS}/(\w+)\.h"')


def _sources(tree: Path, folder: str, recursive: bool, suffixes: tuple[str, ...]) -> list[str]:
    root = tree / folder
    found = root.rglob("*") if recursive else root.glob("*")
    return sorted(
        str(p.relative_to(tree))
        for p in found
        if p.suffix in suffixes and p.is_file() and not SKIP.search(p.name)
    )


def framework_sources(tree: Path) -> list[str]:
    """The interpreter, its allocators and planners, flatbuffer glue and CMSIS-NN."""
    files = list(FRAMEWORK_FILES)
    for folder in FRAMEWORK_DIRS:
        files += _sources(tree, folder, folder != MICRO, (".cc", ".c"))
    return files + _sources(tree, "third_party/cmsis_nn/Source", True, (".c",))


def kernel_sources(tree: Path, ops: Iterable[str]) -> list[str]:
    """The files defining each operator's `Register_<OP>()`, with the kernel files they
    include (`fully_connected.h` -> `fully_connected_common.cc`), transitively. An
    operator with no such file raises MeasurementError: the tree has no kernel for it."""
    defining = _registrations(tree)
    todo = []
    for op in ops:
        if op not in defining:
            raise MeasurementError(f"not deployable: {op} has no kernel in this TFLM tree")
        todo.append(defining[op])
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for stem in KERNEL_INCLUDE.findall(_source_text(tree / path)):
            todo += _kernel_files(tree, stem)
    return sorted(seen)


MAX_SOURCE_BYTES = 16 << 20  # TFLM's largest source is a few hundred KB


def _source_text(path: Path) -> str:
    """A kernel source's text; one that no TFLM tree holds (many MB) is refused, unread."""
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise UsageError(f"{path}: {path.stat().st_size:,} bytes is no TFLM source; fix the tree")
    return path.read_text(errors="replace")


def _kernel_files(tree: Path, stem: str) -> list[str]:
    names = (f"{stem}.cc", f"{stem}_common.cc", f"cmsis_nn/{stem}.cc")
    return [f"{KERNELS}/{n}" for n in names if (tree / KERNELS / n).is_file()]


def known_operators(tree: Path) -> set[str]:
    return set(_registrations(tree))


@functools.cache
def _registrations(tree: Path) -> dict[str, str]:
    """Operator -> the kernel file that defines `TFLMRegistration Register_<OP>()`."""
    found: dict[str, str] = {}
    pattern = re.compile(r"^TFLMRegistration Register_(\w+)\(\)\s*\{", re.M)
    for path in _sources(tree, KERNELS, True, (".cc",)):
        for op in pattern.findall(_source_text(tree / path)):
            found.setdefault(op, path)
    return found


@dataclass(frozen=True)
class Objects:
    """Where one core's objects are cached, and how they are made."""

    toolchain: Toolchain
    core: Core
    root: Path  # the cache folder of this (core, tree, compiler, flags)
    profile: str = DEFAULT_PROFILE  # -Os, -O2 or -O3 (without the dash)

    @classmethod
    def at(
        cls,
        cache_dir: Path,
        toolchain: Toolchain,
        core: Core,
        tree_digest: str,
        profile: str = DEFAULT_PROFILE,
    ) -> "Objects":
        flags = [core.flags, COMMON, f"-{profile}", CXX, DEFINES]
        key = digest([*flags, toolchain.gcc_version, tree_digest, "sealed"])
        return cls(toolchain, core, cache_dir / "firmware" / f"{core.name}-{key}", profile)

    def flags(self, source: str) -> list[str]:
        lang = list(CXX) if source.endswith((".cc", ".cpp")) else ["-std=gnu11"]
        includes = [f"-I{self.toolchain.tree / i}" for i in INCLUDES]
        return [*self.core.flags, *COMMON, f"-{self.profile}", *lang, *DEFINES, *includes]

    def object(self, source: str) -> Path:
        return self.root / "obj" / (source + ".o")

    def compile(self, sources: list[str], jobs: int, said: "Compiling | None" = None) -> list[Path]:
        """Each source's object, compiled where not cached yet, `jobs` at a time; `said`
        hears of the files to compile, then of each as it starts."""
        todo = [s for s in sources if not sound(self.object(s), self.made_from(s))]
        if todo:
            lifetime.reap(self.root.rglob("*.part"), PART)  # a killed compile's
            if said is not None:
                said(None, len(todo))
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(lambda source: self._compile_one(source, said), todo))
        return [self.object(s) for s in sources]

    def made_from(self, source: str, extra: Iterable[str] = ()) -> str:
        """The digest of what makes `source`'s object: its bytes, the flags, the compiler."""
        path = self.toolchain.tree / source  # an absolute `source` (a template) stays itself
        flags = [*self.flags(path.name), *extra]
        return digest([flags, self.toolchain.gcc_version, _digest_of(path)])

    def _compile_one(self, source: str, said: "Compiling | None" = None) -> None:
        if said is not None:
            said(source, 0)
        _compile_to(self, self.toolchain.tree / source, self.object(source), self.made_from(source))


# hears of a compile: (None, how many files) first, then (each file, 0) as it starts
Compiling = Callable[[str | None, int], None]


def _compile_to(
    objects: Objects, source: Path, target: Path, made_from: str, extra: Iterable[str] = ()
) -> None:
    """`source` compiled into `target`, which appears whole or not at all, sealed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=f".{os.getpid()}.o.part")
    os.close(fd)
    command = [objects.toolchain.gcc, *objects.flags(source.name), *extra, "-c", str(source)]
    try:
        _call([*command, "-o", tmp], f"compiling {source.name}")
        _install(Path(tmp), target, made_from)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _install(made: Path, target: Path, made_from: str) -> None:
    """`made` moved to `target`, its seal (what made it, its bytes' digest) beside it."""
    sealed_as = f"{made_from} {file_digest(made)}"
    os.replace(made, target)
    seal = _seal(target)
    tmp = seal.with_name(f".{seal.name}.{os.getpid()}.tmp")
    tmp.write_text(sealed_as)
    os.replace(tmp, seal)


def _seal(target: Path) -> Path:
    return target.with_name(target.name + ".seal")


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime): its digest, per process


def _digest_of(path: Path) -> str:
    """A file's sha256, computed once per process while the file is unchanged."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_digest(path)
    return _DIGESTS[key]


def sound(target: Path, made_from: str) -> bool:
    """Whether `target` is there, made from `made_from`, with the bytes its seal names;
    a damaged one is said once and will be made again."""
    if not target.is_file():
        return False
    try:
        kept = _seal(target).read_text()
        if kept == f"{made_from} {_digest_of(target)}":
            return True
    except OSError:
        pass
    damaged(target, "does not match its seal (what made it, and its bytes)")
    return False


def _call(command: list[str], doing: str, cwd: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)
    if done.returncode != 0:
        raise MeasurementError(f"{doing} failed: {_reason(done.stderr)}")


def _reason(stderr: str) -> str:
    """The compiler's or linker's first error, in its words."""
    undefined = re.search(r"undefined reference to `([^']+)'", stderr)
    if undefined:
        return f"undefined reference to {undefined.group(1)}"
    lines = [ln for ln in stderr.splitlines() if "error" in ln or "overflow" in ln]
    text = (lines or stderr.strip().splitlines() or ["no message"])[0]
    return re.sub(r"^.*?(ld|collect2)(\.exe)?:\s*", "", text).strip()[:300]


def tree_digest(tree: Path) -> str:
    """Of every source and header in the tree: a changed tree compiles anew."""
    parts = sorted(
        (str(p.relative_to(tree)), file_digest(p))
        for p in tree.rglob("*")
        if p.is_file() and p.suffix in (".h", ".hpp", ".cc", ".c", ".inc")
    )
    return digest(parts)


PART = re.compile(r"\.(?P<pid>\d+)\.[oa]\.part$")  # an object or archive being written
TEMPLATES = Path(__file__).parent / "templates"
STACK_BYTES = 16 << 10
FLASH_BYTES = 32 << 20  # larger than any board's: fit is judged on the measured sizes
MODEL_SYMBOL = "eb_model"


@dataclass(frozen=True)
class Program:
    """What the firmware is made for: the model, its operators and tensor sizes."""

    model: bytes
    ops: tuple[str, ...]  # distinct operators, in the model's order
    input_bytes: int
    output_bytes: int
    arena_capacity: int  # the static arena; the emulator may ask for less


def library(objects: Objects, jobs: int, said: Compiling | None = None) -> Path:
    """The framework archive of one core, built once and cached."""
    archive = objects.root / "libtflm.a"
    sources = framework_sources(objects.toolchain.tree)
    made_from = digest([objects.made_from(s) for s in sources])
    if sound(archive, made_from):
        return archive
    members = objects.compile(sources, jobs, said)
    ar = objects.toolchain.gcc.removesuffix("gcc") + "ar"
    lifetime.reap(objects.root.rglob("*.part"), PART)  # a killed compile's
    fd, tmp = tempfile.mkstemp(dir=objects.root, suffix=f".{os.getpid()}.a.part")
    os.close(fd)
    Path(tmp).unlink()
    try:
        _call([ar, "rcs", tmp, *map(str, members)], "archiving TFLM")
        _install(Path(tmp), archive, made_from)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return archive


def link(objects: Objects, program: Program, folder: Path, jobs: int = 1) -> Path:
    """The firmware of `program` for the core of `objects`, linked in `folder`: its ELF
    (firmware.map beside it)."""
    kernels = objects.compile(kernel_sources(objects.toolchain.tree, program.ops), jobs)
    archive = library(objects, jobs)
    main = _main_object(objects, program.ops)
    (folder / "model.bin").write_bytes(program.model)
    (folder / "model.S").write_text(data_source(program))
    _call([objects.toolchain.gcc, *objects.core.flags, "-c", "model.S", "-o", "model.o"],
          "assembling the model", cwd=folder)  # fmt: skip
    defines = [
        f"-DEB_FLASH_BYTES={FLASH_BYTES}",
        f"-DEB_RAM_BYTES={ram_bytes(program)}",
        f"-DEB_STACK_BYTES={STACK_BYTES}",
    ]
    script = folder / "link.ld"
    _call(
        [objects.toolchain.gcc, "-E", "-P", "-x", "c", *defines, str(TEMPLATES / "link.ld"),
         "-o", str(script)],
        "preparing the linker script",
    )  # fmt: skip
    elf = folder / "firmware.elf"
    _call(
        [
            objects.toolchain.gcc, *objects.core.flags, "-mthumb", str(main),
            str(_startup_object(objects)), "model.o", *map(str, kernels), str(archive),
            *LINK, f"-T{script}", "-Wl,-Map=firmware.map", "-lstdc++", "-lm", "-o", str(elf),
        ],
        "linking the firmware",
        cwd=folder,
    )  # fmt: skip
    return elf


def data_source(program: Program) -> str:
    """model.S: the flatbuffer in flash, the arena and the I/O buffers in RAM."""
    return f"""/* Generated by edgebench: the data of the measuring firmware. */
.section .rodata.{MODEL_SYMBOL},"a"
.balign 16
.global {MODEL_SYMBOL}
{MODEL_SYMBOL}:
.incbin "model.bin"
.size {MODEL_SYMBOL}, . - {MODEL_SYMBOL}
.balign 4
.global eb_arena_capacity, eb_input_bytes, eb_output_bytes
eb_arena_capacity: .word {program.arena_capacity}
eb_input_bytes: .word {program.input_bytes}
eb_output_bytes: .word {program.output_bytes}
.section .bss.eb_arena,"aw",%nobits
.balign 16
.global eb_arena, eb_input, eb_output
eb_arena: .space {program.arena_capacity}
.size eb_arena, {program.arena_capacity}
.section .noinit.eb_io,"aw",%nobits
.balign 4
eb_input: .space {max(1, program.input_bytes)}
.balign 4
eb_output: .space {max(1, program.output_bytes)}
"""


def _main_object(objects: Objects, ops: tuple[str, ...]) -> Path:
    """main.cc compiled for one operator set (its resolver), cached."""
    target = objects.root / "main" / digest([list(ops), _template("main.cc")]) / "main.o"
    extra = [f"-I{target.parent}"]
    header = resolver_header("firmware", ops)  # what it includes is in its key
    made_from = digest([objects.made_from(str(TEMPLATES / "main.cc"), extra), header])
    if not sound(target, made_from):
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / "model_ops.h").write_text(header)
        _compile_to(objects, TEMPLATES / "main.cc", target, made_from, extra)
    return target


def _template(name: str) -> str:
    return digest_bytes((TEMPLATES / name).read_bytes())


def _startup_object(objects: Objects) -> Path:
    target = objects.root / "startup" / _template("startup.c") / "startup.o"
    made_from = objects.made_from(str(TEMPLATES / "startup.c"))
    if not sound(target, made_from):
        _compile_to(objects, TEMPLATES / "startup.c", target, made_from)
    return target


def ram_bytes(program: Program) -> int:
    """An emulated RAM region that holds the static data and the stack, in 64 KiB steps."""
    static = program.arena_capacity + program.input_bytes + program.output_bytes
    need = static + STACK_BYTES + (256 << 10)
    return -(-need // (64 << 10)) * (64 << 10)
