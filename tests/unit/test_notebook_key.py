"""A notebook's key: its path in its git repository, else below the server's root.

The pure rule (``notebook_key``) on paths, then the same rule on real directories: git
repositories made and cloned with git, symbolic links, the paths Jupyter gives a kernel
in ``JPY_SESSION_NAME``, and the server's side (``server.locate``) agreeing with the
kernel's for the same notebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from jupyter_lineage.config import (
    git_work_tree,
    notebook_key,
    notebook_key_from_env,
    notebook_key_of,
)
from jupyter_lineage.server.locate import locate

# -- the rule, on paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notebook", "repository", "root", "key"),
    [
        ("/r/nb/a.ipynb", "/r", "/", "git:nb/a.ipynb"),
        ("/r/nb/a.ipynb", "/r", None, "git:nb/a.ipynb"),
        # Outside the repository given: the server root's path, not the repository's.
        ("/s/x/a.ipynb", "/r", "/s", "root:x/a.ipynb"),
        ("/s/x/a.ipynb", None, "/s", "root:x/a.ipynb"),
        ("/s/x/a.ipynb", None, None, None),
        ("/t/a.ipynb", None, "/s", None),  # outside the root too
        ("/s2/a.ipynb", None, "/s", None),  # a sibling that shares a prefix is not inside
        ("/s", None, "/s", None),  # the root itself is no notebook in it
    ],
)
def test_the_rule_on_paths(
    notebook: str, repository: str | None, root: str | None, key: str | None
) -> None:
    assert notebook_key(notebook, repository_root=repository, server_root=root) == key


def test_a_decomposed_name_has_the_key_of_its_composed_spelling() -> None:
    composed = "/r/café.ipynb"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed

    assert notebook_key(decomposed, repository_root="/r") == "git:café.ipynb"
    assert notebook_key(composed, repository_root="/r") == "git:café.ipynb"


# -- repositories on disk ----------------------------------------------------------------


def _git(*args: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A git repository with one notebook, committed."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to make the repositories these tests read")
    repo = tmp_path / "origin"
    (repo / "analysis" / "deep").mkdir(parents=True)
    (repo / "analysis" / "deep" / "train.ipynb").write_text("{}")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "notebook", cwd=repo)
    return repo


def test_two_clones_give_their_copies_one_key(origin: Path, tmp_path: Path) -> None:
    _git("clone", "-q", str(origin), str(tmp_path / "elsewhere" / "mine"), cwd=tmp_path)
    copy = tmp_path / "elsewhere" / "mine" / "analysis" / "deep" / "train.ipynb"

    assert notebook_key_of(str(origin / "analysis" / "deep" / "train.ipynb")) == (
        "git:analysis/deep/train.ipynb"
    )
    assert notebook_key_of(str(copy)) == "git:analysis/deep/train.ipynb"


def test_a_linked_work_tree_is_a_repository_of_its_own(origin: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    _git("worktree", "add", "-q", str(linked), cwd=origin)
    assert (linked / ".git").is_file()

    found = git_work_tree(linked / "analysis")
    assert found is not None and found[0] == str(linked)
    assert Path(found[1]).is_dir()  # the gitdir the .git file names
    assert notebook_key_of(str(linked / "analysis" / "deep" / "train.ipynb")) == (
        "git:analysis/deep/train.ipynb"
    )


def test_the_nearest_repository_counts(origin: Path) -> None:
    inner = origin / "analysis" / "vendored"
    inner.mkdir()
    _git("init", "-q", cwd=inner)

    assert notebook_key_of(str(inner / "x.ipynb")) == "git:x.ipynb"


def test_a_dot_git_file_that_names_no_git_directory_is_no_repository(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".git").write_text("not a gitdir line\n")

    assert git_work_tree(tmp_path / "p") is None
    assert notebook_key_of(str(tmp_path / "p" / "a.ipynb"), server_root=str(tmp_path)) == (
        "root:p/a.ipynb"
    )


def test_a_path_through_a_symbolic_link_has_the_real_path_s_key(
    origin: Path, tmp_path: Path
) -> None:
    link = tmp_path / "shortcut"
    link.symlink_to(origin / "analysis", target_is_directory=True)

    assert notebook_key_of(str(link / "deep" / "train.ipynb")) == "git:analysis/deep/train.ipynb"


def test_outside_a_repository_the_server_root_names_it(tmp_path: Path) -> None:
    root = tmp_path / "served"
    (root / "work").mkdir(parents=True)

    assert notebook_key_of(str(root / "work" / "a.ipynb"), server_root=str(root)) == (
        "root:work/a.ipynb"
    )
    assert notebook_key_of(str(root / "work" / "a.ipynb")) is None


# -- what a kernel knows ---------------------------------------------------------------


def test_a_kernel_given_an_absolute_path(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", str(origin / "analysis" / "deep" / "train.ipynb"))
    assert notebook_key_from_env() == "git:analysis/deep/train.ipynb"

    # Outside a repository the kernel is not told the server's root: no key.
    (tmp_path / "plain").mkdir()
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "plain" / "a.ipynb"))
    assert notebook_key_from_env() is None

    monkeypatch.delenv("JPY_SESSION_NAME")
    assert notebook_key_from_env() is None


def test_a_kernel_given_a_path_below_the_root(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Jupyter starts the kernel in the notebook's directory: the root is above it.
    root = tmp_path / "served"
    (root / "work" / "sub").mkdir(parents=True)
    monkeypatch.setenv("JPY_SESSION_NAME", "work/sub/a.ipynb")
    assert notebook_key_from_env(cwd=str(root / "work" / "sub")) == "root:work/sub/a.ipynb"

    # Inside a repository the repository names it, wherever the server's root is.
    monkeypatch.setenv("JPY_SESSION_NAME", "deep/train.ipynb")
    assert notebook_key_from_env(cwd=str(origin / "analysis" / "deep")) == (
        "git:analysis/deep/train.ipynb"
    )

    # Started elsewhere, the notebook cannot be found: no key rather than a guess.
    monkeypatch.setenv("JPY_SESSION_NAME", "work/sub/a.ipynb")
    assert notebook_key_from_env(cwd=str(root)) is None
    monkeypatch.setenv("JPY_SESSION_NAME", "../a.ipynb")
    assert notebook_key_from_env(cwd=str(root)) is None


# -- the server names the notebook as its kernels do ---------------------------------------


def test_the_server_s_key_is_the_kernel_s(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUPYTER_LINEAGE_DIR", raising=False)
    notebook = origin / "analysis" / "deep" / "train.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    kernel = notebook_key_from_env()

    # Served from the repository, from above it, and from inside it.
    for root, path in [
        (origin, "analysis/deep/train.ipynb"),
        (tmp_path, "origin/analysis/deep/train.ipynb"),
        (origin / "analysis", "deep/train.ipynb"),
    ]:
        assert locate(root, path).key == kernel == "git:analysis/deep/train.ipynb"

    served = tmp_path / "served"
    (served / "work").mkdir(parents=True)
    (served / "work" / "a.ipynb").write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", "work/a.ipynb")
    assert locate(served, "work/a.ipynb").key == notebook_key_from_env(cwd=str(served / "work"))
    assert locate(served, "work/a.ipynb").key == "root:work/a.ipynb"


# -- stores recorded before keys ---------------------------------------------------------


def test_a_store_from_before_keys_is_migrated_and_its_runs_still_found(tmp_path: Path) -> None:
    import duckdb

    from jupyter_lineage.journal import JournalWriter
    from jupyter_lineage.store import DuckDBStore
    from jupyter_lineage.store.duckdb import SCHEMA_VERSION
    from jupyter_lineage.store.notebook import notebook_counts, notebook_executions

    root = tmp_path / ".lineage"
    old = JournalWriter(root / "journal", "old")
    old.append("session_start", {"user": "olduser", "notebook_path": "/laptop/r/a.ipynb"})
    old.append(
        "cell_start",
        {"execution_id": "a" * 32, "source": "x = 1", "notebook_path": "/laptop/r/a.ipynb"},
    )
    old.append("cell_end", {"execution_id": "a" * 32, "status": "ok"})
    old.close()
    store = DuckDBStore(root)
    store.ingest()
    # Back to schema 5: sessions and runs without the author and key columns.
    con = duckdb.connect(str(store.db_path))
    for column in ("author", "notebook_key"):
        con.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
        con.execute(f"ALTER TABLE executions DROP COLUMN {column}")
    con.execute("UPDATE schema_info SET value = '5' WHERE key = 'schema_version'")
    con.close()

    new = JournalWriter(root / "journal", "new")
    new.append(
        "session_start",
        {
            "user": "bob",
            "author": "bob@example.com",
            "notebook_path": "/desktop/checkout/a.ipynb",
            "notebook_key": "git:a.ipynb",
        },
    )
    new.append(
        "cell_start",
        {"execution_id": "b" * 32, "source": "y = 2", "notebook_path": "/desktop/checkout/a.ipynb"},
    )
    new.append("cell_end", {"execution_id": "b" * 32, "status": "failed"})
    new.close()
    store = DuckDBStore(root)

    version = store.query("SELECT value FROM schema_info WHERE key = 'schema_version'")
    assert version.iloc[0, 0] == str(SCHEMA_VERSION)
    runs = store.query(
        "SELECT execution_id, author, coalesce(notebook_key, '-') FROM runs ORDER BY 1"
    )
    assert runs.values.tolist() == [
        ["a" * 32, "olduser", "-"],  # the OS user stands in for an author not recorded
        ["b" * 32, "bob@example.com", "git:a.ipynb"],
    ]
    # Both copied onto the runs' own rows, where the notebook's queries read them.
    copies = store.query("SELECT author, notebook_key FROM executions ORDER BY execution_id")
    assert copies.fillna("-").values.tolist() == [
        ["olduser", "-"],
        ["bob@example.com", "git:a.ipynb"],
    ]
    # The old run by its path, the new one by its key; the author filter on both.
    found = notebook_executions(store, ["/laptop/r/a.ipynb"], notebook_key="git:a.ipynb")
    assert {r["execution_id"] for r in found} == {"a" * 32, "b" * 32}
    assert [r["execution_id"] for r in notebook_executions(store, ["/laptop/r/a.ipynb"])] == [
        "a" * 32
    ]
    bobs = notebook_executions(
        store, ["/laptop/r/a.ipynb"], notebook_key="git:a.ipynb", author="bob@example.com"
    )
    assert [r["execution_id"] for r in bobs] == ["b" * 32]
    counts = notebook_counts(store, ["/laptop/r/a.ipynb"], notebook_key="git:a.ipynb")
    assert counts["total"] == 2 and counts["failed"] == 1
    assert counts["authors"] == ["bob@example.com", "olduser"]
