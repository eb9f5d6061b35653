"""What is out of date, against notebooks run in real kernels and a real DuckDB store.

Each notebook is executed with nbclient (which sends no cell ids, so runs are paired
with cells by their code, or by the execution ids `jupyter-lineage run` and the save
hook write into cell metadata), then changed on disk the way a user would change it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_lineage.graph import rerun_order, stale
from jupyter_lineage.reproduce import link_executed_cells

from .conftest import NotebookRun, execute_notebook


def by_name(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.cells if c.name}


def texts(cell: Any) -> str:
    return " | ".join(r.text for r in cell.reasons)


# -- 1. a data file changed; 5. a model version trained from it ---------------------------

DATA_CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name load\nimport csv\nrows = list(csv.DictReader(open('data.csv')))",
    "%%lineage --name total\ntotal = sum(int(r['a']) for r in rows)",
    "%%lineage --name other\nz = 41 + 1",
    "%%lineage --name report\nline = f'total={total}'",
    "%%lineage --name count\n"
    "n = int(open('counter.txt').read())\n"
    "with open('counter.txt', 'w') as f:\n"
    "    f.write(str(n + 1))",
    "%%lineage --name lookup\nimport os\n"
    "codes = open(os.path.join(os.environ['HOME'], 'shared', 'codes.txt')).read().split()",
    "%%lineage --name train --model churn\nweights = sorted(int(r['a']) for r in rows)",
    "from jupyter_lineage import registry as reg\n"
    "reg.register_model('churn', ['ml@example.com'], risk_tier='LOW')\n"
    "reg.create_version('churn', '1.0.0', framework='python')",
]


@pytest.fixture(scope="module")
def data_run(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    root = tmp_path_factory.mktemp("stale-data")
    home = root / "home"
    (home / "shared").mkdir(parents=True)
    (home / "shared" / "codes.txt").write_text("a b c\n")
    project = root / "project"
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (project / "counter.txt").write_text("7")
    return execute_notebook(DATA_CELLS, project, env={"HOME": str(home)})


@pytest.fixture
def home(data_run: NotebookRun, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = data_run.path.parent.parent / "home"
    monkeypatch.setenv("HOME", str(path))
    return path


def test_nothing_changed_nothing_is_stale(data_run: NotebookRun, home: Path) -> None:
    report = stale(data_run.path, store=data_run.store, packages={})

    states = {c.name: c.state for c in report.cells if c.name}
    assert states == dict.fromkeys(
        ["load", "total", "other", "report", "count", "lookup", "train"], "fresh"
    )
    # The uncaptured registry cell is unknown, never fresh; the %load_ext cell is not a result.
    unknown = [c for c in report.cells if c.state == "unknown"]
    assert len(unknown) == 1 and unknown[0].execution_id is None
    assert report.hashed_files == 0  # stat said every file is as recorded
    # A cell that read and wrote counter.txt itself is fresh: the change was its own.
    assert (data_run.path.parent / "counter.txt").read_text() == "8"
    assert [(v.model, v.version, v.state) for v in report.versions] == [("churn", "1.0.0", "fresh")]


def test_an_edited_data_file_makes_only_what_is_downstream_stale(
    data_run: NotebookRun, home: Path
) -> None:
    data = data_run.path.parent / "data.csv"
    before = data.read_text()
    data.write_text("a,b\n1,2\n3,5\n")  # the same size: only the bytes tell
    try:
        report = stale(data_run.path, store=data_run.store, packages={})
    finally:
        data.write_text(before)

    cells = by_name(report)
    assert {n for n, c in cells.items() if c.stale} == {"load", "total", "report", "train"}
    assert cells["other"].state == cells["count"].state == cells["lookup"].state == "fresh"
    assert [r.kind for r in cells["load"].reasons] == ["file"]
    assert cells["load"].reasons[0].subject == "data.csv"
    for name in ("total", "report", "train"):
        assert "data.csv" in texts(cells[name]), name  # each names the file at the root
        assert all(r.kind == "upstream" for r in cells[name].reasons)
    assert report.hashed_files == 1
    # 5. the model version trained by a stale run is stale too, and says why.
    (version,) = report.versions
    assert (version.model, version.state) == ("churn", "stale")
    assert "data.csv" in texts(version)
    # The same answer as JSON, as the CLI and the server give it.
    answer = report.to_dict()
    assert answer["counts"]["stale"] == 4
    assert json.loads(json.dumps(answer, default=str))["versions"][0]["stale"] is True


def test_a_file_written_by_someone_else_and_files_outside_the_tree(
    data_run: NotebookRun, home: Path
) -> None:
    counter = data_run.path.parent / "counter.txt"
    codes = home / "shared" / "codes.txt"
    saved = counter.read_text(), codes.read_text()
    counter.write_text("100")
    codes.unlink()
    try:
        report = stale(data_run.path, store=data_run.store, packages={})
    finally:
        counter.write_text(saved[0])
        codes.write_text(saved[1])

    cells = by_name(report)
    assert {n for n, c in cells.items() if c.stale} == {"count", "lookup"}
    assert texts(cells["count"]) == "file counter.txt changed since this run read it"
    assert texts(cells["lookup"]) == "file ~/shared/codes.txt is gone"


def test_the_command_line_answers_the_same(data_run: NotebookRun, home: Path) -> None:
    data = data_run.path.parent / "data.csv"
    before = data.read_text()
    data.write_text("a,b\n9,9\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "jupyter_lineage.cli", "stale", str(data_run.path), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        text = subprocess.run(
            [sys.executable, "-m", "jupyter_lineage.cli", "stale", str(data_run.path)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        data.write_text(before)

    assert result.returncode == 1, result.stderr  # something is stale
    answer = json.loads(result.stdout)
    assert {c["name"] for c in answer["cells"] if c["stale"]} == {
        "load",
        "total",
        "report",
        "train",
    }
    assert "stale       load (In [2]" in text.stdout
    assert "    file data.csv changed since this run read it" in text.stdout


# -- 2. a cell's code edited ---------------------------------------------------------------


def test_an_edited_cell_makes_it_and_what_reads_its_values_stale(tmp_path: Path) -> None:
    since = datetime.now(timezone.utc)
    run = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name base\nx = 10",
            "%%lineage --name derived\ny = x * 2",
            "%%lineage --name apart\nw = 5",
        ],
        tmp_path,
    )
    # What `jupyter-lineage run` does after a headless run: the cells name their runs.
    nb = nbformat.read(run.path, as_version=4)
    assert len(link_executed_cells(nb, tmp_path / ".lineage", str(run.path), since)) == 3
    nb.cells[1].source = "%%lineage --name base\nx = 11"
    nbformat.write(nb, run.path)

    report = stale(run.path, store=run.store, packages={})

    cells = by_name(report)
    assert {n for n, c in cells.items() if c.stale} == {"base", "derived"}
    assert [r.kind for r in cells["base"].reasons] == ["source"]
    assert "base (In [2]" in texts(cells["derived"]) and "code" in texts(cells["derived"])
    assert cells["apart"].state == "fresh"
    assert report.code_from.startswith("the notebook file on disk")


# -- 3. the environment moved ----------------------------------------------------------------


def tiny_wheel(directory: Path, version: str) -> Path:
    """A pure-Python wheel of ``tinypkg`` at ``version``, written by hand (no build backend)."""
    name = f"tinypkg-{version}"
    files = {
        "tinypkg/__init__.py": f"VALUE = {version!r}\n".encode(),
        f"{name}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: tinypkg\nVersion: {version}\n"
        ).encode(),
        f"{name}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    files[f"{name}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def test_a_reinstalled_package_is_the_environment_level(tmp_path: Path) -> None:
    site = tmp_path / "site"
    old, new = tiny_wheel(tmp_path, "1.0"), tiny_wheel(tmp_path, "2.0")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(site), str(old)], check=True)
    # Reinstalled into a fresh directory: ``pip install --upgrade --target`` would leave the
    # old version's metadata beside the new one.
    reinstall = [*pip, "--target", str(site), str(new)]
    run = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            f"import sys\nsys.path.insert(0, {str(site)!r})",
            "%%lineage --name use\nimport tinypkg\nv = tinypkg.VALUE",
            "%%lineage --name plain\nq = 1 + 1",
            "%lineage_stale --json",
            f"import shutil, subprocess\nshutil.rmtree({str(site)!r})\n"
            f"subprocess.run({reinstall!r}, check=True)",
            "%lineage_stale --json",
        ],
        tmp_path / "nb",
    )

    before, after = json.loads(run.text(4)), json.loads(run.text(6))
    assert {c["name"]: c["state"] for c in before["cells"] if c["name"]} == {
        "use": "fresh",
        "plain": "fresh",
    }
    states = {c["name"]: c for c in after["cells"] if c["name"]}
    assert states["use"]["state"] == "environment"
    assert not states["use"]["stale"]  # a weaker level than stale
    (reason,) = states["use"]["reasons"]
    assert reason["kind"] == "environment" and reason["subject"] == "tinypkg"
    assert "tinypkg 1.0 → 2.0" in reason["text"]
    # Only the packages the notebook imports are named: the other cell is judged the same way,
    # and nothing else in the kernel's environment moved.
    assert states["plain"]["state"] == "environment"
    assert states["plain"]["reasons"][0]["subject"] == "tinypkg"


# -- 4. re-running what is stale -----------------------------------------------------------


def test_rerun_runs_the_stale_cells_in_order_and_then_nothing_is_stale(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n2\n")
    run = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name load\nvalues = [int(v) for v in open('data.csv').read().split()[1:]]",
            "%%lineage --name total\ntotal = sum(values)",
            "%%lineage --name other\nz = 42",
            "with open('data.csv', 'a') as f:\n    f.write('40\\n')",
            "%lineage_stale --run",
            "print(total)",
            "%lineage_stale --json",
        ],
        tmp_path,
    )

    shown = run.text(5)
    plan = shown.split("in this order:\n", 1)[1].splitlines()[:2]
    assert [p.split(" (")[0].strip() for p in plan] == ["load", "total"]
    assert "Nothing is stale now." in shown
    assert run.text(6).strip() == "43"
    after = json.loads(run.text(7))
    assert after["counts"]["stale"] == 0
    runs = run.sql("SELECT name, count(*) AS n FROM runs GROUP BY name ORDER BY name")
    assert dict(zip(runs["name"], runs["n"], strict=True)) == {"load": 2, "other": 1, "total": 2}
    # The re-runs carry their cells' ids, so they pair with the cells without metadata.
    ids = run.sql("SELECT cell_id FROM runs WHERE name = 'load' ORDER BY started_at")["cell_id"]
    assert ids.isna().iloc[0] and ids.iloc[1] == run.code_cells[1].id


def test_rerun_order_puts_each_cell_after_those_it_depends_on(
    data_run: NotebookRun, home: Path
) -> None:
    data = data_run.path.parent / "data.csv"
    before = data.read_text()
    data.write_text("a,b\n0,0\n")
    try:
        report = stale(data_run.path, store=data_run.store, packages={})
    finally:
        data.write_text(before)
    order = [c.name for c in rerun_order(report)]
    assert order.index("load") < order.index("total") < order.index("report")
    assert set(order) == {"load", "total", "report", "train"}
