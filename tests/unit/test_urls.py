"""The one credential scrubber: what it keeps, what it removes, and how a message marks it."""

from __future__ import annotations

import pytest

from jupyter_lineage.urls import strip_credentials


@pytest.mark.parametrize(
    ("url", "plain", "marked"),
    [
        (
            "postgresql://alice:s3cret@db:5432/lineage",
            "postgresql://alice@db:5432/lineage",
            "postgresql://alice:***@db:5432/lineage",
        ),
        (
            "postgresql://alice@db/lineage",
            "postgresql://alice@db/lineage",
            "postgresql://alice@db/lineage",
        ),
        (
            "https://ghp_abc123@github.com/o/r.git",
            "https://github.com/o/r.git",
            "https://***@github.com/o/r.git",
        ),
        ("https://user:pw@host/x?q=1", "https://host/x?q=1", "https://***@host/x?q=1"),
        ("https://host/x", "https://host/x", "https://host/x"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git", "git@github.com:o/r.git"),
    ],
)
def test_credentials_go_and_account_names_stay(url: str, plain: str, marked: str) -> None:
    assert strip_credentials(url) == plain
    assert strip_credentials(url, mark=True) == marked


def test_no_secret_survives_either_form() -> None:
    for url in ("postgresql://u:hunter2@h/d", "https://hunter2@h/d", "ftp://u:hunter2@h/"):
        assert "hunter2" not in strip_credentials(url)
        assert "hunter2" not in strip_credentials(url, mark=True)
