"""Run every benchmark module in bench/ (each has ``main()``): ``python -m bench [name ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    wanted = set(sys.argv[1:])
    here = Path(__file__).parent
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)])):
        if mod.startswith("_") or (wanted and mod not in wanted):
            continue
        print(f"== bench.{mod}", flush=True)
        importlib.import_module(f"bench.{mod}").main()


if __name__ == "__main__":
    main()
