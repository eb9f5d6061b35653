"""Static analysis of a cell: which names it reads, binds and deletes.

Pure functions over source text, cached by the source's hash: re-running a
cell costs a dictionary lookup, not a parse (a parse and walk of a 50-line
cell costs about 1.3 ms).

IPython turns magics into calls (``%time f(x)`` becomes
``get_ipython().run_line_magic('time', 'f(x)')``). The magics that run Python
in the user's namespace (``%time``, ``%prun``, ``%timeit``, ``%%capture``...)
are analysed as if the magic were not there: their code is parsed and put in
place of the call. ``timeit`` runs its statement in a namespace of its own,
so what it binds is local to it, as in a function. Shell commands (``!cmd``,
``%%bash``) and scripts run with ``%run`` are collected for the record.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Names IPython keeps in the user namespace for its own bookkeeping.
_IPYTHON_NAMES = frozenset(
    {"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh", "_", "__", "___"}
)
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
    # (kind, command) of each shell command: ("shell", "ls -l") for ``!ls -l``,
    # ("bash", body) for a ``%%bash`` cell.
    commands: tuple[tuple[str, str], ...] = ()
    # Paths given to ``%run``: the names such a script binds are found by looking.
    scripts: tuple[str, ...] = ()
    # (access, "literal" or "name", value) of each path given to a call known to open
    # files outside Python (``df.to_parquet("x.parquet")``), which the audit hook cannot see.
    native_files: tuple[tuple[str, str, str], ...] = ()


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
    expander = _MagicExpander()
    if "get_ipython" in source:
        # IPython writes every magic and shell command as a call of get_ipython().
        tree = expander.visit(tree)
    visitor = _GlobalNames()
    visitor.visit(tree)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    binds = tuple(n for n in dict.fromkeys(visitor.stores) if not is_ipython_name(n))
    deletes = tuple(n for n in dict.fromkeys(visitor.dels) if n not in visitor.stores)
    return CellAnalysis(
        reads=tuple(n for n in dict.fromkeys(visitor.reads) if not is_ipython_name(n)),
        binds=binds,
        deletes=deletes,
        imports=tuple(dict.fromkeys(visitor.imports)),
        seeds=tuple(_find_seed_calls(calls)),
        installs_packages=installs or any(n in ("pip", "site") for n in visitor.imports),
        commands=tuple(expander.commands),
        scripts=tuple(expander.scripts),
        native_files=tuple(_find_native_files(calls)),
    )


# Calls whose library opens the file in native code (Arrow's C++ readers and writers,
# HDF5): the access, the position of the path argument and its keyword names.
_NATIVE_IO: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "read_parquet": ("read", 0, ("path",)),
    "read_feather": ("read", 0, ("path", "source")),
    "read_orc": ("read", 0, ("path",)),
    "read_table": ("read", 0, ("source",)),
    "ParquetFile": ("read", 0, ("source",)),
    "read_hdf": ("read", 0, ("path_or_buf",)),
    "to_parquet": ("write", 0, ("path",)),
    "to_feather": ("write", 0, ("path",)),
    "to_orc": ("write", 0, ("path",)),
    "to_hdf": ("write", 0, ("path_or_buf",)),
    "write_table": ("write", 1, ("where",)),
    "write_feather": ("write", 1, ("dest",)),
}


def _find_native_files(calls: list[ast.Call]) -> list[tuple[str, str, str]]:
    """Paths, as a string literal or a plain name, given to calls in ``_NATIVE_IO``."""
    found: list[tuple[str, str, str]] = []
    for node in calls:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        spec = _NATIVE_IO.get(name) if isinstance(name, str) else None
        if spec is None:
            continue
        access, position, keywords = spec
        arg: ast.expr | None = node.args[position] if len(node.args) > position else None
        for kw in node.keywords:
            if kw.arg in keywords:
                arg = kw.value
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append((access, "literal", arg.value))
        elif isinstance(arg, ast.Name):
            found.append((access, "name", arg.id))
    return found


# -- magics, seen through ----------------------------------------------------------

# Line magics that run their argument as Python in the user's namespace, with the
# single-letter options that take a value (as their own ``parse_options`` spec says).
_TRANSPARENT_LINE = {"time": None, "prun": "DlsT", "timeit": "nrp"}
# Cell magics that run their body as Python in the user's namespace.
_TRANSPARENT_CELL = {"time": None, "prun": "DlsT", "timeit": "nrp", "capture": "", "lineage": ""}
# Magics whose code runs in a namespace of its own: what it binds does not persist.
_OWN_NAMESPACE = frozenset({"timeit"})
_SHELL_LINE = frozenset({"sx", "system"})
_SHELL_CELL = frozenset({"bash", "sh", "zsh", "script"})
# ``%run``'s options that take a value.
_RUN_VALUE_OPTIONS = "NbDlsTm"
_TIMEIT = "<timeit>"


def _magic_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """``(method, string arguments)`` of a ``get_ipython().METHOD('...', ...)`` call."""
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = node.func
    if not (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
        and not func.value.args
    ):
        return None
    args = []
    for arg in node.args:
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
            return None
        args.append(arg.value)
    return func.attr, args


def _split_options(text: str, value_options: str | None) -> tuple[list[str], str]:
    """Leading ``-x`` options of a magic's argument, and the code after them.

    ``value_options`` lists the option letters that take a value (attached,
    ``-n10``, or the next word); ``None`` means the magic takes no options, so
    the whole text is code (``%time -x`` times ``-x``).
    """
    if value_options is None:
        return [], text
    words: list[str] = []
    rest = text.lstrip()
    while rest.startswith("-") and not rest.startswith("--"):
        word, _, after = rest.partition(" ")
        words.append(word)
        rest = after.lstrip()
        letters = word[1:]
        for i, letter in enumerate(letters):
            if letter in value_options:
                if i == len(letters) - 1 and rest:
                    value, _, after = rest.partition(" ")
                    words.append(value)
                    rest = after.lstrip()
                break
    return words, rest


@lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


_MAGIC_SYNTAX = re.compile(r"^\s*[%!]", re.MULTILINE)


def _parse_code(code: str) -> list[ast.stmt] | None:
    """Statements of a magic's code (itself possibly using magics), or None if it is not Python."""
    try:
        if _MAGIC_SYNTAX.search(code):
            code = _transformer().transform_cell(code)
        return ast.parse(code).body
    except (SyntaxError, ValueError, MemoryError, RecursionError, ImportError):
        return None


def _own_namespace(body: list[ast.stmt]) -> ast.FunctionDef:
    """``body`` as the body of a function, so what it binds stays local (``timeit``)."""
    fn = ast.FunctionDef(
        name=_TIMEIT,
        args=ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], defaults=[]
        ),
        body=body or [ast.Pass()],
        decorator_list=[],
        returns=None,
    )
    fn.type_params = []  # type: ignore[attr-defined]  # a field since Python 3.12
    return fn


class _MagicExpander(ast.NodeTransformer):
    """Replaces calls of transparent magics by the code they run; collects shell commands."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.scripts: list[str] = []

    def _code(self, code: str) -> list[ast.stmt] | None:
        body = _parse_code(code)
        if body is None:
            return None
        module = self.visit(ast.Module(body=body, type_ignores=[]))
        return list(module.body)

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = _magic_call(node.value)
        if call is not None:
            stmts = self._statements(*call)
            if stmts is not None:
                return stmts
        return self.generic_visit(node)

    def _statements(self, method: str, args: list[str]) -> list[ast.stmt] | None:
        if method == "run_line_magic" and len(args) == 2 and args[0] in _TRANSPARENT_LINE:
            name, line = args
            _, code = _split_options(line, _TRANSPARENT_LINE[name])
            body = self._code(code)
            if body is None:
                return None
            return [_own_namespace(body)] if name in _OWN_NAMESPACE else body
        if method == "run_cell_magic" and len(args) == 3 and args[0] in _TRANSPARENT_CELL:
            name, line, cell = args
            _, setup = _split_options(line, _TRANSPARENT_CELL[name])
            body = self._code(cell)
            if body is None:
                return None
            if name == "timeit":
                return [_own_namespace([*(self._code(setup) or []), *body])]
            if name == "capture":
                # ``%%capture out`` binds ``out`` once the body has run.
                names = [w for w in shlex_words(line) if not w.startswith("-")]
                if names and names[0].isidentifier():
                    target = ast.Name(id=names[0], ctx=ast.Store())
                    body = [*body, ast.Assign(targets=[target], value=ast.Constant(None))]
            return body
        return None

    def visit_Call(self, node: ast.Call) -> Any:
        call = _magic_call(node)
        if call is None:
            return self.generic_visit(node)
        method, args = call
        if method in ("system", "getoutput") and len(args) == 1:
            self.commands.append(("shell", args[0]))
        elif method == "run_line_magic" and len(args) == 2:
            name, line = args
            if name in _SHELL_LINE:
                self.commands.append(("shell", line))
            elif name == "run":
                script = _run_target(line)
                if script is not None:
                    self.scripts.append(script)
            elif name in _TRANSPARENT_LINE:
                # A magic used as a value: ``t = %timeit -o f(x)``.
                _, code = _split_options(line, _TRANSPARENT_LINE[name])
                try:
                    expr = ast.parse(code.strip(), mode="eval").body
                except (SyntaxError, ValueError, MemoryError, RecursionError):
                    return node
                expr = self.visit(expr)
                if name in _OWN_NAMESPACE:
                    empty = ast.arguments(
                        posonlyargs=[],
                        args=[],
                        vararg=None,
                        kwonlyargs=[],
                        kw_defaults=[],
                        defaults=[],
                    )
                    return ast.Call(func=ast.Lambda(args=empty, body=expr), args=[], keywords=[])
                return expr
        elif method == "run_cell_magic" and len(args) == 3:
            name, line, cell = args
            if name in _SHELL_CELL:
                kind = f"script {line.strip()}" if name == "script" else name
                self.commands.append((kind, cell))
        return node


def shlex_words(text: str) -> list[str]:
    """Shell words of a magic's argument line; on unbalanced quotes, its whitespace-separated words."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _run_target(line: str) -> str | None:
    """The script ``%run`` runs (its first word after the options), or None for ``-m module``."""
    words = shlex_words(line)
    i = 0
    while i < len(words) and words[i].startswith("-"):
        letters = words[i][1:]
        if "m" in letters:
            return None
        if letters and letters[-1] in _RUN_VALUE_OPTIONS and len(letters) == 1:
            i += 1
        i += 1
    return words[i] if i < len(words) else None


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
            if node.name != _TIMEIT:
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


def _find_seed_calls(calls: list[ast.Call]) -> list[SeedCall]:
    found: list[SeedCall] = []
    for node in calls:
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


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython's magics and ``!`` lines turned into calls)."""
    return _python_source(source)


@lru_cache(maxsize=1024)
def _python_source(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return str(TransformerManager().transform_cell(source))
    except Exception:
        return source
