"""``python -m pipelines.lake seal NETWORK KEY...``: seal partitions in this process, one after
the other (what one writer process does; tests and benchmarks start several)."""

from __future__ import annotations

import argparse
import sys

import orjson


def main(argv: list[str] | None = None) -> int:
    from pipelines.config import ConfigError
    from pipelines.lake import LakeError, seal_partition

    ap = argparse.ArgumentParser(prog="python -m pipelines.lake")
    sub = ap.add_subparsers(dest="cmd", required=True)
    seal = sub.add_parser("seal", help="seal partitions (keys NNN-NNN) of a network")
    seal.add_argument("network")
    seal.add_argument("keys", nargs="+")
    seal.add_argument("--no-receipts", action="store_true")
    args = ap.parse_args(argv)
    for key in args.keys:
        try:
            res = seal_partition(args.network, key, receipts=not args.no_receipts)
        except (LakeError, ConfigError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        sys.stdout.write(orjson.dumps(res.as_dict()).decode() + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
