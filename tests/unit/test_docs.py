"""The docs and the code agree.

The reference pages docs/gen_reference.py writes are what it writes today; every view column has a
description and every description a column; every CLI command and magic is documented with an
example; the README keeps its two commands and stays a front door; the site builds with no broken
link.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jupyter_lineage.cli import build_parser
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.duckdb import VIEWS

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")

# The README's two commands, exactly: CI runs the second one verbatim.
DEMO_COMMAND = """\
python3 -m venv .venv && . .venv/bin/activate
pip install . && jupyter-lineage run notebooks/quickstart.ipynb -o notebooks/quickstart.out.ipynb && jupyter-lineage --store notebooks/.lineage card churn-logreg -o notebooks/churn-logreg-card.html
"""
TEST_COMMAND = """\
python3 -m venv .venv && . .venv/bin/activate
pip install ".[test]" && python -m pytest
"""


def _generator() -> ModuleType:
    """docs/gen_reference.py, for its pure helpers (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(page: str, anchor: str) -> str:
    """The part of a generated page from the heading with ``{#anchor}`` to the next heading of its level."""
    match = re.search(rf"^(#+) .*\{{#{re.escape(anchor)}\}}$", page, flags=re.MULTILINE)
    assert match, f"no heading {{#{anchor}}}"
    rest = page[match.end() :]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_generated_pages_match_the_code() -> None:
    # In a subprocess: the generator loads the extension into an IPython shell, which must not be
    # this process's shell (other tests use InteractiveShell.instance()).
    out = subprocess.run(
        [sys.executable, str(DOCS / "gen_reference.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("docs") / ".lineage")
    s.ingest()
    return s


@pytest.fixture(scope="module")
def described() -> dict[str, dict[str, str]]:
    return gen.described_columns(gen.load_view_descriptions())


@pytest.mark.parametrize("view", VIEWS)
def test_view_columns_described(
    store: DuckDBStore, described: dict[str, dict[str, str]], view: str
) -> None:
    actual = list(store.query(f"DESCRIBE {view}", ingest=False)["column_name"])
    assert view in described, f"describe {view} in docs/reference/views.yml"
    meanings = described[view]
    assert [c for c in actual if not str(meanings.get(c, "")).strip()] == [], (
        f"columns of {view} without a description in docs/reference/views.yml"
    )
    assert set(meanings) - set(actual) == set(), (
        f"docs/reference/views.yml describes columns {view} does not have"
    )
    section = _section(_page("reference/views.md"), view)
    assert [c for c in actual if f"| `{c}` |" not in section] == []


def test_every_described_view_exists(described: dict[str, dict[str, str]]) -> None:
    assert set(described) - set(VIEWS) == set()


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


@pytest.mark.parametrize(
    ("path", "parser"),
    [
        pytest.param(path, p, id=" ".join(path) or "jupyter-lineage")
        for path, p in _commands(build_parser())
    ],
)
def test_every_cli_command_documented_with_an_example(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    examples, _ = gen.split_epilog(parser.epilog)
    assert examples, f"give `jupyter-lineage {' '.join(path)}` an example in its epilog"
    section = _section(_page("reference/cli.md"), "-".join(path) or "jupyter-lineage")
    for example in examples:
        assert example in section
    for action in parser._actions:
        for option in action.option_strings:
            assert option in section or action.dest == "help", option


def _registered_magics() -> list[dict[str, Any]]:
    """The magics %load_ext jupyter_lineage registers, with their docstrings (in a fresh
    interpreter, for the reason given in test_generated_pages_match_the_code)."""
    script = """
import json, inspect
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "jupyter_lineage")
found = {}
for kind, magics in shell.magics_manager.magics.items():
    for name, fn in magics.items():
        if name.startswith("lineage"):
            parser = getattr(getattr(fn, "__func__", fn), "parser", None)
            doc = parser.description if parser is not None else fn.__doc__
            found[name] = {"name": name, "doc": inspect.cleandoc(doc or "")}
print(json.dumps(sorted(found.values(), key=lambda m: m["name"])))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def test_every_magic_documented_with_an_example() -> None:
    page = _page("reference/magics.md")
    magics = _registered_magics()
    assert {"lineage", "lineage_sql", "lineage_note"} <= {m["name"] for m in magics}
    undocumented = []
    for magic in magics:
        examples = gen.magic_examples(magic)
        if not examples:
            undocumented.append(f"%{magic['name']} has no example in its docstring")
            continue
        section = _section(page, magic["name"])
        undocumented += [f"%{magic['name']}: {e}" for e in examples if e not in section]
    assert undocumented == []


def test_magic_line_rule_on_both_pages() -> None:
    """The rule for reading a magic's line is stated where people look it up and where trust is explained."""
    rule = DOCS / "snippets" / "free-text.md"
    assert "verbatim to the end of the line" in rule.read_text(encoding="utf-8")
    for page in ("reference/magics.md", "reliability.md"):
        assert '--8<-- "free-text.md"' in _page(page), page


def test_readme_keeps_its_two_commands() -> None:
    section = README[README.index("## Two commands") :]
    section = section[: section.index("\n## ", 1)]
    fenced = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert fenced == [DEMO_COMMAND, TEST_COMMAND]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND.splitlines()[1] in ci.splitlines()


def test_readme_is_a_front_door() -> None:
    assert len(README.encode()) <= 12 * 1024
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README):
        assert (ROOT / target).exists(), target


def test_site_builds_without_a_broken_link(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "reference" / "views" / "index.html").exists()
