"""A failed cell's error: its type, message and traceback, read without running the user's code.

Formatting an exception runs code. ``str()`` of it runs its class's ``__str__`` and the
``str`` or ``repr`` of what it holds (a ``KeyError`` of a user's object runs that object's
``__repr__``); the standard formatter also looks attributes up on it (``__notes__``,
``__cause__``) and on its class (``__qualname__``). IPython has run that code already, to
show the error; running it again could change what the notebook does next (a ``__str__``
that counts, logs or fails). So the standard formatting is used only when every exception
in the chain is read by trusted code alone: classes of the standard library or of a
library with a reader here, or the user's classes that define nothing formatting reads,
holding plain values (strings, numbers, their tuples, lists and dicts). Otherwise the
record keeps what IPython showed, colours removed, and without that (a shell that keeps no
copy of what it showed), the frames and the error's type, with a note that the message was
not read.
"""

from __future__ import annotations

import builtins
import pathlib
import re
import sys
import traceback
import types
from typing import Any

from ..errors import describe
from .fingerprint import defines_untrusted

# What formatting an exception reads from its class or from it: defined by an untrusted
# class, any of these is the user's code that formatting would run.
READ_BY_FORMATTING = frozenset(
    {
        "__str__",
        "__repr__",
        "__format__",
        "__getattribute__",
        "__getattr__",
        "__dir__",
        "__class__",
        "__dict__",
        "__cause__",
        "__context__",
        "__suppress_context__",
        "__traceback__",
        "__notes__",
        "args",
        "exceptions",
        "message",
        "name",
        "obj",
        "path",
        "filename",
        "filename2",
        "lineno",
        "end_lineno",
        "offset",
        "end_offset",
        "text",
        "msg",
        "print_file_and_line",
    }
)
# What looking an attribute up on an object can run, when its class defines it (besides a
# descriptor under the name looked up).
_LOOKUP_HOOKS = frozenset({"__getattribute__", "__getattr__"})
_SCALARS = frozenset({type(None), bool, int, float, complex, str, bytes})
_CONTAINERS = frozenset({tuple, list, set, frozenset})
# The standard library's own path classes (a subclass's __str__ would be the user's).
PATH_TYPES = frozenset(
    {pathlib.PurePath, pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.Path}
    | {pathlib.PosixPath, pathlib.WindowsPath}
)
# Members kept in C by exception classes, read through their own descriptors.
_MEMBERS: tuple[tuple[type, str], ...] = (
    (OSError, "filename"),
    (OSError, "filename2"),
    (ImportError, "name"),
    (ImportError, "path"),
    (SyntaxError, "filename"),
    (SyntaxError, "text"),
    (SyntaxError, "msg"),
    (NameError, "name"),
    (AttributeError, "name"),
    (AttributeError, "obj"),
)
_args_of = BaseException.__dict__["args"].__get__
_state_of = BaseException.__dict__["__dict__"].__get__
_cause_of = BaseException.__dict__["__cause__"].__get__
_context_of = BaseException.__dict__["__context__"].__get__
_traceback_of = BaseException.__dict__["__traceback__"].__get__
_module_namespace: Any = vars(types.ModuleType)["__dict__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
# Python 3.11 and later.
_GROUP: Any = getattr(builtins, "BaseExceptionGroup", None)
_MAX_VALUES = 2_000
_MAX_DEPTH = 8
_MAX_CHAIN = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOT_READ = "(message not read: showing it runs the exception's own code)"


def error_type_name(error: BaseException) -> str:
    """``module.QualName`` of the error's class (just ``QualName`` for builtins and ``__main__``)."""
    tp = type(error)
    try:
        module, qualname = _type_module(tp), _type_qualname(tp)
    except Exception:
        return "?"
    if type(qualname) is not str:
        return "?"
    if type(module) is not str or module in ("builtins", "__main__"):
        return qualname
    return f"{module}.{qualname}"


def describe_error(error: BaseException, shell: Any) -> tuple[str, str, str | None]:
    """The error's message and traceback, and a note when they come from what IPython showed
    (or, failing that, the message was not read)."""
    if _chain_readable(error):
        message = str(error)
        try:
            tb = "".join(traceback.format_exception(type(error), error, _traceback_of(error)))
        except Exception as exc:
            tb = f"(traceback not available: {describe(exc)})"
        return message, tb, None
    shown = _shown(error, shell)
    if shown is not None:
        return *shown, "error message and traceback as IPython showed them"
    return (
        "",
        _frames_only(error),
        "error message not read: showing it runs the exception's own code",
    )


def _chain_readable(error: BaseException) -> bool:
    """Whether the error, its causes and contexts and the members of exception groups are
    all readable by trusted code (a chain longer than the bound is not)."""
    reader = _Reader()
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        if len(seen) == _MAX_CHAIN or not reader.readable(exc):
            return False
        seen.add(id(exc))
        todo += [link for link in (_cause_of(exc), _context_of(exc)) if link is not None]
        if _GROUP is not None and issubclass(type(exc), _GROUP):
            todo += _GROUP.__dict__["exceptions"].__get__(exc)
    return True


class _Reader:
    """Walks an error and what it holds, at most ``_MAX_VALUES`` values and ``_MAX_DEPTH`` deep."""

    def __init__(self) -> None:
        self.left = _MAX_VALUES

    def readable(self, exc: BaseException, depth: int = 0) -> bool:
        """Whether formatting ``exc`` runs trusted code only."""
        tp = type(exc)
        if type(tp) is not type:
            return False  # a metaclass can define what the class's name and module read as
        if defines_untrusted(tp, READ_BY_FORMATTING):
            return False
        if not self.plain(_args_of(exc), depth):
            return False
        state = _state_of(exc)
        if not all(type(k) is str and self.plain(v, depth) for k, v in dict.items(state)):
            return False
        if issubclass(tp, NameError) and not _plain_self(exc):
            return False
        if issubclass(tp, ImportError) and not _plain_module(exc):
            return False
        return all(
            self.plain(owner.__dict__[member].__get__(exc), depth)
            for owner, member in _MEMBERS
            if issubclass(tp, owner)
        )

    def plain(self, value: object, depth: int) -> bool:
        """Whether ``str``/``repr`` of ``value`` is trusted code through and through."""
        self.left -= 1
        tp = type(value)
        if tp in _SCALARS or tp in PATH_TYPES:
            return True
        if self.left < 0 or depth >= _MAX_DEPTH:
            return False
        if issubclass(tp, BaseException):
            # An error held by another (an exception group's members): read the same way.
            error: Any = value
            return self.readable(error, depth + 1)
        if tp in _CONTAINERS:
            items: Any = value
            return all(self.plain(v, depth + 1) for v in items)
        if tp is dict:
            mapping: Any = value
            return all(
                self.plain(k, depth + 1) and self.plain(v, depth + 1)
                for k, v in dict.items(mapping)
            )
        numpy = sys.modules.get("numpy")
        # A numpy scalar (np.int64(3) as a missing key): numpy's own repr, whatever the
        # dtype but object.
        return (
            numpy is not None
            and issubclass(tp, numpy.generic)
            and not issubclass(tp, numpy.object_)
            and not defines_untrusted(tp, READ_BY_FORMATTING)
        )


def _plain_self(error: BaseException) -> bool:
    """Whether the frame that raised a ``NameError`` has no ``self`` of the user's classes:
    Python's suggestions (``Did you mean: 'self.x'?``) look the name up on it."""
    tb = _traceback_of(error)
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    owner = tb.tb_frame.f_locals.get("self", None)
    if owner is None:
        return True
    name = NameError.__dict__["name"].__get__(error)
    hooks = _LOOKUP_HOOKS | {name} if type(name) is str else _LOOKUP_HOOKS
    return not defines_untrusted(type(owner), hooks)


def _plain_module(error: BaseException) -> bool:
    """Whether the module an ``ImportError`` names runs no code of its own when listed:
    Python's suggestions (``Did you mean: ...?``) call ``dir()`` on it."""
    name = ImportError.__dict__["name"].__get__(error)
    module = sys.modules.get(name) if type(name) is str else None
    if module is None:
        return True
    namespace: Any = _module_namespace(module)
    return not ("__dir__" in namespace or "__getattr__" in namespace)


def _shown(error: BaseException, shell: Any) -> tuple[str, str] | None:
    """The message and traceback IPython showed for ``error``, colours removed."""
    if getattr(sys, "last_value", None) is not error:
        return None  # IPython showed another error last (or none)
    # ipykernel keeps the traceback it sent the front end, for the cell that ran last.
    shown = getattr(shell, "_last_traceback", None)
    if type(shown) is not list or not shown or not all(type(s) is str for s in shown):
        return None
    text = _ANSI.sub("", "\n".join(shown))
    _, sep, message = _ANSI.sub("", shown[-1]).partition(": ")
    return (message if sep else "", text)


def _frames_only(error: BaseException) -> str:
    """The traceback's frames and the error's type: everything but the message."""
    try:
        frames = "".join(
            traceback.StackSummary.extract(traceback.walk_tb(_traceback_of(error))).format()
        )
    except Exception as exc:
        frames = f"(frames not available: {describe(exc)})\n"
    return f"Traceback (most recent call last):\n{frames}{error_type_name(error)}: {NOT_READ}\n"
