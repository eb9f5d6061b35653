"""The tutorial notebook corpus run plain and with ``%lineage on``, each cell timed by its kernel.

Each notebook of ``tests/notebooks/`` runs in a fresh kernel through nbclient, once as it
is and once with ``%load_ext jupyter_lineage`` + ``%lineage on`` in an extra first cell
(not timed), alternating, five times after an untimed warm-up run. A cell is measured two
ways. Its wall time is the kernel's own: from its ``execute_input`` message to its
``execute_reply`` (nbclient's ``record_timing``), which holds the capture's work before and
after the cell but not nbclient's or ZeroMQ's. Its CPU time is the kernel process's (every
thread), from a ``pre_run_cell`` hook that runs before the capture's to a ``post_run_cell``
hook that runs after it: the capture's own work and whatever it adds to the cell's code,
without the time other processes take the machine for, which on a shared machine moves a
cell that imports or draws by a hundred milliseconds from run to run. Each cell keeps its
best time over the repetitions (noise only adds time). Figures, for each measure: the
corpus's total with capture over its total without (target <= 1.03), the largest extra
time of any one cell (target <= 20 ms; no cell here makes anywhere near the 1 GB of new
data that would excuse more) beside how much that cell's own plain runs differed, and the
median extra time of a cell. Then, in CPU time, where the extra goes: the capture's
hooks (clocked by two more hooks, one just after the capture's ``pre_run_cell`` hook and
one just before its ``post_run_cell`` hook), the cells' own code between them, and the
interpreter's garbage collections in the cells (timed through ``gc.callbacks``, with the
number of full ones), the ratio of each repetition alone, the most the hooks took in one cell and the largest extra CPU time
of one cell leaving the collections out: when a collection falls depends on every object the
process made before, so any extension moves some from one cell to another. Run as
``python bench/bench_corpus.py [--quick]``.
"""

from __future__ import annotations

import datetime
import json
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
# The CPU clock's hooks, kept out of the user's namespace: the start before the capture's
# pre_run_cell hook (registered first), the end after its post_run_cell hook (registered
# after the extension loads), each cell's seconds written out by the last cell.
CPU_CLOCK_START = """\
def _clock():
    import gc, sys, time, types
    clock = sys.modules["_lineage_bench_clock"] = types.ModuleType("_lineage_bench_clock")
    clock.seconds, clock.started = [], []
    # The interpreter's collections: seconds spent in them and full ones made, so far.
    clock.gc = [0.0, 0]
    clock.gc_start = [0.0]
    def collecting(phase, info):
        if phase == "start":
            clock.gc_start[0] = time.process_time()
        else:
            clock.gc[0] += time.process_time() - clock.gc_start[0]
            clock.gc[1] += info["generation"] == 2
    gc.callbacks.append(collecting)
    # The cell's own run, between the capture's hooks: its CPU seconds at start and end.
    clock.body = [0.0, 0.0]
    def pre(info):
        clock.started.append((time.process_time(), *clock.gc, info.raw_cell))
    def body_began(info):
        if len(clock.started) == 1:
            clock.body[0] = time.process_time()
    def body_ended(result):
        if len(clock.started) == 1:
            clock.body[1] = time.process_time()
    def post(result):
        # A cell magic such as %%capture runs its body as a cell of its own, inside.
        if clock.started:
            began, gc_began, full_began, code = clock.started.pop()
            if not clock.started:
                gc_seconds, full = clock.gc[0] - gc_began, clock.gc[1] - full_began
                ended = time.process_time()
                own = clock.body[1] - clock.body[0]
                clock.seconds.append((code, ended - began, own, gc_seconds, full))
    clock.post, clock.body_began = post, body_began
    get_ipython().events.register("pre_run_cell", pre)
    get_ipython().events.register("post_run_cell", body_ended)
_clock()
del _clock"""
CPU_CLOCK_END = """\
import sys
clock = sys.modules["_lineage_bench_clock"]
del clock.started[:-1]  # the cells before this one, which no post_run_cell hook ended
get_ipython().events.register("pre_run_cell", clock.body_began)
get_ipython().events.register("post_run_cell", clock.post)
del clock"""
CPU_CLOCK_WRITE = """\
import json, sys
with open({path!r}, "w") as f:
    json.dump(sys.modules["_lineage_bench_clock"].seconds, f)"""
MAX_TOTAL_RATIO = 1.03
MAX_CELL_OVERHEAD_MS = 20.0


def _stamp(value: str) -> datetime.datetime:
    # Python 3.10's fromisoformat does not take a trailing Z.
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_notebook(source: Path, work: Path, *, capture: bool) -> dict[str, dict[str, float]]:
    """Execute a copy of ``source`` in ``work`` in a fresh kernel; per cell id, its wall
    seconds, its CPU seconds, the CPU seconds the interpreter's collections took in it and
    how many of them were full ones."""
    import nbformat
    from nbclient import NotebookClient

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    nb = nbformat.read(source, as_version=4)
    own = {c.id for c in nb.cells if c.cell_type == "code"}
    cpu_file = work.parent / f"{work.name}-cpu.json"
    first = [CPU_CLOCK_START, *([CAPTURE_ON] if capture else []), CPU_CLOCK_END]
    nb.cells[:0] = [nbformat.v4.new_code_cell(code) for code in first]
    nb.cells.append(nbformat.v4.new_code_cell(CPU_CLOCK_WRITE.format(path=str(cpu_file))))
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
    # The clock's seconds in the order the cells ran (the kernel is not told their ids).
    # The notebook's own cells are the last the clock timed (the last cell writes its
    # seconds out before its own end is clocked).
    ran = [c for c in nb.cells if c.cell_type == "code" and c.id in own and c.source.strip()]
    clocked = json.loads(cpu_file.read_text())[-len(ran) :]
    assert [code for code, *_ in clocked] == [c.source for c in ran]
    cpu = {c.id: clock for c, (_, *clock) in zip(ran, clocked, strict=True)}
    times = {}
    for c in nb.cells:
        if c.cell_type != "code" or c.id not in own:
            continue
        stamps = c.metadata["execution"]
        start, end = stamps["iopub.execute_input"], stamps["shell.execute_reply"]
        seconds, body, gc_seconds, full = cpu[c.id]
        wall = (_stamp(end) - _stamp(start)).total_seconds()
        times[c.id] = {"wall": wall, "cpu": seconds, "own": body, "gc": gc_seconds, "full": full}
    return times


# Notebook → cell id → measure ("wall", "cpu") → (plain seconds, captured seconds), one
# of each per repetition.
Samples = dict[str, dict[str, dict[str, tuple[list[float], list[float]]]]]


def measure(names: list[str], repeats: int) -> Samples:
    """Each cell's plain and captured times, wall and CPU, one of each per repetition."""
    samples: Samples = {}
    with tempfile.TemporaryDirectory(prefix="lineage-bench-corpus-") as tmp:
        for name in names:
            source = NOTEBOOKS / f"{name}.ipynb"
            # Untimed: the first kernel to import pandas or sklearn reads them from disk.
            run_notebook(source, Path(tmp) / f"{name}-warm-up", capture=False)
            by_cell: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
            for i in range(repeats):
                # Alternated, each first in turn, so a busy moment slows both alike.
                order = (False, True) if i % 2 == 0 else (True, False)
                for capture in order:
                    work = Path(tmp) / f"{name}-{'captured' if capture else 'plain'}-{i}"
                    for cell_id, measured in run_notebook(source, work, capture=capture).items():
                        measures = by_cell.setdefault(cell_id, {m: ([], []) for m in measured})
                        for m, value in measured.items():
                            measures[m][int(capture)].append(value)
            samples[name] = by_cell
    return samples


def rows_from(samples: Samples) -> list[dict[str, Any]]:
    """The figures, in wall time then CPU time: totals, the worst cell, the typical cell;
    and each notebook's wall totals."""
    rows = _figures(samples, "wall", "kernel time") + _figures(samples, "cpu", "kernel CPU time")
    rows += _parts(samples)
    if len(samples) > 1:
        for name, by_cell in samples.items():
            p_sum = sum(min(m["wall"][0]) for m in by_cell.values())
            c_sum = sum(min(m["wall"][1]) for m in by_cell.values())
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


def _parts(samples: Samples) -> list[dict[str, Any]]:
    """Where the extra CPU time goes: the capture's own work in its hooks, and the cells'
    code between them; the interpreter's collections in each."""
    measures = [m for by_cell in samples.values() for m in by_cell.values()]

    def total(key: str, captured: int) -> float:
        return sum(min(m[key][captured]) for m in measures)

    hooks = sum(min(c - o for c, o in zip(m["cpu"][1], m["own"][1], strict=True)) for m in measures)
    cells = [(nb, cid, m) for nb, by_cell in samples.items() for cid, m in by_cell.items()]

    def hooks_of(m: dict[str, Any]) -> float:
        return min(c - o for c, o in zip(m["cpu"][1], m["own"][1], strict=True))

    def without_collections(m: dict[str, Any], captured: int) -> float:
        return min(c - g for c, g in zip(m["cpu"][captured], m["gc"][captured], strict=True))

    hooks_nb, hooks_cell, hooks_m = max(cells, key=lambda x: hooks_of(x[2]))
    extra_nb, extra_cell, extra_m = max(
        cells, key=lambda x: without_collections(x[2], 1) - without_collections(x[2], 0)
    )
    extra_ms = (without_collections(extra_m, 1) - without_collections(extra_m, 0)) * 1e3
    plain_cpu, own_plain, own_captured = total("cpu", 0), total("own", 0), total("own", 1)
    # Full collections are as many in every run of a notebook; the first run's are counted.
    full = [sum(int(m["full"][captured][0]) for m in measures) for captured in (0, 1)]
    gc_time = [total("gc", captured) for captured in (0, 1)]
    # Each repetition alone (its plain and captured runs back to back, in alternating order):
    # how far apart they fall is how much one run of the corpus can be trusted.
    repeats = min(len(m["cpu"][0]) for m in measures)
    each = sorted(
        sum(m["cpu"][1][i] for m in measures) / sum(m["cpu"][0][i] for m in measures)
        for i in range(repeats)
    )
    return [
        {
            "figure": "  the same CPU ratio for each repetition alone, lowest to highest: "
            + ", ".join(f"{r:.3f}" for r in each),
            "value": round(each[len(each) // 2], 3),
            "baseline": None,
            "ratio": None,
            "unit": "x (median)",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "  of which the capture's hooks, before and after each cell "
            "(baseline: the plain CPU time)",
            "value": round(hooks, 3),
            "baseline": round(plain_cpu, 3),
            "ratio": round(hooks / plain_cpu, 3),
            "unit": "s",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "  and the cells' own code between the hooks, with capture vs plain",
            "value": round(own_captured, 3),
            "baseline": round(own_plain, 3),
            "ratio": round(own_captured / own_plain, 3),
            "unit": "s",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": f"  the most the capture's hooks took in one cell ({hooks_nb}, cell {hooks_cell})",
            "value": round(hooks_of(hooks_m) * 1e3, 1),
            "baseline": None,
            "ratio": None,
            "unit": "ms",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "  largest extra CPU time of one cell leaving out the interpreter's "
            f"collections ({extra_nb}, cell {extra_cell})",
            "value": round(extra_ms, 1),
            "baseline": round(without_collections(extra_m, 0) * 1e3, 1),
            "ratio": None,
            "unit": "ms",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "  the interpreter's collections in the cells, with capture vs plain "
            f"({full[1]} full ones vs {full[0]})",
            "value": round(gc_time[1], 3),
            "baseline": round(gc_time[0], 3),
            "ratio": round(gc_time[1] / gc_time[0], 3) if gc_time[0] else None,
            "unit": "s",
            "target": "report only",
            "pass": None,
        },
    ]


def _figures(samples: Samples, measure: str, what: str) -> list[dict[str, Any]]:
    cells = [
        (nb, cid, min(m[measure][0]), min(m[measure][1]), max(m[measure][0]) - min(m[measure][0]))
        for nb, by_cell in samples.items()
        for cid, m in by_cell.items()
    ]
    repeats = min(len(m[measure][0]) for by_cell in samples.values() for m in by_cell.values())
    plain_total = sum(x[2] for x in cells)
    captured_total = sum(x[3] for x in cells)
    nb, cid, p, c, spread = max(cells, key=lambda x: x[3] - x[2])
    worst_ms = (c - p) * 1e3
    # How much the same cell's plain runs differed: an extra time well within it is noise.
    noise = f"; its plain runs spread over {spread * 1e3:.1f} ms" if repeats > 1 else ""
    extras = sorted((x[3] - x[2]) * 1e3 for x in cells)
    label = f"{len(samples)} notebook{'s' if len(samples) > 1 else ''}, {len(cells)} cells"
    return [
        {
            "figure": f"tutorial corpus with %lineage on vs plain, {what} of every cell "
            f"({label}, best of {repeats})",
            "value": round(captured_total, 3),
            "baseline": round(plain_total, 3),
            "ratio": round(captured_total / plain_total, 3),
            "unit": "s",
            "target": f"<= {MAX_TOTAL_RATIO}x",
            "pass": captured_total <= MAX_TOTAL_RATIO * plain_total,
        },
        {
            "figure": f"largest extra {what} of one cell with %lineage on "
            f"({nb}, cell {cid}{noise})",
            "value": round(worst_ms, 1),
            "baseline": round(p * 1e3, 1),
            "ratio": round(c / p, 2) if p else None,
            "unit": "ms",
            "target": f"<= {MAX_CELL_OVERHEAD_MS:g} ms",
            "pass": worst_ms <= MAX_CELL_OVERHEAD_MS,
        },
        {
            "figure": f"median extra {what} of a cell with %lineage on",
            "value": round(extras[len(extras) // 2], 2),
            "baseline": None,
            "ratio": None,
            "unit": "ms",
            "target": "report only",
            "pass": None,
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    names = [QUICK_NOTEBOOK] if quick else sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    # Five rounds: a cell that draws or imports varies by a hundred milliseconds from run to
    # run on a shared machine, and each cell keeps its best.
    repeats = 1 if quick else 5
    return rows_from(measure(names, repeats))


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, f"one notebook ({QUICK_NOTEBOOK}), run once", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
