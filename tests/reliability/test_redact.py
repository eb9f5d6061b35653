"""The redactor: what it replaces, what it leaves alone, and that it is safe to run twice."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_lineage.redact import (
    may_contain_secret,
    redact_text,
    redact_value,
    secret_name_kind,
)

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

REDACTED = [
    # (text, what must disappear, the kind recorded)
    (f'aws_secret_access_key = "{AWS_SECRET}"', AWS_SECRET, "aws-secret-key"),
    (f"boto3.client('s3', 'AKIAIOSFODNN7EXAMPLE', '{AWS_SECRET}')", AWS_SECRET, "aws-secret-key"),
    ('key_id = "AKIAIOSFODNN7EXAMPLE"', "AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
    ("t = 'ghp_" + "a1B2" * 9 + "'", "ghp_" + "a1B2" * 9, "github-token"),
    ("t = 'github_pat_" + "A1_b" * 8 + "'", "github_pat_" + "A1_b" * 8, "github-token"),
    ("t = 'glpat-abcdefghij1234567890'", "glpat-abcdefghij1234567890", "gitlab-token"),
    ("t = 'xoxb-1234567890-abcdefghij'", "xoxb-1234567890-abcdefghij", "slack-token"),
    (
        "post('https://hooks.slack.com/services/T000/B000/XXXXSECRET')",
        "T000/B000/XXXXSECRET",
        "slack-webhook",
    ),
    (
        "OpenAI(api_key='sk-proj-abcdefghijklmnopqrstuvwxyz0123456789AB')",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789AB",
        "openai-key",
    ),
    (
        "Anthropic(api_key='sk-ant-api03-abcdefghijklmnopqrstuvwxyz01')",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz01",
        "anthropic-key",
    ),
    (
        "g = 'AIzaSyA-abcdefghijklmnopqrstuvwxyz01234'",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
        "google-api-key",
    ),
    (
        "hf = 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH'",
        "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "huggingface-token",
    ),
    ("engine = 'postgresql://alice:s3cr3t-pw@db:5432/x'", "s3cr3t-pw", "url-password"),
    ("get('https://x.io/v1?user=bob&api_key=abc123def&page=2')", "abc123def", "api-key"),
    ("get('https://x.io/v1?access_token=abc123def')", "abc123def", "token"),
    ('headers = {"Authorization": "Bearer abc.def-123_456"}', "abc.def-123_456", "bearer-token"),
    ('{"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz", "basic-auth"),
    (
        "jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N'",
        "dozjgNryP4J3jVmNHl0w5N",
        "jwt",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjE",
        "private-key",
    ),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg (cut here)", "MHcCAQEEIBkg", "private-key"),
    ('password = "hunter2"', "hunter2", "password"),
    ("password: str = 'hunter2'", "hunter2", "password"),
    ("login(user='bob', passwd='hunter2')", "hunter2", "password"),
    ('os.environ["OPENAI_API_KEY"] = "abc-123-def"', "abc-123-def", "api-key"),
    ("{'db_password': 'p@ss w0rd'}", "p@ss w0rd", "password"),
    ("ValueError: login failed with password=hunter2.", "hunter2", "password"),
    ("PGPASSWORD=hunter2 psql -h db", "hunter2", "password"),
    ("client_secret: s3cr3tValue", "s3cr3tValue", "secret"),
    ("DB_TOKEN = b'raw-bytes-token'", "raw-bytes-token", "token"),
]

LEFT_ALONE = [
    "df = pd.read_csv('data/customers.csv')\nmodel.fit(X, y)",
    "for key, value in d.items():\n    pass",
    "key = lambda row: row[0]",
    "pad_token = '[PAD]'\neos_token = '</s>'\nmax_tokens = 512\ntokenizer = 'bert'",
    "def login(password: str) -> bool:\n    return check(password=password)",
    "password = getpass.getpass()\ntoken = os.environ['TOKEN']\nsecret = cfg.secret",
    "if token == expected:\n    pass",
    "password = ''\napi_key = None\ntoken = '***'\nsecret = '<your secret>'",
    "url = 'https://example.com:8080/path@v2'",
    "risk-model-for-task-allocation-and-more-things-here-12345678",
    "bypass = True\npass_rate = 0.5\npassage = 'text'",
    "print(f'token={tok}')",
]


@pytest.mark.parametrize(("text", "secret", "kind"), REDACTED)
def test_credentials_are_replaced(text: str, secret: str, kind: str) -> None:
    out, kinds = redact_text(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out and kind in kinds
    assert redact_text(out) == (out, [])  # running it again finds nothing new


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_ordinary_code_is_left_alone(text: str) -> None:
    assert redact_text(text) == (text, [])


def test_text_without_any_trigger_is_not_scanned() -> None:
    text = "df = pd.read_csv('data/customers.csv')\nmodel.fit(X, y)\nprint(acc)"
    assert not may_contain_secret(text)
    assert redact_text(text)[0] is text


def test_names_that_announce_a_secret() -> None:
    for name in ("password", "db_password", "PGPASSWORD", "GITHUB_TOKEN", "apiKey", "csrftoken"):
        assert secret_name_kind(name) is not None, name
    for name in ("token_count", "pad_token", "password_file", "keys", "passage", "tokenizer"):
        assert secret_name_kind(name) is None, name


def test_event_payloads_are_walked() -> None:
    data = {
        "source": "x = 1",
        "values": [
            {"name": "password", "summary": "'hunter2'", "fingerprint": "xxh3:ab", "length": 7},
            {"name": "n_tokens", "summary": "512", "fingerprint": "xxh3:cd"},
        ],
        "env_vars": {"API_TOKEN": "abc", "OMP_NUM_THREADS": "4"},
        "param": {"name": "api_key", "value": "plain-looking"},
        "metric": {"name": "token_budget", "value": 100},
        "files": [{"path": "/data/ghp_" + "a1B2" * 9 + ".csv"}],
    }
    out, found = redact_value(data)
    assert out["source"] == "x = 1"
    # A secret-named variable shows no summary, but keeps the fingerprint lineage links by.
    assert out["values"][0]["summary"] == "[REDACTED:password]"
    assert out["values"][0]["fingerprint"] == "xxh3:ab"
    assert out["values"][0]["length"] == 7 and out["values"][1] is data["values"][1]
    assert out["env_vars"] == {"API_TOKEN": "[REDACTED:token]", "OMP_NUM_THREADS": "4"}
    assert out["param"]["value"] == "[REDACTED:api-key]"
    assert out["metric"] is data["metric"]
    assert out["files"][0]["path"] == "/data/[REDACTED:github-token].csv"
    assert "files[0].path:github-token" in found and "param.value:api-key" in found
    assert data["values"][0]["summary"] == "'hunter2'"  # the input is not changed


TOKEN = "ghp_" + "Zx9" * 12


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300), st.sampled_from([" ", "\n", "'", "=", ""]))
def test_a_token_anywhere_in_any_text_is_removed(before: str, after: str, sep: str) -> None:
    # After a word character the token is part of a longer word, not a token.
    if before and (before[-1].isalnum() or before[-1] == "_") and not sep:
        before += " "
    out, _ = redact_text(before + sep + TOKEN + sep + after)
    assert TOKEN not in out


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_redacts_without_error_and_idempotently(text: str) -> None:
    out, _ = redact_text(text)
    assert redact_text(out)[0] == out


# -- secret values known from the environment ----------------------------------------------

ENV_MARK = "[REDACTED:env:SENSOR_SERVICE_PASSWORD]"


def _windows(secret: str, width: int = 8) -> list[str]:
    return [secret[i : i + width] for i in range(len(secret) - width + 1)]


def _shows_part_of(secret: str, text: str) -> bool:
    return any(w in text for w in _windows(secret))


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> str:
    """A random value with no credential shape, in a variable whose name says it is secret."""
    value = secrets.token_urlsafe(24)
    monkeypatch.setenv("SENSOR_SERVICE_PASSWORD", value)
    return value


def test_a_secret_variables_value_is_replaced_wherever_it_appears(planted: str) -> None:
    for text in (
        planted,
        f"k = '{planted}'",
        f"ValueError: {planted}",
        f"/tmp/out-{planted}.csv",
        f"{planted}{planted}",
    ):
        assert may_contain_secret(text)
        out, kinds = redact_text(text)
        assert not _shows_part_of(planted, out) and ENV_MARK in out, out
        assert kinds and set(kinds) == {"env:SENSOR_SERVICE_PASSWORD"}
        assert redact_text(out) == (out, [])
    # Less than the cut-short minimum, in the middle of a text, is not the secret.
    assert redact_text(f"x {planted[:7]} y") == (f"x {planted[:7]} y", [])


def test_the_known_values_follow_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = secrets.token_hex(16), secrets.token_hex(16)
    monkeypatch.delenv("LATE_SERVICE_TOKEN", raising=False)
    assert redact_text(f"v={first}") == (f"v={first}", [])
    monkeypatch.setenv("LATE_SERVICE_TOKEN", first)  # what a cell's os.environ[...] = does
    assert redact_text(f"v={first}") == (
        "v=[REDACTED:env:LATE_SERVICE_TOKEN]",
        ["env:LATE_SERVICE_TOKEN"],
    )
    # A new value under the same name: as many variables as before, a different value.
    monkeypatch.setenv("LATE_SERVICE_TOKEN", second)
    assert redact_text(f"v={first}") == (f"v={first}", [])
    assert redact_text(f"v={second}")[0] == "v=[REDACTED:env:LATE_SERVICE_TOKEN]"
    monkeypatch.delenv("LATE_SERVICE_TOKEN")
    assert redact_text(f"v={second}") == (f"v={second}", [])
    assert not may_contain_secret(second)


@pytest.mark.parametrize(
    "value",
    ["x", "pass1", "12345678", "3.14159e10", "true", "undefined", "********", "<your token>"],
)
def test_values_too_short_or_too_ordinary_are_not_secrets(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SENSOR_SERVICE_PASSWORD", value)
    text = f"n = {value} + 1  # {value}"
    if len(value) < 6:
        text = f"{value} in every word: {value}{value}x"
    assert redact_text(text) == (text, [])


def test_the_working_directory_is_not_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PWD", "/home/analyst/projects")  # ODBC's password keyword, too
    assert secret_name_kind("PWD") == "password"
    assert redact_text("/home/analyst/projects/data.csv")[1] == []


def test_the_path_of_a_credentials_file_is_not_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    creds = tmp_path / "service-account.json"
    creds.write_text("{}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    assert redact_text(f"open('{creds}')") == (f"open('{creds}')", [])
    # A path to nothing cannot be told from a secret that starts with a slash.
    missing = tmp_path / "elsewhere.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(missing))
    assert redact_text(f"open('{missing}')")[1] == ["env:GOOGLE_APPLICATION_CREDENTIALS"]


def test_a_word_is_redacted_only_where_it_stands_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD", "postgres")
    out, kinds = redact_text("engine('postgresql://db/x'); pw = 'postgres'")
    assert out == "engine('postgresql://db/x'); pw = '[REDACTED:env:POSTGRES_PASSWORD]'"
    assert kinds == ["env:POSTGRES_PASSWORD"]


def test_escaped_forms_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # A backslash and both quotes change how repr() and JSON write the value.
    middle = secrets.token_hex(8)  # written the same by every escaping
    value = "Zx\\9'q\"" + middle + "é"
    monkeypatch.setenv("DEPLOY_API_TOKEN", value)
    texts = [
        repr(value),  # a str value's summary
        repr([value, 1]),
        repr("it's " + value),  # another quote chosen for the whole string
        repr('say "' + value),
        repr(value.encode()),  # a bytes value's summary
        json.dumps(value),
        json.dumps(value, ensure_ascii=False),
        json.dumps({"k": json.dumps(value)}),  # JSON holding JSON
        repr(json.dumps({"k": value})),  # the summary of a string holding JSON
        repr(repr(value)),
        "https://x.io/?t=" + quote(value, safe=""),
        repr(value)[:20] + "…",  # a summary cut inside the value
    ]
    for text in texts:
        assert may_contain_secret(text), text
        out, _ = redact_text(text)
        assert "[REDACTED:env:DEPLOY_API_TOKEN]" in out, (text, out)
        assert not _shows_part_of(middle, out), (text, out)
    # The journal checks each event's JSON text before it looks at the strings in it.
    for text in texts:
        assert may_contain_secret(json.dumps({"summary": text}))


def test_a_value_cut_short_leaves_no_fragment(planted: str) -> None:
    for text in (
        f"'{planted[:12]}…",  # a summary cut to length
        f"'{planted[:12]}...",
        f"column {planted[:9]}",  # cut at the end of a text
        f"…{planted[-10:]}' and more",  # a text kept from its end
    ):
        out, kinds = redact_text(text)
        assert ENV_MARK in out and kinds == ["env:SENSOR_SERVICE_PASSWORD"], (text, out)
        assert not _shows_part_of(planted, out), out


def test_a_long_string_summary_is_redacted_before_its_cut(planted: str) -> None:
    from jupyter_lineage.capture.fingerprint import fingerprint

    for at in (0, 60, 100, 110, 118):  # the summary is cut near 120 characters
        fp = fingerprint("x" * at + planted + "y" * 300)
        assert not _shows_part_of(planted, fp.summary), (at, fp.summary)


def test_a_shape_rule_never_cuts_through_a_known_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bearer rule stops at "!", which would leave the rest of the token visible.
    token = "abcdefgh12!" + secrets.token_hex(8)
    monkeypatch.setenv("UPSTREAM_TOKEN", token)
    out, kinds = redact_text(f"headers = {{'Authorization': 'Bearer {token}'}}")
    assert token[11:] not in out and kinds == ["env:UPSTREAM_TOKEN"], out
    # A rule whose match takes the whole value names it by its shape.
    aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws)
    assert redact_text(f'aws_secret_access_key = "{aws}"') == (
        'aws_secret_access_key = "[REDACTED:aws-secret-key]"',
        ["aws-secret-key"],
    )


def test_passwords_inside_connection_strings_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    url_pw, dsn_pw, odbc_pw = (secrets.token_hex(6) + c for c in "@;}")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{quote(url_pw, safe='')}@db/x")
    monkeypatch.setenv("PG_DSN", f"host=db user=app password='{dsn_pw}' dbname=x")
    monkeypatch.setenv("WAREHOUSE", f"Driver={{ODBC 18}};Server=w;UID=u;PWD={{{odbc_pw[:-1]}}};")
    # A sentence that mentions a password is not a connection string.
    monkeypatch.setenv("LAST_ERROR", "login failed with password=notreallyit (retrying)")
    for pw, kind in (
        (url_pw, "DATABASE_URL"),
        (dsn_pw, "PG_DSN"),
        (odbc_pw[:-1], "WAREHOUSE"),
    ):
        out, kinds = redact_text(f"connect(user='app', pw='{pw}')")
        assert pw not in out and kinds == [f"env:{kind}"], out
    assert redact_text("x = 'notreallyit'") == ("x = 'notreallyit'", [])


def test_a_secret_named_variable_keeps_its_fingerprint_but_not_its_summary(planted: str) -> None:
    data = {
        "values": [
            {"name": "db_password", "summary": "'…'", "fingerprint": "xxh3:9f", "length": 32},
            {"name": "k", "summary": repr(planted), "fingerprint": "xxh3:9f", "length": 32},
        ],
        "param": {"name": "db_password", "value": planted},
        "note": f"rotated {planted}",
        "files": [{"path": f"/tmp/out-{planted}.txt", "sha256": "ab" * 32}],
        f"key-{planted}": 1,
    }
    out, found = redact_value(data)
    assert out["values"][0] == {
        "name": "db_password",
        "summary": "[REDACTED:password]",
        "fingerprint": "xxh3:9f",
        "length": 32,
    }
    assert out["values"][1]["summary"] == f"'{ENV_MARK}'"
    assert out["values"][1]["fingerprint"] == "xxh3:9f"
    assert out["param"]["value"] == "[REDACTED:password]"
    assert out["note"] == f"rotated {ENV_MARK}"
    assert out["files"][0]["path"] == f"/tmp/out-{ENV_MARK}.txt"
    assert f"key-{ENV_MARK}" in out
    assert not _shows_part_of(planted, json.dumps(out)) and not _shows_part_of(
        planted, json.dumps(found)
    )
    assert "values[1].summary:env:SENSOR_SERVICE_PASSWORD" in found
    assert "values[0].summary:password" in found and "param.value:password" in found


def test_the_journal_writes_no_byte_of_a_known_value(planted: str, tmp_path: Path) -> None:
    from jupyter_lineage.journal import JournalWriter

    writer = JournalWriter(tmp_path, "s1")
    writer.append(
        "cell_end",
        {
            "error_message": f"ValueError: {planted}",
            "values": [{"name": "k", "summary": repr(planted)[:20] + "…"}],
            "path": Path(f"/tmp/{planted}"),  # written through str()
        },
    )
    writer.close()
    raw = (tmp_path / "s1.jsonl").read_bytes()
    assert not _shows_part_of(planted, raw.decode())
    event = json.loads(raw)
    assert sorted(event["redactions"]) == [
        "error_message:env:SENSOR_SERVICE_PASSWORD",
        "path:env:SENSOR_SERVICE_PASSWORD",
        "values[0].summary:env:SENSOR_SERVICE_PASSWORD",
    ]


KNOWN = "Qm7" + "vR2kT9pL" * 3


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200), st.sampled_from(["", " ", "'", "\\", "é"]))
def test_a_known_value_anywhere_in_any_text_is_removed(before: str, after: str, sep: str) -> None:
    saved = os.environ.get("HYPOTHESIS_SERVICE_SECRET")
    os.environ["HYPOTHESIS_SERVICE_SECRET"] = KNOWN
    try:
        out, kinds = redact_text(before + sep + KNOWN + sep + after)
        assert KNOWN not in out and "env:HYPOTHESIS_SERVICE_SECRET" in kinds
        assert redact_text(out)[0] == out
    finally:
        if saved is None:
            del os.environ["HYPOTHESIS_SERVICE_SECRET"]
        else:
            os.environ["HYPOTHESIS_SERVICE_SECRET"] = saved


def test_a_variable_given_to_a_secret_name_in_source_is_code_not_the_secret() -> None:
    source = (
        "db_password = q\nconn = connect(password=pw)\nAPI_TOKEN = 'sk-live-1234567890abcdef'\n"
    )
    redacted, kinds = redact_text(source, code=True)
    assert "db_password = q\n" in redacted
    assert "password=pw)" in redacted
    assert "1234567890abcdef" not in redacted and kinds
    # In prose or a log line the same bare word is the secret itself.
    assert "hunter2" not in redact_text("login failed: password=hunter2")[0]


def test_the_journal_keeps_a_cells_variables_and_redacts_its_literals() -> None:
    event = {
        "source": "db_password = q\nkey = 'x'\npassword = 'hunter2-long'",
        "note": "password=q",
    }
    redacted, _ = redact_value(event)
    assert redacted["source"].startswith("db_password = q\n")
    assert "hunter2-long" not in redacted["source"]
    assert redacted["note"] != "password=q"
