"""Real notebooks through real kernels (nbclient), asserting on the DuckDB store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .conftest import execute_notebook

PIPELINE = [
    "%load_ext jupyter_lineage",
    # 1: writes a CSV
    "%%lineage --name write --tag data --tag raw\n"
    "import numpy as np, pandas as pd\n"
    "rng = np.random.default_rng(0)\n"
    "frame = pd.DataFrame({'a': rng.normal(size=100), 'b': rng.integers(0, 5, size=100)})\n"
    "frame.to_csv('data.csv', index=False)",
    # 2: reads it back
    "%%lineage --name read\nraw = pd.read_csv('data.csv')\nn = len(raw)\nn",
    # 3: in-place mutation of an existing object
    "%%lineage --name mutate\nraw.drop(columns=['b'], inplace=True)",
    # 4: pickles a model
    "%%lineage --name save --model demo-model --note 'first model'\n"
    "import pickle\n"
    "model = {'w': [1.0, 2.0, 3.0]}\n"
    "with open('model.pkl', 'wb') as f:\n"
    "    pickle.dump(model, f)",
    # 5: fails
    "%%lineage --name broken\nraw['missing_column'].sum()",
    # 6: not captured (no magic, capture off)
    "uncaptured = 1",
    "%lineage on",
    # 8: captured by auto mode
    "y = n + 1\nprint(y)",
    "%lineage off",
    # 10: not captured again
    "z = 3",
    # 11: deletes a name
    "%%lineage --name cleanup\ndel z",
]


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pipeline_is_recorded(run_cells, tmp_path: Path) -> None:
    run = run_cells(PIPELINE)
    runs = run.sql(
        "SELECT execution_id, execution_count, name, tags, model, note, mode, status, error_type, "
        "error_message, traceback, environment_id, notebook_path, source, seeds "
        "FROM runs ORDER BY started_at"
    )
    assert list(runs["name"].fillna("-")) == [
        "write",
        "read",
        "mutate",
        "save",
        "broken",
        "-",
        "cleanup",
    ]
    assert list(runs["status"]) == ["ok", "ok", "ok", "ok", "failed", "ok", "ok"]
    assert list(runs["mode"]) == ["magic"] * 5 + ["auto", "magic"]
    # execution counts are the notebook's own
    counts = [c.execution_count for c in run.code_cells]
    assert list(runs["execution_count"]) == [counts[i] for i in (1, 2, 3, 4, 5, 8, 11)]
    assert list(runs.loc[0, "tags"]) == ["data", "raw"]
    assert runs.loc[3, "model"] == "demo-model" and runs.loc[3, "note"] == "first model"
    assert all(p == str(run.path) for p in runs["notebook_path"])
    # the recorded source is the cell without the magic line
    assert runs.loc[1, "source"].startswith("raw = pd.read_csv")
    # seeds
    assert json.loads(runs.loc[0, "seeds"]) == [
        {"call": "np.random.default_rng", "argument": "0", "value": 0}
    ]

    # the failure, with its error
    broken = runs.loc[4]
    assert broken["error_type"] == "KeyError"
    assert "missing_column" in broken["error_message"]
    assert "KeyError" in broken["traceback"]
    failed = run.sql("SELECT name, error_type FROM failed_attempts")
    assert failed.to_dict("records") == [{"name": "broken", "error_type": "KeyError"}]

    ids = dict(zip(runs["name"].fillna("auto"), runs["execution_id"], strict=True))

    def values(view: str, name: str) -> dict[str, dict]:
        df = run.sql(f"SELECT * FROM {view} WHERE execution_id = ?", [ids[name]])
        return {r["name"]: r for r in df.to_dict("records")}

    # inputs/outputs per cell (modules are not values)
    write_out = values("cell_outputs", "write")
    assert set(write_out) == {"rng", "frame"}
    assert write_out["frame"]["type_name"].endswith("DataFrame")
    assert write_out["frame"]["shape"] == "(100, 2)"
    assert write_out["frame"]["fingerprint"].startswith("xxh3:")
    assert values("cell_inputs", "write") == {}

    read_out = values("cell_outputs", "read")
    assert set(read_out) == {"raw", "n"}
    assert all(v["action"] == "assigned" for v in read_out.values())
    assert read_out["n"]["summary"] == "100"
    # the same data read back from CSV has the same content fingerprint
    assert read_out["raw"]["fingerprint"] == write_out["frame"]["fingerprint"]

    mutate_in = values("cell_inputs", "mutate")
    mutate_out = values("cell_outputs", "mutate")
    assert set(mutate_in) == {"raw"}
    assert mutate_out["raw"]["action"] == "mutated"
    assert mutate_out["raw"]["fingerprint"] != mutate_in["raw"]["fingerprint"]
    assert mutate_out["raw"]["shape"] == "(100, 1)"

    auto_in = values("cell_inputs", "auto")
    assert set(auto_in) == {"n"}
    assert set(values("cell_outputs", "auto")) == {"y"}
    cleanup_out = values("cell_outputs", "cleanup")
    assert cleanup_out["z"]["action"] == "deleted"

    # files read and written, with correct SHA-256
    files = run.sql(
        "SELECT execution_id, path, access, size, sha256 FROM files ORDER BY started_at"
    )
    by_cell = {(r["execution_id"], Path(r["path"]).name): r for r in files.to_dict("records")}
    csv, pkl = tmp_path / "data.csv", tmp_path / "model.pkl"
    assert by_cell[(ids["write"], "data.csv")]["access"] == "write"
    assert by_cell[(ids["write"], "data.csv")]["sha256"] == _hash(csv)
    assert by_cell[(ids["read"], "data.csv")]["access"] == "read"
    assert by_cell[(ids["read"], "data.csv")]["sha256"] == _hash(csv)
    assert by_cell[(ids["read"], "data.csv")]["size"] == csv.stat().st_size
    assert by_cell[(ids["save"], "model.pkl")]["access"] == "write"
    assert by_cell[(ids["save"], "model.pkl")]["sha256"] == _hash(pkl)
    # nothing from site-packages, the store, or the notebook machinery
    assert all(Path(p).name in ("data.csv", "model.pkl") for p in files["path"])

    # one environment row, shared by every cell
    assert runs["environment_id"].nunique() == 1
    envs = run.sql("SELECT * FROM environments")
    assert len(envs) == 1
    assert envs.loc[0, "environment_id"] == runs.loc[0, "environment_id"]
    pkgs = run.sql("SELECT name, version FROM packages")
    import numpy
    import pandas

    versions = dict(zip(pkgs["name"], pkgs["version"], strict=True))
    assert versions["numpy"] == numpy.__version__
    assert versions["pandas"] == pandas.__version__

    # not captured
    assert not run.sql(
        "SELECT * FROM runs WHERE source LIKE 'uncaptured%' OR source = 'z = 3'"
    ).shape[0]

    # cells view: one row per cell
    cells = run.sql("SELECT * FROM cells")
    assert len(cells) == 7 and cells["run_count"].sum() == 7


def _strip_outputs(nb) -> list:
    """Outputs of each code cell without volatile fields."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        items = []
        for o in cell.outputs:
            o = dict(o)
            o.pop("execution_count", None)
            o.pop("metadata", None) if not o.get("metadata") else None
            items.append(json.loads(json.dumps(o)))
        out.append((cell.execution_count, items))
    return out


BEHAVIOUR_CELLS = [
    "import sys, pandas as pd\nfrom IPython.display import display, HTML",
    "x = 41\nprint('stdout line')\nprint('stderr line', file=sys.stderr)\nx + 1",
    "df = pd.DataFrame({'a': [1, 2], 'b': ['u', 'v']})\ndf",
    "display(HTML('<b>bold</b>'))\n'last value'",
    "def f(v):\n    return 1 / v\n\nf(0)",
    "x += 1\nx",
    "x;",
    "for i in range(3):\n    print(i)",
]


def test_cell_behaviour_identical_with_and_without_extension(tmp_path: Path) -> None:
    plain = execute_notebook(["pass", *BEHAVIOUR_CELLS], tmp_path / "plain")
    captured = execute_notebook(
        ["%load_ext jupyter_lineage", *("%%lineage --tag t\n" + c for c in BEHAVIOUR_CELLS)],
        tmp_path / "captured",
    )
    auto = execute_notebook(
        ["%load_ext jupyter_lineage\n%lineage on", *BEHAVIOUR_CELLS], tmp_path / "auto"
    )
    assert _strip_outputs(captured.nb)[1:] == _strip_outputs(plain.nb)[1:]
    assert _strip_outputs(auto.nb)[1:] == _strip_outputs(plain.nb)[1:]
    # the failing cell really failed, with the same traceback
    err = next(o for o in captured.code_cells[5].outputs if o.output_type == "error")
    assert err.ename == "ZeroDivisionError"
    # and both capture modes recorded every cell identically
    for run in (captured, auto):
        df = run.sql("SELECT status, error_type FROM runs ORDER BY started_at")
        assert list(df["status"]) == ["ok", "ok", "ok", "ok", "failed", "ok", "ok", "ok"]
    a = captured.sql(
        "SELECT name, role, action, fingerprint FROM value_records ORDER BY execution_id, ordinal"
    )
    b = auto.sql(
        "SELECT name, role, action, fingerprint FROM value_records ORDER BY execution_id, ordinal"
    )
    assert sorted(map(tuple, a.values.tolist())) == sorted(map(tuple, b.values.tolist()))


def test_bad_magic_arguments_give_one_line(run_cells) -> None:
    run = run_cells(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --bogus\nran = True",
            "%lineage maybe",
            "%lineage_config colour=blue",
            "%lineage_sql",
            "%lineage_sql SELECT * FROM no_such_view",
            "'ran' in dir()",
        ]
    )
    for i in (1, 2, 3, 4, 5):
        outs = run.outputs(i)
        assert len(outs) == 1, outs
        out = outs[0]
        text = (
            out.get("text", "")
            if out.output_type == "stream"
            else f"{out.get('ename')}: {out.get('evalue')}"
        )
        assert "UsageError" in text or out.get("ename") == "UsageError", text
        assert "Traceback" not in text
        assert "jupyter_lineage/" not in text
    assert "unknown option '--bogus'" in run.text(1)
    assert "on, off or status" in run.text(2)
    assert "unknown setting 'colour'" in run.text(3)
    assert "no_such_view" in run.text(5)
    # a %%lineage cell with bad arguments does not run its body
    assert run.text(6) == "False"


def test_status_and_sql_magics(run_cells) -> None:
    run = run_cells(
        [
            "%load_ext jupyter_lineage",
            "%lineage status",
            "%%lineage\na = 1",
            "%%lineage_sql\nSELECT count(*) AS n\nFROM runs",
            "df = %lineage_sql SELECT name FROM cell_outputs\nlist(df['name'])",
            "%lineage on\n%lineage status",
        ]
    )
    assert "capture off" in run.text(1)
    assert "0 cell(s) captured" in run.text(1)
    assert "1" in run.text(3)
    assert run.text(4) == "['a']"
    assert "capture on" in run.text(5)


def test_lineage_on_reads_the_environment_before_the_first_cell(run_cells) -> None:
    # Turning capture on opens the journal and records the environment, so the first
    # captured cell neither runs git nor waits for it; that cell points at this record.
    run = run_cells(
        [
            "%load_ext jupyter_lineage\n%lineage on",
            "x = 1",
        ]
    )
    journals = list((run.path.parent / ".lineage" / "journal").glob("*.jsonl"))
    assert len(journals) == 1
    events = [json.loads(line) for line in journals[0].read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types[:3] == ["session_start", "environment", "cell_start"], types
    environment_id = events[1]["data"]["environment_id"]
    ends = [e["data"] for e in events if e["type"] == "cell_end"]
    assert [e["environment_id"] for e in ends] == [environment_id]
