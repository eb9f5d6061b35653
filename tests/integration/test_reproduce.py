"""Reproduce a result in a fresh kernel, explain what differs, and carry execution ids in notebooks.

A small training notebook runs once in a real kernel with a fake package
``fakepkg 1.0`` on ``PYTHONPATH``; reproductions then run in fresh kernels with
the same or another version, other data, or an edited parameter, and must say
which. The save hook is exercised through a real Jupyter server's contents API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest

from jupyter_lineage.cli import main
from jupyter_lineage.store import DuckDBStore

from .conftest import execute_notebook

CELLS = [
    "%load_ext jupyter_lineage",
    "%lineage_experiment start toy-fit --hypothesis 'a line through the origin fits'",
    "%%lineage --name imports\nimport math",
    "%%lineage --name load --tag data\n"
    "import csv\n"
    "import json\n"
    "with open('data.csv') as f:\n"
    "    rows = [(float(a), float(b)) for a, b in csv.reader(f)]\n"
    "with open('config.json') as f:\n"
    "    cfg = json.load(f)",
    "%%lineage --name unrelated\nz = 42",
    "%%lineage --name params\nlr = cfg['lr']\nimport jupyter_lineage as jl\njl.log_param('lr', lr)",
    "%%lineage --name train --model toy\n"
    "import fakepkg\n"
    "w = 0.0\n"
    "for _ in range(50):\n"
    "    for x, y in rows:\n"
    "        w += lr * (y - w * x) * x / len(rows)\n"
    "model = {'w': round(w * fakepkg.FACTOR, 6), 'norm': math.sqrt(len(rows))}",
    "%%lineage --name save --model toy\n"
    "import pickle\n"
    "with open('model.pkl', 'wb') as f:\n"
    "    pickle.dump(model, f)",
    "%lineage_experiment end",
]
REPRODUCED = ["imports", "load", "params", "train", "save"]


@dataclass
class Project:
    root: Path
    work: Path
    store: Path
    packages: dict[str, Path]

    def env(self, version: str) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.packages[version])}
        env.pop("JUPYTER_LINEAGE_DIR", None)
        return env

    def cli(self, *args: str, version: str = "1.0", cwd: Path | None = None) -> Any:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_lineage.cli", *args],
            capture_output=True,
            text=True,
            env=self.env(version),
            cwd=cwd or self.root,
            timeout=300,
        )

    def reproduce(self, *args: str, version: str = "1.0") -> Any:
        return self.cli("--store", str(self.store), "reproduce", "--quiet", *args, version=version)

    def main(self, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
        """The command in this process (for commands that start no kernel)."""
        code = main(["--store", str(self.store), *args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    def original(self) -> dict[str, str]:
        """name → execution id of the original run's captured cells."""
        df = DuckDBStore(self.store).query(
            "SELECT name, execution_id FROM runs WHERE notebook_path = ? ORDER BY started_at",
            [str(self.work / "train.ipynb")],
        )
        return dict(zip(df["name"], df["execution_id"], strict=True))


def _fake_package(directory: Path, version: str, factor: float) -> Path:
    (directory / "fakepkg").mkdir(parents=True)
    (directory / "fakepkg" / "__init__.py").write_text(f"FACTOR = {factor}\n")
    meta = directory / f"fakepkg-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakepkg\nVersion: {version}\n")
    return directory


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The training notebook, run once headless with fakepkg 1.0."""
    root = tmp_path_factory.mktemp("reproduce")
    work = root / "work"
    work.mkdir()
    (work / "data.csv").write_text("1,2\n2,4\n3,6\n")
    (work / "config.json").write_text('{"lr": 0.1}\n')
    packages = {
        "1.0": _fake_package(root / "site-1", "1.0", 1.0),
        "2.0": _fake_package(root / "site-2", "2.0", 2.0),
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbformat.write(nb, work / "train.ipynb")
    p = Project(root, work, work / ".lineage", packages)
    run = p.cli("run", str(work / "train.ipynb"), "-o", str(work / "train.out.ipynb"), "--quiet")
    assert run.returncode == 0, run.stdout + run.stderr
    return p


def _reproduces(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        c.metadata["jupyter_lineage"]["reproduces"]
        for c in nb.cells
        if "reproduces" in c.metadata.get("jupyter_lineage", {})
    ]


def test_run_writes_each_cells_execution_id_into_the_notebook(project: Project) -> None:
    nb = nbformat.read(project.work / "train.out.ipynb", as_version=4)
    original = project.original()
    linked = {
        c.source.split("\n")[0]: c.metadata["jupyter_lineage"]
        for c in nb.cells
        if "jupyter_lineage" in c.metadata
    }
    assert linked == {
        f"%%lineage --name {name}"
        + (" --tag data" if name == "load" else "")
        + (" --model toy" if name in ("train", "save") else ""): {
            "executions": [original[name]],
            "last_status": "ok",
        }
        for name in ["imports", "load", "unrelated", "params", "train", "save"]
    }


def test_reproduces_identically_in_a_fresh_kernel(project: Project) -> None:
    out = project.root / "same.ipynb"
    proc = project.reproduce("model:toy", "--run", "-o", str(out))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical: every cell's status, values and files match the original" in proc.stdout
    original = project.original()
    assert _reproduces(out) == [original[n] for n in REPRODUCED]  # not `unrelated`
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == "%load_ext jupyter_lineage"
    assert [c.source.split("\n")[0].split()[2] for c in code[1:]] == REPRODUCED
    assert all(c.source.split("\n")[0].endswith("--tag reproduction") for c in code[1:])
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    header = nb.cells[0].source
    model_fp = DuckDBStore(project.store).query(
        "SELECT fingerprint FROM cell_outputs WHERE execution_id = ? AND name = 'model'",
        [original["train"]],
    )["fingerprint"][0]
    assert "`fakepkg==1.0`" in header and model_fp in header
    assert "| `lr` | `0.1` | params |" in header
    # the re-run was captured, and each cell's metadata names its record
    reruns = DuckDBStore(project.store).query(
        "SELECT name, execution_id, status FROM runs WHERE notebook_path = ? ORDER BY started_at",
        [str(out)],
    )
    assert list(reruns["name"]) == REPRODUCED and set(reruns["status"]) == {"ok"}
    assert [c.metadata["jupyter_lineage"]["executions"] for c in code[1:]] == [
        [e] for e in reruns["execution_id"]
    ]


def test_a_package_version_change_is_named(project: Project) -> None:
    proc = project.reproduce(
        "model:toy", "--run", "-o", str(project.root / "pkg.ipynb"), version="2.0"
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "DIFFERENT: fakepkg 1.0 → 2.0"
    train = lines.index(next(line for line in lines if line.startswith("  cell train ")))
    assert "value model" in lines[train + 2] and "different" in lines[train + 2]
    why = next(line for line in lines[train:] if line.startswith("    why:"))
    assert "fakepkg 1.0 → 2.0" in why
    assert "same bytes" in next(line for line in lines if "file data.csv (read)" in line)


def test_changed_input_data_is_named(project: Project) -> None:
    outside = project.root / "outside-team"
    outside.mkdir()
    shutil.copy(project.work / "config.json", outside)
    (outside / "data.csv").write_text("1,2\n2,4\n3,6.5\n")

    proc = project.reproduce(
        "model:toy",
        "--run",
        "--cwd",
        str(outside),
        "--json",
        "-o",
        str(project.root / "data.ipynb"),
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["identical"] is False
    assert result["causes"] == ["data.csv changed"]
    load = next(c for c in result["cells_compared"] if c["label"] == "load")
    checks = {(x["kind"], x["name"]): x["verdict"] for x in load["checks"]}
    assert checks[("file-read", "data.csv")] == "different"
    assert checks[("file-read", "config.json")] == "same"
    assert (outside / "model.pkl").exists()  # it ran where it was told to


def test_an_edited_parameter_is_named_and_diff_explains_it(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project.root / "edited.ipynb"
    written = project.main(capsys, "reproduce", "model:toy", "-o", str(path))
    assert written.returncode == 0, written.stderr
    assert f"jupyter-lineage reproduce {path} --run" in written.stdout
    nb = nbformat.read(path, as_version=4)
    params = next(c for c in nb.cells if "--name params" in c.source)
    params.source = params.source.replace("lr = cfg['lr']", "lr = 0.2")
    nbformat.write(nb, path)

    proc = project.reproduce(str(path), "--run")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdict = proc.stdout.splitlines()[-1]
    assert verdict.startswith("DIFFERENT: ")
    assert "parameter lr 0.1 → 0.2" in verdict and "code of cell params changed" in verdict
    # the ids in the re-run notebook lead back to the records: diff the two params runs
    nb = nbformat.read(path, as_version=4)
    params = next(c for c in nb.cells if "--name params" in c.source)
    rerun_id = params.metadata["jupyter_lineage"]["executions"][-1]
    original_id = params.metadata["jupyter_lineage"]["reproduces"]
    text = project.main(capsys, "diff", original_id, rerun_id)
    assert text.returncode == 1
    assert "parameters:\n  lr 0.1 → 0.2" in text.stdout and "-lr = cfg['lr']" in text.stdout
    as_json = json.loads(
        project.main(capsys, "diff", original_id, rerun_id, "--format", "json").stdout
    )
    assert "parameter lr 0.1 → 0.2" in as_json["causes"] and as_json["params"][0]["what"] == "lr"
    page = project.main(capsys, "diff", original_id, rerun_id, "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and "lr = cfg[&#x27;lr&#x27;]" in page
    same = project.main(capsys, "diff", original_id, original_id)
    assert same.returncode == 0 and same.stdout.splitlines()[-1] == "same"


def test_experiment_and_registry_targets(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_lineage import registry
    from jupyter_lineage.session import use_store

    original = project.original()
    out = project.root / "experiment.ipynb"
    proc = project.main(capsys, "reproduce", "experiment:toy-fit", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert _reproduces(out) == [original[n] for n in CELLS_IN_EXPERIMENT]

    use_store(str(project.store))
    try:
        registry.register_model("toy-reg", ["ml@example.com"])
        registry.create_version("toy-reg", "1.0.0", execution_id=original["train"])
    finally:
        use_store(None)
    out = project.root / "registry.ipynb"
    proc = project.main(capsys, "reproduce", "toy-reg@1.0.0", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert _reproduces(out) == [original[n] for n in ["imports", "load", "params", "train"]]

    bad = project.main(capsys, "reproduce", "toy-reg@9.9.9")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "model 'toy-reg' has no version '9.9.9' (versions: 1.0.0)" in bad.stderr
    nothing = project.main(capsys, "reproduce", "no-such-thing")
    assert nothing.returncode == 2 and "nothing matches 'no-such-thing'" in nothing.stderr


CELLS_IN_EXPERIMENT = ["imports", "load", "unrelated", "params", "train", "save"]


def test_the_magic_reproduces_inline(project: Project) -> None:
    out = project.root / "inline.ipynb"
    run = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            f"%lineage_reproduce model:toy --run -o {out}",
            "%lineage_reproduce no-such-thing",
        ],
        project.root / "kernel",
        store_dir=project.store,
        env={"PYTHONPATH": str(project.packages["1.0"])},
        timeout=300,
    )

    assert "identical: every cell's status, values and files match" in run.text(1)
    assert _reproduces(out) == [project.original()[n] for n in REPRODUCED]
    assert "UsageError: nothing matches 'no-such-thing'" in run.text(2)


# -- the notebook round trip through a real Jupyter server -------------------------

CAPTURE_WITH_CELL_IDS = textwrap.dedent(
    """
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_lineage")
    for cell_id, source in json.loads(sys.argv[1]):
        shell.run_cell(source, store_history=True, cell_id=cell_id)
    """
)


def capture_with_cell_ids(notebook: Path, cells: list[tuple[str, str]]) -> DuckDBStore:
    """Run cells in a real IPython shell for ``notebook``, each with its cell id as JupyterLab sends it."""
    notebook.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JPY_SESSION_NAME": str(notebook)}
    env.pop("JUPYTER_LINEAGE_DIR", None)
    subprocess.run(
        [sys.executable, "-c", CAPTURE_WITH_CELL_IDS, json.dumps(cells)],
        cwd=notebook.parent,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return DuckDBStore(notebook.parent / ".lineage")


def _notebook(*cells: tuple[str | None, str, dict[str, Any]]) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")]
    for cell_id, source, metadata in cells:
        cell = nbformat.v4.new_code_cell(source, metadata=metadata)
        if cell_id:
            cell.id = cell_id
        nb.cells.append(cell)
    return json.loads(nbformat.writes(nb))


async def _put(jp_fetch: Any, path: str, content: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch(
        "api",
        "contents",
        *path.split("/"),
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": content}),
    )
    assert response.code in (200, 201)
    return content


def _saved_metadata(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c.get("metadata", {}) for c in nb["cells"] if c["cell_type"] == "code"]


async def test_saving_a_notebook_writes_its_cells_execution_ids(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    path = jp_root_dir / "project" / "analysis.ipynb"
    store = capture_with_cell_ids(
        path,
        [
            ("cell-load", "%%lineage --name load\nx = 1"),
            ("cell-fit", "%%lineage --name fit\ny = x + 1"),
            ("cell-fit", "%%lineage --name fit\ny = x + 2"),
            ("cell-bad", "%%lineage --name bad\n1 / 0"),
        ],
    )
    runs = store.query("SELECT cell_id, execution_id FROM runs ORDER BY started_at")
    ids: dict[str, list[str]] = {}
    for cell_id, execution_id in zip(runs["cell_id"], runs["execution_id"], strict=True):
        ids.setdefault(cell_id, []).append(execution_id)

    await _put(
        jp_fetch,
        "project/analysis.ipynb",
        _notebook(
            ("cell-load", "x = 1", {}),
            ("cell-fit", "y = x + 2", {"jupyter_lineage": {"reproduces": "abc"}, "tags": ["t"]}),
            ("cell-bad", "1 / 0", {}),
            ("cell-new", "z = 3", {"collapsed": True}),
        ),
    )

    assert _saved_metadata(path) == [
        {"jupyter_lineage": {"executions": ids["cell-load"], "last_status": "ok"}},
        {
            "jupyter_lineage": {
                "reproduces": "abc",
                "executions": ids["cell-fit"],
                "last_status": "ok",
            },
            "tags": ["t"],
        },
        {"jupyter_lineage": {"executions": ids["cell-bad"], "last_status": "failed"}},
        {"collapsed": True},
    ]
    # the ids lead back to the records
    back = store.query(
        "SELECT name FROM runs WHERE execution_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids["cell-fit"]],
    )
    assert set(back["name"]) == {"fit"}


async def test_saving_without_a_store_or_with_a_broken_one_still_saves(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    content = _notebook(("cell-a", "a = 1", {"keep": 1}))
    await _put(jp_fetch, "plain.ipynb", content)
    assert _saved_metadata(jp_root_dir / "plain.ipynb") == [{"keep": 1}]

    broken = jp_root_dir / "broken"
    (broken / ".lineage" / "journal").mkdir(parents=True)
    (broken / ".lineage" / "journal" / "s.jsonl").write_bytes(b"not json\n")
    (broken / ".lineage" / "lineage.duckdb").write_bytes(b"this is not a database")
    await _put(jp_fetch, "broken/nb.ipynb", content)
    assert _saved_metadata(broken / "nb.ipynb") == [{"keep": 1}]


def mark_checked(model: dict[str, Any], **kwargs: Any) -> None:
    """A pre-save hook configured before ours."""
    for cell in model["content"]["cells"]:
        cell.setdefault("metadata", {})["checked"] = True


@pytest.mark.filterwarnings("ignore:Overriding existing pre_save_hook")
class TestAnExistingHook:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {**jp_server_config, "ContentsManager": {"pre_save_hook": mark_checked}}

    async def test_both_hooks_run(self, jp_fetch: Any, jp_root_dir: Path) -> None:
        path = jp_root_dir / "nb.ipynb"
        store = capture_with_cell_ids(path, [("only", "%%lineage\nq = 1")])
        (execution_id,) = store.query("SELECT execution_id FROM runs")["execution_id"]

        await _put(jp_fetch, "nb.ipynb", _notebook(("only", "q = 1", {})))

        assert _saved_metadata(path) == [
            {
                "checked": True,
                "jupyter_lineage": {"executions": [execution_id], "last_status": "ok"},
            }
        ]
