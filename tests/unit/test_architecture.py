"""The package's shape: SQL lives in ``store/``, and the layers point one way (``lint-imports``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "jupyter_lineage"

# What SQL to run looks like: a string that starts with a statement (a message may quote
# SQL for the user to type, after other words).
_SQL = re.compile(
    r"^\s*(WITH\s+\w+\s+AS\b|SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|"
    r"CREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|VIEW|INDEX)|DROP\s+(TABLE|VIEW)|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant that is not a docstring, with its line."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):  # an f-string: read as one string, below
            docstrings.update(id(v) for v in node.values)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            found.append((node.lineno, text))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            found.append((node.lineno, node.value))
    return found


def sql_outside_store() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "store":
            continue
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if _SQL.search(text):
                found.append(f"{relative}:{line}: {text.strip()[:60]!r}")
    return found


def test_no_sql_outside_the_store_package() -> None:
    assert sql_outside_store() == []


def test_the_check_finds_sql_where_it_is() -> None:
    tree = ast.parse('"""SELECT doc FROM x"""\nq = "select name from runs"\nr = f"DELETE FROM {t}"')
    texts = [t for _, t in _strings(tree) if _SQL.search(t)]
    assert texts == ["select name from runs", "DELETE FROM "]


def test_the_import_contracts_hold() -> None:
    # The contracts are in pyproject.toml; CI runs `lint-imports` too, this keeps a local run honest.
    pytest.importorskip("importlinter")
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(PACKAGE.parents[1] / "pyproject.toml")) == 0


def unresolved_relative_imports() -> list[str]:
    """Relative imports (function-level ones included, which only run when called) naming a
    module that does not exist."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        package = path.parent
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = package
            for _ in range(node.level - 1):
                base = base.parent
            target = base.joinpath(*node.module.split(".")) if node.module else base
            if not (target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()):
                missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.module}")
                continue
            if target.is_dir():  # `from .package import name`: name may be a module of it
                for alias in node.names:
                    module = target / alias.name
                    defined = (target / "__init__.py").read_text(encoding="utf-8")
                    if not (
                        module.with_suffix(".py").is_file()
                        or (module / "__init__.py").is_file()
                        or re.search(rf"\b{re.escape(alias.name)}\b", defined)
                    ):
                        missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {alias.name}")
    return missing


def test_every_relative_import_names_a_module_that_exists() -> None:
    assert unresolved_relative_imports() == []


def _nodes() -> list[tuple[str, ast.AST]]:
    """Every syntax node of the package, with its module's path."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [(str(path.relative_to(PACKAGE)), node) for node in ast.walk(tree)]
    return found


def test_one_of_each_helper() -> None:
    """Hashing a file, scrubbing a URL's credentials, decoding a JSON column, a check's
    finding and the execution-id rule each live in one place."""
    functions: dict[str, list[str]] = {}
    classes: dict[str, list[str]] = {}
    hex_patterns = []
    for where, node in _nodes():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(node.name, []).append(where)
        elif isinstance(node, ast.ClassDef):
            classes.setdefault(node.name, []).append(where)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.search(r"\[0-9a-f\]\{\d", node.value)
            and "{64}" not in node.value  # a SHA-256's 64 digits are no id
        ):
            hex_patterns.append(where)
    assert functions["sha256_file"] == ["hashing.py"]
    assert functions["strip_credentials"] == ["urls.py"]
    assert functions["json_column"] == ["store/rows.py"]
    # The session's method of that name adds LAST and calls the one function.
    assert sorted(functions["resolve_execution"]) == ["session.py", "store/base.py"]
    assert classes["Finding"] == ["checks/findings.py"]
    assert set(hex_patterns) == {"ids.py"}
    for gone in ("_json", "sha256_of", "redact_url", "strip_url_credentials", "_records"):
        assert gone not in functions, (gone, functions.get(gone))


def test_no_package_function_shares_its_name_with_a_submodule() -> None:
    """Importing ``package.name`` binds the submodule to ``package.name``, so a function of
    the same name in the package's ``__init__`` stops being callable once anything imports
    that submodule (as ``cards.bom`` once did)."""
    clashes = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        names = {
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        submodules = {p.stem for p in init.parent.glob("*.py")} | {
            p.name for p in init.parent.iterdir() if (p / "__init__.py").is_file()
        }
        clashes += [f"{init.parent.relative_to(PACKAGE)}.{n}" for n in sorted(names & submodules)]
    assert clashes == []
