"""Environment capture against listing the installed packages with ``importlib.metadata``.

The first snapshot (a fresh ``EnvironmentCapture``: machine facts, every package on
``sys.path`` from the metadata directory names, the git state of this repository, the
allow-listed variables) is compared with ``importlib.metadata.distributions()`` listing
name and version, which is what most tools call to record the environment. A snapshot
while nothing changed (the case of every cell after the first) has an absolute target.
Run as ``python bench/bench_environment.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

REPO = Path(__file__).resolve().parents[1]
MAX_FIRST_RATIO = 0.5
MAX_UNCHANGED_MS = 0.1


def _listing() -> dict[str, str]:
    from importlib.metadata import distributions

    return {d.metadata["Name"]: d.version for d in distributions()}


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    from jupyter_lineage.capture.environment import EnvironmentCapture

    repeats = 3 if quick else 9
    unchanged_calls = 2_000 if quick else 20_000

    firsts, listings = [], []
    packages = 0
    for _ in range(repeats):
        # Interleaved, so a busy moment on the machine slows both alike.
        t0 = time.perf_counter()
        env = EnvironmentCapture(repo_dir=REPO).snapshot()
        firsts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        listed = _listing()
        listings.append(time.perf_counter() - t0)
        packages = len(env.packages)
    first, listing = min(firsts), min(listings)

    capture = EnvironmentCapture(repo_dir=REPO)
    capture.snapshot()
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(unchanged_calls):
            capture.snapshot()
        samples.append((time.perf_counter() - t0) / unchanged_calls)
    unchanged = min(samples)
    git = "with git state" if env.git else "no git repository"
    return [
        {
            "figure": f"environment capture, first snapshot ({packages} packages, {git}) "
            f"vs importlib.metadata listing ({len(listed)} distributions)",
            "value": round(first * 1e3, 2),
            "baseline": round(listing * 1e3, 2),
            "ratio": round(first / listing, 3),
            "unit": "ms",
            "target": f"<= {MAX_FIRST_RATIO}x the listing",
            "pass": first <= MAX_FIRST_RATIO * listing,
            "median_ms": round(statistics.median(firsts) * 1e3, 2),
        },
        {
            "figure": "environment capture, unchanged (every later cell)",
            "value": round(unchanged * 1e3, 4),
            "baseline": round(listing * 1e3, 2),
            "ratio": round(unchanged / listing, 5),
            "unit": "ms",
            "target": f"<= {MAX_UNCHANGED_MS} ms",
            "pass": unchanged * 1e3 <= MAX_UNCHANGED_MS,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "fewer repetitions", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
