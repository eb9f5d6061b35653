"""``%load_ext jupyter_lineage`` against ``import duckdb`` alone, each in a fresh interpreter.

Both start from the same state, a fresh Python with an IPython shell already created
(as in any kernel), and time only their own step; the best of several fresh
interpreters is kept. The extension must also leave the heavy libraries unimported.
Run as ``python bench/bench_startup.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

MAX_RATIO = 1.5
HEAVY = ("pandas", "plotly", "networkx", "duckdb", "pyarrow", "numpy", "nbclient", "nbformat")

_PRELUDE = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.history_manager.enabled = False
before = set(sys.modules)
"""
_LOAD_EXT = (
    _PRELUDE
    + """
t0 = time.perf_counter()
shell.run_line_magic("load_ext", "jupyter_lineage")
elapsed = time.perf_counter() - t0
"""
)
_IMPORT_DUCKDB = (
    _PRELUDE
    + """
t0 = time.perf_counter()
import duckdb
elapsed = time.perf_counter() - t0
"""
)
_REPORT = """
heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(sys.argv[1].split(",")))
print(json.dumps({"s": elapsed, "heavy": heavy}))
"""


def _fresh(code: str, cwd: str) -> dict[str, Any]:
    env = {**os.environ, "JUPYTER_LINEAGE_DIR": str(Path(cwd) / "store")}
    out = subprocess.run(
        [sys.executable, "-c", code + _REPORT, ",".join(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _compile_package() -> None:
    """Write the package's bytecode first, as pip does on install: with
    PYTHONDONTWRITEBYTECODE set (or a source tree just edited) every fresh
    interpreter would otherwise compile the modules again and time that instead."""
    import compileall

    import jupyter_lineage

    compileall.compile_dir(str(Path(jupyter_lineage.__file__).parent), quiet=1)


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    repeats = 3 if quick else 9
    _compile_package()
    loads, imports, heavy = [], [], set()
    with tempfile.TemporaryDirectory(prefix="lineage-bench-startup-") as tmp:
        for _ in range(repeats):
            # Alternated, so a busy moment on the machine slows both alike.
            result = _fresh(_LOAD_EXT, tmp)
            loads.append(result["s"])
            heavy |= set(result["heavy"])
            imports.append(_fresh(_IMPORT_DUCKDB, tmp)["s"])
    load, duck = min(loads), min(imports)
    return [
        {
            "figure": f"%load_ext jupyter_lineage vs import duckdb alone "
            f"(fresh interpreter each, best of {repeats})",
            "value": round(load * 1e3, 1),
            "baseline": round(duck * 1e3, 1),
            "ratio": round(load / duck, 2),
            "unit": "ms",
            "target": f"<= {MAX_RATIO}x",
            "pass": load <= MAX_RATIO * duck,
        },
        {
            "figure": "heavy libraries imported by %load_ext (pandas, plotly, networkx, duckdb, "
            "pyarrow, numpy, nbclient, nbformat)",
            "value": ", ".join(sorted(heavy)) or "none",
            "baseline": None,
            "ratio": None,
            "unit": "",
            "target": "none",
            "pass": not heavy,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "fewer fresh interpreters", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
