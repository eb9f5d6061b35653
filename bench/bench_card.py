"""The quickstart's model card: its size, and how long it takes, against the card before the
one-connection store (commit ``4243ec3``) measured in the same run.

The quickstart notebook is run once with capture (``jupyter-lineage run``); the card of
the model it registers is then made by each version of the package, each in its own
interpreter, from its own copy of the same ingested store: warm (the best of several
calls after a first one in the same process, as the sidebar's server and a notebook
make them), HTML and JSON, with the DuckDB connections each call opens; and cold (the
``jupyter-lineage card`` command in a fresh interpreter). Both versions are measured
alternately, so a busy moment on the machine slows both alike.
Run as ``python bench/bench_card.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "4243ec3"
MODEL = "churn-logreg"
MAX_WARM_S = 0.3
MAX_BYTES = 300 * 1024
_CLI = (sys.executable, "-m", "jupyter_lineage.cli")

# Runs in the measured version's interpreter: PYTHONPATH picks the version, and
# JUPYTER_LINEAGE_DIR its copy of the store.
_WARM = """
import json, sys, time
import duckdb
opened = []
_connect = duckdb.connect
def _counted(*args, **kwargs):
    opened.append(1)
    return _connect(*args, **kwargs)
duckdb.connect = _counted
from jupyter_lineage.cards import render_html, render_json
MODEL, repeats = sys.argv[1], int(sys.argv[2])
result = {}
for name, render in (("json", render_json), ("html", render_html)):
    text = render(MODEL)  # the first call: imports, the first ingest, plotly's setup
    times, connections = [], []
    for _ in range(repeats):
        before = len(opened)
        t0 = time.perf_counter()
        text = render(MODEL)
        times.append(time.perf_counter() - t0)
        connections.append(len(opened) - before)
    result[name] = {"s": min(times), "connections": max(connections), "bytes": len(text.encode())}
print(json.dumps(result))
"""


def _env(src: Path, store: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "JUPYTER_LINEAGE_DIR": str(store)}


def _warm(src: Path, store: Path, repeats: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _WARM, MODEL, str(repeats)],
        capture_output=True,
        text=True,
        env=_env(src, store),
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"card failed with {src}:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _ingest(src: Path, store: Path) -> None:
    """Bring the store's journals into its database with the package at ``src``."""
    code = "import sys; from jupyter_lineage.store import DuckDBStore; DuckDBStore(sys.argv[1]).ingest()"
    subprocess.run(
        [sys.executable, "-c", code, str(store)],
        capture_output=True,
        text=True,
        env=_env(src, store),
        timeout=600,
        check=True,
    )


def _cold(src: Path, store: Path, fmt: str, output: Path) -> float:
    """Seconds for ``jupyter-lineage card`` in a fresh interpreter, start to exit."""
    t0 = time.perf_counter()
    subprocess.run(
        [*_CLI, "--store", str(store), "card", MODEL, "--format", fmt, "-o", str(output)],
        capture_output=True,
        text=True,
        env=_env(src, store),
        timeout=600,
        check=True,
    )
    return time.perf_counter() - t0


def _baseline_source(tmp: Path) -> Path:
    """The package as it was at ``BASELINE_COMMIT``, with this checkout's generated version file."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "src"],
        capture_output=True,
        check=True,
    ).stdout
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    src = tmp / "src"
    version = ROOT / "src" / "jupyter_lineage" / "_version.py"
    if version.exists():
        shutil.copy(version, src / "jupyter_lineage" / "_version.py")
    return src


def _compile(src: Path) -> None:
    """Write both versions' bytecode first, so no fresh interpreter times compiling them."""
    import compileall

    compileall.compile_dir(str(src / "jupyter_lineage"), quiet=1)


def _quickstart_store(tmp: Path, src: Path) -> Path:
    work = tmp / "quickstart"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    subprocess.run(
        [*_CLI, "run", str(work / "quickstart.ipynb"), "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        cwd=work,
        timeout=900,
        check=True,
    )
    store = work / ".lineage"
    # Ingested before it is copied: each version then reads the same file.
    subprocess.run(
        [*_CLI, "--store", str(store), "ingest"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        timeout=300,
        check=True,
    )
    return store


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    warm_repeats = 3 if quick else 7
    cold_repeats = 1 if quick else 3
    current = ROOT / "src"
    with tempfile.TemporaryDirectory(prefix="lineage-bench-card-") as name:
        tmp = Path(name)
        baseline = _baseline_source(tmp / "baseline")
        for src in (current, baseline):
            _compile(src)
        store = _quickstart_store(tmp, current)
        sources_of = {"current": current, "baseline": baseline}
        stores = {}
        for version in ("current", "baseline"):
            # The journals alone, each version ingesting them into its own schema (the
            # baseline cannot read a database of a newer schema version).
            stores[version] = tmp / f"store-{version}"
            shutil.copytree(
                store, stores[version], ignore=shutil.ignore_patterns("lineage.duckdb*")
            )
            _ingest(sources_of[version], stores[version])
        sources = {"current": current, "baseline": baseline}
        warm: dict[str, list[dict[str, Any]]] = {"current": [], "baseline": []}
        cold: dict[tuple[str, str], list[float]] = {}
        for _ in range(2 if quick else 3):  # alternated
            for version in ("current", "baseline"):
                warm[version].append(_warm(sources[version], stores[version], warm_repeats))
        for _ in range(cold_repeats):
            for fmt in ("html", "json"):
                for version in ("current", "baseline"):
                    out = tmp / f"{version}.{fmt}"
                    seconds = _cold(sources[version], stores[version], fmt, out)
                    cold.setdefault((version, fmt), []).append(seconds)
    return rows_from(warm, cold)


def rows_from(
    warm: dict[str, list[dict[str, Any]]], cold: dict[tuple[str, str], list[float]]
) -> list[dict[str, Any]]:
    """The table's rows from the measurements of both versions (pure, for the tests)."""

    def best(version: str, fmt: str, key: str) -> float:
        values = [w[fmt][key] for w in warm[version]]
        return min(values) if key == "s" else max(values)

    size, base_size = best("current", "html", "bytes"), best("baseline", "html", "bytes")
    rows = [
        {
            "figure": "quickstart model card size (self-contained HTML)",
            "value": round(size / 1024, 1),
            "baseline": round(base_size / 1024, 1),
            "ratio": round(size / base_size, 3),
            "unit": "KB",
            "target": f"<= {MAX_BYTES // 1024} KB",
            "pass": size <= MAX_BYTES,
        }
    ]
    for fmt, label in (("html", "HTML"), ("json", "JSON")):
        value, base = best("current", fmt, "s"), best("baseline", fmt, "s")
        rows.append(
            {
                "figure": f"quickstart model card, {label}, warm (best of the calls after the "
                "first in one process)",
                "value": round(value, 3),
                "baseline": round(base, 3),
                "ratio": round(value / base, 3),
                "unit": "s",
                "target": f"<= {MAX_WARM_S} s",
                "pass": value <= MAX_WARM_S,
            }
        )
    for fmt, label in (("html", "HTML"), ("json", "JSON")):
        value, base = best("current", fmt, "connections"), best("baseline", fmt, "connections")
        rows.append(
            {
                "figure": f"DuckDB connections opened for one warm {label} card",
                "value": value,
                "baseline": base,
                "ratio": round(value / base, 3) if base else None,
                "unit": "connections",
                "target": "1",
                "pass": value == 1,
            }
        )
    for fmt, label in (("html", "HTML"), ("json", "JSON")):
        value, base = min(cold[("current", fmt)]), min(cold[("baseline", fmt)])
        rows.append(
            {
                "figure": f"`jupyter-lineage card --format {fmt}` in a fresh interpreter "
                f"({label}, best of {len(cold[('current', fmt)])})",
                "value": round(value, 3),
                "baseline": round(base, 3),
                "ratio": round(value / base, 3),
                "unit": "s",
                "target": "report only",
                "pass": None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "fewer repeats", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
