"""Comparing runs: the pure functions behind reproduce and diff."""

from __future__ import annotations

import json

import pytest

from jupyter_lineage.capture.magics import parse_options
from jupyter_lineage.reproduce import cell_source, complete_bindings, set_cell_links
from jupyter_lineage.reproduce.diff import (
    CellRecord,
    FileState,
    RunSide,
    ValueState,
    cell_record,
    check_cell,
    compare_runs,
    file_key,
    render_html,
    render_json,
    render_text,
)

ENV = {
    "python_version": "3.11.4",
    "python_implementation": "CPython",
    "git_commit": "a" * 40,
    "git_dirty": False,
    "os_name": "Linux",
    "hostname": "lab-1",
    "env_vars": {"OMP_NUM_THREADS": "4"},
}


def side(label: str, *cells: CellRecord, **kwargs: object) -> RunSide:
    return RunSide(label, list(cells), **kwargs)  # type: ignore[arg-type]


def cell(execution_id: str = "e1", source: str = "x = 1", **kwargs: object) -> CellRecord:
    return CellRecord(execution_id, kwargs.pop("label", execution_id), source, **kwargs)  # type: ignore[arg-type]


def test_file_key_is_relative_inside_the_working_directory() -> None:
    assert file_key("/work/a/data/x.csv", "/work/a") == "data/x.csv"
    assert file_key("/elsewhere/x.csv", "/work/a") == "/elsewhere/x.csv"
    assert file_key("/work/ab/x.csv", "/work/a") == "/work/ab/x.csv"
    assert file_key("/work/a/x.csv", None) == "/work/a/x.csv"


def test_cell_record_sorts_rows_into_inputs_outputs_and_files() -> None:
    run = {
        "execution_id": "e1",
        "name": "load",
        "source": "df = read()",
        "status": "failed",
        "error_type": "ValueError",
        "error_message": "bad",
        "working_dir": "/w",
    }
    values = [
        {"name": "path", "role": "input", "fingerprint": "xxh3:1", "fingerprint_kind": "content"},
        {"name": "df", "role": "output", "action": "assigned", "fingerprint": "xxh3:2"},
        {"name": "tmp", "role": "output", "action": "deleted", "fingerprint": None},
    ]
    files = [
        {"path": "/w/in.csv", "access": "read", "sha256": "s1"},
        {"path": "/site/pkg/__init__.py", "access": "read", "sha256": "s3"},
        {"path": "/w/utils.py", "access": "read", "sha256": "s4"},
        {"path": "/w/out.csv", "access": "write", "sha256": "s2"},
    ]
    rec = cell_record(run, values, files, [{"name": "lr", "value": 0.1}])
    assert rec.label == "load" and rec.status == "failed" and rec.error == "ValueError: bad"
    assert rec.inputs == {"path": ValueState("xxh3:1", "content", None)}
    assert set(rec.outputs) == {"df"} and rec.deleted == ("tmp",)
    assert rec.files_read == {  # installed modules are code, covered by the package list
        "in.csv": FileState("/w/in.csv", "s1"),
        "utils.py": FileState("/w/utils.py", "s4"),
    }
    assert rec.files_written == {"out.csv": FileState("/w/out.csv", "s2")}
    assert rec.params == {"lr": 0.1}


def test_identical_sides_are_the_same() -> None:
    a = side("a", cell(files_read={"d.csv": FileState("/a/d.csv", "s")}), environment=ENV)
    b = side("b", cell(files_read={"d.csv": FileState("/b/d.csv", "s")}), environment=ENV)
    result = compare_runs(a, b)
    assert result.same and result.causes() == []
    assert render_text(result).splitlines()[-1] == "same"


def test_each_kind_of_difference_is_named() -> None:
    a = side(
        "a",
        cell("e1", "lr = 0.1\n", label="params"),
        cell(
            "e2",
            "fit(lr)\n",
            label="train",
            files_read={"data.csv": FileState("/a/data.csv", "s1")},
        ),
        params={"lr": 0.1, "epochs": 3},
        hyperparameters={"depth": 4},
        environment=ENV,
        packages={"numpy": "1.26.4", "old": "1.0"},
    )
    b = side(
        "b",
        cell("f1", "lr = 0.2\n", label="params"),
        cell(
            "f2",
            "fit(lr)\n",
            label="train",
            files_read={"data.csv": FileState("/b/data.csv", "s2")},
        ),
        params={"lr": 0.2, "seed": 7},
        hyperparameters={"depth": 4},
        environment={**ENV, "python_version": "3.12.1", "git_dirty": True, "env_vars": {}},
        packages={"numpy": "2.1.0", "new": "0.1"},
    )
    result = compare_runs(a, b)
    causes = result.causes()
    assert "data.csv changed" in causes
    assert "parameter lr 0.1 → 0.2" in causes
    assert "parameter epochs removed (was 3)" in causes
    assert "parameter seed added (7)" in causes
    assert "code of cell params changed" in causes
    assert "numpy 1.26.4 → 2.1.0" in causes
    assert "new 0.1 added" in causes and "old 1.0 removed" in causes
    assert "Python 3.11.4 → 3.12.1" in causes
    assert "git working tree clean → dirty" in causes
    assert "$OMP_NUM_THREADS 4 → unset" in causes
    assert not result.hyperparameters
    assert "-lr = 0.1" in result.code and "+lr = 0.2" in result.code
    text = render_text(result)
    assert text.splitlines()[-1].startswith("differs: data.csv changed; parameter epochs")


def test_files_written_earlier_on_the_same_side_are_not_input_data() -> None:
    made = cell("e1", files_written={"tmp.csv": FileState("/w/tmp.csv", "x1")})
    used = cell("e2", files_read={"tmp.csv": FileState("/w/tmp.csv", "x1")})
    other = cell("e3", files_read={"tmp.csv": FileState("/w/tmp.csv", "x2")})
    assert side("a", made, used).external_files() == {}
    assert compare_runs(side("a", made, used), side("b", made, other)).data == []


def test_changed_inputs_from_outside_the_side_are_named() -> None:
    a = side("a", cell(inputs={"raw": ValueState("xxh3:1")}))
    b = side("b", cell(inputs={"raw": ValueState("xxh3:2")}))
    c = side("c", cell(inputs={"raw": ValueState("id:0x1", "identity")}))
    assert compare_runs(a, b).causes() == ["input raw changed"]
    assert compare_runs(a, c).same  # an identity fingerprint says nothing about content


def test_check_cell_verdicts() -> None:
    original = cell(
        outputs={
            "m": ValueState("xxh3:1"),
            "f": ValueState("id:1", "identity"),
            "g": ValueState("xxh3:3"),
        },
        files_written={"m.pkl": FileState("/a/m.pkl", "w1")},
        files_read={"d.csv": FileState("/a/d.csv", "r1")},
    )
    rerun = cell(
        "e2",
        status="failed",
        outputs={
            "m": ValueState("xxh3:2"),
            "f": ValueState("id:2", "identity"),
            "h": ValueState("xxh3:4"),
        },
        files_written={"m.pkl": FileState("/b/m.pkl", "w1")},
        files_read={"d.csv": FileState("/b/d.csv", "r2")},
    )
    verdicts = {(c.kind, c.name): c.verdict for c in check_cell(original, rerun)}
    assert verdicts == {
        ("status", "status"): "different",
        ("value", "f"): "not comparable",
        ("value", "g"): "missing",
        ("value", "h"): "extra",
        ("value", "m"): "different",
        ("file-written", "m.pkl"): "same",
        ("file-read", "d.csv"): "different",
    }
    assert [c.verdict for c in check_cell(original, None)] == ["missing"]


def test_html_escapes_everything_it_shows() -> None:
    evil = "<script>alert(1)</script>"
    a = side("<a>", cell(source=f"x = '{evil}'\n"), params={"p": evil})
    b = side("b&c", cell(source="x = 2\n"), params={"p": "ok"})
    page = render_html(compare_runs(a, b))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;a&gt;" in page and "b&amp;c" in page


def test_json_has_every_section_and_the_causes() -> None:
    a = side("a", cell(), packages={"numpy": "1.0"})
    b = side("b", cell(), packages={"numpy": "2.0"})
    data = json.loads(render_json(compare_runs(a, b)))
    assert data["same"] is False and data["causes"] == ["numpy 1.0 → 2.0"]
    assert data["packages"] == [
        {"what": "numpy", "before": "1.0", "after": "2.0", "kind": "changed"}
    ]
    assert {"code", "params", "hyperparameters", "data", "values", "environment"} <= set(data)


def test_cell_links_merge_and_keep_other_keys() -> None:
    meta: dict[str, object] = {"jupyter_lineage": {"reproduces": "orig"}, "tags": ["x"]}
    assert set_cell_links(meta, ["a", "b"], "ok")
    assert meta == {
        "jupyter_lineage": {"reproduces": "orig", "executions": ["a", "b"], "last_status": "ok"},
        "tags": ["x"],
    }
    assert not set_cell_links(meta, ["b"], "ok")  # nothing new
    set_cell_links(meta, ["a", "c", "d", "e", "f"], "failed", keep=4)
    assert meta["jupyter_lineage"] == {
        "reproduces": "orig",
        "executions": ["c", "d", "e", "f"],
        "last_status": "failed",
    }


def _row(i: int, source: str, session: str = "s", status: str = "ok") -> dict[str, object]:
    return {
        "execution_id": f"e{i}",
        "session_id": session,
        "started_at": i,
        "source": source,
        "status": status,
    }


def test_complete_bindings_adds_the_cells_that_imported_what_is_used() -> None:
    rows = [
        _row(1, "import numpy as np"),
        _row(2, "import numpy as np\nimport os", status="failed"),
        _row(3, "z = 1"),
        _row(4, "x = np.arange(3)\nfrom math import sqrt"),
        _row(5, "y = sqrt(len(x)) + len(str(print))"),
        _row(6, "import numpy as np", session="other"),
    ]
    # e5 reads x (linked by its value record) and sqrt, which e4 binds; e4 reads np
    assert complete_bindings(rows, ["e4", "e5"]) == ["e1", "e4", "e5"]
    assert complete_bindings(rows, ["e3"]) == ["e3"]


def test_reproduced_cells_keep_their_name_and_tags() -> None:
    source = cell_source(
        {"name": "train it", "tags": ["a b", "reproduction"], "source": "%%time\nm = fit()"}
    )
    first, rest = source.split("\n", 1)
    assert rest == "%%time\nm = fit()"
    options = parse_options(first[len("%%lineage ") :])
    assert options.name == "train it" and options.tags == ("a b", "reproduction")


@pytest.mark.parametrize("text", ["a|b", "line\nbreak"])
def test_header_cells_stay_one_table_cell(text: str) -> None:
    from jupyter_lineage.reproduce import _md

    assert "\n" not in _md(text) and "|" not in _md(text).replace("\\|", "")
