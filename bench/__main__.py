"""Run every ``bench/bench_*.py`` (or those named) and print one table.

Usage: ``python -m bench [--quick] [--json out.json] [name ...]``
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench._harness import Result, print_table, to_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    here = Path(__file__).parent
    found = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in args.names] or found
    results: list[Result] = []
    failed = False
    for name in wanted:
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run(quick=args.quick))
        except Exception:
            failed = True
            traceback.print_exc()
    print()
    print_table(results)
    if args.json:
        args.json.write_text(to_json(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
