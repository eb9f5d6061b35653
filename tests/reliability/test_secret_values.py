"""Secret values with no credential shape, known only from the environment, are found in no
byte the store writes: not the journals, not the DuckDB file, not a card, a BOM or an
OpenLineage event.

A real kernel is given random values in variables whose names say they are secret; its
notebook reads them into plainly named and secret-named variables, prints them, raises
errors that carry them, logs them as parameters, writes them into notes and a file name,
puts a new one into ``os.environ`` and uses it in later cells, and trains a registered
model. Every byte of what the store and its exports hold is then searched for every
12-character window of every secret, as it is and as repr() and JSON escape it.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from jupyter_lineage.store import DuckDBStore

from ..integration.conftest import execute_notebook
from .conftest import cli

WINDOW = 12


def _random_secrets() -> dict[str, str]:
    """Fresh each run, so no fixed string could be special-cased."""
    k = "-"
    while k.startswith("-"):  # typed after a magic's name, it must not read as an option
        k = secrets.token_urlsafe(24)
    return {
        "SENSOR_SERVICE_PASSWORD": k,
        "WAREHOUSE_API_TOKEN": secrets.token_hex(20),
        # A backslash and both quotes: written differently by repr() and by JSON.
        "DB_PASSWORD": secrets.token_hex(8) + "\\'\"" + secrets.token_hex(8),
    }


def _forms(secret: str) -> set[str]:
    """How a secret can be written: as it is, repr()- and JSON-escaped."""
    forms = {secret, repr(secret)[1:-1], repr(secret + "\"'")[1:-4]}
    return forms | {json.dumps(f)[1:-1] for f in forms}


def _windows(secret: str) -> set[str]:
    return {
        form[i : i + WINDOW]
        for form in _forms(secret)
        for i in range(max(len(form) - WINDOW + 1, 1))
    }


def _cells(k_literal: str, h_literal: str) -> list[str]:
    return [
        "%load_ext jupyter_lineage",
        "%lineage on",
        "import json, os, secrets\nimport jupyter_lineage as jl",
        # 3: values, under plain names and secret names, in containers, escaped, cut short.
        'k = os.environ["SENSOR_SERVICE_PASSWORD"]\n'
        'h = os.environ["WAREHOUSE_API_TOKEN"]\n'
        'q = os.environ["DB_PASSWORD"]\n'
        "db_password = q\n"
        "warehouse_token = h\n"
        'pair = [k, h, q]\nsettings = {"user": "svc", "pw": q}\n'
        'as_bytes = k.encode()\nas_json = json.dumps({"q": q})\n'
        'long_text = "x" * 100 + k + "y" * 300\n'
        'print("k:", k)\nprint("h:", h)\nprint("q:", q)',
        # 4, 5: errors that carry them (KeyError's message is the repr of its key).
        "raise ValueError(k)",
        "settings[q]",
        # 6: parameters, by name and by value.
        "jl.log_param(\"db_password\", q)\njl.log_param('endpoint_key', h)\n"
        "jl.log_params({'sensor_label': k, 'mixed': [q, 1]})",
        f"%lineage_param run_label {k_literal}",
        # 8, 9: notes and annotations, typed and built from the values.
        'jl.note(f"rotated {h} and {q} today", kind="note")',
        f"%lineage_note --kind decision --on LAST chose the endpoint keyed {h_literal}",
        # 10: a file whose name is the whole secret, written and read back.
        'with open(f"out-{k}.txt", "w") as f:\n    f.write("rows")\n'
        'print(open(f"out-{k}.txt").read(), os.listdir("."))',
        # 11: a new secret put into the environment by a cell...
        'os.environ["LATE_SERVICE_TOKEN"] = secrets.token_urlsafe(24)',
        # 12, 13: ...and used by the cells after it.
        'late = os.environ["LATE_SERVICE_TOKEN"]\nprint("late:", late)\n'
        'jl.note(f"the late one is {late}")\njl.log_param("late_label", late)',
        'raise RuntimeError(f"late token {late} refused")',
        # 14: a model trained with them, registered, versioned, so a card can be made.
        "%%lineage --name train --model sensor-model\n"
        "weights = [0.5 * len(k), 1.5]\n"
        'model = {"weights": weights, "fetched_with": k}\n'
        'jl.log_metric("accuracy", 0.91)',
        "from jupyter_lineage import registry\n"
        'registry.register_model("sensor-model", "ml@example.com", '
        'description=f"reads the sensor API with {h}", risk_tier="LOW")\n'
        'registry.create_version("sensor-model", "1.0.0", framework="python", '
        'hyperparameters={"service_password": k, "note": q, "lr": 0.1}, '
        'intended_use=f"scoring with {late}", limitations=f"needs {k}")',
        "%lineage_sql SELECT count(*) AS n FROM runs",
    ]


def _all_text_in(store: DuckDBStore, table_type: str) -> str:
    """Every column of every table (or view) read back through DuckDB, whatever its compression."""
    columns = store.query(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'main' AND t.table_type = ?",
        [table_type],
        ingest=False,
    )
    union = " UNION ALL ".join(
        f'SELECT CAST("{column}" AS VARCHAR) AS v FROM "{table}"'
        for table, column in zip(columns["table_name"], columns["column_name"], strict=True)
    )
    return "\n".join(str(v) for v in store.query(union, ingest=False)["v"] if v is not None)


@pytest.mark.heavy
def test_secret_values_are_in_no_byte_of_the_store(tmp_path: Path) -> None:
    planted = _random_secrets()
    k, h, q = planted.values()
    store_dir = tmp_path / ".lineage"
    env = {
        **planted,
        "JUPYTER_LINEAGE_DIR": str(store_dir),
        # An allowed variable that holds a secret value: the snapshot keeps it, redacted.
        "DEPLOY_NOTE": f"deployed with {k}",
        "JUPYTER_LINEAGE_ENV_ALLOW": "DEPLOY_NOTE,SENSOR_SERVICE_PASSWORD",
    }
    run = execute_notebook(_cells(k, h), tmp_path / "nb", store_dir=store_dir, env=env)

    # The secrets were planted: the notebook's own outputs show them.
    shown = "\n".join(run.text(i) for i in range(len(run.code_cells)))
    assert f"k: {k}" in shown and f"h: {h}" in shown and f"q: {q}" in shown
    assert f"ValueError: {k}" in shown and "KeyError" in shown
    late = re.search(r"late: (\S+)", shown)
    assert late is not None, shown
    late_value = late.group(1)
    assert f"late token {late_value} refused" in shown
    assert f"out-{k}.txt" in shown
    assert "Error" not in run.text(14) + run.text(15), run.text(14) + run.text(15)
    all_secrets = {**planted, "LATE_SERVICE_TOKEN": late_value}

    exports = tmp_path / "exports"
    exports.mkdir()
    for args in (
        ("openlineage", "-o", str(exports / "openlineage.jsonl")),
        ("card", "sensor-model", "-o", str(exports / "card.html")),
        ("card", "sensor-model", "-o", str(exports / "card.json")),
        ("card", "sensor-model", "-o", str(exports / "card.md")),
        ("bom", "sensor-model", "-o", str(exports / "bom.json")),
    ):
        proc = cli("--store", str(store_dir), *args)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)

    store = DuckDBStore(store_dir)
    store.ingest()
    files = [p for d in (store_dir, exports) for p in d.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".jsonl", ".duckdb", ".html", ".json", ".md"} <= kinds, kinds
    blob = b"\n".join(p.read_bytes() for p in files)
    tables = _all_text_in(store, "BASE TABLE")
    views = _all_text_in(store, "VIEW")

    # No 12 characters in a row of any secret, as written or escaped, anywhere.
    leaks = [
        (name, where)
        for name, secret in all_secrets.items()
        for window in _windows(secret)
        for where, found in (
            ("files", window.encode() in blob),
            ("tables", window in tables),
            ("views", window in views),
        )
        if found
    ]
    assert leaks == [], f"found in the store: {sorted(set(leaks))}"

    # What was there instead: the markers, where each secret was.
    values = store.query(
        "SELECT name, summary, fingerprint FROM value_records WHERE role = 'output'", ingest=False
    )
    by_name = {n: (s, f) for n, s, f in zip(*values.values.T, strict=True)}
    marker = "[REDACTED:env:SENSOR_SERVICE_PASSWORD]"
    assert by_name["k"][0] == f"'{marker}'"
    assert "[REDACTED:env:DB_PASSWORD]" in by_name["as_json"][0]
    assert by_name["long_text"][0].startswith("'" + "x" * 100 + "[REDACTED:")  # then cut
    assert by_name["late"][0] == "'[REDACTED:env:LATE_SERVICE_TOKEN]'"
    # Secret-named variables: no summary, but the fingerprint lineage links by.
    assert by_name["db_password"][0] == "[REDACTED:password]"
    assert by_name["warehouse_token"][0] == "[REDACTED:token]"
    assert by_name["db_password"][1].startswith("xxh3:")
    assert by_name["db_password"][1] == by_name["q"][1]

    errors = store.query(
        "SELECT error_message, traceback FROM runs WHERE error_message IS NOT NULL",
        ingest=False,
    )
    messages = " ".join(errors["error_message"])
    assert marker in messages and "[REDACTED:env:DB_PASSWORD]" in messages
    assert "late token [REDACTED:env:LATE_SERVICE_TOKEN] refused" in messages
    assert all("[REDACTED:env:" in tb for tb in errors["traceback"])

    params = store.query("SELECT name, CAST(value AS VARCHAR) AS v FROM params", ingest=False)
    by_param = dict(zip(params["name"], params["v"], strict=True))
    assert by_param["db_password"] == '"[REDACTED:password]"'
    assert by_param["endpoint_key"] == '"[REDACTED:env:WAREHOUSE_API_TOKEN]"'
    assert by_param["run_label"] == f'"{marker}"'
    assert by_param["late_label"] == '"[REDACTED:env:LATE_SERVICE_TOKEN]"'

    notes = " ".join(store.query("SELECT text FROM annotations", ingest=False)["text"])
    assert "rotated [REDACTED:env:WAREHOUSE_API_TOKEN] and [REDACTED:env:DB_PASSWORD]" in notes
    assert "keyed [REDACTED:env:WAREHOUSE_API_TOKEN]" in notes
    assert "the late one is [REDACTED:env:LATE_SERVICE_TOKEN]" in notes

    paths = " ".join(store.query("SELECT path FROM files", ingest=False)["path"])
    assert f"out-{marker}.txt" in paths

    env_vars = store.query("SELECT env_vars FROM environments", ingest=False)["env_vars"]
    assert any(f"deployed with {marker}" in str(e) for e in env_vars)
    # Asking to record a secret-named variable is refused, as before.
    assert not any("SENSOR_SERVICE_PASSWORD" in json.loads(e) for e in env_vars)

    card = (exports / "card.json").read_text()
    assert "reads the sensor API with [REDACTED:env:WAREHOUSE_API_TOKEN]" in card
    assert "[REDACTED:env:LATE_SERVICE_TOKEN]" in card
    # The exports carried the texts the secrets were in, so their absence there means something.
    for export in ("card.html", "card.md", "bom.json", "openlineage.jsonl"):
        assert "[REDACTED:env:" in (exports / export).read_text(), export
    redactions = " ".join(
        " ".join(r)
        for r in store.query("SELECT redactions FROM runs", ingest=False)["redactions"]
        if r is not None
    )
    assert "env:SENSOR_SERVICE_PASSWORD" in redactions and "env:DB_PASSWORD" in redactions
