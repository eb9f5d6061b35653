"""The tutorial notebook corpus run plain and with ``%lineage on``, each cell timed by its kernel.

Each notebook of ``tests/notebooks/`` runs in a fresh kernel through nbclient, once as it
is and once with ``%load_ext jupyter_lineage`` + ``%lineage on`` in an extra first cell
(not timed), alternating, a few times after an untimed warm-up run. A cell's time is the
kernel's own: from its ``execute_input`` message to its ``execute_reply`` (nbclient's
``record_timing``), which holds the capture's work before and after the cell but not
nbclient's or ZeroMQ's. Each cell keeps its best time over the repetitions (noise on a
shared machine only adds time). Figures: the corpus's total with capture over its total
without (target <= 1.03), and the largest extra time of any one cell (target <= 20 ms; no
cell here makes anywhere near the 1 GB of new data that would excuse more). Run as
``python bench/bench_corpus.py [--quick]``.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

NOTEBOOKS = Path(__file__).resolve().parents[1] / "tests" / "notebooks"
QUICK_NOTEBOOK = "pandas_cleaning"
CAPTURE_ON = "%load_ext jupyter_lineage\n%lineage on"
MAX_TOTAL_RATIO = 1.03
MAX_CELL_OVERHEAD_MS = 20.0


def _stamp(value: str) -> datetime.datetime:
    # Python 3.10's fromisoformat does not take a trailing Z.
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_notebook(source: Path, work: Path, *, capture: bool) -> dict[str, float]:
    """Execute a copy of ``source`` in ``work`` in a fresh kernel; seconds per cell id."""
    import nbformat
    from nbclient import NotebookClient

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    nb = nbformat.read(source, as_version=4)
    own = {c.id for c in nb.cells if c.cell_type == "code"}
    if capture:
        nb.cells.insert(0, nbformat.v4.new_code_cell(CAPTURE_ON))
    path = work / source.name
    nbformat.write(nb, path)
    env = {
        **os.environ,
        "JPY_SESSION_NAME": str(path),
        "JUPYTER_LINEAGE_DIR": str(work.parent / f"{work.name}-store"),
    }
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,  # the corpus's tagged cells raise on purpose
        record_timing=True,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute(env=env)
    times = {}
    for c in nb.cells:
        if c.cell_type != "code" or c.id not in own:
            continue
        stamps = c.metadata["execution"]
        start, end = stamps["iopub.execute_input"], stamps["shell.execute_reply"]
        times[c.id] = (_stamp(end) - _stamp(start)).total_seconds()
    return times


def measure(names: list[str], repeats: int) -> dict[str, dict[str, tuple[float, float]]]:
    """Notebook → cell id → (best plain seconds, best captured seconds)."""
    best: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="lineage-bench-corpus-") as tmp:
        for name in names:
            source = NOTEBOOKS / f"{name}.ipynb"
            # Untimed: the first kernel to import pandas or sklearn reads them from disk.
            run_notebook(source, Path(tmp) / f"{name}-warm-up", capture=False)
            plain: dict[str, list[float]] = {}
            captured: dict[str, list[float]] = {}
            for i in range(repeats):
                # Alternated, each first in turn, so a busy moment slows both alike.
                order = ((False, plain), (True, captured))
                for capture, samples in order if i % 2 == 0 else order[::-1]:
                    work = Path(tmp) / f"{name}-{'captured' if capture else 'plain'}-{i}"
                    for cell_id, seconds in run_notebook(source, work, capture=capture).items():
                        samples.setdefault(cell_id, []).append(seconds)
            best[name] = {cid: (min(plain[cid]), min(captured[cid])) for cid in plain}
    return best


def rows_from(
    best: dict[str, dict[str, tuple[float, float]]], repeats: int
) -> list[dict[str, Any]]:
    """The figures: totals, the worst cell, and each notebook's own totals for reference."""
    cells = [(nb, cid, p, c) for nb, by_cell in best.items() for cid, (p, c) in by_cell.items()]
    plain_total = sum(p for *_, p, _ in cells)
    captured_total = sum(c for *_, c in cells)
    nb, cid, p, c = max(cells, key=lambda x: x[3] - x[2])
    worst_ms = (c - p) * 1e3
    label = f"{len(best)} notebook{'s' if len(best) > 1 else ''}, {len(cells)} cells"
    rows: list[dict[str, Any]] = [
        {
            "figure": f"tutorial corpus with %lineage on vs plain, kernel time of every cell "
            f"({label}, best of {repeats})",
            "value": round(captured_total, 3),
            "baseline": round(plain_total, 3),
            "ratio": round(captured_total / plain_total, 3),
            "unit": "s",
            "target": f"<= {MAX_TOTAL_RATIO}x",
            "pass": captured_total <= MAX_TOTAL_RATIO * plain_total,
        },
        {
            "figure": f"largest extra time of one cell with %lineage on ({nb}, cell {cid})",
            "value": round(worst_ms, 1),
            "baseline": round(p * 1e3, 1),
            "ratio": round(c / p, 2) if p else None,
            "unit": "ms",
            "target": f"<= {MAX_CELL_OVERHEAD_MS:g} ms",
            "pass": worst_ms <= MAX_CELL_OVERHEAD_MS,
        },
    ]
    if len(best) > 1:
        for name, by_cell in best.items():
            p_sum = sum(p for p, _ in by_cell.values())
            c_sum = sum(c for _, c in by_cell.values())
            rows.append(
                {
                    "figure": f"  {name} ({len(by_cell)} cells)",
                    "value": round(c_sum * 1e3, 1),
                    "baseline": round(p_sum * 1e3, 1),
                    "ratio": round(c_sum / p_sum, 3),
                    "unit": "ms",
                    "target": "report only",
                    "pass": None,
                }
            )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    names = [QUICK_NOTEBOOK] if quick else sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    repeats = 1 if quick else 3
    return rows_from(measure(names, repeats), repeats)


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, f"one notebook ({QUICK_NOTEBOOK}), run once", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
