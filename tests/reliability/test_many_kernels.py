"""Two and four kernels capturing 500 cells each into one store at once, querying as they go."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from jupyter_lineage.journal import iter_lines, journal_files, verify_chain
from jupyter_lineage.store import DuckDBStore

CELLS = 500
QUERY_EVERY = 20


def _notebook(path: Path, tag: str) -> None:
    cells = ["%load_ext jupyter_lineage", "acc = 0"]
    for i in range(CELLS):
        if i % QUERY_EVERY == QUERY_EVERY - 1:
            # An ingest under the lock while the other kernels write and ingest too.
            cells.append(
                f"%%lineage --tag {tag}\nseen = %lineage_sql SELECT count(*) AS n FROM runs\n"
                f"acc += {i}"
            )
        else:
            cells.append(f"%%lineage --tag {tag}\nacc += {i}\nlast_{i % 5} = [{i}] * {i % 50}")
    cells.append("print('total', acc)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


@pytest.mark.heavy
@pytest.mark.parametrize("kernels", [2, 4])
def test_kernels_capture_into_one_store_at_once(tmp_path: Path, kernels: int) -> None:
    store_dir = tmp_path / "shared"
    tags = [f"k{i}" for i in range(kernels)]
    procs = []
    for tag in tags:
        _notebook(tmp_path / f"{tag}.ipynb", tag)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_lineage.cli",
                    "--store",
                    str(store_dir),
                    "run",
                    str(tmp_path / f"{tag}.ipynb"),
                    "-o",
                    str(tmp_path / f"{tag}.out.ipynb"),
                    "--quiet",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, out + err
        assert "lock" not in (out + err).lower(), out + err

    total = sum(range(CELLS))
    for tag in tags:
        nb = nbformat.read(tmp_path / f"{tag}.out.ipynb", as_version=4)
        text = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert f"total {total}" in text
        # No capture warning and no lock error reached any cell's output.
        assert "lock" not in text.lower() and "jupyter-lineage:" not in text

    store = DuckDBStore(store_dir)
    store.ingest()
    written = Counter(
        line.event["id"]
        for path in journal_files(store.journal_dir)
        for line in iter_lines(path)
        if line.event is not None
    )
    stored = Counter(store.query("SELECT event_id FROM events", ingest=False)["event_id"])
    assert stored == written and set(stored.values()) == {1}
    runs = store.query(
        "SELECT tags[1] AS tag, status, count(*) AS n FROM runs GROUP BY ALL ORDER BY tag",
        ingest=False,
    )
    assert runs.to_dict("records") == [{"tag": t, "status": "ok", "n": CELLS} for t in tags]
    for path in journal_files(store.journal_dir):
        assert verify_chain(path) == []
