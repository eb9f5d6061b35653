"""How exports show remotes and local paths (pure functions, and the look on disk)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from jupyter_lineage.capture.environment import repository_root
from jupyter_lineage.cards.locations import Locations, locations
from jupyter_lineage.urls import public_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@example.com/org/repo.git", "https://example.com/org/repo.git"),
        ("https://ghp_abc123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        (
            "https://x-access-token:t0k@github.com/o/r?private_token=t0k#top",
            "https://github.com/o/r",
        ),
        ("ssh://git:pw@host:2222/org/repo.git", "ssh://git@host:2222/org/repo.git"),
        ("git@github.com:org/repo.git", "https://github.com/org/repo.git"),
        ("deploy:t0k@gitlab.example.com:org/repo.git", "https://gitlab.example.com/org/repo.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("/home/alice/src/repo.git", None),
        ("../origin.git", None),
        ("file:///srv/git/repo.git", None),
        ("C:\\Users\\alice\\repo.git", None),
        ("c:/repos/x.git", None),
        ("", None),
        (None, None),
    ],
)
def test_public_remote_url(url: str | None, shown: str | None) -> None:
    assert public_url(url) == shown


def test_paths_are_shown_relative_to_the_first_root_that_holds_them() -> None:
    where = Locations(roots=("/work/repo", "/work/repo/notebooks", "/data"))
    assert where.path("/work/repo/notebooks/a.ipynb") == "notebooks/a.ipynb"
    assert where.path("/work/repo") == "."
    assert where.path("/data/raw/x.csv") == "raw/x.csv"
    assert where.path("/work/repository/x.csv") == "x.csv"  # a sibling, not under the root
    assert where.path("/etc/passwd") == "passwd"
    assert where.path("C:\\Users\\ann\\nb.ipynb") == "nb.ipynb"  # recorded on another system
    assert where.path("file:///work/repo/artifacts/m%20v1.pkl") == "artifacts/m v1.pkl"
    assert where.path("relative/x.csv") == "relative/x.csv"  # left as recorded
    assert where.path(None) is None
    assert where.uri("s3://bucket/key") == "s3://bucket/key"


def test_text_loses_local_directories_but_keeps_its_words() -> None:
    where = Locations(
        roots=("/work/repo", "/work/repo/notebooks"),
        aliases=(("/work/repo/.venv", "<python>"), ("/home/me", "~"), ("/tmp", "<tmp>")),
    )
    trace = (
        'File "/work/repo/.venv/lib/python3.12/site-packages/pandas/io.py", line 3\n'
        'File "/tmp/ipykernel_12/3.py", line 1\n'
        "FileNotFoundError: [Errno 2] No such file: '/work/repo/notebooks/data/x.csv'\n"
        "cwd /work/repo, and /work/repository is elsewhere; see /home/me/notes and "
        "/home/bob/x and /Users/carol/y; https://example.com/home/dave stays"
    )
    assert where.text(trace) == (
        'File "<python>/lib/python3.12/site-packages/pandas/io.py", line 3\n'
        'File "<tmp>/ipykernel_12/3.py", line 1\n'
        "FileNotFoundError: [Errno 2] No such file: 'notebooks/data/x.csv'\n"
        "cwd ., and /work/repository is elsewhere; see ~/notes and "
        "~/x and ~/y; https://example.com/home/dave stays"
    )


def test_locations_find_the_repository_on_disk(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "notebooks" / "deep").mkdir(parents=True)
    notebook = repo / "notebooks" / "deep" / "a.ipynb"
    assert repository_root(notebook.parent) == str(repo)
    assert repository_root(tmp_path) is None
    where = locations([str(notebook)], store_dir=repo / ".lineage")
    assert where.roots[0] == str(repo)
    assert where.path(str(notebook)) == "notebooks/deep/a.ipynb"
    assert where.path(str(repo / "data.csv")) == "data.csv"
    aliases = dict(where.aliases)
    if os.path.normpath(sys.prefix) not in ("/usr", "/usr/local", "/"):
        assert aliases[os.path.normpath(sys.prefix)] == "<python>"
    assert aliases[os.path.normpath(tempfile.gettempdir())] == "<tmp>"

    # outside a repository: the project directory holding the store, then the notebook's
    elsewhere = tmp_path / "plain"
    where = locations([str(elsewhere / "nb" / "b.ipynb")], store_dir=elsewhere / ".lineage")
    assert where.path(str(elsewhere / "nb" / "b.ipynb")) == "nb/b.ipynb"
    assert where.path("/somewhere/else/c.csv") == "c.csv"
