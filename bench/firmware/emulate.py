"""A linked firmware run in unicorn's model of its Cortex-M core.

The ELF's load segments go to flash (0x08000000) and RAM (0x20000000); the stack is
painted first and read back after, for its high-water mark. Every executed block is
counted (capstone gives each block's instructions, once per block) inside
`MicroInterpreter::Invoke()` only: the markers, the per-operator wrappers and `main`
are left out, so the total is what the plain firmware executes. Between a wrapper's two
markers the count goes to that operator. The run ends at the `bkpt` after `main`.
"""

import bisect
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_PAINT = 0xCD
FLASH, RAM = 0x08000000, 0x20000000  # as the linker script places them
CPACR = 0xE000ED88  # coprocessor access: full access to CP10/CP11, the FPU
SCS = (0xE0000000, 0x100000)
MAX_INSTRUCTIONS = 2_000_000_000  # about 3 minutes emulated; no default model comes near
TIMEOUT_S = 300
# functions whose instructions are not the firmware's own work
EXCLUDED = ("eb_invoke_begin", "eb_invoke_end", "eb_op_begin", "eb_op_end", "main")
WRAPPER = "7WrappedILi"  # mangled Wrapped<K>::Invoke


class Fault(Exception):
    """The firmware faulted, or did not finish: the words name the fault and where."""


@dataclass
class Emulated:
    status: int  # main's eb_status: 2 when both invokes succeeded
    arena_used: int
    invokes: list[int] = field(default_factory=list)  # instructions, each invoke
    by_op: dict[int, int] = field(default_factory=dict)  # operator index -> last invoke's
    stack_bytes: int = 0
    output: bytes = b""


@dataclass(frozen=True)
class Symbols:
    """The ELF's symbols: by name, and functions by address for attribution."""

    by_name: dict[str, tuple[int, int]]
    starts: list[int]
    names: list[str]

    @classmethod
    def of(cls, elf: Any) -> "Symbols":
        by_name, funcs = {}, []
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            addr, size = sym["st_value"], sym["st_size"]
            by_name[sym.name] = (addr & ~1, size)
            if sym["st_info"]["type"] == "STT_FUNC" and size:
                funcs.append((addr & ~1, sym.name))
        funcs.sort()
        return cls(by_name, [a for a, _ in funcs], [n for _, n in funcs])

    def address(self, name: str) -> int:
        return self.by_name[name][0]

    def function(self, address: int) -> str:
        i = bisect.bisect_right(self.starts, address) - 1
        return self.names[i] if i >= 0 else "?"


Loaded = tuple[list[tuple[int, bytes]], Symbols, int, int]


def load(elf_path: Path) -> Loaded:
    """The load segments (at their load addresses), the symbols, and the stack's range;
    read once per file version (the arena search runs one image many times)."""
    stat = elf_path.stat()
    return _load(elf_path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(elf_path: Path, _mtime: int, _size: int) -> Loaded:
    from elftools.elf.elffile import ELFFile

    with elf_path.open("rb") as f:
        elf = ELFFile(f)
        segments = [
            (seg["p_paddr"], seg.data())
            for seg in elf.iter_segments()
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]
        ]
        symbols = Symbols.of(elf)
    return segments, symbols, symbols.address("_sstack"), symbols.address("_estack")


@dataclass(frozen=True)
class Run:
    """How the firmware is run: the arena it may use (0: its whole capacity), how many
    invokes, and the limits past which it has run away."""

    arena_size: int = 0
    invokes: int = 2
    max_instructions: int = MAX_INSTRUCTIONS
    timeout_s: float = TIMEOUT_S


class Machine:
    """One image in unicorn's model of its core, run as often as asked: each run starts
    from the state a fresh load gives (registers, zeroed RAM, the stack painted), while
    the code stays translated, so the arena search's many short runs cost little."""

    def __init__(self, elf_path: Path, cpu: str):
        import unicorn as uc
        from unicorn import arm_const as arm

        self.segments, self.symbols, self.stack_low, self.stack_high = load(elf_path)
        self.emu: Any = uc.Uc(uc.UC_ARCH_ARM, uc.UC_MODE_THUMB | uc.UC_MODE_MCLASS)
        self.emu.ctl_set_cpu_model(getattr(arm, f"UC_CPU_ARM_{cpu}"))
        _map(self.emu, self.segments, self.stack_high)
        self.fresh = self.emu.context_save()
        self.blocks: dict[tuple[int, int], int] = {}  # a block's instructions, once decoded
        self.counting: bool | None = None  # what the translated code's hooks were made for
        self.broken = False  # a run faulted: its state is not trusted again

    def run(self, feed: bytes, how: Run = Run()) -> Emulated:
        """Run the firmware with `feed` as its input; Fault if it faults or runs away."""
        if self.broken:
            raise Fault("this machine faulted before; load the image again")
        try:
            return self._run(feed, how)
        except Fault:
            self.broken = True
            raise

    def _run(self, feed: bytes, how: Run) -> Emulated:
        import unicorn as uc
        from unicorn import arm_const as arm

        emu, symbols = self.emu, self.symbols
        emu.context_restore(self.fresh)
        emu.mem_write(RAM, bytes(self.stack_low - RAM))  # as a fresh load: zeroed,
        for address, data in self.segments:  # but for what the image loads there
            if address >= RAM:
                emu.mem_write(address, data)
        emu.mem_write(self.stack_low, bytes([STACK_PAINT]) * (self.stack_high - self.stack_low))
        emu.mem_write(symbols.address("eb_input"), feed)
        emu.mem_write(symbols.address("eb_arena_size"), how.arena_size.to_bytes(4, "little"))
        emu.mem_write(symbols.address("eb_invokes"), how.invokes.to_bytes(4, "little"))
        counter = Counter(symbols, self.blocks)
        if self.counting is not None and self.counting != bool(how.invokes):
            emu.ctl_flush_tb()  # hooks enter the code as it is translated: translate anew
        self.counting = bool(how.invokes)
        if how.invokes:
            hooks = [emu.hook_add(uc.UC_HOOK_BLOCK, counter.block)]
        else:  # allocation only: nothing to count, so only the fault handler is watched
            fault = counter.fault_handler
            hooks = [emu.hook_add(uc.UC_HOOK_BLOCK, counter.block, begin=fault, end=fault + 1)]
        hooks.append(emu.hook_add(uc.UC_HOOK_INTR, counter.interrupt))
        vectors = self.segments[0][1]
        emu.reg_write(arm.UC_ARM_REG_SP, int.from_bytes(vectors[0:4], "little"))
        entry = int.from_bytes(vectors[4:8], "little")
        try:
            emu.emu_start(
                entry | 1, 0, timeout=int(how.timeout_s * 1e6), count=how.max_instructions
            )
        except uc.UcError as err:
            pc = emu.reg_read(arm.UC_ARM_REG_PC)
            raise Fault(f"{err} at 0x{pc:08x} in {symbols.function(pc)}") from None
        finally:
            for hook in hooks:
                emu.hook_del(hook)
        if counter.fault is not None:
            raise Fault(counter.fault)
        if not counter.stopped:
            pc = emu.reg_read(arm.UC_ARM_REG_PC)
            raise Fault(
                f"did not finish within {how.max_instructions:,} instructions or "
                f"{how.timeout_s:g} s; stopped at 0x{pc:08x} in {symbols.function(pc)}"
            )
        return _read_back(emu, symbols, counter, (self.stack_low, self.stack_high))


def run(elf_path: Path, cpu: str, feed: bytes, how: Run = Run()) -> Emulated:
    """One run of the firmware on a freshly loaded machine."""
    return Machine(elf_path, cpu).run(feed, how)


def _map(emu: Any, segments: list[tuple[int, bytes]], stack_high: int) -> None:
    flash_end = max(a + len(d) for a, d in segments if a < RAM)
    emu.mem_map(FLASH, _pages(flash_end - FLASH))
    emu.mem_map(RAM, _pages(stack_high - RAM))
    emu.mem_map(*SCS)
    for address, data in segments:
        emu.mem_write(address, data)
    emu.mem_write(CPACR, (0xF << 20).to_bytes(4, "little"))


def _pages(size: int) -> int:
    return -(-size // 0x1000) * 0x1000


def _read_back(emu: Any, symbols: Symbols, counter: "Counter", stack: tuple[int, int]) -> Emulated:
    def word(name: str) -> int:
        return int.from_bytes(emu.mem_read(symbols.address(name), 4), "little")

    low, high = stack
    painted = bytes(emu.mem_read(low, high - low))
    untouched = len(painted) - len(painted.lstrip(bytes([STACK_PAINT])))
    out_address, _ = symbols.by_name["eb_output"]
    out_bytes = word("eb_output_bytes")
    return Emulated(
        status=word("eb_status"),
        arena_used=word("eb_arena_used"),
        invokes=counter.invokes,
        by_op=dict(counter.by_op),
        stack_bytes=high - low - untouched,
        output=bytes(emu.mem_read(out_address, out_bytes)),
    )


class Counter:
    """Counts executed instructions per invoke and per operator (unicorn's hooks)."""

    def __init__(self, symbols: Symbols, blocks: dict[tuple[int, int], int] | None = None):
        import capstone as cs

        self.disasm = cs.Cs(cs.CS_ARCH_ARM, cs.CS_MODE_THUMB | cs.CS_MODE_MCLASS)
        self.symbols = symbols
        # (address, size) -> instructions, shared by the runs of one image
        self.blocks: dict[tuple[int, int], int] = {} if blocks is None else blocks
        marks = ("eb_invoke_begin", "eb_invoke_end", "eb_op_begin", "eb_op_end")
        self.marks = {symbols.address(m): m for m in marks}
        self.fault_handler = symbols.address("Fault_Handler")
        self.excluded = {symbols.address(n) for n in EXCLUDED if n in symbols.by_name}
        self.excluded |= {
            a for a, n in zip(symbols.starts, symbols.names, strict=True) if WRAPPER in n
        }
        self.invokes: list[int] = []
        self.by_op: dict[int, int] = {}
        self.counting = False
        self.op = -1  # -1: the interpreter outside any operator
        self.stopped = False
        self.fault: str | None = None

    def block(self, emu: Any, address: int, size: int, _: object) -> None:
        mark = self.marks.get(address)
        if mark is not None:
            self._mark(emu, mark)
            return
        if address == self.fault_handler:
            self._fault(emu)
            return
        if not self.counting:
            return
        n = self.blocks.get((address, size))
        if n is None:
            n = self._count(emu, address, size)
        if n:
            self.invokes[-1] += n
            self.by_op[self.op] = self.by_op.get(self.op, 0) + n

    def _count(self, emu: Any, address: int, size: int) -> int:
        """A block's instructions; 0 for one in a function left out."""
        excluded = self.symbols.starts and self._function_start(address) in self.excluded
        code = bytes(emu.mem_read(address, size))
        n = 0 if excluded else sum(1 for _ in self.disasm.disasm_lite(code, address))
        self.blocks[(address, size)] = n
        return n

    def _function_start(self, address: int) -> int:
        i = bisect.bisect_right(self.symbols.starts, address) - 1
        return self.symbols.starts[i] if i >= 0 else -1

    def _mark(self, emu: Any, mark: str) -> None:
        from unicorn import arm_const as arm

        if mark == "eb_invoke_begin":
            self.counting, self.op = True, -1
            self.invokes.append(0)
            self.by_op = {}  # the last invoke's
        elif mark == "eb_invoke_end":
            self.counting = False
        elif mark == "eb_op_begin":
            self.op = emu.reg_read(arm.UC_ARM_REG_R0)
        else:
            self.op = -1

    def interrupt(self, emu: Any, number: int, _: object) -> None:
        self.stopped = True
        emu.emu_stop()

    def _fault(self, emu: Any) -> None:
        from unicorn import arm_const as arm

        sp = emu.reg_read(arm.UC_ARM_REG_SP)
        pc = int.from_bytes(emu.mem_read(sp + 24, 4), "little")  # the stacked return address
        self.fault = f"HardFault at 0x{pc:08x} in {self.symbols.function(pc)}"
        emu.emu_stop()
