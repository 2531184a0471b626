"""Instructions per inference of the real TFLite Micro interpreter, counted by valgrind.

One valgrind (callgrind) process runs a small Python child over all of a run's models:
each model is invoked twice on a zero input, and callgrind collects only inside
`MicroInterpreter::Invoke()` and dumps its counters after every invoke, so each dump
holds exactly one inference. Valgrind starts uninstrumented and the child switches
instrumentation on after its imports (`callgrind_control`): a third of the start-up
time, and the same counts. The count is exact and repeatable: the same model,
package and valgrind give the same number on any day, whatever the machine's load.
Callgrind attributes the instructions to functions; each kernel's eval function
called by the interpreter graph gives the count per operator type.

Figures come from the `tflite-micro` package's host build (x86-64, reference kernels):
a relative cost, not an MCU's cycles. libc's memset, memcpy and memmove are left out:
their counts depend on where the buffers happen to lie, which changes between processes.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench import MeasurementError
from bench.schema import Instructions

INVOKE = "tflite::micro::MicroInterpreter::Invoke()"
GRAPH = "tflite::micro::MicroInterpreterGraph::InvokeSubgraph(int)"
INVOKES = 2  # per model: the second must equal the first, or the count is not exact
TIMEOUT_S = 600.0

_CHILD = """
import json, os, subprocess, sys, time
import numpy as np
from tflite_micro.python.tflite_micro import runtime
models = json.loads(sys.argv[1])
# Imports ran uninstrumented (4x faster); instrument from here. Valgrind serves
# callgrind_control between basic blocks, hence the busy wait.
ctl = subprocess.Popen(["callgrind_control", "--instr=on", str(os.getpid())],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 60
while ctl.poll() is None and time.monotonic() < deadline:
    pass
if ctl.poll() != 0:
    ctl.kill()
    for i in range(len(models)):
        print(f"{i} error callgrind_control could not switch instrumentation on", flush=True)
    sys.exit(1)
for i, (path, arena) in enumerate(models):
    try:
        it = runtime.Interpreter.from_bytes(open(path, "rb").read(), arena_size=arena)
        d = it.get_input_details(0)
        zeros = np.zeros(d["shape"], d["dtype"])
    except Exception as err:
        print(f"{i} error {type(err).__name__}: {err}", flush=True)
        continue
    for _ in range({invokes}):
        it.reset()  # a converted LSTM keeps state between invokes: start each from zero
        it.set_input(zeros, 0)  # the arena may reuse the input's bytes during an invoke
        it.invoke()
    print(f"{i} ok", flush=True)
""".replace("{invokes}", str(INVOKES))


def valgrind_version() -> str | None:
    """`valgrind-3.19.0`, or None when valgrind is not installed."""
    path = shutil.which("valgrind")
    if path is None:
        return None
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() or None


UNAVAILABLE = "unavailable: valgrind not found (apt-get install valgrind)"


def tool() -> str:
    version = valgrind_version() or "valgrind (absent)"
    try:
        micro = metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        micro = "absent"
    return f"{version} callgrind; tflite-micro {micro} host build (x86-64, reference kernels)"


Model = tuple[bytes, int, list[str]]  # flatbuffer, arena bytes, op names


def count(models: list[Model], processes: int = 1) -> list[Instructions]:
    """Instructions per invoke of each (model, arena bytes, op names), in `processes`
    valgrind runs side by side, each over every `processes`-th model (counts do not
    depend on what runs beside: valgrind counts instructions, not time).

    A model that cannot be counted gets a record with `tflm_instructions_error`."""
    if not models:
        return []
    if valgrind_version() is None:
        return [
            Instructions(tflm_instructions_tool=tool(), tflm_instructions_error=UNAVAILABLE)
            for _ in models
        ]
    shares = [list(range(k, len(models), max(1, processes))) for k in range(max(1, processes))]
    shares = [share for share in shares if share]
    with ThreadPoolExecutor(len(shares)) as pool:
        done = list(pool.map(lambda share: _count([models[i] for i in share]), shares))
    found = {
        i: record
        for share, records in zip(shares, done, strict=True)
        for i, record in zip(share, records, strict=True)
    }
    return [found[i] for i in range(len(models))]


def _count(models: list[Model]) -> list[Instructions]:
    """`count` in one valgrind run."""
    used = tool()
    with tempfile.TemporaryDirectory(prefix="edgebench-callgrind-") as tmp:
        folder = Path(tmp)
        listing = []
        for i, (model, arena, _) in enumerate(models):
            (folder / f"{i}.tflite").write_bytes(model)
            listing.append((str(folder / f"{i}.tflite"), int(arena)))
        status, log = _run(folder, listing)
        dumps = sorted(folder.glob("callgrind.out.*.*"), key=lambda p: int(p.suffix[1:]))
        out, next_dump = [], 0
        for i, (_, _, ops) in enumerate(models):
            line = log.get(i)
            if line != "ok":
                why = line or f"valgrind ended before this model ({status})"
                out.append(
                    Instructions(
                        tflm_instructions_tool=used,
                        tflm_instructions_error=why.removeprefix("error "),
                    )
                )
                continue
            mine = dumps[next_dump : next_dump + INVOKES]
            next_dump += INVOKES
            out.append(_record(mine, ops, used))
        return out


def _run(folder: Path, listing: list) -> tuple[str, dict[int, str]]:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",  # the child switches it on after its imports
        f"--toggle-collect={INVOKE}",
        f"--dump-after={INVOKE}",
        f"--callgrind-out-file={folder}/callgrind.out.%p",
        sys.executable,
        "-c",
        _CHILD,
        json.dumps(listing),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=folder
        )
        status = (
            f"exit {done.returncode}" if done.returncode >= 0 else (f"signal {-done.returncode}")
        )
        stdout = done.stdout
    except subprocess.TimeoutExpired as err:
        status = f"timed out after {TIMEOUT_S:.0f} s"
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
    log = {}
    for line in stdout.splitlines():
        index, _, what = line.partition(" ")
        if index.isdigit():
            log[int(index)] = what
    return status, log


def _record(dumps: list[Path], ops: list[str], used: str) -> Instructions:
    if len(dumps) != INVOKES:
        raise MeasurementError(f"expected {INVOKES} callgrind dumps, found {len(dumps)}")
    parsed = [parse(p.read_text(errors="replace")) for p in dumps]
    totals = [total for total, _ in parsed]
    if len(set(totals)) != 1:
        return Instructions(
            tflm_instructions_tool=used, tflm_instructions_error=f"invokes differ: {totals}"
        )
    total, by_function = parsed[-1]
    return Instructions(
        tflm_instructions=total,
        tflm_instructions_by_op=by_op(by_function, ops, total),
        tflm_instructions_tool=used,
    )


# libc's memory routines: their instruction counts depend on the buffers' alignment,
# which differs from one process to the next, so they are left out of every count.
ALIGNMENT_DEPENDENT = re.compile(r"(^|_)(memset|memcpy|memmove)")


def parse(text: str) -> tuple[int, dict[str, int]]:
    """A callgrind dump: (instructions, inclusive instructions of each function the
    interpreter graph calls, i.e. each kernel's eval), both without libc's memset,
    memcpy and memmove."""
    dump = _Dump()
    for line in text.splitlines():
        dump.read(line)
    own, calls = dump.own, dump.calls
    libc = {f for f in own if ALIGNMENT_DEPENDENT.search(f.split("(")[0])}
    kernels = {c: n - sum(calls[c, m] for m in libc) for (f, c), n in calls.items() if f == GRAPH}
    return dump.total - sum(own[f] for f in libc), kernels


@dataclass
class _Dump:
    """What a callgrind dump says, read line by line: self cost per function, and the
    inclusive cost of each call from one function to another."""

    names: dict[str, str] = field(default_factory=dict)  # compressed (id) -> name
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)
    total: int = 0
    fn: str = ""
    callee: str = ""
    pending: bool = False  # the next cost line is a call's

    def name(self, ref: str) -> str:
        match = re.match(r"\((\d+)\)(?: (.*))?", ref)
        if match is None:
            return ref
        if match.group(2):
            self.names[match.group(1)] = match.group(2)
        return self.names.get(match.group(1), ref)

    def read(self, line: str) -> None:
        if line.startswith("fn="):
            self.fn = self.name(line[3:])
        elif line.startswith("cfn="):
            self.callee = self.name(line[4:])
        elif line.startswith("calls="):
            self.pending = True
        elif line.startswith(("summary:", "totals:")):
            self.total = int(line.split()[1])
        elif line[:1] in "0123456789+-*":
            cost = int(line.split()[-1]) if len(line.split()) > 1 else 0
            if self.pending:
                self.calls[self.fn, self.callee] += cost
                self.pending = False
            else:
                self.own[self.fn] += cost


def _kernel_token(function: str) -> str:
    """`tflite::(anonymous namespace)::FullyConnectedEval(...)` -> `FULLY_CONNECTED`."""
    plain = function.replace("(anonymous namespace)", "").split("(")[0]
    parts = [p for p in plain.split("::") if p]
    word = re.sub(r"(Eval|Invoke)$", "", parts[-1]) or (parts[-2] if len(parts) > 1 else "")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", word).upper()


def by_op(by_function: dict[str, int], ops: list[str], total: int) -> dict[str, int]:
    """Instructions per operator type of the model (kernel functions are matched to the
    model's operators by name); the interpreter's own share is `(interpreter)`."""
    letters = {re.sub(r"[^A-Z]", "", op): op for op in ops}
    found: Counter[str] = Counter()
    for function, n in by_function.items():
        key = re.sub(r"[^A-Z]", "", _kernel_token(function))
        op = letters.get(key) or next(
            (o for k, o in letters.items() if key and (k.startswith(key) or key.startswith(k))),
            None,
        )
        if op is not None:
            found[op] += n
    found["(interpreter)"] = total - sum(found.values())
    return dict(found)
