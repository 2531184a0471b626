"""The report's figures, drawn with matplotlib from results alone (PNG beside REPORT.md).

With a cache, a figure that shows no timing is drawn once per content: a warm run, whose
only new numbers are the host timings, copies the rest from the cache.
"""

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench import source_digest
from bench.cache import Cache, digest, write_atomic
from bench.choose import pareto
from bench.schema import BoardFit, BoardInfo, HostLatency, Part, Results, Row, TflmLatency, Trace

CALIBRATION = "(calibration)"  # `write_all`'s key of the board fit's figure
PNG_META = {"Software": None}  # no version stamp: the same results draw the same bytes
# What a figure's data holds but no figure shows: the timings, and whether a row was cached.
UNSHOWN = {
    "cached",
    *(f.name for record in (HostLatency, TflmLatency) for f in dataclasses.fields(record)),
}


def _save(fig: Any, path: Path) -> Path:
    """Draw to a temp file, then rename: an old figure is replaced whole or not at all."""
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=100, metadata=PNG_META)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def size_front(rows: list[Row]) -> list[Row]:
    """The Pareto front over flatbuffer size and point F1 of the variants TFLM runs."""
    deployable = [r for r in rows if r.tflm.tflm_deployable]
    return pareto(deployable, (("size_bytes", "min"), ("point_f1", "max")))


def size_vs_f1(rows: list[Row], arch: str, path: Path) -> Path | None:
    """Each variant's flatbuffer size against its point F1, with the Pareto front of the
    variants TFLM runs; labels pushed apart (adjustText), the legend beside the axes."""
    from adjustText import adjust_text

    rows = [r for r in rows if r.size.size_bytes and r.detection.point_f1 is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 5))
    front = size_front(rows)
    labels: dict[tuple, list[str]] = {}  # variants at the same point share one label
    for r in rows:
        ax.scatter(
            r.size.size_bytes,
            r.detection.point_f1,
            marker="o" if r.tflm.tflm_deployable else "x",
            color="tab:blue" if r in front else "tab:gray",
            zorder=3,
        )
        labels.setdefault((r.size.size_bytes, r.detection.point_f1), []).append(r.variant)
    front = sorted(front, key=lambda r: r.size.size_bytes)
    ax.step(
        [r.size.size_bytes for r in front],
        [r.detection.point_f1 for r in front],
        where="post",
        color="tab:blue",
        label="Pareto front (size, F1), variants TFLM runs",
    )
    ax.scatter([], [], marker="x", color="tab:gray", label="not deployable on TFLM")
    sizes = [r.size.size_bytes for r in rows]
    wide = max(sizes) > 10 * min(sizes)  # a log axis only where it spans a decade
    ax.set(
        xscale="log" if wide else "linear",
        xlabel="flatbuffer size (bytes" + (", log)" if wide else ")"),
        ylabel="point F1 on the test part",
        title=f"{arch}: size vs point F1",
    )
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.tick_params(axis="x", labelrotation=30)
    ax.margins(x=0.08, y=0.35)  # room for the labels to move into
    texts = [ax.text(x, y, "\n".join(names), fontsize=7) for (x, y), names in labels.items()]
    adjust_text(
        texts,
        ax=ax,
        expand=(1.3, 1.6),
        arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5},
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def latency_boxes(rows: list[Row], arch: str, path: Path) -> Path | None:
    panels = [
        (key, label)
        for key, label in (
            ("latency_samples_us", "LiteRT"),
            ("tflm_latency_samples_us", "TFLite Micro"),
        )
        if any(r.value(key) for r in rows)
    ]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (key, runtime) in zip(axes[0], panels, strict=True):
        have = [r for r in rows if r.value(key)]
        ax.boxplot([r.value(key) for r in have], vert=False, showfliers=False)
        ax.set_yticks(range(1, len(have) + 1), [r.variant for r in have], fontsize=8)
        ax.set(
            xscale="log",
            xlabel="per-window invoke (us, log; whiskers 1.5 IQR)",
            title=f"{arch}: {runtime} latency on the host",
        )
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(_log_ticks(*ax.get_xlim()))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def _log_ticks(low: float, high: float) -> matplotlib.ticker.LogLocator:
    """Ticks a person can read on a log axis, however narrow its span: every digit
    within a decade, 1-2-5 over a few, the powers of ten beyond."""
    decades = np.log10(high / low) if low > 0 else 10.0
    subs = range(1, 10) if decades < 1 else (1, 2, 5) if decades < 3 else (1,)
    return matplotlib.ticker.LogLocator(subs=tuple(map(float, subs)), numticks=40)


def score_trace(row: Row, trace: Trace | None, path: Path) -> Path | None:
    """The test stream's scores with the threshold, true alarms, false alarms and misses."""
    scores = row.detection.test_scores
    if not scores or trace is None:
        return None
    y, s = np.asarray(trace.y), np.asarray(scores)
    series = np.asarray(trace.series)
    several = len(np.unique(series)) > 1
    end = np.arange(len(y)) if several else np.asarray(trace.end)
    alarm = s > row.detection.threshold
    fig, ax = plt.subplots(figsize=(11, 4))
    if several:  # one test part after another, a line between series
        for cut in np.flatnonzero(np.diff(series)) + 0.5:
            ax.axvline(cut, color="gray", lw=0.5)
    ax.fill_between(
        end,
        0,
        1,
        where=y == 1,
        transform=ax.get_xaxis_transform(),
        color="tab:red",
        alpha=0.12,
        step="mid",
        label="anomalous points",
    )
    how = row.detection.window_score or "mean"
    ax.plot(end, s, lw=0.6, color="tab:blue", label=f"anomaly score ({how} squared error)")
    ax.axhline(
        row.detection.threshold,
        color="black",
        ls="--",
        lw=1,
        label=f"threshold {row.detection.threshold:.3g} (from validation)",
    )
    for mask, color, marker, kind in (
        (alarm & (y == 1), "tab:red", "o", "true alarm"),
        (alarm & (y == 0), "tab:orange", "x", "false alarm"),
        (~alarm & (y == 1), "tab:gray", "|", "missed"),
    ):
        ax.scatter(
            end[mask],
            s[mask],
            s=10,
            label=f"{kind} ({int(mask.sum())})",
            zorder=3,
            color=color,
            marker=marker,
        )
    ax.set(
        yscale="log",
        xlabel="test points of each series in turn"
        if several
        else "index of the window's last point in the stream",
        ylabel="score (log)",
        title=f"{row.label}: scores on the test stream",
    )
    ax.legend(fontsize=7, loc="upper left", ncol=3)
    return _save(fig, path)


def memory(rows: list[Row], arch: str, boards: dict[str, BoardInfo], path: Path) -> Path | None:
    """Flash (flatbuffer) and RAM (arena) per variant on linear axes, with their values,
    against the tightest board's flash and SRAM (the roomiest named in the title)."""
    rows = [r for r in rows if r.size.size_bytes]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.35 * len(rows) + 2), sharey=True)
    names = [r.variant for r in rows]
    panels = (
        (
            axes[0],
            [r.size.size_bytes for r in rows],
            "flash_bytes",
            "tab:blue",
            f"{arch}: flash (flatbuffer)",
        ),
        (
            axes[1],
            [r.tflm.arena_bytes or 0 for r in rows],
            "sram_bytes",
            "tab:green",
            f"{arch}: RAM (smallest TFLM arena, 64-bit host; 0 = not deployable)",
        ),
    )
    for ax, values, key, colour, title in panels:
        bars = ax.barh(names, values, color=colour)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=7, padding=2)
        limits = {k: getattr(b, key) for k, b in boards.items() if getattr(b, key) is not None}
        if limits:
            tight = min(limits, key=lambda k: limits[k])
            room = max(limits, key=lambda k: limits[k])
            if limits[tight] <= 1.5 * max(values):  # a limit in reach is drawn
                ax.axvline(
                    limits[tight], color="tab:red", ls="--", label=f"{tight}: {limits[tight]:,} B"
                )
                ax.legend(fontsize=7, loc="lower right")
            title += (
                f"\ntightest board {tight}: {limits[tight]:,} B; "
                f"roomiest {room}: {limits[room]:,} B"
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("bytes")
        ax.set_xlim(0, max(values) * 1.25 or 1)
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(axis="y", labelsize=8)
    axes[0].invert_yaxis()
    return _save(fig, path)


def energy(
    rows: list[Row], arch: str, boards_seen: dict[str, BoardInfo], path: Path
) -> Path | None:
    """Estimated energy per inference of each deployable variant on each board, named as
    the answer names it (`boards_seen`: the catalog as the run saw it); a hollow marker
    is an estimate that uses an uncalibrated figure (the tables' `*`)."""
    rows = [r for r in rows if r.boards.boards and r.tflm.tflm_deployable]
    if not rows:
        return None
    boards = list(rows[0].boards.boards)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    x = np.arange(len(rows))
    for i, board in enumerate(boards):
        at = x + (i - len(boards) / 2) * 0.08
        estimates = [r.boards.boards[board] for r in rows]
        named = False  # one legend entry per board, filled where any estimate is calibrated
        for calibrated in (True, False):
            picked = [k for k, e in enumerate(estimates) if e.calibrated is calibrated]
            if not picked:
                continue
            ax.scatter(
                at[picked],
                [estimates[k].est_energy_uj for k in picked],
                s=18,
                marker="os^vD<>p"[i % 8],
                label=None if named else _board_name(boards_seen, board),
                facecolors=f"C{i}" if calibrated else "none",
                edgecolors=f"C{i}",
            )
            named = True
    ax.set_xticks(x, [r.variant for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set(
        yscale="log",
        ylabel="estimated uJ per inference (log)",
        title=f"{arch}: energy per inference on each board (hollow: uses an uncalibrated figure)",
    )
    ax.yaxis.set_major_locator(_log_ticks(*ax.get_ylim()))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def calibration(fits: dict[str, BoardFit], path: Path) -> Path | None:
    """Each published CMSIS-NN row against its leave-one-out estimate (the fit without
    it), with the 90 % interval its board states, per core; on the diagonal, exact."""
    points = [
        (f.core, r.published_ms, r.published_ms * (1 + r.loo_error_ms), f.interval() or (1, 1))
        for f in fits.values()
        for r in f.rows
        if r.loo_error_ms is not None
    ]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for i, core in enumerate(sorted({p[0] for p in points})):
        mine = [p for p in points if p[0] == core]
        x = np.array([p[1] for p in mine])
        y = np.array([p[2] for p in mine])
        low = np.array([p[3][0] for p in mine])
        high = np.array([p[3][1] for p in mine])
        ax.errorbar(x, y, yerr=[y - y * low, y * high - y], fmt="os^v"[i % 4], color=f"C{i}",
                    capsize=3, label=core)  # fmt: skip
    span = [min(p[1] for p in points) / 1.5, max(p[1] for p in points) * 1.5]
    ax.plot(span, span, color="grey", lw=0.8, ls="--", label="estimate = published")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="published ms (MLPerf Tiny, CMSIS-NN on the CPU)",
        ylabel="leave-one-out estimate ms [90 % interval]",
        title="Board latency fit: each published row predicted without it",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def operators(row: Row, path: Path) -> Path | None:
    """Instructions per operator of one variant: its firmware on each core beside TFLM's
    reference kernels on the x86-64 host."""
    host = row.instructions.tflm_instructions_by_op or {}
    cores = row.firmware.firmware or {}
    if not cores:
        return None
    series = {"x86-64 host (reference kernels)": host} if host else {}
    series |= {core: fw.instructions_by_op for core, fw in cores.items()}
    ops = sorted({op for counts in series.values() for op in counts})
    fig, ax = plt.subplots(figsize=(11, 1.4 + 0.9 * len(ops)))
    y, height = np.arange(len(ops)), 0.8 / len(series)
    for i, (name, counts) in enumerate(series.items()):
        values = [max(counts.get(op, 0), 1) for op in ops]
        ax.barh(y + (i - (len(series) - 1) / 2) * height, values, height, label=name, color=f"C{i}")
    ax.set_yticks(y, ops, fontsize=9)
    ax.invert_yaxis()
    ax.set(
        xscale="log",
        xlabel="instructions per inference (log)",
        title=f"{row.label}: instructions per operator, on each core's firmware and the host",
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside, never over
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def seed_spread(rows: list[Row], arch: str, path: Path) -> Path | None:
    """Point F1 of every training seed per variant, with the mean and its 95 % interval."""
    have = [r for r in rows if r.seeds.point_f1_by_seed and r.seeds.point_f1_mean is not None]
    if not have:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(have) + 1.5))
    for i, row in enumerate(have):
        values = [v for v in row.seeds.point_f1_by_seed or [] if v is not None]
        ax.scatter(values, [i] * len(values), s=14, color="tab:blue", alpha=0.6)
        low, high = row.seeds.point_f1_ci95_low, row.seeds.point_f1_ci95_high
        if low is not None and high is not None:
            ax.plot([low, high], [i, i], color="black", lw=1)
        ax.plot([row.seeds.point_f1_mean or 0.0], [i], "|", color="black", ms=10)
    ax.set_yticks(range(len(have)), [r.variant for r in have], fontsize=8)
    seeds = len(have[0].seeds.point_f1_by_seed or [])
    ax.set(
        xlabel="point F1", title=f"{arch}: {seeds} training seeds (dots), mean and 95 % interval"
    )
    ax.invert_yaxis()
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def _board_name(boards: dict[str, BoardInfo], key: str) -> str:
    found = boards.get(key)
    return found.name if found else key


def write_all(
    res: Results, out: Path, shipped: dict[str, Row], cache: Cache | None = None
) -> dict[str, list[Path]]:
    """Every figure the results can feed, per arch; returns arch -> paths written.
    `cache`: a `bench.build.Cache` for the figures that show no timing, or None."""
    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for arch in dict.fromkeys(r.arch for r in res.rows):
        rows = [r for r in res.rows if r.arch == arch]
        shown = shipped.get(arch) or rows[0]
        figures: list[tuple[str, Callable[..., Path | None], tuple]] = [
            ("size-vs-f1", size_vs_f1, (rows, arch)),
            ("latency", latency_boxes, (rows, arch)),
            ("scores", score_trace, (shown, res.traces.get(arch))),
            ("memory", memory, (rows, arch, res.boards)),
            ("energy", energy, (rows, arch, res.boards)),
            ("seeds", seed_spread, (rows, arch)),
            ("operators", operators, (shown,)),
        ]
        paths = [
            _drawn(draw, args, folder / f"{arch}-{name}.png", cache) for name, draw, args in figures
        ]
        written[arch] = [p for p in paths if p is not None]
    fits = res.calibration.firmware
    drawn = _drawn(calibration, (fits,), folder / "calibration.png", cache) if fits else None
    if drawn is not None:
        written[CALIBRATION] = [drawn]
    return written


def _drawn(
    draw: Callable[..., Path | None], args: tuple, path: Path, cache: Cache | None
) -> Path | None:
    """`draw(*args, path)`; a figure that shows no timing comes from `cache` when it holds
    one drawn from the same data by the same code and matplotlib."""
    if cache is None or draw is latency_boxes:
        return draw(*args, path)
    key = _figure_key(draw.__name__, args)
    png = cache.read(key, "figure.png")
    if png is not None:
        write_atomic(path, png)
        return path
    drawn = draw(*args, path)
    if drawn is not None:
        cache.write(key, "figure.png", drawn.read_bytes())
    return drawn


def _figure_key(name: str, args: tuple) -> str:
    """Over the figure's data without what it does not show (`UNSHOWN`), this module, the
    code it calls and matplotlib's version."""

    def shown(arg: object) -> object:  # rows, a row or other data
        if isinstance(arg, Row):
            return {k: v for k, v in arg.to_dict().items() if k not in UNSHOWN}
        if isinstance(arg, Part):  # the results' parts: a trace, a board, a fit
            return arg.to_dict()
        if isinstance(arg, list):
            return [shown(a) for a in arg]
        if isinstance(arg, dict):
            return {k: shown(v) for k, v in arg.items()}
        return arg

    code = source_digest("plots.py", "choose.py")
    parts = [name, [shown(a) for a in args], code, matplotlib.__version__]
    return "figure-" + digest(parts)
