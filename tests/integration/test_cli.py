"""The ``jupyter-lineage`` command, run as a user would run it."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage.store.duckdb import SCHEMA_VERSION

REPO = Path(__file__).parents[2]


def cli(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart notebook run headless once, in a copy of the notebooks folder."""
    work = tmp_path_factory.mktemp("qs")
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    proc = cli("run", str(work / "quickstart.ipynb"), "-o", str(work / "out.ipynb"))
    (work / "run-output.txt").write_text(proc.stdout + proc.stderr)
    return work


def test_run_prints_a_summary_and_writes_the_notebook(quickstart: Path) -> None:
    out = (quickstart / "run-output.txt").read_text()
    # the one failure is the notebook's deliberate attempt, tagged raises-exception
    assert "captured 9 cell run(s) (0 failed, 1 expected error(s))" in out
    assert "file(s) read" in out and "1 environment(s)" in out
    assert "train (expected: raises-exception)" in out
    assert "error (expected: raises-exception) %%lineage --name train --tag attempt-1" in out
    import nbformat

    nb = nbformat.read(quickstart / "out.ipynb", as_version=4)
    nbformat.validate(nb)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert [e.ename for e in errors] == ["ValueError"]  # the deliberate failed attempt only


def test_sql_formats(quickstart: Path) -> None:
    store = str(quickstart / ".lineage")
    table = cli("--store", store, "sql", "SELECT name, status FROM runs ORDER BY started_at").stdout
    assert "make-data" in table and "failed" in table
    csv = cli("--store", store, "sql", "--format", "csv", "SELECT name FROM failed_attempts").stdout
    assert csv.splitlines() == ["name", "train"]
    rows = json.loads(
        cli("--store", store, "sql", "--format", "json", "SELECT count(*) AS n FROM runs").stdout
    )
    assert rows == [{"n": 9}]
    empty = cli("--store", store, "sql", "SELECT * FROM runs WHERE false").stdout
    assert "(no rows)" in empty


def test_info_and_verify(quickstart: Path) -> None:
    store = str(quickstart / ".lineage")
    info = json.loads(cli("--store", store, "info", "--json").stdout)
    assert info["counts"]["runs"] == 9
    assert info["counts"]["failed_attempts"] == 1
    assert info["counts"]["environments"] == 1
    assert info["schema_version"] == SCHEMA_VERSION
    text = cli("--store", store, "info").stdout
    assert f"schema version: {SCHEMA_VERSION}" in text
    verify = cli("--store", store, "verify")
    assert "0 problem(s)" in verify.stdout


def test_verify_fails_on_an_edited_journal(tmp_path: Path, quickstart: Path) -> None:
    store = tmp_path / "copy"
    shutil.copytree(quickstart / ".lineage", store)
    journal = next((store / "journal").glob("*.jsonl"))
    lines = journal.read_bytes().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if b'"name":"make-data"' in line)
    lines[i] = lines[i].replace(b"make-data", b"made-data")
    journal.write_bytes(b"".join(lines))
    proc = cli("--store", str(store), "verify", check=False)
    assert proc.returncode == 1
    assert "hash chain broken" in proc.stdout


def test_errors_are_one_line(tmp_path: Path, quickstart: Path) -> None:
    store = str(quickstart / ".lineage")
    bad = cli("--store", store, "sql", "SELEC nonsense", check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("jupyter-lineage: ") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
    missing = cli("--store", str(tmp_path / "nowhere"), "info", check=False)
    assert missing.returncode == 2 and "no store at" in missing.stderr
    nb = cli("run", str(tmp_path / "missing.ipynb"), check=False)
    assert nb.returncode == 2 and "no notebook at" in nb.stderr


def test_all_cells_mode_loads_the_extension_from_config(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = a + 1")]
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, path)
    out = cli("run", str(path), "--all-cells", "--quiet").stdout
    assert "captured 2 cell run(s)" in out
    rows = json.loads(
        cli(
            "--store",
            str(tmp_path / ".lineage"),
            "sql",
            "--format",
            "json",
            "SELECT name, action FROM cell_outputs ORDER BY started_at",
        ).stdout
    )
    assert rows == [{"name": "a", "action": "assigned"}, {"name": "b", "action": "assigned"}]


def test_help_has_examples() -> None:
    for command in ("sql", "info", "run", "verify", "ingest", "rebuild"):
        assert "example" in cli(command, "--help").stdout


def test_expected_and_unexpected_errors(tmp_path: Path) -> None:
    """A cell tagged raises-exception may fail without failing the run; any other may not.
    A second run is summarised on its own, and a run with no model suggests queries."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_lineage"),
        nbformat.v4.new_code_cell(
            '%%lineage --name boom\nraise ValueError("on purpose")',
            metadata={"tags": ["raises-exception"]},
        ),
        nbformat.v4.new_code_cell("%%lineage --name fine\nx = 1"),
    ]
    path = tmp_path / "work" / "errors.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    for _ in range(2):  # the second run's summary is that run's, not both
        ok = cli("run", "work/errors.ipynb", cwd=tmp_path)
        assert "captured 2 cell run(s) (0 failed, 1 expected error(s))" in ok.stdout
        assert "[2/3] error (expected: raises-exception) %%lineage --name boom" in ok.stderr
    assert ok.stdout.split("\nnext:\n", 1)[1].splitlines() == [
        "  jupyter-lineage --store work/.lineage info",
        "  jupyter-lineage --store work/.lineage verify",
        "  jupyter-lineage --store work/.lineage graph html -o lineage.html",
    ]
    for line in ok.stdout.split("\nnext:\n", 1)[1].splitlines():
        cli(*shlex.split(line)[1:], cwd=tmp_path)  # each works as printed
    assert (tmp_path / "lineage.html").is_file()

    nb.cells[1].metadata = {}
    nbformat.write(nb, path)
    bad = cli("run", str(path), "--quiet", check=False)
    assert bad.returncode == 1
    assert "FAILED" in bad.stdout and "error: ValueError: on purpose" in bad.stdout
    assert "captured 1 cell run(s) (1 failed)" in bad.stdout  # nbclient stops at it
    assert "raises-exception" not in bad.stdout and "expected error" not in bad.stdout
