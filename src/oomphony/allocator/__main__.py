"""Entry point of the cage processes: `python -m oomphony.allocator [--sleeper] …`.

Started by `oomphony.allocator.Allocator` with an argument list (never a shell); not meant
to be run by hand.
"""

from __future__ import annotations

import argparse
import sys


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="oomphony.allocator")
    ap.add_argument("--sleeper", action="store_true")
    ap.add_argument("--parent", type=int, required=True)
    ap.add_argument("--shm-fd", type=int, required=True)
    ap.add_argument("--cmd-fd", type=int)
    ap.add_argument("--cache-fd", type=int)
    ap.add_argument("--cache-b", type=int, default=0)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--cgroup")
    ap.add_argument("--uncaged", action="store_true")  # --global: no cage at all
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.sleeper:
        from oomphony.allocator import sleeper

        return sleeper.main(args)
    from oomphony.allocator import child

    return child.main(args)


if __name__ == "__main__":
    sys.exit(main())
