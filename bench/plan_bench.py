"""Benchmark: is `clipper plan` within 10x of merely reading the notes and parsing their front matter?

Requirement: `clipper plan` on 2,000 notes the size of the example (8,000 clips) must take no more than
10x the time of reading those files and parsing their YAML front matter in plain Python.

The notes are copies of tests/u3HBJVjpXuw.md, each with its own 11-character video id substituted
everywhere (front matter, URLs, -o names), so every clip is distinct. This is a benchmark, not a
test: it prints numbers and always exits 0.

    python bench/plan_bench.py [--notes N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from clipper.notes.parse import find_notes, parse_note
from clipper.plan.config import load_config
from clipper.plan.jobs import plan_jobs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "u3HBJVjpXuw.md"
EXAMPLE_ID = "u3HBJVjpXuw"
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TARGET_RATIO = 10.0
# The same choice clipper makes (clipper/notes.py): the C loader when PyYAML was built with libyaml.
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def video_ids(count: int, seed: int = 2025) -> list[str]:
    """``count`` distinct, reproducible YouTube-style ids (11 chars of [A-Za-z0-9_-]), none the example's."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        # Start with a letter or digit so no id looks like a command-line option.
        candidate = rng.choice(ID_ALPHABET[:62]) + "".join(rng.choices(ID_ALPHABET, k=10))
        if candidate != EXAMPLE_ID:
            found[candidate] = None
    return list(found)


def write_notes(folder: Path, count: int) -> None:
    template = EXAMPLE.read_text(encoding="utf-8")
    for video_id in video_ids(count):
        (folder / f"{video_id}.md").write_text(template.replace(EXAMPLE_ID, video_id), encoding="utf-8")


def read_front_matter(folder: Path) -> int:
    """The baseline: list the notes, read each one and parse its YAML front matter. Returns the count."""
    parsed = 0
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        end = text.find("\n---\n", 3)
        meta = yaml.load(text[4 : end + 1], Loader=LOADER)
        parsed += isinstance(meta, dict)
    return parsed


BASELINE_SCRIPT = """
import sys
from pathlib import Path
import yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
parsed = 0
for path in sorted(Path(sys.argv[1]).glob("*.md")):
    text = path.read_text(encoding="utf-8")
    end = text.find("\\n---\\n", 3)
    parsed += isinstance(yaml.load(text[4 : end + 1], Loader=loader), dict)
print(parsed)
"""


def read_front_matter_subprocess(folder: Path) -> int:
    """The baseline as a plain Python program (start-up and the yaml import included, like clipper's)."""
    result = subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, str(folder)], capture_output=True, check=True)
    return int(result.stdout)


def clipper_in_process(folder: Path) -> int:
    """What `clipper plan` does, minus interpreter start-up, imports and JSON output. Returns the clip count."""
    notes = [note for path in find_notes([folder]) if (note := parse_note(path)) is not None]
    jobs, problems = plan_jobs(notes, load_config(None))
    if problems:
        raise RuntimeError(f"plan reported {len(problems)} problem(s), first: {problems[0]}")
    return len(jobs)


def clipper_subprocess(folder: Path) -> int:
    """`clipper plan FOLDER --json` as a real process. Returns the clip count."""
    # Run inside the notes folder so no stray ./config.yaml is picked up.
    result = subprocess.run(
        [sys.executable, "-m", "clipper", "plan", str(folder), "--json"],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"clipper plan exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return len(json.loads(result.stdout))


def clipper_startup() -> None:
    """Interpreter start-up plus importing clipper and its dependencies: `clipper --version`."""
    subprocess.run([sys.executable, "-m", "clipper", "--version"], stdout=subprocess.DEVNULL, check=True)


def best_of(repeat: int, action: Callable[[], Any], expected: int | None = None) -> float:
    """The fastest of ``repeat`` runs, in seconds; checks each run's result against ``expected``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
        if expected is not None and result != expected:
            raise RuntimeError(f"{getattr(action, '__name__', action)} gave {result}, expected {expected}")
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `clipper plan` against reading the notes' front matter.")
    parser.add_argument("--notes", type=int, default=2000, help="notes to generate (default: 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts (default: 3)")
    args = parser.parse_args(argv)

    example = parse_note(EXAMPLE)
    assert example is not None
    clips = args.notes * len(example.highlights)

    with tempfile.TemporaryDirectory(prefix="clipper-plan-bench-") as tmp:
        folder = Path(tmp)
        write_notes(folder, args.notes)
        size = sum(path.stat().st_size for path in folder.glob("*.md"))

        baseline = best_of(args.repeat, lambda: read_front_matter(folder), args.notes)
        baseline_process = best_of(args.repeat, lambda: read_front_matter_subprocess(folder), args.notes)
        in_process = best_of(args.repeat, lambda: clipper_in_process(folder), clips)
        process = best_of(args.repeat, lambda: clipper_subprocess(folder), clips)
        startup = best_of(args.repeat, clipper_startup)

    ratio = process / baseline_process
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    per_note = 1000 / args.notes
    print(f"{args.notes:,} notes, {clips:,} clips, {size / 1e6:.1f} MB; best of {args.repeat}; {os.cpu_count()} cores")
    print(f"YAML loader: yaml.{LOADER.__name__} (the one clipper uses), PyYAML {yaml.__version__}")
    print()
    rows = [
        ("baseline: read + front matter (process)", baseline_process, ""),
        ("clipper plan --json (process)", process, f"{ratio:5.1f}x"),
        ("baseline: read + front matter (in-proc)", baseline, ""),
        ("clipper parse + plan (in-process)", in_process, f"{in_process / baseline:5.1f}x"),
    ]
    print(f"{'':40} {'seconds':>8} {'ms/note':>8} {'ratio':>6}")
    for label, seconds, shown in rows:
        print(f"{label:40} {seconds:8.3f} {seconds * per_note:8.3f} {shown:>6}")
    print(f"{'start-up: clipper --version':40} {startup:8.3f}")
    print()
    share = 1 - in_process / process
    print(f"start-up, imports and JSON output: {process - in_process:.3f} s ({share:.0%} of the subprocess time)")
    print(
        f"{verdict}: clipper plan takes {ratio:.1f}x a plain Python program reading the front matter"
        f" (target: at most {TARGET_RATIO:g}x; in-process {in_process / baseline:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
