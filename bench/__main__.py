"""`make bench` / `python -m bench`: every benchmark in one run, figures to
docs/performance.md. Each can also run alone (see its docstring)."""

from __future__ import annotations

import subprocess
import sys

RUNS = [
    ["bench/bench_rules.py"],
    ["-m", "bench.pipeline"],
    ["-m", "bench.workflow_deadlines", "100000"],
    ["bench/bench_reporting.py"],
    ["-m", "bench.intake_import", "--rows", "100000"],
    ["-m", "bench.desk_pages", "10000", "6000"],  # the sizes that seed in ~15 min here
]


def main() -> int:
    failed = 0
    for args in RUNS:
        print(f"== {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, *args]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
