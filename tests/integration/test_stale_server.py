"""``GET /lineage/api/stale`` against a real Jupyter server and a store a real kernel captured into."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import NotebookRun, execute_notebook

NOTEBOOK = "work/clean.ipynb"


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    work = tmp_path_factory.mktemp("stale-server") / "work"
    work.mkdir()
    (work / "data.csv").write_text("a\n1\n2\n")
    return execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name load\nvalues = open('data.csv').read().split()[1:]",
            "%%lineage --name count\nn = len(values)",
            "%%lineage --name apart\nz = 42",
        ],
        work,
        name="clean.ipynb",
    )


@pytest.fixture
def jp_root_dir(captured: NotebookRun) -> Path:
    return captured.path.parent.parent


async def test_the_sidebar_gets_what_is_stale_and_why(jp_fetch: Any, captured: NotebookRun) -> None:
    data = captured.path.parent / "data.csv"
    fresh = json.loads((await jp_fetch("lineage", "api", "stale", params={"path": NOTEBOOK})).body)
    data.write_text("a\n1\n2\n3\n")
    answer = json.loads((await jp_fetch("lineage", "api", "stale", params={"path": NOTEBOOK})).body)

    assert fresh["counts"]["stale"] == 0 and fresh["counts"]["fresh"] == 3
    cells = {c["name"]: c for c in answer["cells"]}
    assert {n for n, c in cells.items() if c["stale"]} == {"load", "count"}
    assert cells["load"]["reasons"] == [
        {
            "kind": "file",
            "subject": "data.csv",
            "text": "file data.csv changed since this run read it",
        }
    ]
    assert "data.csv" in cells["count"]["reasons"][0]["text"]
    assert cells["apart"]["state"] == "fresh"
    assert {"cell_id", "execution_count", "execution_id", "label", "upstream"} <= set(cells["load"])
    assert answer["notebook"] == str(captured.path)


@pytest.mark.parametrize(
    ("params", "code", "complaint"),
    [
        ({}, 400, "give the notebook"),
        ({"path": "work/missing.ipynb"}, 400, "no notebook at"),
        ({"path": "elsewhere.ipynb"}, 404, "nothing was captured"),
    ],
)
async def test_bad_requests_are_told_what_is_wrong(
    jp_fetch: Any, params: dict[str, str], code: int, complaint: str
) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("lineage", "api", "stale", params=params)
    assert caught.value.code == code
    assert complaint in json.loads(caught.value.response.body)["message"]
