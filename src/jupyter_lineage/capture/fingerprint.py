"""Type-aware content fingerprints of in-memory values, and SHA-256 of files.

A fingerprint is an xxh3-128 hash of a canonical byte stream describing a
value: a type tag, then the value's content. The stream never depends on
object ids, ``hash()`` or memory layout, so equal content gives the same
digest in any process. Values that cannot be hashed by content (sockets,
generators, objects whose pickling fails) get an identity digest instead.

Nothing here calls a user's ``__repr__``, ``__str__``, ``__len__``, ``__eq__``
or ``__hash__``; the only user code that can run is a ``__lineage_fingerprint__``
hook and, for types we do not know, the value's own pickling methods.
numpy, pandas and pyarrow are never imported here: their types are recognised
only once the user has imported them, by looking in ``sys.modules``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import struct
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import xxhash

from jupyter_lineage.models import Fingerprint
from jupyter_lineage.redact import may_contain_secret, redact_text

# Big enough that per-chunk overhead vanishes, small enough that copying one
# chunk of a non-contiguous array keeps extra memory far below 64 MB.
_CHUNK_BYTES = 8 << 20
# Elements of a Python container between two looks at the clock.
_TICK = 4096
_MAX_DEPTH = 100
# Dicts and sets up to this size are hashed by their sorted element digests;
# bigger ones by the sum of their element digests, which needs no memory per element.
_SORT_LIMIT = 1 << 16
# After the deadline, the alarm that stops a value's own code fires again this often,
# in case that code catches the first interruption.
_ALARM_REPEAT_S = 0.05
_MAX_PICKLE_BYTES = 1 << 30
_MAX_NOTE = 200
_MAX_SUMMARY = 120
# Beyond this many bits, repr() of an int is slow (and limited by
# sys.set_int_max_str_digits), so the summary gives an approximate digit count.
_MAX_REPR_BITS = 330
_TIMES = "\u00d7"

_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack
_pack_dd = struct.Struct("<dd").pack
_xxh3_128 = xxhash.xxh3_128
_xxh3_digest = xxhash.xxh3_128_digest
_xxh3_hexdigest = xxhash.xxh3_128_hexdigest
_perf_counter = time.perf_counter


class _Timeout(BaseException):
    """Raised inside the walk when the time or byte budget runs out.

    A BaseException so that no ``except Exception`` on the way, ours or a
    library's, swallows it.
    """


class _OwnCodeTimeout(_Timeout):
    """The deadline passed while the value's own code (not this module's) was running."""


class _Unhashable(BaseException):
    """Raised inside the walk when some part of the value has no content hash."""


class _HookFailed(BaseException):
    """Raised inside the walk when a ``__lineage_fingerprint__`` hook raised."""


def _describe_exception(exc: BaseException) -> str:
    """``Type: message`` of an exception, even if its ``__str__`` raises."""
    try:
        name = type(exc).__name__
    except Exception:
        name = "Exception"
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable message>"
    return f"{name}: {message}" if message else name


def _type_name(tp: type) -> str:
    """``module.qualname`` of a type, with public names for builtins, numpy and pandas."""
    try:
        module = type.__dict__["__module__"].__get__(tp)
        qualname = type.__dict__["__qualname__"].__get__(tp)
    except Exception:
        return "?"
    if not isinstance(module, str) or module == "builtins":
        return str(qualname)
    for package in ("pandas", "numpy", "pyarrow"):
        if module.startswith(package + "."):
            public = sys.modules.get(package)
            if public is not None and getattr(public, str(qualname), None) is tp:
                return f"{package}.{qualname}"
    return f"{module}.{qualname}"


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_SUMMARY else text[: _MAX_SUMMARY - 1] + "…"


# --- scalars -----------------------------------------------------------------
# Each encoder returns a self-delimiting byte string: a one-byte tag, then a
# fixed-size payload or a length-prefixed one.


def _encode_none(obj: None) -> bytes:
    return b"N"


def _encode_bool(obj: bool) -> bytes:
    return b"T" if obj else b"F"


def _encode_int(obj: int) -> bytes:
    if -(1 << 63) <= obj < (1 << 63):
        return b"i" + _pack_q(obj)
    data = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
    return b"I" + _pack_q(len(data)) + data


def _encode_float(obj: float) -> bytes:
    return b"f" + _pack_d(obj)


def _encode_complex(obj: complex) -> bytes:
    return b"c" + _pack_dd(obj.real, obj.imag)


def _encode_str(obj: str) -> bytes:
    data = obj.encode("utf-8", "surrogatepass")
    return b"s" + _pack_q(len(data)) + data


def _encode_bytes(obj: bytes) -> bytes:
    return b"y" + _pack_q(len(obj)) + obj


def _encode_bytearray(obj: bytearray) -> bytes:
    return b"Y" + _pack_q(len(obj)) + obj


def _encode_memoryview(obj: memoryview) -> bytes:
    data = obj.tobytes()
    header = f"{obj.format}|{obj.shape}".encode()
    return b"m" + _pack_q(len(header)) + header + _pack_q(len(data)) + data


def _encode_range(obj: range) -> bytes:
    return b"r" + _encode_int(obj.start) + _encode_int(obj.stop) + _encode_int(obj.step)


def _encode_singleton(obj: Any) -> bytes:
    return b"E" if obj is Ellipsis else b"n"


_SCALAR_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    type(None): _encode_none,
    bool: _encode_bool,
    int: _encode_int,
    float: _encode_float,
    complex: _encode_complex,
    str: _encode_str,
    bytes: _encode_bytes,
    bytearray: _encode_bytearray,
    memoryview: _encode_memoryview,
    range: _encode_range,
    type(Ellipsis): _encode_singleton,
    type(NotImplemented): _encode_singleton,
}

# Types pickle handles deterministically by itself; the pickler's per-object
# hook returns at once for them.
_PICKLE_NATIVE = frozenset(
    {type(None), bool, int, float, complex, str, bytes, bytearray, tuple, list, dict}
)


def _int_summary(obj: int) -> str:
    bits = obj.bit_length()
    if bits <= _MAX_REPR_BITS:
        return int.__repr__(obj)
    return f"int with ~{int(bits * 0.30103) + 1} digits"


def _scalar_summary(obj: Any, tp: type) -> str:
    if tp is int:
        return _int_summary(obj)
    if tp is str or tp is bytes or tp is bytearray:
        text = repr(obj[: _MAX_SUMMARY * 4])
        if may_contain_secret(text):
            # Before the cut, so a credential is not left half-shown at the end.
            text = redact_text(text)[0]
        return _truncate(text)
    if tp is memoryview:
        return f"memoryview {obj.format} {obj.shape}"
    return _truncate(repr(obj))


def _label_summary(label: Any) -> str:
    """A column or index label for a summary, without calling user code."""
    tp = type(label)
    if tp in _SCALAR_ENCODERS and tp is not memoryview:
        text = str(label) if tp is str else _scalar_summary(label, tp)
        return text if len(text) <= 24 else text[:23] + "…"
    if tp is tuple:
        return "(" + ", ".join(_label_summary(x) for x in label[:3]) + ")"
    return _type_name(tp)


def _columns_summary(labels: list[Any], total: int) -> str:
    shown = [_label_summary(x) for x in labels[:8]]
    if total > len(shown):
        shown.append("…")
    return "[" + ", ".join(shown) + "]"


# --- the walk ----------------------------------------------------------------


class _Sink:
    """A pickle file object that feeds a hash and enforces the budgets."""

    __slots__ = ("_deadline", "_left", "_update")

    def __init__(self, update: Callable[[Any], None], deadline: float) -> None:
        self._update = update
        self._deadline = deadline
        self._left = _MAX_PICKLE_BYTES

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        self._left -= size
        if self._left < 0:
            raise _Timeout(f"pickled form exceeds {_MAX_PICKLE_BYTES >> 20} MiB")
        if _perf_counter() > self._deadline:
            raise _Timeout("time budget exhausted while pickling")
        self._update(data)
        return size


class _Pickler(pickle.Pickler):
    """Pickles into a hash; values the walk handles better are replaced by their digests.

    The replacements make sets independent of hash randomisation, hash arrays
    without pickling copies of them, and let lambdas, local classes and
    modules (which pickle refuses) take part by content or by name.
    """

    def __init__(self, walker: _Walker, sink: _Sink, top: Any = None) -> None:
        super().__init__(sink, protocol=5)
        self._walker = walker
        # The value being pickled is never replaced: the walk sent it here.
        self._top = top

    def persistent_id(self, obj: Any) -> Any:
        tp = type(obj)
        if type(tp) is not type:
            _check_metaclass(tp)
        if tp in _PICKLE_NATIVE:
            return None
        walker = self._walker
        if _perf_counter() > walker.deadline:
            raise _Timeout("time budget exhausted while pickling")
        if not walker.interruptible and _runs_own_code(tp):
            raise _Unhashable(
                f"{_type_name(tp)} pickles with its own code, which is not run here: "
                "it could not be stopped at the time budget (define __lineage_fingerprint__)"
            )
        if obj is self._top:
            return None
        if _replaces_in_pickle(obj, tp):
            return walker.digest(obj)
        return None


# --- a value's own code: bounded in time, or not run ------------------------------
#
# Pickling a value of an unknown class runs that class's __reduce__,
# __reduce_ex__, __getstate__ or __getattr__, and a __lineage_fingerprint__
# hook is the class's own code too. Checking the clock between objects cannot
# stop one that sleeps or loops, and a worker thread given up on at the
# deadline would keep running, holding the value and racing the user's code.
# So in the main thread (where IPython runs cells) an interval timer raises
# _Timeout inside that code at the deadline, and again every 50 ms in case
# the code catches it; if it caught one already (``except BaseException`` in
# a loop), a trace function raises on every line it runs, which no except
# clause survives. Elsewhere, or when the program uses SIGALRM itself,
# classes outside a trusted set whose pickling runs their own code get an
# identity fingerprint instead.


class _Alarm:
    """SIGALRM at a deadline, raising _Timeout in whatever Python code then runs."""

    _active: _Alarm | None = None

    def __init__(self, deadline: float) -> None:
        self.fired = 0
        self.traced: list[Any] = []
        self._tracing = False
        self._previous = signal.signal(signal.SIGALRM, _on_alarm)
        _Alarm._active = self
        delay = max(deadline - _perf_counter(), 0.001)
        signal.setitimer(signal.ITIMER_REAL, delay, _ALARM_REPEAT_S)

    def escalate(self, frame: Any) -> None:
        """Make every line of the value's code (the frames up to this module's) raise."""
        if self._tracing or sys.gettrace() is not None:
            return  # a debugger or coverage tool owns tracing: leave it alone
        self._tracing = True
        sys.settrace(_raise_on_line)
        while frame is not None and frame.f_code.co_filename != __file__:
            frame.f_trace = _raise_on_line
            self.traced.append(frame)
            frame = frame.f_back

    @staticmethod
    def available() -> bool:
        """Main thread, a platform with setitimer, and no one else using SIGALRM."""
        if not hasattr(signal, "setitimer") or _Alarm._active is not None:
            return False
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            handler = signal.getsignal(signal.SIGALRM)
            timer = signal.getitimer(signal.ITIMER_REAL)
        except (ValueError, OSError):
            return False
        return handler in (signal.SIG_DFL, None) and timer == (0.0, 0.0)

    def stop(self) -> None:
        _Alarm._active = None
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        # A signal that arrived just before the timer stopped is handled (as a
        # no-op) by _on_alarm at this call, before the old handler is back.
        _no_op()
        signal.signal(signal.SIGALRM, self._previous)
        if self._tracing:
            sys.settrace(None)
            for frame in self.traced:
                frame.f_trace = None
            self.traced.clear()


def _raise_on_line(frame: Any, event: str, arg: Any) -> Any:
    if _Alarm._active is None:
        return None
    if event == "line" and frame.f_code.co_filename != __file__:
        raise _OwnCodeTimeout("time budget exhausted in the value's own code, which ignored it")
    return _raise_on_line


def _on_alarm(signum: int, frame: Any) -> None:
    alarm = _Alarm._active
    if alarm is None:
        return
    alarm.fired += 1
    if alarm.fired > 1:
        alarm.escalate(frame)
    code = getattr(frame, "f_code", None)
    if code is None or code.co_filename == __file__:
        raise _Timeout("time budget exhausted while pickling")
    where = f"{getattr(code, 'co_qualname', code.co_name)} at {code.co_filename}:{frame.f_lineno}"
    raise _OwnCodeTimeout(f"time budget exhausted in the value's own code ({where})")


def _no_op() -> None:
    return None


# Modules whose classes' pickling methods are trusted to return promptly.
_TRUSTED_PACKAGES = frozenset(
    {
        *sys.stdlib_module_names,
        "numpy",
        "pandas",
        "pyarrow",
        "scipy",
        "sklearn",
        "torch",
        "jax",
        "jaxlib",
        "tensorflow",
        "keras",
        "xgboost",
        "lightgbm",
        "catboost",
        "statsmodels",
        "polars",
        "xarray",
        "PIL",
        "matplotlib",
        "plotly",
        "networkx",
        "jupyter_lineage",
    }
)
# Looked up by pickling (directly, or through getattr on the object).
_OWN_CODE_NAMES = (
    "__reduce__",
    "__reduce_ex__",
    "__getstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
    "__getattr__",
    "__getattribute__",
    "__class__",
)
_own_code_cache: dict[int, tuple[weakref.ref[type], bool]] = {}


def _runs_own_code(tp: type) -> bool:
    """Whether pickling an instance of ``tp`` runs methods defined outside trusted packages."""
    cached = _own_code_cache.get(id(tp))
    if cached is not None and cached[0]() is tp:
        return cached[1]
    result = False
    try:
        mro = type.__dict__["__mro__"].__get__(tp)
    except Exception:
        mro = ()
        result = True
    for klass in mro:
        if klass is object:
            continue
        namespace = type.__dict__["__dict__"].__get__(klass)
        if (
            any(name in namespace for name in _OWN_CODE_NAMES)
            and _module_of(klass).split(".", 1)[0] not in _TRUSTED_PACKAGES
        ):
            result = True
            break
    try:
        _own_code_cache[id(tp)] = (weakref.ref(tp), result)
    except TypeError:
        pass
    return result


_plain_metaclasses: dict[int, tuple[weakref.ref[type], bool]] = {}


def _check_metaclass(tp: type) -> None:
    """Refuse a class whose metaclass overrides __hash__ or __eq__ (a dict lookup would call it)."""
    meta = type(tp)
    cached = _plain_metaclasses.get(id(meta))
    if cached is not None and cached[0]() is meta:
        plain = cached[1]
    else:
        plain = all(
            getattr(meta, name, None) is getattr(type, name) for name in ("__hash__", "__eq__")
        )
        _plain_metaclasses[id(meta)] = (weakref.ref(meta), plain)
    if not plain:
        raise _Unhashable("its metaclass defines __hash__ or __eq__, which are not called here")


class _Walker:
    """One fingerprint computation: the deadline, the containers being walked, the hashers."""

    __slots__ = ("_active", "_alarm", "_interruptible", "_tick", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        # id -> position, for the containers currently being walked; a value
        # met again while still active is a cycle.
        self._active: dict[int, int] = {}
        self._tick = _TICK
        self._alarm: _Alarm | None = None
        self._interruptible: bool | None = None

    @property
    def interruptible(self) -> bool:
        """Whether a value's own code (__reduce__, __getstate__, a hook) can be stopped at
        the deadline: only by a signal, so only in the main thread (asked when first needed)."""
        if self._interruptible is None:
            self._interruptible = self._alarm is not None or _Alarm.available()
        return self._interruptible

    def run_own_code(self) -> None:
        """About to run a value's own code: make sure it is stopped at the deadline."""
        if self._alarm is None and self.interruptible:
            self._alarm = _Alarm(self.deadline)

    def close(self) -> None:
        if self._alarm is not None:
            self._alarm.stop()
            self._alarm = None

    def _check_clock(self) -> None:
        self._tick = _TICK
        if _perf_counter() > self.deadline:
            raise _Timeout("time budget exhausted")

    def digest(self, obj: Any) -> bytes:
        """16-byte digest of one value."""
        encode = _SCALAR_ENCODERS.get(type(obj))
        if encode is not None:
            self._tick -= 1
            if self._tick <= 0:
                self._check_clock()
            return _xxh3_digest(encode(obj))
        h = _xxh3_128()
        self.feed(h, obj)
        return h.digest()

    def feed(self, h: Any, obj: Any) -> None:
        """Append the canonical encoding of ``obj`` to ``h``."""
        self._tick -= 1
        if self._tick <= 0:
            self._check_clock()
        tp = type(obj)
        if type(tp) is not type:
            _check_metaclass(tp)
        encode = _SCALAR_ENCODERS.get(tp)
        if encode is not None:
            h.update(encode(obj))
            return
        handler = _EXACT_HANDLERS.get(tp)
        if handler is None:
            handler = _resolve_handler(obj, tp)
        key = id(obj)
        seen = self._active.get(key)
        if seen is not None:
            h.update(b"@" + _pack_q(seen))
            return
        if len(self._active) >= _MAX_DEPTH:
            raise _Unhashable(f"nested deeper than {_MAX_DEPTH} levels")
        self._active[key] = len(self._active)
        try:
            handler(self, h, obj)
        finally:
            del self._active[key]

    def feed_sub(self, h: Any, tag: bytes, fill: Callable[..., None], *args: Any) -> None:
        """Hash what ``fill(self, sub, *args)`` writes separately; append ``tag`` + that digest.

        Keeps large or open-ended streams (arrays, pickles) from being
        ambiguous with whatever follows them in the parent stream.
        """
        sub = _xxh3_128()
        fill(self, sub, *args)
        h.update(tag + sub.digest())

    def feed_pickle(self, h: Any, obj: Any) -> None:
        """Append the digest of ``obj``'s pickle, or raise ``_Unhashable`` if it has none."""
        sub = _xxh3_128()
        self.run_own_code()
        try:
            _Pickler(self, _Sink(sub.update, self.deadline), top=obj).dump(obj)
        except (_Timeout, _Unhashable, _HookFailed, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise _Unhashable("not picklable: " + _describe_exception(exc)) from None
        h.update(b"P" + sub.digest())


def _replaces_in_pickle(obj: Any, tp: type) -> bool:
    """Whether a value met inside a pickle is better hashed by the walk."""
    if tp is set or tp is frozenset or tp is types.ModuleType or tp is types.CodeType:
        return True
    if tp is types.FunctionType:
        # Functions importable by name pickle by reference; those defined in
        # the notebook, lambdas and local functions are hashed by their code.
        return obj.__module__ == "__main__" or "<" in obj.__qualname__
    if issubclass(tp, type):
        return "<" in type.__dict__["__qualname__"].__get__(obj)
    if not _module_of(tp).startswith(("numpy", "pandas", "pyarrow")):
        return False
    handler = _resolve_handler(obj, tp)
    if handler is _feed_pandas:
        pd = sys.modules["pandas"]
        return issubclass(tp, (pd.DataFrame, pd.Series, pd.Index, pd.api.extensions.ExtensionArray))
    return handler is _feed_ndarray or handler is _feed_arrow


def _module_of(tp: type) -> str:
    try:
        module = type.__dict__["__module__"].__get__(tp)
    except Exception:
        return ""
    return module if isinstance(module, str) else ""


# --- handlers: each appends one value's encoding to h ---------------------------


def _feed_sequence(walker: _Walker, h: Any, tag: bytes, n: int, items: Iterable[Any]) -> None:
    h.update(tag + _pack_q(n))
    for item in items:
        walker.feed(h, item)


def _feed_list(walker: _Walker, h: Any, obj: list[Any]) -> None:
    _feed_sequence(walker, h, b"L", len(obj), obj)


def _feed_tuple(walker: _Walker, h: Any, obj: tuple[Any, ...]) -> None:
    _feed_sequence(walker, h, b"U", len(obj), obj)


def _feed_unordered(walker: _Walker, h: Any, tag: bytes, n: int, digests: Iterable[bytes]) -> None:
    """Element digests in an order-independent way, in memory bounded for any size.

    Up to ``_SORT_LIMIT`` elements, the sorted digests; beyond, their sum
    modulo 2**128 (a multiset hash), so a ten-million-entry dict needs no
    list of ten million digests.
    """
    if n <= _SORT_LIMIT:
        ordered = sorted(digests)
        h.update(tag + _pack_q(len(ordered)))
        h.update(b"".join(ordered))
        return
    total = 0
    count = 0
    for digest in digests:
        total += int.from_bytes(digest, "little")
        count += 1
    h.update(tag + b"+" + _pack_q(count) + (total & ((1 << 128) - 1)).to_bytes(16, "little"))


def _feed_set_items(walker: _Walker, h: Any, tag: bytes, n: int, items: Iterable[Any]) -> None:
    # Iteration order of a set depends on hash randomisation; sorted
    # element digests do not.
    _feed_unordered(walker, h, tag, n, (walker.digest(item) for item in items))


def _feed_set(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_set_items(walker, h, b"S" if type(obj) is set else b"Z", len(obj), obj)


def _feed_dict_items(walker: _Walker, h: Any, n: int, items: Iterable[tuple[Any, Any]]) -> None:
    # dict equality ignores order, so the digest does too.
    digest = walker.digest
    if n <= _SORT_LIMIT:
        pairs: Iterable[bytes] = (digest(key) + digest(value) for key, value in items)
    else:
        pairs = (_xxh3_digest(digest(key) + digest(value)) for key, value in items)
    _feed_unordered(walker, h, b"D", n, pairs)


def _feed_dict(walker: _Walker, h: Any, obj: dict[Any, Any]) -> None:
    _feed_dict_items(walker, h, len(obj), obj.items())


def _feed_type_tag(h: Any, tp: type) -> None:
    name = _type_name(tp).encode("utf-8", "surrogatepass")
    h.update(b"t" + _pack_q(len(name)) + name)


# Exact copies of builtin scalar subclasses through the base type's own
# slots, so an overridden __int__, __str__ or __bytes__ is not called.
_SCALAR_BASES: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (int, int.__int__),
    (float, float.__float__),
    (
        complex,
        lambda x: complex(complex.__dict__["real"].__get__(x), complex.__dict__["imag"].__get__(x)),
    ),
    (str, str.__str__),
    (bytes, lambda x: bytes.__getitem__(x, slice(None))),
    (bytearray, lambda x: bytearray(memoryview(x))),
)


def _feed_builtin_subclass(walker: _Walker, h: Any, obj: Any) -> None:
    """Subclasses of list/tuple/dict/set/str/...: the builtin content, type and attributes."""
    tp = type(obj)
    _feed_type_tag(h, tp)
    # Unbound builtin methods, and no copies: a ten-million-entry subclass costs
    # no more memory than the builtin, and element __hash__/__eq__ are never called.
    if issubclass(tp, dict):
        _feed_dict_items(walker, h, dict.__len__(obj), dict.items(obj))
    elif issubclass(tp, list):
        _feed_sequence(walker, h, b"L", list.__len__(obj), list.__iter__(obj))
    elif issubclass(tp, tuple):
        _feed_sequence(walker, h, b"U", tuple.__len__(obj), tuple.__iter__(obj))
    elif issubclass(tp, set):
        _feed_set_items(walker, h, b"S", set.__len__(obj), set.__iter__(obj))
    elif issubclass(tp, frozenset):
        _feed_set_items(walker, h, b"Z", frozenset.__len__(obj), frozenset.__iter__(obj))
    else:
        for base, exact in _SCALAR_BASES:
            if issubclass(tp, base):
                h.update(_SCALAR_ENCODERS[base](exact(obj)))
                break
    try:
        state = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        state = None
    if type(state) is dict and state:
        _feed_dict_items(walker, h, len(state), state.items())


def _feed_function(walker: _Walker, h: Any, fn: types.FunctionType) -> None:
    h.update(b"fn")
    walker.feed(h, fn.__qualname__)
    walker.feed(h, fn.__code__)
    walker.feed(h, fn.__defaults__)
    walker.feed(h, fn.__kwdefaults__)
    cells = fn.__closure__ or ()
    h.update(_pack_q(len(cells)))
    for cell in cells:
        try:
            contents = cell.cell_contents
        except ValueError:
            h.update(b"-")
            continue
        walker.feed(h, contents)


def _feed_code(walker: _Walker, h: Any, code: types.CodeType) -> None:
    # Not the file name or line numbers: the same code moved to another cell
    # is the same code.
    h.update(b"co")
    h.update(_encode_bytes(code.co_code))
    walker.feed(h, code.co_consts)
    walker.feed(h, code.co_names)
    walker.feed(h, code.co_varnames)
    walker.feed(h, code.co_freevars)
    walker.feed(h, code.co_cellvars)
    walker.feed(h, getattr(code, "co_qualname", code.co_name))
    for number in (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
    ):
        h.update(_pack_q(number))


def _feed_method(walker: _Walker, h: Any, method: types.MethodType) -> None:
    h.update(b"me")
    walker.feed(h, method.__func__)
    walker.feed(h, method.__self__)


def _feed_builtin_function(walker: _Walker, h: Any, fn: Any) -> None:
    h.update(b"bf")
    walker.feed(h, getattr(fn, "__module__", None))
    walker.feed(h, getattr(fn, "__qualname__", None))
    owner = getattr(fn, "__self__", None)
    if owner is not None and type(owner) is not types.ModuleType:
        walker.feed(h, owner)


def _feed_class(walker: _Walker, h: Any, cls: type) -> None:
    h.update(b"cl")
    walker.feed(h, _type_name(cls))


def _module_version(module: types.ModuleType) -> str | None:
    # The module's own __dict__, so a lazy module's __getattr__ is not triggered.
    namespace = object.__getattribute__(module, "__dict__")
    version = namespace.get("__version__")
    return version if type(version) is str else None


def _module_name(module: types.ModuleType) -> str:
    name = object.__getattribute__(module, "__dict__").get("__name__")
    return name if type(name) is str else "?"


def _feed_module(walker: _Walker, h: Any, module: types.ModuleType) -> None:
    h.update(b"mo")
    walker.feed(h, _module_name(module))
    walker.feed(h, _module_version(module))


def _feed_pickled(walker: _Walker, h: Any, obj: Any) -> None:
    walker.feed_pickle(h, obj)


def _feed_hook(walker: _Walker, h: Any, obj: Any) -> None:
    tp = type(obj)
    hook = _find_hook(tp)
    walker.run_own_code()
    try:
        result = hook.__get__(obj, tp)() if hasattr(hook, "__get__") else hook(obj)
    except (KeyboardInterrupt, _Timeout):
        raise
    except BaseException as exc:
        raise _HookFailed("__lineage_fingerprint__ raised " + _describe_exception(exc)) from None
    _feed_type_tag(h, tp)
    h.update(b"H")
    walker.feed(h, result)


def _find_hook(tp: type) -> Any:
    """The class's ``__lineage_fingerprint__``, looked up without running any ``__getattr__``."""
    try:
        mro = type.__dict__["__mro__"].__get__(tp)
    except Exception:
        return None
    for klass in mro:
        try:
            namespace = type.__dict__["__dict__"].__get__(klass)
        except Exception:
            continue
        hook = namespace.get("__lineage_fingerprint__")
        if hook is not None:
            return hook
    return None


# --- stdlib value types: their state, never their repr ---------------------------


def _feed_reduced_state(walker: _Walker, h: Any, obj: Any) -> None:
    """datetime/date/time/timedelta: the compact state their own ``__reduce__`` gives."""
    _feed_type_tag(h, type(obj))
    walker.feed(h, obj.__reduce__()[1])


def _feed_decimal(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_type_tag(h, type(obj))
    walker.feed(h, tuple(type(obj).as_tuple(obj)))


def _feed_fraction(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_type_tag(h, type(obj))
    walker.feed(h, obj.numerator)
    walker.feed(h, obj.denominator)


def _feed_uuid(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_type_tag(h, type(obj))
    walker.feed(h, obj.int)


def _feed_path(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_type_tag(h, type(obj))
    walker.feed(h, type(obj).__fspath__(obj))


def _feed_enum(walker: _Walker, h: Any, obj: Any) -> None:
    _feed_type_tag(h, type(obj))
    state = object.__getattribute__(obj, "__dict__")
    walker.feed(h, state.get("_name_"))
    walker.feed(h, state.get("_value_"))


# (module, qualname) of stdlib types -> handler; checked against the real
# class in sys.modules before use, so a look-alike does not match.
_STDLIB_HANDLERS: dict[tuple[str, str], Callable[[_Walker, Any, Any], None]] = {
    ("datetime", "datetime"): _feed_reduced_state,
    ("datetime", "date"): _feed_reduced_state,
    ("datetime", "time"): _feed_reduced_state,
    ("datetime", "timedelta"): _feed_reduced_state,
    ("datetime", "timezone"): _feed_pickled,
    ("decimal", "Decimal"): _feed_decimal,
    ("fractions", "Fraction"): _feed_fraction,
    ("uuid", "UUID"): _feed_uuid,
    ("pathlib", "PurePath"): _feed_path,
    ("pathlib", "PurePosixPath"): _feed_path,
    ("pathlib", "PureWindowsPath"): _feed_path,
    ("pathlib", "Path"): _feed_path,
    ("pathlib", "PosixPath"): _feed_path,
    ("pathlib", "WindowsPath"): _feed_path,
    **{
        ("pathlib._local", name): _feed_path
        for name in (
            "PurePath",
            "PurePosixPath",
            "PureWindowsPath",
            "Path",
            "PosixPath",
            "WindowsPath",
        )
    },
}


# --- numpy ---------------------------------------------------------------------


def _dtype_token(dtype: Any) -> bytes:
    if dtype.fields is not None or dtype.subdtype is not None:
        text = repr(dtype.descr)
    elif dtype.kind == "T":
        text = repr(dtype)
    else:
        text = dtype.str
    return text.encode()


def _feed_array_bytes(walker: _Walker, h: Any, arr: Any, np: Any) -> None:
    """Append the C-order bytes of a plain-dtype array, copying at most one chunk at a time."""
    if arr.nbytes == 0:
        return
    if arr.flags.c_contiguous:
        flat = memoryview(arr.reshape(-1).view(np.uint8))
        for start in range(0, flat.nbytes, _CHUNK_BYTES):
            h.update(flat[start : start + _CHUNK_BYTES])
            if _perf_counter() > walker.deadline:
                raise _Timeout("time budget exhausted while hashing an array")
        return
    row_bytes = arr.itemsize
    for n in arr.shape[1:]:
        row_bytes *= n
    if arr.ndim == 1 or row_bytes <= _CHUNK_BYTES:
        step = max(1, _CHUNK_BYTES // row_bytes)
        for start in range(0, arr.shape[0], step):
            block = np.ascontiguousarray(arr[start : start + step])
            h.update(memoryview(block.reshape(-1).view(np.uint8)))
            del block
            if _perf_counter() > walker.deadline:
                raise _Timeout("time budget exhausted while hashing an array")
    else:
        for index in range(arr.shape[0]):
            _feed_array_bytes(walker, h, arr[index], np)


def _feed_object_elements(walker: _Walker, h: Any, arr: Any) -> None:
    """Append the pickle of an object (or variable-width string) array's elements, in C order."""
    flat = arr.reshape(-1)
    step = 1 << 16
    sub = _xxh3_128()
    walker.run_own_code()
    pickler = _Pickler(walker, _Sink(sub.update, walker.deadline))
    try:
        for start in range(0, flat.shape[0], step):
            pickler.dump(flat[start : start + step].tolist())
    except (_Timeout, _Unhashable, _HookFailed, KeyboardInterrupt):
        raise
    except BaseException as exc:
        raise _Unhashable("array element not picklable: " + _describe_exception(exc)) from None
    h.update(b"P" + sub.digest())


def _feed_ndarray(walker: _Walker, h: Any, arr: Any) -> None:
    np = sys.modules["numpy"]
    tp = type(arr)
    if tp is not np.ndarray:
        _feed_type_tag(h, tp)
    masked = sys.modules.get("numpy.ma")
    if masked is not None and issubclass(tp, masked.MaskedArray):
        walker.feed(h, masked.getmaskarray(arr))
        arr = arr.view(np.ndarray)
    dtype = arr.dtype
    token = _dtype_token(dtype)
    shape = repr(tuple(arr.shape)).encode()
    h.update(b"A" + _pack_q(len(token)) + token + _pack_q(len(shape)) + shape)
    if dtype.hasobject or dtype.kind == "T":
        _feed_object_elements(walker, h, arr)
    else:
        walker.feed_sub(h, b"B", _feed_array_bytes, arr, np)


def _feed_numpy_scalar(walker: _Walker, h: Any, obj: Any) -> None:
    tp = type(obj)
    _feed_type_tag(h, tp)
    token = _dtype_token(obj.dtype)
    data = obj.tobytes()
    h.update(b"a" + _pack_q(len(token)) + token + _pack_q(len(data)) + data)


# --- pyarrow -------------------------------------------------------------------


def _feed_arrow_chunked(walker: _Walker, h: Any, chunked: Any) -> None:
    """Append an Arrow ChunkedArray's content, independent of how it is split into chunks."""
    pa = sys.modules["pyarrow"]
    np = sys.modules["numpy"]
    arrow_type = chunked.type
    type_token = str(arrow_type).encode()
    h.update(b"W" + _pack_q(len(type_token)) + type_token + _pack_q(len(chunked)))
    is_binary = (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )
    offset_type = (
        np.int64
        if pa.types.is_large_string(arrow_type) or pa.types.is_large_binary(arrow_type)
        else np.int32
    )
    width = 0
    if not is_binary and not pa.types.is_boolean(arrow_type):
        try:
            width = arrow_type.bit_width // 8 if arrow_type.bit_width % 8 == 0 else 0
        except ValueError:
            width = 0
        if pa.types.is_dictionary(arrow_type) or arrow_type.num_fields:
            width = 0
    if not is_binary and not width:
        # Rare Arrow types (nested, dictionary, boolean): through numpy.
        walker.feed(h, chunked.to_numpy(zero_copy_only=False))
        return
    data_hash = _xxh3_128()
    length_hash = _xxh3_128()
    null_hash = _xxh3_128()
    base = 0
    for chunk in chunked.chunks:
        n = len(chunk)
        if n == 0:
            continue
        offset = chunk.offset
        buffers = chunk.buffers()
        if chunk.null_count:
            nulls = np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False)) + base
            null_hash.update(nulls.astype(np.int64, copy=False))
        if is_binary:
            # Offsets are relative to the parent buffer of a sliced chunk:
            # only the bytes between this chunk's first and last offset count,
            # and lengths rather than offsets go into the hash.
            offsets = np.frombuffer(buffers[1], dtype=offset_type, count=offset + n + 1)[offset:]
            step = 1 << 20
            for start in range(0, n, step):
                part = offsets[start : start + step + 1]
                length_hash.update(np.diff(part).astype(np.int64, copy=False))
            if buffers[2] is not None:
                data = memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])]
                for start in range(0, data.nbytes, _CHUNK_BYTES):
                    data_hash.update(data[start : start + _CHUNK_BYTES])
        else:
            raw = memoryview(buffers[1])[offset * width : (offset + n) * width]
            if chunk.null_count:
                # Slots under a null hold arbitrary bytes: zero them in a copy.
                values = np.frombuffer(raw, dtype=np.uint8).reshape(n, width).copy()
                values[chunk.is_null().to_numpy(zero_copy_only=False)] = 0
                data_hash.update(values)
            else:
                for start in range(0, raw.nbytes, _CHUNK_BYTES):
                    data_hash.update(raw[start : start + _CHUNK_BYTES])
        base += n
        if _perf_counter() > walker.deadline:
            raise _Timeout("time budget exhausted while hashing an Arrow column")
    h.update(b"d" + data_hash.digest() + b"l" + length_hash.digest() + b"z" + null_hash.digest())


def _feed_arrow(walker: _Walker, h: Any, obj: Any) -> None:
    pa = sys.modules["pyarrow"]
    tp = type(obj)
    _feed_type_tag(h, tp)
    if issubclass(tp, (pa.Table, pa.RecordBatch)):
        walker.feed(h, [str(field.type) for field in obj.schema])
        walker.feed(h, list(obj.schema.names))
        h.update(_pack_q(obj.num_rows))
        for column in obj.columns:
            if isinstance(column, pa.Array):
                column = pa.chunked_array([column])
            walker.feed_sub(h, b"C", _feed_arrow_chunked, column)
    elif issubclass(tp, pa.ChunkedArray):
        _feed_arrow_chunked(walker, h, obj)
    elif issubclass(tp, pa.Array):
        _feed_arrow_chunked(walker, h, pa.chunked_array([obj], type=obj.type))
    else:
        walker.feed_pickle(h, obj)


# --- pandas --------------------------------------------------------------------


def _feed_pandas_values(walker: _Walker, h: Any, values: Any) -> None:
    """Append a column's values (a pandas ExtensionArray or ndarray) by their buffers."""
    np = sys.modules["numpy"]
    pd = sys.modules["pandas"]
    if isinstance(values, np.ndarray):
        walker.feed(h, values)
        return
    dtype_token = str(values.dtype).encode()
    h.update(b"X" + _pack_q(len(dtype_token)) + dtype_token)
    if isinstance(values, pd.Categorical):
        walker.feed(h, values.dtype.ordered)
        _feed_pandas_index(walker, h, values.dtype.categories)
        walker.feed(h, values.codes)
        return
    arrow = getattr(values, "__arrow_array__", None)
    backing = getattr(values, "_ndarray", None)
    if isinstance(backing, np.ndarray):
        # Datetime, Timedelta, Period and python-storage string arrays.
        walker.feed(h, backing)
        return
    data = getattr(values, "_data", None)
    mask = getattr(values, "_mask", None)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):
        # Nullable Int64/Float64/boolean: values under the mask are arbitrary.
        walker.feed(h, mask)
        if mask.any():
            data = data.copy()
            data[mask] = 0
        walker.feed(h, data)
        return
    if arrow is not None:
        chunked = arrow()
        pa = sys.modules["pyarrow"]
        if isinstance(chunked, pa.Array):
            chunked = pa.chunked_array([chunked], type=chunked.type)
        walker.feed_sub(h, b"C", _feed_arrow_chunked, chunked)
        return
    walker.feed_pickle(h, values)


def _feed_pandas_index(walker: _Walker, h: Any, index: Any) -> None:
    pd = sys.modules["pandas"]
    _feed_type_tag(h, type(index))
    walker.feed(h, list(index.names))
    if isinstance(index, pd.RangeIndex):
        h.update(_encode_range(range(index.start, index.stop, index.step)))
    elif isinstance(index, pd.MultiIndex):
        h.update(_pack_q(index.nlevels))
        for level, codes in zip(index.levels, index.codes, strict=True):
            _feed_pandas_index(walker, h, level)
            walker.feed(h, sys.modules["numpy"].asarray(codes))
    else:
        _feed_pandas_values(walker, h, index.array)


def _feed_pandas(walker: _Walker, h: Any, obj: Any) -> None:
    pd = sys.modules["pandas"]
    tp = type(obj)
    if issubclass(tp, pd.DataFrame):
        _feed_type_tag(h, tp)
        rows, columns = obj.shape
        h.update(_pack_q(rows) + _pack_q(columns))
        walker.feed_sub(h, b"c", _feed_pandas_index, obj.columns)
        walker.feed_sub(h, b"i", _feed_pandas_index, obj.index)
        for position in range(columns):
            values = obj.iloc[:, position].array
            walker.feed_sub(h, b"v", _feed_pandas_values, values)
    elif issubclass(tp, pd.Series):
        _feed_type_tag(h, tp)
        walker.feed(h, obj.name)
        walker.feed_sub(h, b"i", _feed_pandas_index, obj.index)
        walker.feed_sub(h, b"v", _feed_pandas_values, obj.array)
    elif issubclass(tp, pd.Index):
        walker.feed_sub(h, b"i", _feed_pandas_index, obj)
    elif issubclass(tp, pd.api.extensions.ExtensionArray):
        _feed_type_tag(h, tp)
        walker.feed_sub(h, b"v", _feed_pandas_values, obj)
    else:
        walker.feed_pickle(h, obj)


# --- dispatch ------------------------------------------------------------------

_EXACT_HANDLERS: dict[type, Callable[[_Walker, Any, Any], None]] = {
    list: _feed_list,
    tuple: _feed_tuple,
    dict: _feed_dict,
    set: _feed_set,
    frozenset: _feed_set,
    types.FunctionType: _feed_function,
    types.CodeType: _feed_code,
    types.MethodType: _feed_method,
    types.BuiltinFunctionType: _feed_builtin_function,
    types.ModuleType: _feed_module,
    type: _feed_class,
}

# Packages whose types are safe to remember in _EXACT_HANDLERS: they live as
# long as the process, unlike classes defined in a notebook.
_CACHED_MODULES = (
    "builtins",
    "datetime",
    "decimal",
    "fractions",
    "uuid",
    "pathlib",
    "numpy",
    "pandas",
    "pyarrow",
)


def _resolve_handler(obj: Any, tp: type) -> Callable[[_Walker, Any, Any], None]:
    """The handler for a type not in the exact-type table."""
    if _find_hook(tp) is not None:
        return _feed_hook
    module = _module_of(tp)
    handler = _resolve_known(obj, tp, module)
    if module.split(".", 1)[0] in _CACHED_MODULES and handler is not _feed_hook:
        _EXACT_HANDLERS[tp] = handler
    return handler


def _stdlib_handler(tp: type, module: str) -> Callable[[_Walker, Any, Any], None] | None:
    qualname = type.__dict__["__qualname__"].__get__(tp)
    handler = _STDLIB_HANDLERS.get((module, qualname))
    if handler is not None and getattr(sys.modules.get(module), qualname, None) is tp:
        return handler
    return None


def _resolve_known(obj: Any, tp: type, module: str) -> Callable[[_Walker, Any, Any], None]:
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(tp, np.ndarray):
            return _feed_ndarray
        if issubclass(tp, np.generic) and tp is not np.object_:
            return _feed_numpy_scalar
    pd = sys.modules.get("pandas")
    if pd is not None and (
        module.startswith("pandas") or issubclass(tp, (pd.DataFrame, pd.Series, pd.Index))
    ):
        return _feed_pandas
    pa = sys.modules.get("pyarrow")
    if pa is not None and issubclass(tp, (pa.Table, pa.RecordBatch, pa.ChunkedArray, pa.Array)):
        return _feed_arrow
    handler = _stdlib_handler(tp, module)
    if handler is not None:
        return handler
    enum = sys.modules.get("enum")
    if enum is not None and issubclass(tp, enum.Enum):
        return _feed_enum
    if issubclass(tp, type):
        return _feed_class
    if issubclass(tp, types.ModuleType):
        return _feed_module
    if issubclass(
        tp, (list, tuple, dict, set, frozenset, int, float, complex, str, bytes, bytearray)
    ):
        return _feed_builtin_subclass
    return _feed_pickled


# --- summaries -----------------------------------------------------------------


def _describe(obj: Any, tp: type) -> tuple[str | None, int | None, str]:
    """(shape, length, summary) of a value, without calling its methods."""
    if tp in (list, tuple, dict, set, frozenset):
        length = len(obj)
        return None, length, f"{tp.__name__}[{length}]"
    if tp is types.FunctionType:
        return None, None, _truncate(f"function {_function_qualname(obj)}")
    if tp is types.ModuleType:
        version = _module_version(obj)
        return (
            None,
            None,
            _truncate(f"module {_module_name(obj)}" + (f" {version}" if version else "")),
        )
    if tp is types.BuiltinFunctionType:
        return None, None, _truncate(f"builtin {obj.__qualname__}")
    if issubclass(tp, type):
        return None, None, _truncate(f"class {_type_name(obj)}")
    module = _module_of(tp)
    if _stdlib_handler(tp, module) is not None:
        # The standard library's own reprs of its value types; no user code.
        return None, None, _truncate(repr(obj))
    enum = sys.modules.get("enum")
    if enum is not None and issubclass(tp, enum.Enum):
        name = object.__getattribute__(obj, "__dict__").get("_name_")
        return None, None, _truncate(f"{_type_name(tp)}.{name if type(name) is str else '?'}")
    np = sys.modules.get("numpy")
    if np is not None and issubclass(tp, np.ndarray):
        shape = tuple(obj.shape)
        return (
            str(shape),
            (shape[0] if shape else None),
            f"ndarray {obj.dtype} {shape}"[:_MAX_SUMMARY],
        )
    if np is not None and issubclass(tp, np.generic) and module == "numpy":
        return None, None, _truncate(f"{tp.__name__} {obj!r}")
    pd = sys.modules.get("pandas")
    if pd is not None and module.startswith("pandas"):
        if issubclass(tp, pd.DataFrame):
            rows, columns = obj.shape
            labels = list(obj.columns[:8])
            return (
                str((rows, columns)),
                rows,
                _truncate(f"DataFrame {rows}{_TIMES}{columns} {_columns_summary(labels, columns)}"),
            )
        if issubclass(tp, (pd.Series, pd.Index)):
            rows = obj.shape[0]
            name = f" {_label_summary(obj.name)}" if obj.name is not None else ""
            return str((rows,)), rows, _truncate(f"{tp.__name__} {obj.dtype} [{rows}]{name}")
    pa = sys.modules.get("pyarrow")
    if pa is not None and module.startswith("pyarrow"):
        if issubclass(tp, (pa.Table, pa.RecordBatch)):
            rows, columns = obj.num_rows, obj.num_columns
            labels = list(obj.schema.names[:8])
            return (
                str((rows, columns)),
                rows,
                _truncate(
                    f"{tp.__name__} {rows}{_TIMES}{columns} {_columns_summary(labels, columns)}"
                ),
            )
        if issubclass(tp, (pa.Array, pa.ChunkedArray)):
            rows = len(obj)
            return str((rows,)), rows, _truncate(f"{tp.__name__} {obj.type} [{rows}]")
    return None, None, _type_name(tp)


def _function_qualname(fn: types.FunctionType) -> str:
    qualname = fn.__qualname__
    return qualname if type(qualname) is str else "?"


# --- public API ----------------------------------------------------------------


def fingerprint(obj: Any, *, budget_s: float = 2.0) -> Fingerprint:
    """Fingerprint a value by content within ``budget_s`` seconds; never raises."""
    tp = type(obj)
    type_name, shape, length, summary = "?", None, None, "?"
    try:
        if type(tp) is not type:
            type_name = summary = _type_name(tp)
            _check_metaclass(tp)
        encode = _SCALAR_ENCODERS.get(tp)
        if encode is not None:
            # The common case, kept to a few microseconds.
            return Fingerprint(
                digest="xxh3:" + _xxh3_hexdigest(encode(obj)),
                kind="content",
                type_name=tp.__qualname__,
                length=len(obj) if tp in _SIZED_SCALARS else None,
                summary=_scalar_summary(obj, tp),
            )
        type_name = summary = _type_name(tp)
        try:
            shape, length, summary = _describe(obj, tp)
        except KeyboardInterrupt:
            raise
        except BaseException:
            pass
        if _timed_out_before(tp):
            raise _Timeout(
                "its own pickling code ran past the budget before; not run again in this process"
            )
        walker = _Walker(_perf_counter() + budget_s)
        h = _xxh3_128()
        try:
            walker.feed(h, obj)
        except _OwnCodeTimeout:
            _remember_timeout(tp)
            raise
        finally:
            walker.close()
        return Fingerprint(
            digest="xxh3:" + h.hexdigest(),
            kind="content",
            type_name=type_name,
            shape=shape,
            length=length,
            summary=summary,
        )
    except KeyboardInterrupt:
        raise
    except _Timeout as exc:
        kind, note = "timeout", f"{exc.args[0]} (budget {budget_s:g} s)"
    except _Unhashable as exc:
        kind, note = "identity", exc.args[0]
    except _HookFailed as exc:
        kind, note = "error", exc.args[0]
    except RecursionError as exc:
        kind, note = "identity", "too deeply nested: " + _describe_exception(exc)
    except BaseException as exc:
        # Fingerprinting is passive: whatever a value does while being hashed
        # (even SystemExit from a __reduce__) must not end the user's cell.
        kind, note = "error", "fingerprint failed: " + _describe_exception(exc)
    return Fingerprint(
        digest=f"id:{id(obj):#x}",
        kind=kind,  # type: ignore[arg-type]
        type_name=type_name,
        shape=shape,
        length=length,
        summary=summary,
        note=note[:_MAX_NOTE],
    )


# Classes whose own pickling code ran past the budget: a value that takes the whole
# budget once would take it again in every cell that reads it.
_slow_types: dict[int, weakref.ref[type]] = {}


def _timed_out_before(tp: type) -> bool:
    ref = _slow_types.get(id(tp))
    return ref is not None and ref() is tp


def _remember_timeout(tp: type) -> None:
    try:
        _slow_types[id(tp)] = weakref.ref(tp)
    except TypeError:
        pass


_SIZED_SCALARS = frozenset({str, bytes, bytearray, range})
_IMMUTABLE_SCALARS = frozenset({type(None), bool, int, float, complex, str, bytes, range})


def is_immutable_value(obj: Any) -> bool:
    """Whether ``obj`` cannot change in place, so an earlier fingerprint of it still holds."""
    return _is_immutable(obj, 0)


def _is_immutable(obj: Any, depth: int) -> bool:
    tp = type(obj)
    if tp in _IMMUTABLE_SCALARS:
        return True
    if tp is tuple or tp is frozenset:
        if depth >= 4 or len(obj) > 1000:
            return False
        return all(_is_immutable(item, depth + 1) for item in obj)
    np = sys.modules.get("numpy")
    # np.void is left out: a structured scalar can be a view into an array.
    return (
        np is not None
        and issubclass(tp, np.generic)
        and _module_of(tp) == "numpy"
        and not issubclass(tp, (np.void, np.object_))
    )


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 hex digest and size in bytes of a file, read in a stream."""
    with open(path, "rb", buffering=0) as f:
        if hasattr(hashlib, "file_digest"):
            digest = hashlib.file_digest(f, "sha256")
            return digest.hexdigest(), f.tell()
        digest = hashlib.sha256()
        buffer = bytearray(chunk_size)
        view = memoryview(buffer)
        size = 0
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            size += n
        return digest.hexdigest(), size
