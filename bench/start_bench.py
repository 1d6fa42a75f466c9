"""Benchmark: how long do `clipper --help` and `clipper plan examples/` take from a cold process?

Requirement: both answer within 0.2 s. The interpreter's own start (`python -c pass`) is timed too,
as the floor no import work can go below. Each command runs ``--repeat`` times; the median counts
(another process on the machine makes single runs noisy). This is a benchmark, not a test: it prints
numbers and always exits 0.

    python bench/start_bench.py [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TARGET_SECONDS = 0.2


def median_time(argv: list[str], repeat: int, cwd: Path) -> float:
    """The median wall time of ``repeat`` runs of ``argv``, in seconds; every run must exit 0."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time clipper's start-up: --help and plan on the examples.")
    parser.add_argument("--repeat", type=int, default=15, help="runs per command; the median counts (default: 15)")
    args = parser.parse_args(argv)

    clipper = [sys.executable, "-m", "clipper"]
    commands = [
        ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"], False),
        ("clipper --help", [*clipper, "--help"], True),
        ("clipper plan examples/", [*clipper, "plan", str(EXAMPLES)], True),
    ]
    # Run in an empty folder so no stray ./config.yaml is picked up.
    with tempfile.TemporaryDirectory(prefix="clipper-start-bench-") as tmp:
        results = [(label, median_time(command, args.repeat, Path(tmp)), judged) for label, command, judged in commands]

    floor = results[0][1]
    print(f"median of {args.repeat} runs; {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    print()
    print(f"{'':36} {'seconds':>8} {'over start':>10}")
    for label, seconds, _ in results:
        print(f"{label:36} {seconds:8.3f} {seconds - floor:10.3f}")
    print()
    slowest = max(seconds for _, seconds, judged in results if judged)
    verdict = "PASS" if slowest <= TARGET_SECONDS else "FAIL"
    print(f"{verdict}: the slowest clipper command takes {slowest:.3f} s (target: at most {TARGET_SECONDS:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
