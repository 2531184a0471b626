"""One model's firmware for each core: linked, its sizes read from the linker's map,
its smallest arena searched in the emulator, then two invokes run at exactly that arena,
the output checked against TFLM on the host for the same fixed input."""

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import MeasurementError
from bench.firmware import build, emulate
from bench.firmware.toolchain import Toolchain
from bench.schema import CoreFirmware

INTERPRETER = "(interpreter)"
ALLOCATE_FAILED = (
    "AllocateTensors() failed in the firmware: a kernel refused the model in Prepare "
    "(release firmware strips TFLM's error strings; the host TFLM accepted it)"
)
INPUT_SEED = 20261201


@dataclass(frozen=True)
class Task:
    """What a worker needs to measure one model on every core."""

    model: bytes
    host_arena: int  # TFLM's on the host: the firmware's static arena is twice as large
    toolchain: Toolchain
    cores: tuple[str, ...]
    cache_dir: Path
    tree_digest: str
    profile: str = build.DEFAULT_PROFILE


def operators(model: bytes) -> tuple[str, ...]:
    """The model's distinct operators, in its order."""
    from bench import graph

    return tuple(dict.fromkeys(graph.op_names(model)))


def measure(task: Task) -> dict[str, CoreFirmware | str]:
    """Core -> its figures, or the words saying why there are none (a worker's task:
    failures are returned, not raised)."""
    try:
        feed, expected, program = _host(task.model, task.host_arena)
    except Exception as err:
        why = f"TFLM on the host could not run the fixed input: {err}"[:300]
        return dict.fromkeys(task.cores, why)
    out: dict[str, CoreFirmware | str] = {}
    for name in task.cores:
        core = build.CORES[name]
        objects = build.Objects.at(
            task.cache_dir, task.toolchain, core, task.tree_digest, task.profile
        )
        try:
            out[name] = _one(objects, program, feed, expected)
        except (MeasurementError, emulate.Fault) as err:
            out[name] = str(err)
    return out


def _one(
    objects: build.Objects, program: build.Program, feed: bytes, expected: np.ndarray
) -> CoreFirmware:
    cpu = objects.core.unicorn_cpu
    with tempfile.TemporaryDirectory(prefix=f"edgebench-fw-{os.getpid()}-") as folder:
        elf = build.link(objects, program, Path(folder))
        sizes = flash_and_static(Path(folder) / "firmware.map")
        machine = emulate.Machine(elf, cpu)
        arena = smallest_arena(machine, feed, program.arena_capacity)
        ran = machine.run(feed, emulate.Run(arena_size=arena))
    if ran.status != 2:
        raise MeasurementError(
            f"the firmware allocated but did not invoke at its smallest arena, {arena:,} B"
        )
    if len(set(ran.invokes)) != 1:
        raise MeasurementError(f"two invokes counted differently: {ran.invokes}")
    by_op = {(program.ops[k] if k >= 0 else INTERPRETER): n for k, n in sorted(ran.by_op.items())}
    diff = _difference(expected, ran.output)
    return CoreFirmware(
        core=objects.core.name,
        flash_bytes=sizes.flash,
        flash_model_bytes=len(program.model),
        flash_tflm_bytes=sizes.tflm,
        flash_rest_bytes=sizes.flash - len(program.model) - sizes.tflm,
        ram_bytes=arena + sizes.static + ran.stack_bytes,
        ram_arena_bytes=arena,
        ram_static_bytes=sizes.static,
        ram_stack_bytes=ran.stack_bytes,
        instructions=ran.invokes[0],
        instructions_by_op=by_op,
        output_max_abs_diff=diff,
        output_matches_host=diff <= _tolerance(expected),
    )


def smallest_arena(machine: emulate.Machine, feed: bytes, capacity: int) -> int:
    """The smallest arena (in 16 B steps, at most the static `capacity`) that
    AllocateTensors() accepts on the target, by the host's bisection, tried first at
    `arena_used_bytes()` (which the allocator's temporary allocations in Prepare can
    exceed: 804 B used, 1,152 B needed for the seed int8 model)."""
    from bench.tflm import smallest_arena as bisect_arena

    def allocates(size: int) -> bool:  # status 2: allocated, and no invoke was asked
        return machine.run(feed, emulate.Run(size, invokes=0)).status in (1, 2)

    whole = machine.run(feed, emulate.Run(invokes=0))  # at the whole capacity
    if whole.status not in (1, 2):
        raise MeasurementError(ALLOCATE_FAILED)
    return bisect_arena(allocates, capacity, step=16, guess=whole.arena_used)


def _difference(expected: np.ndarray, output: bytes) -> float:
    got = np.frombuffer(output, expected.dtype).reshape(expected.shape)
    return float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)), initial=0))


def _tolerance(expected: np.ndarray) -> float:
    """Integer outputs must agree exactly (CMSIS-NN's kernels are meant to be bit-exact
    with TFLM's reference ones; where they are not, the row says so); float ones within
    rounding, as the target fuses multiply-adds."""
    if expected.dtype.kind != "f":
        return 0.0
    return 1e-5 * max(1.0, float(np.max(np.abs(expected), initial=0)))


def program(model: bytes, arena: int) -> build.Program:
    """What the firmware of `model` is made of (`arena`: TFLM's on the host)."""
    return _host(model, arena)[2]


def _host(model: bytes, arena: int) -> tuple[bytes, np.ndarray, build.Program]:
    """A fixed input, TFLM's output for it on the host, and the firmware's program."""
    from tflite_micro.python.tflite_micro import runtime

    capacity = -(-max(64 << 10, 2 * arena) // 16) * 16
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=capacity)
    detail = interpreter.get_input_details(0)
    feed = _fixed_input(detail["shape"], np.dtype(detail["dtype"]))
    interpreter.set_input(feed, 0)
    interpreter.invoke()
    expected = np.ascontiguousarray(interpreter.get_output(0))
    program = build.Program(model, operators(model), feed.nbytes, expected.nbytes, capacity)
    return feed.tobytes(), expected, program


def _fixed_input(shape: list[int], dtype: np.dtype) -> np.ndarray:
    """The same pseudo-random input every time, over the type's range."""
    rng = np.random.default_rng(INPUT_SEED)
    if dtype.kind == "f":
        return rng.uniform(-1.0, 1.0, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


@dataclass(frozen=True)
class Sizes:
    flash: int
    tflm: int
    static: int  # RAM of .data and .bss besides model.o's (the arena and the I/O buffers)


OUTPUT = re.compile(r"^(\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")
INPUT = re.compile(r"^ (?:\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$")
FLASH, FLASH_END = 0x08000000, 0x20000000


def flash_and_static(map_file: Path) -> Sizes:
    """Totals from the map's output sections (so alignment counts); TFLM's share from the
    input sections that came from its objects; model.o's RAM (arena, buffers) left out."""
    totals = {"flash": 0, "tflm": 0, "static": 0}
    out, in_flash = "", False
    text = map_file.read_text(errors="replace").split("Linker script and memory map", 1)[-1]
    for line in text.splitlines():
        if m := OUTPUT.match(line):
            out, address, size = m.group(1), int(m.group(2), 16), int(m.group(3), 16)
            in_flash = FLASH <= address < FLASH_END or out == ".data"  # .data: its load image
            totals["flash"] += size if in_flash else 0
            totals["static"] += size if out in (".data", ".bss") else 0
        elif (m := INPUT.match(line)) and out:
            size, source = int(m.group(1), 16), m.group(2).strip()
            if source.endswith("model.o"):
                totals["static"] -= size if out in (".data", ".bss") else 0
            elif in_flash and re.search(r"/firmware/[^/]+/(libtflm\.a|obj/)", source):
                totals["tflm"] += size
    return Sizes(**totals)
