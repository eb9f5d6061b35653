"""Fingerprint throughput against its baselines: memcpy for arrays, pandas' own hashing for frames.

Run as ``python bench/bench_fingerprint.py [--quick]``. ``run(quick)`` returns the
rows so that other entry points can aggregate them.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

try:
    from jupyter_lineage.capture.fingerprint import fingerprint
except ImportError:
    # Run from a source checkout without the package installed.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from jupyter_lineage.capture.fingerprint import fingerprint

REPEATS = 5
MIN_MEMCPY_RATIO = 0.5
MAX_EXTRA_MB = 64.0
MIN_FRAME_SPEEDUP = 5.0


def best_time(fn: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_extra_mb(fn: Callable[[], Any]) -> float:
    """Peak memory allocated while ``fn`` runs, in MB, as tracemalloc sees it."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def memcpy_gbs(src: np.ndarray) -> float:
    """Best ``np.copyto`` throughput of ``src`` into a fresh buffer, in GB/s."""
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the destination pages in before timing
    return src.nbytes / best_time(lambda: np.copyto(dst, src)) / 1e9


def make_frame(rows: int) -> pd.DataFrame:
    """A mixed-dtype frame: int64, float64, bool, datetime64 and string columns."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.random(rows),
            "flag": rng.random(rows) > 0.5,
            "when": pd.date_range("2024-01-01", periods=rows, freq="s"),
            "label": pd.Series(rng.integers(0, 100_000, rows)).map("user-{:05d}".format),
        }
    )


def bench_array(quick: bool) -> list[dict[str, Any]]:
    nbytes = (64 if quick else 1024) * 2**20
    src = np.random.default_rng(0).random(nbytes // 8)
    budget = 60.0
    assert fingerprint(src, budget_s=budget).kind == "content"
    t_hash = best_time(lambda: fingerprint(src, budget_s=budget))
    hash_gbs = nbytes / t_hash / 1e9
    copy_gbs = memcpy_gbs(src)
    extra = peak_extra_mb(lambda: fingerprint(src, budget_s=budget))
    strided = np.asfortranarray(src.reshape(-1, 1024))
    extra_strided = peak_extra_mb(lambda: fingerprint(strided, budget_s=budget))
    size = f"{nbytes >> 20} MiB"
    return [
        {
            "figure": f"fingerprint float64 array {size} vs memcpy",
            "value": round(hash_gbs, 2),
            "baseline": round(copy_gbs, 2),
            "ratio": round(hash_gbs / copy_gbs, 2),
            "target": f">= {MIN_MEMCPY_RATIO}x memcpy",
            "pass": hash_gbs / copy_gbs >= MIN_MEMCPY_RATIO,
            "unit": "GB/s",
        },
        {
            "figure": f"extra peak memory, C-contiguous {size}",
            "value": round(extra, 3),
            "baseline": None,
            "ratio": None,
            "target": f"< {MAX_EXTRA_MB:g} MB",
            "pass": extra < MAX_EXTRA_MB,
            "unit": "MB",
        },
        {
            "figure": f"extra peak memory, Fortran-order {size}",
            "value": round(extra_strided, 3),
            "baseline": None,
            "ratio": None,
            "target": f"< {MAX_EXTRA_MB:g} MB",
            "pass": extra_strided < MAX_EXTRA_MB,
            "unit": "MB",
        },
    ]


def bench_frame(quick: bool) -> list[dict[str, Any]]:
    rows = 100_000 if quick else 1_000_000
    frame = make_frame(rows)
    assert fingerprint(frame).kind == "content"
    t_ours = best_time(lambda: fingerprint(frame, budget_s=60.0))
    t_pandas = best_time(lambda: pd.util.hash_pandas_object(frame).values)
    speedup = t_pandas / t_ours
    return [
        {
            "figure": f"fingerprint DataFrame {rows:,}x5 vs hash_pandas_object",
            "value": round(t_ours * 1e3, 2),
            "baseline": round(t_pandas * 1e3, 2),
            "ratio": round(speedup, 1),
            "target": f">= {MIN_FRAME_SPEEDUP:g}x faster",
            "pass": speedup >= MIN_FRAME_SPEEDUP,
            "unit": "ms",
        }
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    return bench_array(quick) + bench_frame(quick)


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "64 MiB array, 100k-row frame", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
