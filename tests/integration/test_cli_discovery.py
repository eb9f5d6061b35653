"""How ``jupyter-lineage`` finds its store: as git finds its directory, on real store directories."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage.cli import main

REPO = Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory of the test's own, and no store named by the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTER_LINEAGE_DIR", raising=False)
    monkeypatch.delenv("JUPYTER_LINEAGE_STORE", raising=False)
    return home


def make_store(directory: Path) -> Path:
    """A real store: ``migrate`` creates its DuckDB file with the current schema."""
    store = directory / ".lineage"
    directory.mkdir(parents=True, exist_ok=True)
    assert main(["--store", str(store), "migrate"]) == 0
    assert (store / "lineage.duckdb").is_file()
    return store


def info_store(
    args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The store ``jupyter-lineage ARGS info --json`` reports, run in ``cwd``."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    assert main([*args, "info", "--json"]) == 0
    return Path(json.loads(capsys.readouterr().out)["store_dir"])


def failure(
    args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The one-line error of ``jupyter-lineage ARGS``, which must fail with exit code 2."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("jupyter-lineage: ") and err.count("\n") == 1, err
    return err


def test_each_step_of_the_precedence(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = home / "project"
    parent_store = make_store(project)
    here = project / "analysis"
    here_store = make_store(here)
    (project / "other").mkdir()
    env_store = make_store(home / "elsewhere")
    flag_store = make_store(home / "chosen")

    # ./.lineage before a parent's
    assert info_store([], here, capsys, monkeypatch) == here_store.resolve()
    # a parent's when there is none here
    assert info_store([], project / "other", capsys, monkeypatch) == parent_store.resolve()
    # $JUPYTER_LINEAGE_DIR before ./.lineage
    monkeypatch.setenv("JUPYTER_LINEAGE_DIR", str(env_store))
    assert info_store([], here, capsys, monkeypatch) == env_store.resolve()
    # --store before everything, before or after the command's name
    assert info_store(["--store", str(flag_store)], here, capsys, monkeypatch) == flag_store
    monkeypatch.chdir(here)
    capsys.readouterr()
    assert main(["info", "--json", "--store", str(flag_store)]) == 0
    assert json.loads(capsys.readouterr().out)["store_dir"] == str(flag_store)


def test_store_after_any_command(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested commands (model ..., graph ...) take --store after their names as well."""
    store = make_store(home / "p")
    monkeypatch.chdir(home)
    capsys.readouterr()
    assert main(["model", "search", "tag:none", "--store", str(store)]) == 0
    assert main(["graph", "upstream", "var:nothing", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "no store" not in err and err.startswith("jupyter-lineage: ")


def test_a_reading_command_pointed_at_no_store_says_so_and_makes_none(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = home / "projcet" / ".lineage"
    for args in (
        ["--store", str(typo), "sql", "SELECT 1"],
        ["card", "churn", "--store", str(typo)],
        ["graph", "upstream", "var:x", "--store", str(typo)],
    ):
        err = failure(args, home, capsys, monkeypatch)
        assert f"no store at {typo} (from --store)" in err, err
    monkeypatch.setenv("JUPYTER_LINEAGE_DIR", str(typo))
    err = failure(["info"], home, capsys, monkeypatch)
    assert "(from $JUPYTER_LINEAGE_DIR)" in err
    assert not typo.parent.exists()
    # Making a store there is still what migrate is for.
    monkeypatch.delenv("JUPYTER_LINEAGE_DIR")
    assert main(["--store", str(typo), "migrate"]) == 0
    assert info_store(["--store", str(typo)], home, capsys, monkeypatch) == typo


def test_the_walk_up_finds_a_parents_store_from_deep_inside(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(home / "project")
    deep = home / "project" / "notebooks" / "2024" / "q3"
    deep.mkdir(parents=True)
    assert info_store([], deep, capsys, monkeypatch) == store.resolve()
    # inside the store itself, its own journal directory: the store is a parent's .lineage
    (store / "journal").mkdir(exist_ok=True)
    assert info_store([], store / "journal", capsys, monkeypatch) == store.resolve()


def test_an_empty_lineage_directory_is_passed_over(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(home / "project")
    here = home / "project" / "sub"
    (here / ".lineage").mkdir(parents=True)  # made by hand, or by a tool: nothing in it
    assert info_store([], here, capsys, monkeypatch) == store.resolve()


def test_the_walk_stops_at_the_home_directory(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store(tmp_path)  # above the home directory: someone else's
    work = home / "work"
    work.mkdir()
    err = failure(["info"], work, capsys, monkeypatch)
    assert f"no store in {work.resolve()}, its parents or the directories below it" in err
    assert "--store DIR" in err
    home_store = make_store(home)  # the home directory's own store is still found
    assert info_store([], work, capsys, monkeypatch) == home_store.resolve()


def test_the_only_store_below_is_used_and_named(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = home / "repo"
    store = make_store(repo / "notebooks")
    monkeypatch.chdir(repo)
    capsys.readouterr()
    assert main(["info", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["store_dir"] == str(store.resolve())
    assert err == (
        "jupyter-lineage: using notebooks/.lineage, the one store below here "
        "(--store DIR picks another)\n"
    )


def test_several_stores_below_are_listed_with_how_to_pick_one(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = home / "repo"
    for name in ("a", "b/deeper", "c", "d", "e"):
        make_store(repo / name)
    # never searched: a git directory, hidden ones, node_modules, a virtual environment
    make_store(repo / ".git" / "x")
    make_store(repo / ".cache" / "x")
    make_store(repo / "node_modules" / "pkg")
    venv = repo / "env"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    make_store(venv / "share")
    # deeper than the search goes
    make_store(repo / "x" / "y" / "z" / "w")

    err = failure(["sql", "SELECT 1"], repo, capsys, monkeypatch)
    assert err == (
        f"jupyter-lineage: no store in {repo.resolve()} or its parents, and 5 below it: "
        "a/.lineage, c/.lineage, d/.lineage and 2 more; pick one with --store PATH "
        "(e.g. --store a/.lineage) or cd into its directory\n"
    )
    # the advice works
    assert info_store(["--store", "b/deeper/.lineage"], repo, capsys, monkeypatch) == (
        repo / "b" / "deeper" / ".lineage"
    )
    assert (
        info_store([], repo / "b" / "deeper", capsys, monkeypatch)
        == (repo / "b" / "deeper" / ".lineage").resolve()
    )


def test_migrate_makes_a_store_here_when_there_is_none(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = home / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    assert main(["migrate"]) == 0
    assert (fresh / ".lineage" / "lineage.duckdb").is_file()


# -- the help's own examples, verbatim -------------------------------------------------


def _shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_LINEAGE_")}
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _help_examples(text: str) -> list[str]:
    lines = text.split("\nexamples:\n", 1)[1].splitlines()
    examples = []
    for line in lines:
        if not line.startswith("  "):
            break
        examples.append(line.strip())
    return examples


def test_the_help_examples_then_the_printed_next_commands_work_as_written(home: Path) -> None:
    """A clean copy of the repository's layout: run the quickstart as --help says, then each
    of the help's examples, then each command the run printed, all from the top directory."""
    repo = home / "repo"
    (repo / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", repo / "notebooks" / "quickstart.ipynb")
    env = _shell_env(home)

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        return proc

    examples = _help_examples(shell("jupyter-lineage --help").stdout)
    assert examples[0] == "jupyter-lineage run notebooks/quickstart.ipynb"
    ran = shell(examples[0])
    assert (repo / "notebooks" / ".lineage" / "lineage.duckdb").is_file()
    assert re.search(r"^\[8/\d+\] error \(expected: raises-exception\) ", ran.stderr, re.M)
    assert "captured 9 cell run(s) (0 failed, 1 expected error(s))" in ran.stdout

    outputs = {example: shell(example) for example in examples[1:]}
    info = outputs["jupyter-lineage info"]
    assert f"store:          {repo / 'notebooks' / '.lineage'}" in info.stdout
    assert "using notebooks/.lineage, the one store below here" in info.stderr
    # the record keeps the deliberate failure as what happened: a failed attempt
    with open(repo / "failures.csv", newline="", encoding="utf-8") as f:
        failures = list(csv.DictReader(f))
    assert [(r["name"], r["error_type"]) for r in failures] == [("train", "ValueError")]

    next_lines = ran.stdout.split("\nnext:\n", 1)[1].splitlines()
    commands = [line.strip() for line in next_lines if line.startswith("  ")]
    assert commands == [
        "jupyter-lineage --store notebooks/.lineage info",
        "jupyter-lineage --store notebooks/.lineage card churn-logreg -o churn-logreg-card.html",
        "jupyter-lineage --store notebooks/.lineage graph upstream model:churn-logreg",
    ]
    done = {command: shell(command) for command in commands}
    assert "runs:" in done[commands[0]].stdout
    assert "<html" in (repo / "churn-logreg-card.html").read_text(encoding="utf-8")[:2000].lower()
    assert "train" in done[commands[2]].stdout
    # a run's next commands are ones a shell reads back as they were meant
    assert all(
        shlex.split(c)[:3] == ["jupyter-lineage", "--store", "notebooks/.lineage"] for c in commands
    )
