"""Run a notebook headless in a real kernel with capture on, and summarise what was captured."""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import STORE_DIR_ENV, resolve_store_dir

# The tag nbclient lets fail without stopping the run: a failure the notebook means to show.
EXPECTED_ERROR_TAG = "raises-exception"
EXPECTED_MARK = f" (expected: {EXPECTED_ERROR_TAG})"


def expects_error(cell: Any) -> bool:
    """Whether a cell says it raises on purpose (tagged ``raises-exception``, as nbclient reads it)."""
    return EXPECTED_ERROR_TAG in (cell.get("metadata", {}).get("tags") or ())


@dataclass(slots=True)
class RunResult:
    """The outcome of one headless notebook run."""

    notebook: Path
    store_dir: Path
    seconds: float
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    # code cell index -> the execution that ran it (also in the cell's metadata)
    cell_executions: dict[int, str] = field(default_factory=dict)
    # executions of cells tagged raises-exception: their error is what the notebook shows
    expected_failures: set[str] = field(default_factory=set)

    @property
    def models(self) -> list[str]:
        """The models the run registered or versioned, as ``[GROUP/]NAME``."""
        return list(self.counts.get("models", []))

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        lines = [
            f"{self.notebook}: {'ran' if self.ok else 'FAILED'} in {self.seconds:.1f} s; store {self.store_dir}"
        ]
        if self.error:
            lines.append(f"error: {self.error}")
        c = self.counts
        if c:
            recent = c.get("recent", [])
            expected = sum(
                1
                for row in recent
                if row["status"] == "failed" and row.get("execution_id") in self.expected_failures
            )
            failed = f"{c['failed'] - expected} failed"
            if expected:
                failed += f", {expected} expected error(s)"
            lines.append(
                f"captured {c['runs']} cell run(s) ({failed}), "
                f"{c['inputs']} input and {c['outputs']} output value(s), "
                f"{c['files_read']} file(s) read and {c['files_written']} written, "
                f"{c['environments']} environment(s)"
            )
            for row in recent:
                mark = ""
                if row["status"] == "failed" and row.get("execution_id") in self.expected_failures:
                    mark = EXPECTED_MARK
                lines.append(
                    f"  [{row['execution_count']}] {row['status']:<11} {row['duration_ms']:>9.1f} ms  "
                    f"{row['label']}{mark}"
                )
        return "\n".join(lines)


def run_notebook(
    path: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    store_dir: str | os.PathLike[str] | None = None,
    capture_all: bool = False,
    timeout: int = 600,
    progress: bool = True,
    kernel_name: str = "python3",
    cwd: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Execute every cell with nbclient; cells tagged ``raises-exception`` may fail.

    The kernel runs in the notebook's directory (or ``cwd``). Each captured cell's
    execution id is written into its metadata (``jupyter_lineage.executions``).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb_path = Path(path).resolve()
    nb = nbformat.read(nb_path, as_version=4)
    store = resolve_store_dir(store_dir, str(nb_path))
    env = {**os.environ, "JPY_SESSION_NAME": str(nb_path), STORE_DIR_ENV: str(store)}
    extra = []
    if capture_all:
        extra = [
            "--InteractiveShellApp.extensions=['jupyter_lineage']",
            "--InteractiveShellApp.exec_lines=['%lineage on']",
        ]
    total = sum(1 for c in nb.cells if c.cell_type == "code")
    done = {"n": 0}

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any, **_: Any) -> None:
        if not progress:
            return
        done["n"] += 1
        status = execute_reply.get("content", {}).get("status", "?") if execute_reply else "?"
        if status == "error" and expects_error(cell):
            status += EXPECTED_MARK
        first = (cell.source.strip().splitlines() or [""])[0][:60]
        print(f"[{done['n']}/{total}] {status:<5} {first}", file=sys.stderr, flush=True)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(Path(cwd).resolve() if cwd else nb_path.parent)}},
        extra_arguments=extra,
        on_cell_executed=on_cell_executed,
    )
    started = time.perf_counter()
    since = datetime.now(timezone.utc)
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        # The kernel colours its traceback for a terminal; the summary is plain text.
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
        error = text.splitlines()[-1] if text else "a cell failed"
    seconds = time.perf_counter() - started
    from .cells import link_executed_cells

    cell_executions = link_executed_cells(nb, store, str(nb_path), since)
    if output:
        nbformat.write(nb, output)
    expected = {
        execution for index, execution in cell_executions.items() if expects_error(nb.cells[index])
    }
    result = RunResult(
        nb_path,
        store,
        seconds,
        error,
        cell_executions=cell_executions,
        expected_failures=expected,
    )
    result.counts = _counts(store, str(nb_path))
    return result


def _counts(store_dir: Path, notebook: str) -> dict[str, Any]:
    from ..store import DuckDBStore

    store = DuckDBStore(store_dir)
    if not store.journal_dir.exists():
        return {}
    return store.notebook_summary(notebook)
