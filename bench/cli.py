"""The `edgebench` command: run | report | export | gate | diff | schema | targets |
variants."""

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

from bench import RunFailed, UsageError
from bench.commands import clean, diff, export, gate, report, run, schema, targets, variants
from bench.commands.common import LATEST, Parser

# the subcommands in the order `edgebench --help` lists them: each module adds its
# arguments and runs its command
SUBCOMMANDS = {
    "run": run,
    "report": report,
    "export": export,
    "gate": gate,
    "targets": targets,
    "diff": diff,
    "clean": clean,
    "schema": schema,
    "variants": variants,
}


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="edgebench", description="Benchmark compressed TinyML anomaly detectors side by side."
    )
    parser.add_argument(
        "--version", action="version", version=f"edgebench {metadata.version('edgebench')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS.values():
        module.arguments(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what CI runners, `timeout`, systemd and `docker stop` send), handled as
    SIGINT is: workers stopped, staging removed, earlier output intact."""


CLEANUP_S = 20.0  # after SIGTERM: the time the cleanup gets before the process just ends


def _terminate(_signum: int, _frame: object) -> None:
    # A backstop: should the cleanup hang, the process ends anyway; its children die with
    # it (parent-death signal) and the watchdog removes the staging.
    backstop = threading.Timer(CLEANUP_S, os._exit, (143,))
    backstop.daemon = True
    backstop.start()
    raise Terminated


def _latest(args: argparse.Namespace) -> None:
    """The latest run's results, where a command was given none: `reports/latest` here or
    in the nearest folder above that has one (a run started anywhere in a project)."""
    default = LATEST / "results.json"
    if getattr(args, "model", None) is not None and args.command == "export":
        return  # it exports the model given, and reads no results
    for name in ("results", "b"):
        if getattr(args, name, None) != default or default.exists():
            continue
        here = Path.cwd().resolve()
        found = next((d / default for d in (here, *here.parents) if (d / default).exists()), None)
        if found is None:
            raise UsageError(
                f"no results file given, and no {default} in {here} or any folder above it: "
                "give one, or run `edgebench run` first"
            )
        setattr(args, name, found)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.argv, args.started = argv, started
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        _latest(args)
        return SUBCOMMANDS[args.command].command(args)
    except UsageError as err:
        print(f"edgebench: error: {err}", file=sys.stderr)
        return 2
    except RunFailed as err:
        print(f"edgebench: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `edgebench variants | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as stop:
        why = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"edgebench: {why}; files already written are complete", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def console() -> None:
    """The `edgebench` command. After SIGTERM or SIGINT, once `main` has killed the workers
    and removed the staging, the process ends at once: interpreter shutdown would join the
    executor's threads, and those of a pool whose workers were killed need not finish.
    Everything the command and its children put in the temporary folder goes into one
    folder of its own, removed at the end."""
    from bench import lifetime

    temp = lifetime.private_temp()
    code = main()
    if code in (130, 143):  # no atexit: the folder goes now, and the pool's semaphores
        from multiprocessing import util

        util._run_finalizers(0)  # type: ignore[attr-defined]  # semaphores unlinked: no warning
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
