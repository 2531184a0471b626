"""The `edgebench` command as a user runs it, for the end-to-end tests."""

import os
import subprocess
import sys


def edgebench(*args, cwd=None, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
