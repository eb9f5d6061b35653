"""Static analysis of a cell: which names it reads, binds and deletes.

Pure functions over source text, cached by the source's hash: re-running a
cell costs a dictionary lookup, not a parse (DESIGN §8: parse + walk of a
50-line cell is ~1.3 ms).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

# Names IPython keeps in the user namespace for its own bookkeeping.
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh", "_"})
_IPYTHON_NAME_RE = re.compile(r"^_+$|^_i+$|^_i?\d+$|^_ii*$")

# Calls that set a random seed: the last dotted component and the libraries it belongs to.
_SEED_CALLS = {
    "seed": ("random", "np.random", "numpy.random"),
    "manual_seed": ("torch", "torch.cuda"),
    "manual_seed_all": ("torch.cuda",),
    "set_seed": ("tf.random", "tensorflow.random", "transformers", "keras.utils"),
    "default_rng": ("np.random", "numpy.random"),
    "RandomState": ("np.random", "numpy.random"),
    "PRNGKey": ("jax.random", "random"),
}

_INSTALL_RE = re.compile(
    r"^\s*(?:[%!]{1,2}\s*)?(?:pip|pip3|conda|mamba|uv|micromamba)\b"
    r"|get_ipython\(\)\.(?:run_line_magic|system)\(['\"](?:pip|conda|mamba|uv)",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class SeedCall:
    """A seed-setting call found in a cell, e.g. ``np.random.seed(42)``."""

    call: str
    argument: str
    literal: object = None


@dataclass(frozen=True, slots=True)
class CellAnalysis:
    """What a cell's code reads, binds and deletes, in terms of global names."""

    reads: tuple[str, ...]
    binds: tuple[str, ...]
    deletes: tuple[str, ...]
    imports: tuple[str, ...]
    seeds: tuple[SeedCall, ...]
    installs_packages: bool
    syntax_error: str | None = None


def is_ipython_name(name: str) -> bool:
    """True for names IPython itself maintains (``_``, ``_i3``, ``Out``...)."""
    return name in _IPYTHON_NAMES or bool(_IPYTHON_NAME_RE.match(name))


def analyse(source: str) -> CellAnalysis:
    """Analyse transformed (plain Python) cell source; results are cached by source."""
    return _analyse_cached(source)


@lru_cache(maxsize=1024)
def _analyse_cached(source: str) -> CellAnalysis:
    installs = bool(_INSTALL_RE.search(source))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        return CellAnalysis(
            (), (), (), (), (), installs, syntax_error=f"{type(exc).__name__}: {exc}"
        )
    visitor = _GlobalNames()
    visitor.visit(tree)
    binds = tuple(n for n in dict.fromkeys(visitor.stores) if not is_ipython_name(n))
    deletes = tuple(n for n in dict.fromkeys(visitor.dels) if n not in visitor.stores)
    return CellAnalysis(
        reads=tuple(n for n in dict.fromkeys(visitor.reads) if not is_ipython_name(n)),
        binds=binds,
        deletes=deletes,
        imports=tuple(dict.fromkeys(visitor.imports)),
        seeds=tuple(_find_seed_calls(tree)),
        installs_packages=installs or any(n in ("pip", "site") for n in visitor.imports),
    )


class _GlobalNames(ast.NodeVisitor):
    """Collects global names read, bound and deleted, walking in evaluation order.

    A name is *read* (an input) when it is loaded before this cell has bound
    it. Names local to a function, lambda or comprehension are not globals
    and are left out; names a function declares ``global`` are kept. Loads
    inside function bodies count: calling the function later reads them.
    """

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.stores: list[str] = []
        self.dels: list[str] = []
        self.imports: list[str] = []
        self._bound: set[str] = set()
        self._scopes: list[set[str]] = []  # local names of enclosing function scopes
        self._globals: list[set[str]] = []

    def _load(self, name: str) -> None:
        if name not in self._bound:
            self.reads.append(name)

    def _store(self, name: str) -> None:
        self.stores.append(name)
        self._bound.add(name)

    def _is_local(self, name: str) -> bool:
        if not self._scopes:
            return False
        if name in self._globals[-1]:
            return False
        return any(name in scope for scope in self._scopes)

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            if not self._is_local(name):
                self._load(name)
        elif isinstance(node.ctx, ast.Store):
            if not self._scopes or name in self._globals[-1]:
                self._store(name)
        elif isinstance(node.ctx, ast.Del) and (not self._scopes or name in self._globals[-1]):
            self.dels.append(name)
            self._bound.add(name)

    def _bind(self, name: str) -> None:
        if not self._scopes or name in self._globals[-1]:
            self._store(name)
        else:
            self._scopes[-1].add(name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(alias.name.split(".")[0])
            self._bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self.imports.append(node.module.split(".")[0])
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        if not isinstance(node, ast.Lambda):
            for dec in node.decorator_list:
                self.visit(dec)
            if node.returns:
                self.visit(node.returns)
            self._bind(node.name)
        args = node.args
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        if args.vararg:
            params.add(args.vararg.arg)
        if args.kwarg:
            params.add(args.kwarg.arg)
        body: list[ast.stmt] = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
        declared_global: set[str] = set()
        for sub in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(sub, ast.Global):
                declared_global.update(sub.names)
        locals_ = params | {
            n.id
            for sub in body
            for n in ast.walk(sub)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        self._scopes.append(locals_ - declared_global)
        self._globals.append(declared_global)
        for stmt in body:
            self.visit(stmt)
        self._scopes.pop()
        self._globals.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        # The class body's own assignments are class attributes, not globals.
        self._scopes.append(set())
        self._globals.append(set())
        for stmt in node.body:
            self.visit(stmt)
        self._scopes.pop()
        self._globals.pop()
        self._bind(node.name)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        targets = {
            n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
        }
        # The first iterable is evaluated in the enclosing scope.
        self.visit(node.generators[0].iter)
        self._scopes.append(targets)
        self._globals.append(self._globals[-1] if self._globals else set())
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self._scopes.pop()
        self._globals.pop()

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension
    visit_DictComp = _visit_comprehension

    # Evaluation order: the value before the targets it is bound to.
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        # `x += 1` reads x before binding it.
        if isinstance(node.target, ast.Name):
            if not self._is_local(node.target.id):
                self._load(node.target.id)
        else:
            self.visit(node.target)
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for stmt in node.body:
            self.visit(stmt)


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _find_seed_calls(tree: ast.AST) -> list[SeedCall]:
    found: list[SeedCall] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if not name:
            continue
        owner, _, last = name.rpartition(".")
        libraries = _SEED_CALLS.get(last)
        if (
            libraries is None
            or (owner and owner not in libraries)
            or (not owner and last != "set_seed")
        ):
            continue
        arg_node = node.args[0] if node.args else None
        if arg_node is None:
            for kw in node.keywords:
                if kw.arg in ("seed", "a"):
                    arg_node = kw.value
                    break
        if arg_node is None:
            found.append(SeedCall(name, ""))
            continue
        try:
            literal = ast.literal_eval(arg_node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = None
        found.append(SeedCall(name, ast.unparse(arg_node)[:200], literal))
    return found
