"""Board estimates from the firmware's own counts.

A board's cycles per inference = its core's cycles per instruction (CPI) x the
instructions the variant's firmware executes on that core, emulated. A core's CPI is
fitted on the published MLPerf Tiny results that ran CMSIS-NN's kernels on a CPU of that
core (TFLM, microTVM or ONNC; AD: ad01, KWS: the DS-CNN), the reference models'
firmware counted here: the geometric mean of published cycles / counted instructions,
pooled over the core's boards (the clock divides out; pooled, the leave-one-out error
is lower than per board). A vendor's compiler or an accelerator ran other code: its
results are shown beside the estimate as references, never fitted.

Every estimate carries a 90 % interval (`bench.boards.spread`) from leave-one-out errors, each
row predicted from its core's other rows, pooled over the cores: how far a CMSIS-NN stack
lands from the fit is the software's doing more than the core's, and 6-8 rows per core
give too few errors (the intervals from one core's rows held 9 of 14 rows of a model
they never saw; pooled, 12). A board with no row of its own takes the errors of
predicting each board from its core's other boards; a core with no row takes the other
cores' fit, with the errors of predicting each core from the others, and is not
calibrated."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from bench.boards.catalog import EMULATED, Board, Catalog, Published
from bench.boards.estimate import fits_memory, timed
from bench.boards.spread import Spread, geomean, held_out, known, pooled
from bench.schema import BoardFit, FirmwareCheck, FirmwareRow, Reference, Row

Counts = dict[str, dict[str, int]]  # benchmark -> core -> instructions per invoke


def core_of(board: Board) -> str | None:
    return EMULATED.get(board.core)


def no_core(board: Board) -> str:
    return f"no emulator for {board.core}"


@dataclass(frozen=True)
class _Fit:
    """The rows the CPI fits use, with what they need."""

    cat: Catalog
    counts: Counts
    rows: list[Published]

    def core(self, r: Published) -> str:
        return core_of(self.cat.boards[r.board]) or ""

    def instructions(self, r: Published) -> int:
        return self.counts[r.benchmark][self.core(r)]

    def cpi(self, rows: list[Published]) -> float:
        clock = self.cat.boards
        return geomean([r.ms * clock[r.board].clock_mhz * 1e3 / self.instructions(r) for r in rows])

    def predict(self, r: Published, rest: list[Published]) -> float:
        return self.cpi(rest) * self.instructions(r) / (self.cat.boards[r.board].clock_mhz * 1e3)

    def errors(self, rows: list[Published], apart: Callable | None = None) -> list[float | None]:
        return held_out(rows, self.predict, lambda r: r.ms, apart)


@dataclass(frozen=True)
class _Spreads:
    """The pooled intervals: a board with rows, a board of a fitted core without rows, a
    core without rows."""

    rows: Spread | None
    boards: Spread | None
    cores: Spread | None


def _spreads(f: _Fit) -> _Spreads:
    within = pooled(f.rows, f.predict, lambda r: r.ms, f.core)
    apart = pooled(f.rows, f.predict, lambda r: r.ms, f.core, lambda r: r.board)
    across = Spread.of(known(f.errors(f.rows, f.core)))
    return _Spreads(Spread.of(within), Spread.of(apart) or across, across)


def fit(cat: Catalog, counts: Counts) -> dict[str, BoardFit]:
    """Board key -> its fit, for every board with an emulated core."""
    rows = [r for r in cat.fitted() if _counted(cat, counts, r)]
    f = _Fit(cat, counts, rows)
    spreads = _spreads(f) if rows else _Spreads(None, None, None)
    fits = {}
    for key, board in cat.boards.items():
        core = core_of(board)
        if core is None:
            continue
        mine = [r for r in rows if f.core(r) == core]
        fits[key] = (
            _board_fit(f, key, core, mine, spreads)
            if rows
            else BoardFit(board=key, core=core, cpi=None)
        )
        fits[key].references = _references(cat, counts, key)
    return fits


def _counted(cat: Catalog, counts: Counts, r: Published) -> bool:
    core = core_of(cat.boards[r.board])
    return bool(core and counts.get(r.benchmark, {}).get(core))


def _board_fit(f: _Fit, key: str, core: str, mine: list[Published], spreads: _Spreads) -> BoardFit:
    if not mine:
        said = f"the other cores' {len(f.rows)} results, none on {core}"
        fit = BoardFit(board=key, core=core, cpi=f.cpi(f.rows), basis=f"CPI of {said}")
        fit.note = "interval: each core predicted from the others"
        return _made(fit, spreads.cores)
    loo = f.errors(mine)
    own = sum(r.board == key for r in mine)
    boards = len({r.board for r in mine})
    note = f"{len(mine)} results on {boards} board(s), {own} here"
    if own:
        spread, basis = spreads.rows, "CPI of its core's CMSIS-NN results"
    else:
        spread = spreads.boards
        basis = "CPI of its core's CMSIS-NN results on other boards"
        note += "; interval: each board predicted from its core's others"
    cpi = f.cpi(mine)
    used = [_used(f, r, cpi, e) for r, e in zip(mine, loo, strict=True) if r.board == key]
    found = BoardFit(
        board=key, core=core, cpi=cpi, rows=used, note=note, basis=basis, calibrated=True
    )
    return _made(found, spread)


def _made(fit: BoardFit, spread: Spread | None) -> BoardFit:
    if spread is not None:
        fit.low, fit.high = spread.low, spread.high
    return fit


def _used(f: _Fit, r: Published, cpi: float, loo: float | None) -> FirmwareRow:
    instructions = f.instructions(r)
    ms = cpi * instructions / (f.cat.boards[r.board].clock_mhz * 1e3)
    return FirmwareRow(
        benchmark=r.benchmark,
        software=r.software,
        published_ms=r.ms,
        instructions=instructions,
        est_ms=ms,
        error_ms=ms / r.ms - 1.0,
        loo_error_ms=loo,
    )


def _references(cat: Catalog, counts: Counts, key: str) -> list[Reference]:
    """The board's published rows the fit does not use, and why."""
    out = []
    for r in (r for r in cat.published if r.board == key):
        why = r.not_fitted() or (
            None if _counted(cat, counts, r) else "its reference model's firmware was not counted"
        )
        if why:
            out.append(
                Reference(benchmark=r.benchmark, software=r.software, published_ms=r.ms, why=why)
            )
    return out


def model_transfer(cat: Catalog, counts: Counts) -> FirmwareCheck:
    """How often a published row falls inside the interval of a fit that never saw its
    model: each benchmark's rows predicted from the other benchmark's rows alone."""
    rows = [r for r in cat.fitted() if _counted(cat, counts, r)]
    inside = total = 0
    for bench in {r.benchmark for r in rows}:
        train = _Fit(cat, counts, [r for r in rows if r.benchmark != bench])
        spread = _spreads(train).rows
        for r in (r for r in rows if r.benchmark == bench):
            same = [t for t in train.rows if train.core(t) == train.core(r)]
            if not same or spread is None:
                continue
            low, high = spread.around(train.predict(r, same))
            inside += low <= r.ms <= high
            total += 1
    return FirmwareCheck(inside=inside, rows=total)


def refine_all(
    rows: list[Row], chosen: list[Board], fits: dict[str, BoardFit], cat: Catalog
) -> None:
    """Every row's board estimates from its firmware (`fits`: each board's)."""
    by_key = {b.key: b for b in chosen}
    for row in rows:
        if row.firmware.firmware or row.firmware.firmware_errors:
            refine(row, by_key, fits, cat)


def refine(row: Row, boards: dict[str, Board], fits: dict[str, BoardFit], cat: Catalog) -> None:
    """The row's board estimates from its firmware on each board's core: fit on measured
    flash and RAM; latency and energy from the core's instructions and CPI, with their
    interval. A firmware that fails on the core does not fit."""
    estimates = dict(row.boards.boards or {})
    for key, est in estimates.items():
        board = boards.get(key)
        if board is None:
            continue
        core = core_of(board)
        if core is None:
            estimates[key] = replace(est, basis=f"{no_core(board)}: {est.basis or 'MACs'}")
            continue
        figures = row.firmware.on(core)
        if figures is None:
            error = (row.firmware.firmware_errors or {}).get(core)
            if error:
                why = f"its firmware fails on {core}: {error}"[:300]
                estimates[key] = replace(
                    est, fits=False, fit_reason=why, basis=f"firmware on {core}"
                )
            continue
        ok, why = fits_memory(figures.flash_bytes, figures.ram_bytes, board, "firmware ")
        if not figures.output_matches_host:  # what the board would compute is not what was scored
            ok, why = False, _differs(figures.output_max_abs_diff, core, why)
        got = fits.get(key)
        if got is None or got.cpi is None:
            basis = f"firmware on {core}; latency from MACs (no published CMSIS-NN result)"
            estimates[key] = replace(est, fits=ok, fit_reason=why, basis=basis)
            continue
        interval = got.interval()
        spread = None if interval is None else Spread(*interval, 0)
        found = replace(
            est,
            fits=ok,
            fit_reason=why,
            basis=f"firmware on {core}: {got.basis}",
            calibrated=got.calibrated and bool(board.calibrated.get("active_mw")),
        )
        estimates[key] = timed(found, board, got.cpi * figures.instructions, spread, cat)
    row.boards.boards = estimates


def _differs(diff: float, core: str, why: str) -> str:
    said = (
        f"its firmware's output on {core} differs from host TFLM's (max |diff| {diff:g} "
        "on a fixed input): CMSIS-NN's kernels disagree with the reference ones"
    )
    return f"{said}; {why}" if why else said
