"""A failed cell's message and traceback are read by trusted code only, or taken from what
IPython showed: each exception shape here counts the calls formatting would make."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest

from jupyter_lineage.capture.failure import NOT_READ, describe_error, error_type_name

CALLS: list[str] = []


class Counted:
    def __repr__(self) -> str:
        CALLS.append("__repr__")
        return "Counted()"

    def __str__(self) -> str:
        CALLS.append("__str__")
        return "Counted"


class Loud(Exception):
    def __str__(self) -> str:
        CALLS.append("Loud.__str__")
        return "loud"


class Meta(type):
    def __getattribute__(cls, name: str) -> Any:
        CALLS.append(f"Meta.__getattribute__({name})")
        return super().__getattribute__(name)


def raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as e:
            raise outer from e
    except BaseException as caught:
        return caught


@pytest.fixture(autouse=True)
def _no_calls() -> Any:
    CALLS.clear()
    yield
    assert CALLS == []


def unread(error: BaseException) -> None:
    """Not formatted: no shell kept what it showed, so frames and type only."""
    message, tb, note = describe_error(error, shell=None)
    assert message == "" and tb.endswith(f"{error_type_name(error)}: {NOT_READ}\n")
    assert tb.startswith("Traceback (most recent call last):\n  File ")
    assert note and "not read" in note


@pytest.mark.parametrize(
    "error",
    [
        ValueError("plain"),
        KeyError(("a", 1)),
        KeyError(np.int64(3)),
        FileNotFoundError(2, "No such file or directory", "data.csv"),
        ZeroDivisionError("division by zero"),
        type("Quiet", (Exception,), {"__module__": "__main__"})("words", 3),
    ],
)
def test_plain_errors_are_formatted_as_python_does(error: BaseException) -> None:
    error = raised(error)
    message, tb, note = describe_error(error, shell=None)
    assert message == str(error) and note is None
    assert tb.startswith("Traceback (most recent call last)") and str(error) in tb


@pytest.mark.parametrize(
    "error",
    [
        Loud("x"),
        KeyError(Counted()),
        ValueError([1, Counted()]),
        FileNotFoundError(2, "No such file or directory", Counted()),
        AttributeError("no", name="alpha", obj=Counted()),
    ],
)
def test_errors_whose_showing_runs_user_code_are_not_formatted(error: BaseException) -> None:
    unread(raised(error))


def test_a_user_error_in_the_chain_keeps_the_whole_chain_unformatted() -> None:
    unread(chained(ValueError("outer"), KeyError(Counted())))


def test_a_metaclass_or_a_user_attribute_is_not_read() -> None:
    unread(raised(Meta("Odd", (Exception,), {})("x")))
    with_state = raised(ValueError("x"))
    with_state.payload = Counted()  # type: ignore[attr-defined]
    unread(with_state)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups are Python 3.11's")
def test_exception_groups_are_read_member_by_member() -> None:
    group = sys.modules["builtins"].ExceptionGroup
    plain = raised(group("two", [ValueError("a"), KeyError("b")]))
    assert describe_error(plain, shell=None)[2] is None
    unread(raised(group("two", [ValueError("a"), KeyError(Counted())])))


def test_what_ipython_showed_is_used_for_its_own_last_error() -> None:
    error = raised(Loud("x"))
    shell = types.SimpleNamespace(
        _last_traceback=["\x1b[31mTraceback\x1b[39m", "\x1b[31mLoud\x1b[39m: loud\nmore"]
    )
    before = getattr(sys, "last_value", None)
    sys.last_value = error
    try:
        message, tb, note = describe_error(error, shell)
    finally:
        sys.last_value = before  # type: ignore[assignment]
    assert message == "loud\nmore" and tb == "Traceback\nLoud: loud\nmore"
    assert note and "as IPython showed them" in note
    # Shown for another error: not used.
    unread(error)


def test_the_type_name_is_read_without_the_metaclass() -> None:
    assert error_type_name(raised(ValueError())) == "ValueError"
    assert error_type_name(raised(np.exceptions.AxisError(1, 1))) == "numpy.exceptions.AxisError"
    odd = Meta("Odd", (Exception,), {"__module__": "__main__"})
    assert error_type_name(raised(odd())) == "Odd"


class Lookup:
    def __getattr__(self, name: str) -> Any:
        CALLS.append(f"__getattr__({name})")
        raise AttributeError(name)

    def method(self) -> None:
        undefined_name  # type: ignore[name-defined]  # noqa: B018, F821


class Plain:
    def method(self) -> None:
        undefined_name  # type: ignore[name-defined]  # noqa: B018, F821


def failing(call: Any) -> BaseException:
    try:
        call()
    except BaseException as caught:
        return caught
    raise AssertionError("did not fail")


def test_a_name_error_in_a_method_of_a_class_with_lookup_hooks_is_not_formatted() -> None:
    # Python's suggestions look the missing name up on the frame's ``self``.
    error = failing(Lookup().method)
    message, tb, note = describe_error(error, shell=None)
    assert message == "" and note and "not read" in note and "in method" in tb
    plain = failing(Plain().method)
    assert describe_error(plain, shell=None)[0] == "name 'undefined_name' is not defined"


def test_an_import_error_from_a_module_that_lists_itself_is_not_formatted() -> None:
    module = types.ModuleType("listing_module")
    module.__dir__ = lambda: CALLS.append("module __dir__") or []  # type: ignore[method-assign]
    sys.modules["listing_module"] = module
    try:
        error = raised(ImportError("cannot import name 'x'", name="listing_module"))
        assert describe_error(error, shell=None)[0] == ""
    finally:
        del sys.modules["listing_module"]
    plain = raised(ImportError("cannot import name 'x'", name="json"))
    assert describe_error(plain, shell=None)[0] == "cannot import name 'x'"
