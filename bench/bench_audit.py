"""What watching file opens costs the rest of the process: the interpreter's audit hooks.

Capture sees a cell's files through ``sys.addaudithook``. A hook cannot be removed, and
once one is installed CPython builds an event and calls every hook for each audited
operation in the process: each ``open``, but also each ``id()``, ``exec``, ``import``,
``compile``, ``sys._getframe``, ``marshal.loads``... whatever the hook then does. The
tracker's hook returns at once for anything but ``open``; this module measures what
remains.

* **Per event.** A loop of ``id()`` calls (each one an audited ``builtins.id``), in a
  fresh interpreter, before and after a hook is installed: a Python function that
  returns at once, and ``dict.__setitem__`` (code in C, no Python frame), to show how
  much of the cost is the interpreter's own.
* **Events in an import.** How many events importing scikit-learn raises (counted by a
  hook in a fresh interpreter).
* **Importing scikit-learn in a kernel.** The main thread's CPU time of
  ``import sklearn.ensemble, sklearn.model_selection`` in a fresh kernel, the
  interpreter's collections left out: with no hook, with a do-nothing hook, and after
  ``%load_ext jupyter_lineage`` + ``%lineage on`` (the capture's hooks are outside the
  timed code). Alternated, each kernel fresh; the least of the runs, the median beside it.

Run as ``python bench/bench_audit.py [--quick]`` or ``python -m bench --only bench_audit``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PER_EVENT = """\
import sys, time
def loop(n={n}):
    t = time.perf_counter()
    for i in range(n):
        id(i)
    return (time.perf_counter() - t) / n
before = min(loop() for _ in range(5))
{install}
after = min(loop() for _ in range(5))
print((after - before) * 1e9)
"""
PYTHON_HOOK = """\
def hook(event, args):
    if event != "open":
        return
sys.addaudithook(hook)"""
C_HOOK = "sys.addaudithook({}.__setitem__)"
COUNT_EVENTS = """\
import sys
events = [0]
def hook(event, args):
    events[0] += 1
sys.addaudithook(hook)
import sklearn.ensemble, sklearn.model_selection
print(events[0])
"""
IMPORT_CELL = """\
import gc as _gc, time as _time
_collecting = [0.0, 0.0]
def _clock(phase, info):
    if phase == "start":
        _collecting[1] = _time.thread_time()
    else:
        _collecting[0] += _time.thread_time() - _collecting[1]
_gc.callbacks.append(_clock)
_began = _time.thread_time()
import sklearn.ensemble, sklearn.model_selection
_took = _time.thread_time() - _began
_gc.callbacks.remove(_clock)
print(_took - _collecting[0])"""
SETUPS = {
    "none": "",
    # The same hook as the per-event figure's, its name not left in the user's namespace.
    "hook": f"import sys\n{PYTHON_HOOK}\ndel hook",
    "capture": "%load_ext jupyter_lineage\n%lineage on",
}


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return done.stdout.strip()


def _import_seconds(setup: str) -> float:
    """The main thread's CPU seconds importing scikit-learn in a fresh kernel after ``setup``."""
    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory(prefix="lineage-bench-audit-") as store:
        env = {**os.environ, "JUPYTER_LINEAGE_DIR": store}
        manager, client = start_new_kernel(kernel_name="python3", env=env)
        try:
            if setup:
                client.execute_interactive(setup, timeout=120, output_hook=lambda msg: None)
            out: list[str] = []

            def keep(msg: dict[str, Any]) -> None:
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])

            reply = client.execute_interactive(IMPORT_CELL, timeout=300, output_hook=keep)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"the import cell failed: {reply['content']}")
            return float("".join(out))
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    n = 200_000 if quick else 1_000_000
    python_ns = float(_python(PER_EVENT.format(n=n, install=PYTHON_HOOK)))
    c_ns = float(_python(PER_EVENT.format(n=n, install=C_HOOK)))
    events = int(_python(COUNT_EVENTS))
    repeats = 2 if quick else 8
    seconds: dict[str, list[float]] = {name: [] for name in SETUPS}
    for i in range(repeats):
        # Alternated, each first in turn, so a busy moment slows all alike.
        names = list(SETUPS) if i % 2 == 0 else list(reversed(SETUPS))
        for name in names:
            seconds[name].append(_import_seconds(SETUPS[name]))
    none = min(seconds["none"])
    rows: list[dict[str, Any]] = [
        {
            "figure": "one audited event (an id() call) with a do-nothing audit hook in Python",
            "value": round(python_ns, 1),
            "baseline": None,
            "ratio": None,
            "unit": "ns extra",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "  the same with a hook in C (dict.__setitem__): the interpreter's own part",
            "value": round(c_ns, 1),
            "baseline": None,
            "ratio": None,
            "unit": "ns extra",
            "target": "report only",
            "pass": None,
        },
        {
            "figure": "audited events raised by importing scikit-learn",
            "value": events,
            "baseline": None,
            "ratio": None,
            "unit": "events",
            "target": "report only",
            "pass": None,
        },
    ]
    labels = {
        "hook": "with a do-nothing audit hook",
        "capture": "with %lineage on (the hooks not timed)",
    }
    for name, label in labels.items():
        best = min(seconds[name])
        rows.append(
            {
                "figure": f"importing scikit-learn in a kernel {label} vs none, main-thread CPU, "
                f"collections left out (least of {repeats}; medians "
                f"{statistics.median(seconds[name]) * 1e3:.0f} vs "
                f"{statistics.median(seconds['none']) * 1e3:.0f} ms)",
                "value": round(best * 1e3, 1),
                "baseline": round(none * 1e3, 1),
                "ratio": round(best / none, 3),
                "unit": "ms",
                "target": "report only",
                "pass": None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "shorter loops, two kernels of each", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
