"""Fixtures for tests that run real notebooks in real kernels against a real store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_lineage.store import DuckDBStore


class NotebookRun:
    """An executed notebook and the store it captured into."""

    def __init__(self, nb: Any, path: Path, store_dir: Path) -> None:
        self.nb = nb
        self.path = path
        self.store = DuckDBStore(store_dir)

    @property
    def code_cells(self) -> list[Any]:
        return [c for c in self.nb.cells if c.cell_type == "code"]

    def outputs(self, index: int) -> list[dict[str, Any]]:
        return self.code_cells[index].outputs

    def text(self, index: int) -> str:
        """All stream and text/plain output of a code cell, joined."""
        parts = []
        for out in self.outputs(index):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.data.get("text/plain", ""))
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
        return "".join(parts)

    def sql(self, query: str, params: Any = None) -> Any:
        return self.store.query(query, params)


def execute_notebook(
    cells: list[str],
    directory: Path,
    *,
    name: str = "test.ipynb",
    store_dir: Path | None = None,
    allow_errors: bool = True,
    timeout: int = 120,
    env: dict[str, str] | None = None,
) -> NotebookRun:
    """Write ``cells`` as a notebook in ``directory``, execute it with nbclient, return the run."""
    directory.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    path = directory / name
    nbformat.write(nb, path)
    store_dir = store_dir or directory / ".lineage"
    kernel_env = {
        **os.environ,
        "JPY_SESSION_NAME": str(path),
        "JUPYTER_LINEAGE_DIR": str(store_dir),
        **(env or {}),
    }
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        coalesce_streams=True,  # one output per stream, however the kernel flushed it
        resources={"metadata": {"path": str(directory)}},
    )
    client.execute(env=kernel_env)
    nbformat.write(nb, path)
    return NotebookRun(nb, path, store_dir)


@pytest.fixture
def run_cells(tmp_path: Path):
    """Execute a list of cell sources in a fresh kernel with the store in ``tmp_path``."""

    def run(cells: list[str], **kwargs: Any) -> NotebookRun:
        return execute_notebook(cells, kwargs.pop("directory", tmp_path), **kwargs)

    return run


def execute_notebook_file(
    source: Path,
    directory: Path,
    *,
    first_cells: list[str] | None = None,
    store_dir: Path | None = None,
    timeout: int = 120,
    env: dict[str, str] | None = None,
    record_timing: bool = False,
) -> NotebookRun:
    """Execute a copy of the notebook ``source`` in ``directory``, with ``first_cells`` before its cells.

    Only the notebook is copied, so the files it reads are the ones it wrote itself. Cells
    tagged ``raises-exception`` may fail; so may others (``allow_errors``), so that a caller
    sees every cell's outputs rather than the first unexpected error.
    """
    directory.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(source, as_version=4)
    nb.cells = [nbformat.v4.new_code_cell(src) for src in first_cells or []] + nb.cells
    path = directory / source.name
    store_dir = store_dir or directory / ".lineage"
    kernel_env = {
        **os.environ,
        "JPY_SESSION_NAME": str(path),
        "JUPYTER_LINEAGE_DIR": str(store_dir),
        **(env or {}),
    }
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        coalesce_streams=True,
        record_timing=record_timing,
        resources={"metadata": {"path": str(directory)}},
    )
    nbformat.write(nb, path)
    client.execute(env=kernel_env)
    nbformat.write(nb, path)
    return NotebookRun(nb, path, store_dir)
