"""Several kernels capturing into one store at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from jupyter_lineage.journal import iter_lines, journal_files
from jupyter_lineage.store import DuckDBStore

CELLS_PER_KERNEL = 120


def _notebook(path: Path, tag: str) -> None:
    nb = nbformat.v4.new_notebook()
    cells = ["%load_ext jupyter_lineage", "acc = 0"]
    for i in range(CELLS_PER_KERNEL):
        if i % 15 == 14:
            # a query forces an ingest while the other kernel is writing and ingesting too
            cells.append(
                f"%%lineage --tag {tag}\nseen = %lineage_sql SELECT count(*) AS n FROM runs\nacc += {i}"
            )
        else:
            cells.append(f"%%lineage --tag {tag}\nacc += {i}")
    cells.append("print('total', acc)")
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


def test_two_kernels_one_store_lose_nothing(tmp_path: Path) -> None:
    store_dir = tmp_path / "shared-store"
    procs = []
    for tag in ("k1", "k2"):
        nb_path = tmp_path / f"{tag}.ipynb"
        _notebook(nb_path, tag)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_lineage.cli",
                    "--store",
                    str(store_dir),
                    "run",
                    str(nb_path),
                    "-o",
                    str(tmp_path / f"{tag}.out.ipynb"),
                    "--quiet",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, out + err
        assert "lock" not in (out + err).lower()

    expected_total = sum(range(CELLS_PER_KERNEL))
    for tag in ("k1", "k2"):
        nb = nbformat.read(tmp_path / f"{tag}.out.ipynb", as_version=4)
        text = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert f"total {expected_total}" in text
        assert "lock" not in text.lower() and "jupyter-lineage:" not in text

    store = DuckDBStore(store_dir)
    store.ingest()
    journal_events = {
        line.event["id"] for path in journal_files(store.journal_dir) for line in iter_lines(path)
    }
    df = store.query("SELECT event_id, count(*) AS n FROM events GROUP BY event_id", ingest=False)
    assert set(df["event_id"]) == journal_events
    assert df["n"].max() == 1
    runs = store.query(
        "SELECT tags[1] AS tag, status, count(*) AS n FROM runs GROUP BY ALL ORDER BY tag",
        ingest=False,
    )
    assert runs.to_dict("records") == [
        {"tag": "k1", "status": "ok", "n": CELLS_PER_KERNEL},
        {"tag": "k2", "status": "ok", "n": CELLS_PER_KERNEL},
    ]
    dup = store.query(
        "SELECT count(*) - count(DISTINCT execution_id) AS d FROM executions", ingest=False
    )
    assert int(dup.iloc[0, 0]) == 0
