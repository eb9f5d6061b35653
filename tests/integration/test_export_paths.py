"""Exports leave the machine: no credentials, no local directories, the repository by its
remote URL and paths relative to the repository's root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage import cards
from jupyter_lineage.cards.render import render_html, render_markdown
from jupyter_lineage.session import current_store, use_store

from .conftest import execute_notebook

REMOTE = "https://user:s3cret@example.com/org/repo.git"
PUBLIC = "https://example.com/org/repo.git"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=a@example.com", "-c", "user.name=A", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every export of a model trained in a notebook inside a git repository whose remote
    carries credentials, each as the text that would be shared."""
    repo = tmp_path_factory.mktemp("checkout") / "project"
    (repo / "notebooks").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", REMOTE)
    (repo / "README.md").write_text("project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "start")
    notebooks = repo / "notebooks"
    execute_notebook(
        [
            "%load_ext jupyter_lineage\nimport os",
            "%%lineage --name make-data\nos.makedirs('data', exist_ok=True)\n"
            "with open('data/points.csv', 'w') as f:\n    f.write('x,y\\n1,2\\n3,4\\n')",
            "%%lineage --name load\nrows = open('data/points.csv').read().splitlines()[1:]",
            # a failure whose message names an absolute path under the checkout
            "%%lineage --name load-missing --model points\nopen(os.path.abspath('data/missing.csv'))",
            "%lineage_note --kind failed_attempt --on LAST the extract was never written",
            "%%lineage --name fit --model points\nslope = len(rows) / 2\n"
            "with open('fitted.txt', 'w') as f:\n    f.write(str(slope))",
            "%lineage_model register points --owner a@example.com\n"
            "%lineage_model version points 1.0.0\n"
            "%lineage_model artifact points fitted.txt --kind weights",
        ],
        notebooks,
        name="fit.ipynb",
        store_dir=repo / ".lineage",
    )
    use_store(str(repo / ".lineage"))
    card = cards.card_data("points@1.0.0")
    return {
        "root": str(repo),
        "json": json.dumps(card, default=str),
        "html": render_html(card),
        "markdown": render_markdown(card),
        "bom": json.dumps(cards.bom("points@1.0.0")),
        "openlineage": "\n".join(json.dumps(e, default=str) for e in cards.openlineage_events()),
    }


EXPORTS = ("json", "html", "markdown", "bom", "openlineage")


@pytest.mark.parametrize("export", EXPORTS)
def test_no_credentials_and_no_local_directory(exports: dict[str, str], export: str) -> None:
    text = exports[export]
    local = {
        "the checkout": exports["root"],
        "the temporary directory": str(Path(exports["root"]).parent.parent),
        "the home directory": os.path.expanduser("~"),
        "the Python environment": sys.prefix,
        "the working directory": os.getcwd(),
    }
    assert "s3cret" not in text
    for what, path in local.items():
        assert path not in text, f"{export} shows {what} ({path})"
        assert Path(path).as_uri() not in text


@pytest.mark.parametrize("export", EXPORTS)
def test_the_repository_is_its_remote_url(exports: dict[str, str], export: str) -> None:
    assert PUBLIC in exports[export]


def test_paths_are_relative_to_the_repository(exports: dict[str, str]) -> None:
    card = json.loads(exports["json"])
    assert card["model_details"]["notebook"] == "notebooks/fit.ipynb"
    assert card["model_details"]["repository_url"] == PUBLIC
    assert card["environment"]["git_remote"] == PUBLIC
    assert card["reproduction"]["notebook"] == "notebooks/fit.ipynb"
    files = {d["name"] for d in card["training_data"]["datasets"] if d["kind"] == "file"}
    assert files == {"notebooks/data/points.csv"}
    assert card["lifecycle"]["artifacts"][0]["uri"] == "notebooks/fitted.txt"
    # the failure's message named the missing file by its absolute path
    (failed,) = card["failed_attempts"]
    assert failed["error_type"] == "FileNotFoundError"
    assert "'notebooks/data/missing.csv'" in failed["error_message"]
    assert failed["explanation"] == "the extract was never written"

    events = [json.loads(line) for line in exports["openlineage"].splitlines()]
    assert {e["job"]["namespace"] for e in events} == {f"jupyter-lineage:{PUBLIC}"}
    assert {e["job"]["name"] for e in events} >= {"notebooks/fit.ipynb:fit"}
    read = {d["name"] for e in events for d in e["inputs"] if d["namespace"] == "file"}
    assert read == {"notebooks/data/points.csv"}
    fail = next(e for e in events if e["eventType"] == "FAIL")
    assert "notebooks/data/missing.csv" in fail["run"]["facets"]["errorMessage"]["stackTrace"]

    bom = json.loads(exports["bom"])
    model = bom["components"][0]
    assert model["externalReferences"] == [{"type": "vcs", "url": PUBLIC}]


def test_the_record_itself_keeps_what_happened(exports: dict[str, str]) -> None:
    """Only exports are rewritten: the store still has the absolute paths it captured."""
    use_store(str(Path(exports["root"]) / ".lineage"))
    paths = current_store().query("SELECT DISTINCT notebook_path FROM runs")
    assert list(paths["notebook_path"]) == [str(Path(exports["root"]) / "notebooks" / "fit.ipynb")]
