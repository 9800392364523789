"""`olw --help` and `olw --version` wall time, run as subprocesses of the installed entry point.

Target: under 0.5 s wall on an idle machine. The baseline measured in the same run is a bare
interpreter start (`python -c pass`), so the ratio says what the CLI adds on this machine today.
Run: ``uv run python -m bench cli``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7
TARGET_S = 0.5


def _wall(cmd: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    olw = Path(sys.executable).parent / "olw"
    if not olw.exists():
        print(f"cli: {olw} missing (make install)")
        return
    base = _wall([sys.executable, "-c", "pass"])
    help_s = _wall([str(olw), "--help"])
    version_s = _wall([str(olw), "--version"])
    sub_s = _wall([str(olw), "report", "--help"])
    verdict = "under" if help_s < TARGET_S else "OVER"
    print(
        f"cli: `olw --help` {help_s:.3f} s wall (median of {RUNS}; {verdict} the {TARGET_S} s "
        f"target), `olw --version` {version_s:.3f} s, `olw report --help` {sub_s:.3f} s; "
        f"bare `python -c pass` {base:.3f} s, so --help is {help_s / base:.1f}x an empty start"
    )


if __name__ == "__main__":
    main()
