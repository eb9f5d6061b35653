"""Environment snapshots against the real interpreter, file system and git."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_lineage.capture.environment import (
    DEFAULT_ENV_ALLOWLIST,
    ENV_ALLOW_VARIABLE,
    EnvironmentCapture,
    allowed_env_names,
    compute_environment_id,
    git_info,
    normalize_package_name,
)
from jupyter_lineage.urls import strip_credentials

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# Subprocesses started while a test listens, seen through the interpreter's audit events.
_spawned: list[object] | None = None
_hook_installed = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _spawned is not None:
        _spawned.append(args[1])


@pytest.fixture
def spawned() -> Iterator[list[object]]:
    """The argv of every subprocess started during the test."""
    global _spawned, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    _spawned = []
    try:
        yield _spawned
    finally:
        _spawned = None


# The tests' own git commands ignore the user's and the system's git configuration.
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=Test", *args],
        cwd=repo,
        env=GIT_ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit of ``train.py`` on branch ``main``."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('train')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_packages_agree_with_importlib_metadata(tmp_path: Path) -> None:
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            expected.setdefault(normalize_package_name(name), dist.version)

    env = EnvironmentCapture(tmp_path).snapshot()

    assert expected, "importlib.metadata found no distributions"
    assert env.packages == expected


def test_machine_fields_describe_this_interpreter(tmp_path: Path) -> None:
    env = EnvironmentCapture(tmp_path).snapshot()

    assert env.python_version == platform.python_version()
    assert env.python_implementation == platform.python_implementation()
    assert env.python_executable == sys.executable
    assert env.platform == platform.platform()
    assert env.os_name == platform.system()
    assert env.cpu_count == os.cpu_count()
    assert env.captured_at.endswith("+00:00")
    if sys.platform.startswith("linux"):
        assert env.ram_bytes and env.ram_bytes > 0
    if shutil.which("nvidia-smi") is None:
        assert env.gpus == []
    assert env.environment_id == compute_environment_id(env.to_json())


@needs_git
def test_unchanged_snapshot_is_cached_and_runs_no_subprocess(
    repo: Path, spawned: list[object]
) -> None:
    capture = EnvironmentCapture(repo)
    spawned.clear()
    first = capture.snapshot()
    assert spawned, "the first snapshot runs git"

    spawned.clear()
    second = capture.snapshot()
    assert second is first
    assert spawned == []

    capture.invalidate()
    third = capture.snapshot()
    assert spawned, "invalidate() makes the next snapshot read git again"
    # Same content, same record: a thousand cells share one environment row.
    assert third is first


def test_environment_id_is_stable_and_follows_allowlisted_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = EnvironmentCapture(tmp_path)
    a = capture.snapshot()
    b = EnvironmentCapture(tmp_path).snapshot()
    assert a.environment_id == b.environment_id

    value = "7" if os.environ.get("OMP_NUM_THREADS") != "7" else "5"
    monkeypatch.setenv("OMP_NUM_THREADS", value)

    c = EnvironmentCapture(tmp_path).snapshot()
    assert c.env_vars["OMP_NUM_THREADS"] == value
    assert c.environment_id != a.environment_id
    # The long-lived instance notices too, without invalidate().
    assert capture.snapshot().environment_id == c.environment_id


def test_secret_looking_variables_are_never_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCY",
        "MY_API_TOKEN": "tok-3f9a1c77e2",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MY_EXPERIMENT", "baseline")
    monkeypatch.setenv(ENV_ALLOW_VARIABLE, "AWS_SECRET_ACCESS_KEY, MY_API_TOKEN,MY_EXPERIMENT")

    env = EnvironmentCapture(tmp_path, extra_allow=["MY_API_TOKEN"]).snapshot()

    assert env.env_vars["MY_EXPERIMENT"] == "baseline"
    assert not set(secrets) & set(env.env_vars)
    text = json.dumps(env.to_json())
    for value in secrets.values():
        assert value not in text


def test_allowed_names_keep_defaults_and_refuse_secrets() -> None:
    names = allowed_env_names(["DB_PASSWORD", "github_token", "SEED"], "X_AUTH_HEADER,,RUN_NAME ")
    assert names[: len(DEFAULT_ENV_ALLOWLIST)] == DEFAULT_ENV_ALLOWLIST
    assert names[len(DEFAULT_ENV_ALLOWLIST) :] == ("SEED", "RUN_NAME")


@needs_git
def test_git_state_of_a_real_repository(repo: Path) -> None:
    capture = EnvironmentCapture(repo / "notebooks")  # found by walking up
    env = capture.snapshot()
    assert env.git is not None
    assert env.git["root"] == str(repo)
    assert env.git["commit"] == git(repo, "rev-parse", "HEAD")
    assert env.git["branch"] == "main"
    assert env.git["dirty"] is False
    assert env.git["diff_sha256"] is None

    (repo / "train.py").write_text("print('train, edited')\n")
    git(repo, "add", "train.py")  # rewrites .git/index, which the change key watches
    dirty = capture.snapshot()
    assert dirty.git is not None
    assert dirty.git["dirty"] is True
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--binary"], cwd=repo, env=GIT_ENV, check=True, capture_output=True
    ).stdout
    assert dirty.git["diff_sha256"] == hashlib.sha256(diff).hexdigest()
    assert dirty.environment_id != env.environment_id

    git(repo, "commit", "-q", "-m", "second")
    committed = capture.snapshot()
    assert committed.git is not None
    assert committed.git["commit"] == git(repo, "rev-parse", "HEAD") != env.git["commit"]
    assert committed.git["dirty"] is False

    git(repo, "remote", "add", "origin", "https://alice:s3cr3t@example.com/org/repo.git")
    remote = capture.snapshot()
    assert remote.git is not None
    assert remote.git["remote_url"] == "https://example.com/org/repo.git"
    assert "s3cr3t" not in json.dumps(remote.to_json())


@needs_git
def test_untracked_files_do_not_make_a_repository_dirty(repo: Path) -> None:
    (repo / "model.pkl").write_bytes(b"weights")
    info = git_info(repo)
    assert info is not None
    assert info["dirty"] is False


@needs_git
def test_git_info_in_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "experiment"
    git(repo, "worktree", "add", "-q", "-b", "experiment", str(worktree))
    (worktree / "train.py").write_text("print('experiment')\n")
    git(worktree, "add", "train.py")
    git(worktree, "commit", "-q", "-m", "experiment")

    info = git_info(worktree)
    assert info is not None
    assert info["root"] == str(worktree)
    assert info["branch"] == "experiment"
    assert info["commit"] == git(worktree, "rev-parse", "HEAD")
    assert info["commit"] != git(repo, "rev-parse", "HEAD")


def test_outside_a_repository_git_is_none(tmp_path: Path) -> None:
    assert git_info(tmp_path) is None
    assert EnvironmentCapture(tmp_path).snapshot().git is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/x", "https://host/x"),
        ("https://ghp_abc123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("ssh://git:pw@host:2222/org/repo.git", "ssh://git@host:2222/org/repo.git"),
        ("ssh://git@host/org/repo.git", "ssh://git@host/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
    ],
)
def test_strip_url_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def _write_dist_info(site: Path, dirname: str, name: str, version: str) -> Path:
    dist = site / dirname
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    return dist


def test_a_new_distribution_on_sys_path_changes_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    capture = EnvironmentCapture(tmp_path)
    monkeypatch.syspath_prepend(str(site))
    before = capture.snapshot()
    assert "foo-pkg" not in before.packages

    dist = _write_dist_info(site, "foo_pkg-1.2.3.dist-info", "foo_pkg", "1.2.3")
    installed = capture.snapshot()
    assert installed.packages["foo-pkg"] == "1.2.3"
    assert installed.environment_id != before.environment_id

    shutil.rmtree(dist)
    removed = capture.snapshot()
    assert "foo-pkg" not in removed.packages
    assert removed.environment_id == before.environment_id


def test_first_distribution_on_sys_path_wins_and_odd_names_are_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _write_dist_info(first, "Foo.Pkg-2.0.dist-info", "Foo.Pkg", "2.0")
    _write_dist_info(second, "foo_pkg-1.0.dist-info", "foo-pkg", "1.0")
    # No version in the name: read from PKG-INFO, as for a source checkout.
    (first / "local_tool.egg-info").mkdir()
    (first / "local_tool.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 1.2\nName: local-tool\nVersion: 0.4.dev0\n\n"
    )
    (first / "legacy-3.1-py3.11.egg-info").write_text("Name: legacy\nVersion: 3.1\n\n")
    (first / "broken.dist-info").mkdir()  # neither a version nor METADATA
    (first / "~umpy-1.0.dist-info").mkdir()  # left behind by an interrupted pip
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    monkeypatch.syspath_prepend(str(tmp_path / "missing"))
    monkeypatch.syspath_prepend(str(first / "legacy-3.1-py3.11.egg-info"))  # a file

    packages = EnvironmentCapture(tmp_path).snapshot().packages

    assert packages["foo-pkg"] == "2.0"
    assert packages["local-tool"] == "0.4.dev0"
    assert packages["legacy"] == "3.1"
    assert "broken" not in packages
    assert not any(name.startswith("~") for name in packages)


def test_container_image_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = "sha256:" + "ab" * 32
    monkeypatch.setenv("JUPYTER_IMAGE_SPEC", f"quay.io/org/notebook@{digest}")
    env = EnvironmentCapture(tmp_path).snapshot()
    assert env.container is not None
    assert env.container["image"] == f"quay.io/org/notebook@{digest}"
    assert env.container["image_digest"] == digest
