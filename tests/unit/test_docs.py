"""The README documents every view column and every CLI command there is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_lineage.cli import build_parser
from jupyter_lineage.journal import JournalWriter
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.duckdb import VIEWS

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _documented_columns(view: str) -> set[str]:
    """Column names in the README paragraph (and table) that starts with **`view`**."""
    start = README.index(f"**`{view}`**")
    ends = [README.find(mark, start + 1) for mark in ("\n**`", "\nExamples:", "\n## ")]
    section = README[start : min(e for e in ends if e > 0)]
    names = set(re.findall(r"`([a-z_0-9]+)`", section)) - {view}
    for other in re.findall(r"the columns of `([a-z_]+)`", section):
        names |= _documented_columns(other)
    return names


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    root = tmp_path_factory.mktemp("docs") / ".lineage"
    JournalWriter(root / "journal", "s").close()
    s = DuckDBStore(root)
    s.ingest()
    return s


@pytest.mark.parametrize("view", VIEWS)
def test_view_columns_documented(store: DuckDBStore, view: str) -> None:
    actual = set(store.query(f"DESCRIBE {view}", ingest=False)["column_name"])
    documented = _documented_columns(view)
    if view == "cell_inputs":
        documented.discard("action")  # documented as outputs-only
    assert actual - documented == set(), f"undocumented columns of {view}"
    values = {
        *("read", "write", "readwrite", "content", "identity", "timeout", "error", "ok", "failed"),
        *("interrupted", "incomplete", "magic", "auto", "assigned", "mutated", "deleted", "call"),
        *(
            "argument",
            "value",
            "cell_outputs",
            "environments",
            "captured",
            "note",
            "failed_attempt",
        ),
        *("annotations", "experiments", "open", "ended", "success", "failure", "inconclusive"),
        *("execution", "file", "model", "experiment", "type", "target", "fingerprint", "sha256"),
        *("tier", "passed", "waived", "transition", "waiver", "artifact"),
        *("environment", "code", "used", "generated", "derived_from", "ran_in", "declared"),
        *("detected", "review", "reviewed", "shell", "bash", "sh", "zsh"),
    }
    assert documented - actual - values == set(), f"README lists columns {view} does not have"


def test_every_cli_command_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, subparser in sub.choices.items():
        assert f"`jupyter-lineage {name}" in README, name
        assert subparser.epilog and "example" in subparser.epilog, name


def test_every_magic_documented() -> None:
    for magic in ("%%lineage", "%lineage on", "%lineage_sql", "%%lineage_sql", "%lineage_config"):
        assert f"`{magic}" in README, magic
