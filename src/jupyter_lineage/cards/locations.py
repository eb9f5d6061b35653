"""How exports show what only exists on the machine that recorded it.

A card, a bill of materials or an OpenLineage event is made to leave this machine, and
the record it is made from holds absolute paths: notebooks, files read and written, the
Python executable, tracebacks. Exports show a path relative to the repository's root (or,
outside a repository, to the project directory that holds the store, or to the notebook's
directory), a path outside all of those by its file name alone, and the repository by its
remote URL without credentials (``urls.public_url``). In text the
machine wrote (error messages, tracebacks, environment variables' values) the same roots
go, and the Python environment, home directories and the temporary directory are named
``<python>``, ``~`` and ``<tmp>``. Text a person wrote (annotations, cell sources) is shown
exactly as written.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..capture.environment import repository_root

PYTHON = "<python>"
HOME = "~"
TEMP = "<tmp>"
# Home directories of other machines (a store shipped from a laptop), besides this one's.
_OTHER_HOMES = re.compile(
    r"(?<![\w.\-/])(?:(?:/home|/Users)/[^/\\\s'\"<>:]+|[A-Za-z]:\\Users\\[^\\\s'\"<>:]+)"
)
# Where a prefix ends: a separator, or a character that cannot continue a file name.
_END = r"(?:(?P<sep>[/\\])|(?![\w.\-~]))"
# A Python installed for the whole system is nothing personal; a virtual environment is.
_SYSTEM_PREFIXES = {"/", "/usr", "/usr/local", "/opt"}


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", path))


@dataclass(frozen=True, slots=True)
class Locations:
    """The directories an export shows paths relative to, and the local ones it names."""

    roots: tuple[str, ...] = ()  # paths are shown relative to the first that holds them
    aliases: tuple[tuple[str, str], ...] = ()  # (directory, shown as)

    def path(self, value: Any) -> Any:
        """A recorded path as exports show it: relative to a root, else its file name."""
        if not isinstance(value, str) or not value:
            return value
        if value.startswith("file:"):
            value = unquote(urlsplit(value).path)
        if not _is_absolute(value):
            return value
        normal = os.path.normpath(value)
        for root in self.roots:
            if normal == root:
                return "."
            if _under(normal, root):
                return normal[len(root.rstrip("/\\")) + 1 :].replace(os.sep, "/")
        # Either separator: a store may hold paths recorded on another system.
        return re.split(r"[\\/]", normal.rstrip("/\\"))[-1] or "."

    def uri(self, value: Any) -> Any:
        """A recorded URI: a local ``file:`` one as a path (``path``), others unchanged."""
        if isinstance(value, str) and (value.startswith("file:") or _is_absolute(value)):
            return self.path(value)
        return value

    def text(self, value: Any) -> Any:
        """Machine-written text (an error message, a traceback, an environment variable's
        value) with every local directory replaced: roots by nothing (the paths under them
        become relative), the Python environment by ``<python>``, home directories by ``~``,
        the temporary directory by ``<tmp>``."""
        if not isinstance(value, str) or not value:
            return value
        # A root inside an earlier one is covered by it, as in ``path``.
        roots = [
            r for i, r in enumerate(self.roots) if not any(_under(r, x) for x in self.roots[:i])
        ]
        replacements = [(root, "") for root in roots] + list(self.aliases)
        for prefix, shown in sorted(replacements, key=lambda r: len(r[0]), reverse=True):
            value = _replace_prefix(value, prefix.rstrip("/\\"), shown)
        return _OTHER_HOMES.sub(HOME, value)


def _under(path: str, root: str) -> bool:
    return path.startswith(root.rstrip("/\\") + os.sep)


def _replace_prefix(text: str, prefix: str, shown: str) -> str:
    if not prefix or prefix not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group("sep"):
            return f"{shown}/" if shown else ""
        return shown or "."

    return re.sub(re.escape(prefix) + _END, repl, text)


def locations(
    notebooks: Iterable[str | None] = (),
    store_dir: str | os.PathLike[str] | None = None,
    executables: Iterable[str | None] = (),
) -> Locations:
    """The ``Locations`` of exports about these notebooks, read from disk: the repository
    each notebook (and the store) is in, the project directory holding the store, each
    notebook's directory; the recorded Python environments and the home directory."""
    roots: list[str] = []

    def add(directory: str | None) -> None:
        if not directory:
            return
        directory = os.path.normpath(directory)
        if os.path.dirname(directory) != directory and directory not in roots:
            roots.append(directory)

    directories = [os.path.dirname(n) for n in notebooks if n and _is_absolute(n)]
    project = os.path.dirname(os.path.abspath(os.fspath(store_dir))) if store_dir else None
    for directory in [*directories, *([project] if project else [])]:
        add(repository_root(directory))
    add(project)
    for directory in directories:
        add(directory)
    aliases: list[tuple[str, str]] = []
    prefixes = {sys.prefix, sys.exec_prefix}
    for exe in executables:
        if (
            exe
            and _is_absolute(exe)
            and os.path.basename(os.path.dirname(exe)) in ("bin", "Scripts")
        ):
            prefixes.add(os.path.dirname(os.path.dirname(exe)))
    for prefix in sorted(prefixes):
        if prefix and os.path.normpath(prefix) not in _SYSTEM_PREFIXES:
            aliases.append((os.path.normpath(prefix), PYTHON))
    home = os.path.expanduser("~")
    if home and _is_absolute(home) and os.path.dirname(home) != home:
        aliases.append((os.path.normpath(home), HOME))
    # IPython compiles each cell to a file there: tracebacks name it.
    aliases.append((os.path.normpath(tempfile.gettempdir()), TEMP))
    return Locations(tuple(roots), tuple(aliases))
