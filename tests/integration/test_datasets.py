"""Datasets logged from a real kernel: full-content digests, linked to the execution that used them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory):
    from .conftest import execute_notebook

    work = tmp_path_factory.mktemp("datasets")
    cells = [
        "%load_ext jupyter_lineage\nimport jupyter_lineage as jl\nimport numpy as np, pandas as pd",
        "df = pd.DataFrame({'id': np.arange(200_000), 'score': np.linspace(0, 1, 200_000),"
        " 'label': ['a', 'b'] * 100_000})",
        "%lineage_experiment start fit",
        "%%lineage --name train\nd1 = jl.log_dataset(df, 'customers', context='training',"
        " source='postgres://ml:hunter2@db/customers')",
        # The same frame with one value changed near the end: a first-rows digest would not see it.
        "%%lineage --name train-again\ndf.loc[199_990, 'score'] = -1.0\n"
        "d2 = jl.log_dataset(df, 'customers')",
        "%lineage_experiment end",
        "d3 = jl.log_dataset(np.arange(10.0), 'holdout', context='test')",
        "jl.log_dataset(df, 'customers', context='yesterday')",
    ]
    return execute_notebook(cells, work)


def test_digest_covers_the_whole_content(logged) -> None:
    rows = logged.sql(
        "SELECT d.name, d.digest, d.digest_kind, d.row_count, d.column_count, d.shape, r.name AS cell "
        "FROM datasets d JOIN runs r USING (execution_id) WHERE d.name = 'customers' "
        "ORDER BY d.logged_at"
    ).to_dict("records")
    assert [r["cell"] for r in rows] == ["train", "train-again"]
    assert all(r["digest"].startswith("xxh3:") and r["digest_kind"] == "content" for r in rows)
    assert rows[0]["digest"] != rows[1]["digest"]
    assert rows[0]["row_count"] == 200_000 and rows[0]["column_count"] == 3
    assert rows[0]["shape"] == "(200000, 3)"


def test_dataset_rows_carry_context_schema_experiment_and_redacted_source(logged) -> None:
    row = logged.sql(
        "SELECT * FROM datasets WHERE name = 'customers' ORDER BY logged_at LIMIT 1"
    ).iloc[0]
    assert row["context"] == "training"
    assert row["experiment"] == "fit"
    assert Path(row["notebook_path"]).name == "test.ipynb"
    schema = json.loads(row["schema"])
    assert [c["name"] for c in schema] == ["id", "score", "label"]
    assert schema[:2] == [{"name": "id", "type": "int64"}, {"name": "score", "type": "float64"}]
    assert "hunter2" not in row["source"] and row["source"].startswith("postgres://ml:")
    assert row["hashed_ms"] >= 0


def test_outside_a_captured_cell_it_links_the_last_execution(logged) -> None:
    row = logged.sql(
        "SELECT d.context, d.type_name, d.experiment_id, r.name AS cell "
        "FROM datasets d LEFT JOIN runs r USING (execution_id) WHERE d.name = 'holdout'"
    ).iloc[0]
    assert row["context"] == "test" and row["type_name"] == "numpy.ndarray"
    assert row["cell"] == "train-again" and row["experiment_id"] is None


def test_a_bad_context_is_one_clear_error(logged) -> None:
    assert "unknown dataset context 'yesterday'" in logged.text(7)
    assert logged.sql("SELECT count(*) AS n FROM datasets").iloc[0]["n"] == 3
