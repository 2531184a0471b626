"""Firmware export: the flatbuffer as an aligned array, a C99/C++ header with what the
firmware needs to reproduce the detector (arena, window, scaling, quantization,
threshold), the operator registrations, and an example that scores one window."""

import hashlib
import math
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import UsageError, graph
from bench.cache import write_atomic
from bench.data.windows import SCALINGS
from bench.detection import Score
from bench.firmware.resolver import c_identifier, comment_safe, resolver_header
from bench.firmware.toolchain import profile_of, tree_of
from bench.results import artifact_path
from bench.schema import Results, Scaling

TEMPLATES = Path(__file__).with_name("templates")  # the C the export writes
ALIGNMENT = 16  # TFLM wants the flatbuffer 16-byte aligned


def arena_constant(arena_bytes: int, margin: float) -> int:
    """The measured arena plus `margin`, rounded up to the alignment."""
    return math.ceil(arena_bytes * (1 + margin) / ALIGNMENT) * ALIGNMENT


@dataclass(frozen=True)
class Firmware:
    """What the firmware needs to reproduce the detector the results measured."""

    name: str
    model: bytes
    arena_bytes: int
    margin: float
    window: int | None = None
    channels: int | None = None
    scaling: Scaling | None = None  # the first series' scaling, as the run fitted it
    threshold: float | None = None
    score: str = "mean"  # the window score the threshold applies to (`detection.Score`)
    tree: str | None = None  # the digest of the TFLM tree the run built its firmware over
    profile: str = "Os"  # the build profile the run measured the firmware at


MAX_ARENA = 256 << 20  # beyond the RAM of any MCU: not an arena a run measured


def check(fw: Firmware) -> None:
    """Every constant the export writes, checked against the model it exports: a results
    file that disagrees with it (a window, channels or score the model cannot take, an
    arena no run measured, a scaling that is not one) is refused in one line."""
    if not isinstance(fw.arena_bytes, int) or not 0 < fw.arena_bytes <= MAX_ARENA:
        raise UsageError(f"arena {fw.arena_bytes!r} bytes is not an arena a run measured")
    inputs, outputs = (math.prod(shape) for shape in graph.io_shapes(fw.model))
    if fw.window is None or fw.channels is None:
        return
    for what, n in (("window", fw.window), ("channels", fw.channels)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise UsageError(f"{what} {n!r} is not a positive count")
    if fw.window * fw.channels != inputs or outputs < inputs:
        raise UsageError(
            f"a window of {fw.window} x {fw.channels} channel(s) is not what the model reads "
            f"({inputs} input and {outputs} output values)"
        )
    score = Score.parse(fw.score)
    if score.newest(fw.window) > fw.window:
        raise UsageError(f"score {score} reads more points than the window's {fw.window}")
    if fw.scaling is not None:
        _check_scaling(fw.scaling, fw.channels)


def _check_scaling(sc: Scaling, channels: int) -> None:
    if sc.kind not in SCALINGS or not isinstance(sc.log, bool):
        raise UsageError(f"scaling {str(sc.kind)[:40]!r} is not one edgebench fits")
    for key in ("shift", "scale", "input_low", "input_high"):
        values = getattr(sc, key)
        if key.startswith("input") and values is None:
            continue
        if not isinstance(values, list) or len(values) != channels:
            raise UsageError(f"the scaling's {key} does not hold one value per channel")


def c_float(value: float, what: str = "a constant") -> str:
    """A valid C float literal (`1` is `1.f`, `0` is `0.f`, `1e-05` is `1e-05f`); a value
    that is not a finite number is refused: it would become no literal or another token."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise UsageError(f"{what} {str(value)[:40]!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > FLT_MAX:
        raise UsageError(f"{what} {number} is not a finite float")
    text = f"{number:.9g}"
    return f"{text}f" if any(c in text for c in ".e") else f"{text}.f"


FLT_MAX = float(np.finfo(np.float32).max)


def _floats(values: Iterable[float], what: str) -> str:
    return ", ".join(c_float(v, what) for v in values)


def header(fw: Firmware) -> str:
    """model_data.h: valid C99 and C++; the array, its length, the arena, and the constants
    of the detector (window, scaling, quantization, threshold)."""
    ident, up = c_identifier(fw.name), c_identifier(fw.name).upper()
    guard = f"EDGEBENCH_{up}_MODEL_DATA_H_"
    io = graph.io_quantization(fw.model)
    for side, q in io.items():
        kind = np.iinfo(q["dtype"]) if np.issubdtype(q["dtype"], np.integer) else None
        if kind is not None and not kind.min <= q["zero_point"] <= kind.max:
            raise UsageError(
                f"the model's {side} zero point {q['zero_point']} is outside {q['dtype']}'s "
                "range: its quantization is damaged"
            )
    lines = [
        f"/* Generated by edgebench from `{comment_safe(fw.name)}` "
        f"(sha256 {hashlib.sha256(fw.model).hexdigest()}). Do not edit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stddef.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"extern const unsigned char g_{ident}_model_data[];",
        f"extern const unsigned int g_{ident}_model_data_len;",
        "",
        f"/* Smallest TFLite Micro arena measured on the 64-bit host build: {fw.arena_bytes}",
        f"   bytes, plus a {fw.margin:.0%} margin (CMSIS-NN kernels may ask for scratch",
        f"   buffers), rounded up to {ALIGNMENT} bytes. A 32-bit MCU needs the same or less. */",
        f"#define {up}_ARENA_SIZE {arena_constant(fw.arena_bytes, fw.margin)}",
        "",
        "/* Input and output: type, then real = scale * (q - zero_point). */",
    ]
    for side in ("input", "output"):
        q = io[side]
        lines += [
            f"#define {up}_{side.upper()}_INT8 {int(q['dtype'] == 'int8')}",
            f"#define {up}_{side.upper()}_INT16 {int(q['dtype'] == 'int16')}",
            f"#define {up}_{side.upper()}_SCALE {c_float(q['scale'], f'the {side} scale')}",
            f"#define {up}_{side.upper()}_ZERO_POINT {q['zero_point']}",
        ]
    if fw.window is not None and fw.channels is not None:
        lines += [
            "",
            "/* A window is the newest WINDOW points, channels interleaved. */",
            f"#define {up}_WINDOW {fw.window}",
            f"#define {up}_CHANNELS {fw.channels}",
        ]
    if fw.scaling:
        sc = fw.scaling
        lines += [
            "",
            f"/* Scaling fitted on the training part of series "
            f"`{comment_safe(str(sc.series))}` ({comment_safe(str(sc.kind))}): v = "
            + ("log1p(x), " if sc.log is True else "x, ")
            + "then (v - shift) / scale. */",
            f"#define {up}_SCALING_LOG1P {int(sc.log is True)}",
            f"static const float {ident}_scaling_shift[] = {{{_floats(sc.shift, 'a shift')}}};",
            f"static const float {ident}_scaling_scale[] = {{{_floats(sc.scale, 'a scale')}}};",
        ]
        if sc.input_low is not None and sc.input_high is not None:
            low, high = _floats(sc.input_low, "a bound"), _floats(sc.input_high, "a bound")
            lines += [
                "",
                "/* The model is given each scaled value clipped to its channel's training",
                "   range; the score compares the output with the value itself. */",
                f"static const float {ident}_input_low[] = {{{low}}};",
                f"static const float {ident}_input_high[] = {{{high}}};",
            ]
    if fw.threshold is not None:
        score = Score.parse(fw.score)
        newest = score.newest(fw.window or 1)
        lines += [
            "",
            f"/* A window's score ({score}): each point's squared reconstruction error,",
            "   averaged over channels; of the newest SCORE_POINTS points, their mean",
            "   (SCORE_MAX 0) or their largest (SCORE_MAX 1). Alarm when it exceeds the",
            "   threshold (set on validation data only). */",
            f"#define {up}_SCORE_POINTS {newest}",
            f"#define {up}_SCORE_MAX {int(score.kind == 'max')}",
            f"#define {up}_THRESHOLD {c_float(fw.threshold, 'the threshold')}",
        ]
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def source(fw: Firmware) -> str:
    ident = c_identifier(fw.name)
    data = fw.model
    rows = [", ".join(f"0x{b:02x}" for b in data[i : i + 12]) for i in range(0, len(data), 12)]
    body = ",\n    ".join(rows)
    return f"""/* Generated by edgebench from `{comment_safe(fw.name)}`. Do not edit. C99 or C++. */
#include "model_data.h"

#if defined(__cplusplus)
#define EDGEBENCH_ALIGNED alignas({ALIGNMENT})
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define EDGEBENCH_ALIGNED _Alignas({ALIGNMENT})
#else
#define EDGEBENCH_ALIGNED __attribute__((aligned({ALIGNMENT})))
#endif

EDGEBENCH_ALIGNED const unsigned char g_{ident}_model_data[] = {{
    {body}
}};
const unsigned int g_{ident}_model_data_len = {len(data)};
"""


def ops_header(fw: Firmware) -> str:
    """model_ops.h: the MicroMutableOpResolver registrations this model needs (C++)."""
    return resolver_header(fw.name, tuple(dict.fromkeys(graph.op_names(fw.model))))


STREAM_WINDOWS = 5  # the example scores this many windows of its demo stream


def example(fw: Firmware) -> str:
    """main.cc: a stream scored window by window. The interpreter is set up once; each
    new observation slides the window by one, which is scaled, quantized and scored;
    every TFLM status is checked. The interpreter part compiles where the TFLM sources
    are on the include path; the rest compiles anywhere."""
    ident, up = c_identifier(fw.name), c_identifier(fw.name).upper()
    if fw.window is None or not fw.scaling or fw.threshold is None:
        return (
            "// No example: this model was exported without the results of a run "
            "(window, scaling, threshold unknown).\n"
        )
    ops_type = f"k{up.title().replace('_', '')}OpCount"
    clip = "const float x = scaled[i];"
    if fw.scaling.input_low is not None:
        low, high = (
            f"{ident}_input_low[i % {up}_CHANNELS]",
            f"{ident}_input_high[i % {up}_CHANNELS]",
        )
        clip = (
            f"const float x = scaled[i] < {low} ? {low} : scaled[i] > {high} ? {high} : scaled[i];"
        )
    return _template("example.cc").substitute(
        name=comment_safe(fw.name),
        windows=STREAM_WINDOWS,
        up=up,
        ident=ident,
        ops_type=ops_type,
        clip=clip,
    )


def _template(name: str) -> string.Template:
    """A C template of `bench/templates/`: `$name` placeholders, the rest as written."""
    return string.Template((TEMPLATES / name).read_text())


def write(out: Path, fw: Firmware, project: dict[str, bytes] | None = None) -> list[Path]:
    """The export's files; `project`: the measured firmware's build (`firmware/`)."""
    check(fw)
    files: dict[str, str | bytes] = {
        "model_data.h": header(fw),
        "model_data.c": source(fw),
        "model_ops.h": ops_header(fw),
        "main.cc": example(fw),
    }
    files |= {f"firmware/{name}": data for name, data in (project or {}).items()}
    tops = {name.split("/")[0] for name in files}
    foreign = sorted(p.name for p in out.iterdir() if p.name not in tops) if out.is_dir() else []
    if foreign:
        raise UsageError(
            f"{out} holds files that the export does not write ({', '.join(foreign[:3])}); "
            "give an empty or new folder with --out"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(out / name, data.encode() if isinstance(data, str) else data)
    except OSError as err:
        raise UsageError(
            f"cannot write to {out}: {err.strerror or err}; pick another with --out"
        ) from None
    return [out / name for name in sorted(tops)]


def from_results(
    res: Results, results_path: Path, variant: str, arch: str | None, margin: float = 0.25
) -> Firmware:
    """The model `variant` as the results file measured it, with its run's constants."""
    rows = [r for r in res.rows if r.variant == variant and arch in (None, r.arch)]
    if not rows:
        import difflib

        names = sorted({r.variant for r in res.rows})
        close = difflib.get_close_matches(variant, names, 1)
        raise UsageError(
            f"{results_path}: no variant {variant!r}"
            + (f" for arch {arch!r}" if arch else "")
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (it holds {', '.join(names)})"
        )
    if len(rows) > 1:
        archs = ", ".join(r.arch for r in rows)
        raise UsageError(
            f"variant {variant!r} is in {results_path} for {archs}; choose one with --arch"
        )
    row = rows[0]
    if not row.tflm.tflm_deployable:
        raise UsageError(
            f"{row.label} is not deployable on TFLite Micro: "
            f"{row.tflm.tflm_error or 'not measured'}"
        )
    path = artifact_path(results_path, row.id.artifact or "")
    model = path.read_bytes() if path.is_file() else None
    if model is None or hashlib.sha256(model).hexdigest() != row.id.sha256:
        raise UsageError(
            f"{path}: missing or not the model {results_path} measured; rerun `edgebench run`"
        )
    from bench.external import opened

    opened(model, path)  # as `--model` is: a crash costs an isolated child
    scaling = res.scaling_of(row.arch)
    return Firmware(
        f"{row.arch}-{variant}",
        model,
        row.tflm.arena_bytes or 0,
        margin,
        window=row.id.window,
        channels=len(scaling.shift) if scaling else None,
        scaling=scaling,
        threshold=row.detection.threshold,
        score=row.detection.window_score or "mean",
        tree=tree_of(row.firmware.firmware_tool),
        profile=profile_of(row.firmware.firmware_tool),
    )
