"""Credentials planted everywhere a notebook can put them are found in no file of the store:
not the journal, not the DuckDB file, not an export."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.duckdb import VIEWS

from .conftest import cli

AWS_ID = "AKIAQ3PLANTED7EXAMPL"
AWS_SECRET = "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"
GITHUB = "ghp_Pl4ntedGithubT0kenAbCdEfGhIjKlMnOpQr"
OPENAI = "sk-proj-Pl4ntedOpenAIkey0123456789abcdefXYZ"
ANTHROPIC = "sk-ant-api03-Pl4ntedAnthropicKey0123456789"
SLACK = "xoxb-1234567890-Pl4ntedSlackToken"
GOOGLE = "AIzaSyPl4ntedGoogleKey0123456789abcdefg"
HF = "hf_Pl4ntedHuggingFaceTokenAbCdEfGhIjKlMn"
DB_PASSWORD = "Pl4nted-db-Passw0rd"
PLAIN_PASSWORD = "Pl4ntedPasswordValue"
ENV_ONLY = "Pl4ntedEnvironmentOnlySecret"
QUERY_KEY = "Pl4ntedQueryStringKey"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQbDRudGVkIn0.Pl4ntedJwtSignatureAbCdEfGhIjKlMnOp"
PRIVATE_KEY_BODY = "MIIEPl4ntedPrivateKeyBodyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
SECRETS = [
    AWS_ID,
    AWS_SECRET,
    GITHUB,
    OPENAI,
    ANTHROPIC,
    SLACK,
    GOOGLE,
    HF,
    DB_PASSWORD,
    PLAIN_PASSWORD,
    ENV_ONLY,
    QUERY_KEY,
    JWT,
    PRIVATE_KEY_BODY,
]
CONTROL = (
    "Pl4ntedHarmlessControlMarker"  # not a secret: must be found, or the search proves nothing
)

CELLS = [
    "%load_ext jupyter_lineage",
    "import os\nimport jupyter_lineage as jl",
    # Source: assignments, a client call, a connection URL, a key block, a JWT.
    f'%%lineage --name setup --model churn\naws_access_key_id = "{AWS_ID}"\n'
    f'aws_secret_access_key = "{AWS_SECRET}"\nclient_args = dict(api_key="{OPENAI}")\n'
    f'db_url = "postgresql://analyst:{DB_PASSWORD}@db.internal:5432/churn"\n'
    f'password = "{PLAIN_PASSWORD}"\njwt = "{JWT}"\n'
    f'key_pem = """-----BEGIN RSA PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----"""\n'
    f'control = "{CONTROL}"',
    # Value summaries: strings that are credentials, under names that do not say so.
    f'%%lineage --name values\ngh = "{GITHUB}"\nant = "{ANTHROPIC}"\nhook = "{SLACK}"\n'
    f'google = "{GOOGLE}"\nhf_tok = "{HF}"\napi_token = os.environ["LEGACY_SETTING"]',
    # An error message and traceback that carry them.
    f'%%lineage --name fails\nurl = "https://api.example.com/v1/items?api_key={QUERY_KEY}&page=2"\n'
    f'raise ConnectionError(f"GET {{url}} failed; retried with token={{gh}} and {{db_url}}")',
    # A file whose path holds a token.
    f'%%lineage --name writes\nopen("export-{GITHUB}.txt", "w").write("rows")',
    # Annotations, notes, parameters.
    f"%lineage_note --kind decision --on LAST Rotated the key {GITHUB} after the leak",
    f'%%lineage --note "uses {HF} for the tokenizer download"\nx = 1',
    f'jl.note("Connection: postgresql://analyst:{DB_PASSWORD}@db.internal/churn", kind="note")',
    f'jl.log_param("api_key", "{OPENAI}")\njl.log_param("password", "{PLAIN_PASSWORD}")',
    "%lineage_sql SELECT count(*) FROM runs",
]


def _all_text_in_tables(store: DuckDBStore) -> str:
    """Every string column of every table, read back through DuckDB (whatever its compression)."""
    columns = store.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name IN "
        "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')",
        ingest=False,
    )
    union = " UNION ALL ".join(
        f'SELECT CAST("{column}" AS VARCHAR) AS v FROM "{table}"'
        for table, column in zip(columns["table_name"], columns["column_name"], strict=True)
    )
    parts = [str(v) for v in store.query(union, ingest=False)["v"] if v is not None]
    return "\n".join(parts)


@pytest.mark.heavy
def test_planted_secrets_are_nowhere_in_the_store(kernel_factory, tmp_path: Path) -> None:
    store_dir = tmp_path / ".lineage"
    env = {
        "JUPYTER_LINEAGE_DIR": str(store_dir),
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "GITHUB_TOKEN": GITHUB,
        "LEGACY_SETTING": ENV_ONLY,
        # Asking to record secret-looking variables is refused; DEPLOY_URL is allowed and
        # recorded, with its password redacted.
        "JUPYTER_LINEAGE_ENV_ALLOW": "AWS_SECRET_ACCESS_KEY,GITHUB_TOKEN,DEPLOY_URL",
        "DEPLOY_URL": f"https://deploy:{DB_PASSWORD}@deploy.internal/hook",
    }
    k = kernel_factory(tmp_path, env)
    for cell in CELLS:
        res = k.run(cell)
        assert res.status == "ok" or "ConnectionError" in str(res.error), (cell, res)

    # Exports written into the store directory, so the byte search below covers them:
    # every view as the CLI's csv and json formats write it, and the other exporters.
    exports = store_dir / "exports"
    exports.mkdir()
    store = DuckDBStore(store_dir)
    for view in VIEWS:
        df = store.query(f"SELECT * FROM {view}")
        df.to_csv(exports / f"{view}.csv", index=False)
        df.to_json(
            exports / f"{view}.json", orient="records", date_format="iso", default_handler=str
        )
    for args in (
        ("sql", "--format", "csv", "SELECT * FROM runs"),
        ("sql", "--format", "json", "SELECT * FROM cell_outputs"),
    ):
        proc = cli("--store", str(store_dir), *args)
        assert proc.returncode == 0, proc.stderr
        (exports / f"cli-{args[2]}.txt").write_text(proc.stdout, encoding="utf-8")
    for args in (
        ("openlineage", "-o", str(exports / "openlineage.jsonl")),
        ("card", "churn", "-o", str(exports / "card.html")),
        ("card", "churn", "-o", str(exports / "card.json")),
        ("graph", "html", "-o", str(exports / "graph.html")),
    ):
        proc = cli("--store", str(store_dir), *args)
        assert proc.returncode == 0, (args, proc.stderr)

    store.ingest()
    files = [p for p in store_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in files) and any(p.suffix == ".jsonl" for p in files)
    blob = b"\n".join(p.read_bytes() for p in files)
    tables = _all_text_in_tables(store)
    assert CONTROL.encode() in blob and CONTROL in tables
    leaked = [s for s in SECRETS if s.encode() in blob or s in tables]
    assert leaked == [], f"found in the store: {leaked}"
    # Parts of them do not survive either (a cut that left half a token visible).
    assert not [s for s in SECRETS if s[:16].encode() in blob or s[-16:].encode() in blob]

    # The redactions are recorded, by kind, never with the secret.
    runs = store.query("SELECT name, redactions FROM runs WHERE name IS NOT NULL", ingest=False)
    kinds = {n: " ".join(r) for n, r in zip(runs["name"], runs["redactions"], strict=True)}
    for kind in ("aws-access-key", "aws-secret-key", "openai-key", "url-password", "password"):
        assert kind in kinds["setup"], kinds["setup"]
    assert "jwt" in kinds["setup"] and "private-key" in kinds["setup"]
    assert "error_message:" in kinds["fails"] and "traceback:" in kinds["fails"]
    env_vars = store.query("SELECT env_vars FROM environments", ingest=False)["env_vars"][0]
    assert "DEPLOY_URL" in env_vars and "AWS_SECRET_ACCESS_KEY" not in env_vars
