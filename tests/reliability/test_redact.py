"""The redactor: what it replaces, what it leaves alone, and that it is safe to run twice."""

from __future__ import annotations

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
