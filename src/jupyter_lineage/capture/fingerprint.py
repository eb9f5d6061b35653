"""Type-aware content fingerprints of in-memory values, and SHA-256 of files.

A fingerprint is an xxh3-128 hash of a canonical byte stream describing a
value: a type tag, then the value's content. The stream never depends on
object ids, ``hash()`` or memory layout, so equal content gives the same
digest in any process.

Fingerprinting runs none of the user's code. The only methods it calls are
those of *trusted* code: the standard library, and the libraries it has
readers for (numpy, pandas, pyarrow, matplotlib, scikit-learn, PyTorch) and
this package. A class is trusted when the module that defines it belongs to
one of them; a user's subclass of a trusted class is the user's code as soon as
it defines anything that trusted code could end up calling. The one exception
is opt-in: a class's ``__lineage_fingerprint__`` hook, which is stopped at the
value budget by a ``SIGALRM`` timer in the main thread.

Objects of other classes are read *structurally*: their type's qualified name,
then their ``__slots__`` (through the slot descriptors in each class's own
namespace) and ``__dict__`` (through the interpreter's own ``__dict__``
descriptor), walked like any other value. Nothing is looked up on the object
itself, so no ``__getattr__``, ``__getattribute__``, property or other
descriptor runs, and neither does ``__reduce__``, ``__getstate__``,
``__repr__``, ``__len__``, ``__iter__``, ``__eq__`` or ``__hash__``: builtin
containers are walked with the builtin types' own methods, and dict keys are
hashed by content, never looked up. An object whose state cannot be read this
way gets an identity fingerprint whose note says why: a class that defines
``__getattribute__``, a C type with state the walk cannot see and no reader
here, a class whose metaclass defines ``__eq__`` or ``__hash__``. Trusted C
types without a reader (``functools.partial``, ``random.Random``, numpy's
random generators, scikit-learn's Cython objects...) are pickled, with every
object their pickle holds handed back to the walk, so only the trusted type's
own reduction runs.

numpy, pandas, pyarrow, matplotlib, scikit-learn and torch are never imported
here: their types are recognised only once the user has imported them, by
looking in ``sys.modules``.
"""

from __future__ import annotations

import copyreg
import pickle
import signal
import struct
import sys
import threading
import time
import types
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import xxhash

from jupyter_lineage.records import Fingerprint
from jupyter_lineage.redact import may_contain_secret, redact_text

# An object's identity for the tables of a walk: a function of its address, as id() is, and
# one to one with it. id() raises an audit event on every call, which every audit hook in
# the process (the file tracker's among them) is then called for; the walk asks for tens of
# thousands of identities of a large object.
_identity = object.__hash__

# Big enough that per-chunk overhead vanishes, small enough that copying one
# chunk of a non-contiguous array keeps extra memory far below 64 MB.
_CHUNK_BYTES = 8 << 20
# Elements of a Python container between two looks at the clock.
_TICK = 4096
_MAX_DEPTH = 100
# Dicts and sets up to this size are hashed by their sorted element digests;
# bigger ones by the sum of their element digests, which needs no memory per element.
_SORT_LIMIT = 1 << 16
# After the deadline, the alarm that stops a hook fires again this often, in
# case the hook catches the first interruption.
_ALARM_REPEAT_S = 0.05
_MAX_PICKLE_BYTES = 1 << 30
_MAX_NOTE = 200
_MAX_SUMMARY = 120
# Beyond this many bits, repr() of an int is slow (and limited by
# sys.set_int_max_str_digits), so the summary gives an approximate digit count.
_MAX_REPR_BITS = 330
_TIMES = "\u00d7"
_POINTER = struct.calcsize("P")

_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack
_pack_dd = struct.Struct("<dd").pack
_xxh3_128 = xxhash.xxh3_128
_xxh3_digest = xxhash.xxh3_128_digest
_xxh3_hexdigest = xxhash.xxh3_128_hexdigest
_perf_counter = time.perf_counter

_MISSING: Any = object()


class _Timeout(BaseException):
    """Raised inside the walk when the time or byte budget runs out.

    A BaseException so that no ``except Exception`` on the way, ours or a
    library's, swallows it.
    """


class _OwnCodeTimeout(_Timeout):
    """The deadline passed while a ``__lineage_fingerprint__`` hook was running."""


class _Unhashable(BaseException):
    """Raised inside the walk when some part of the value has no content hash."""


class _HookFailed(BaseException):
    """Raised inside the walk when a ``__lineage_fingerprint__`` hook raised."""


# --- classes, read without running their code ----------------------------------
#
# Everything about a class is read through ``type``'s own descriptors, so a
# metaclass's __getattr__, __getattribute__ or properties never run.

_type_mro = type.__dict__["__mro__"].__get__
_type_namespace = type.__dict__["__dict__"].__get__
_type_base = type.__dict__["__base__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_basicsize = type.__dict__["__basicsize__"].__get__
_type_itemsize = type.__dict__["__itemsize__"].__get__
_type_dictoffset = type.__dict__["__dictoffset__"].__get__
_type_weakrefoffset = type.__dict__["__weakrefoffset__"].__get__
_exception_args = BaseException.__dict__["args"].__get__
_function_module = types.FunctionType.__dict__["__module__"].__get__
_MemberDescriptor = types.MemberDescriptorType
_GetSetDescriptor = types.GetSetDescriptorType
_member_get = types.MemberDescriptorType.__get__
_getset_get = types.GetSetDescriptorType.__get__

# Values in a class namespace that no code can hide behind.
_PLAIN_TYPES = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        tuple,
        frozenset,
        _MemberDescriptor,
        _GetSetDescriptor,
    }
)
# Looked up on the instance by attribute access itself.
_ATTRIBUTE_HOOKS = ("__getattribute__", "__getattr__", "__setattr__", "__delattr__")

# Where trusted classes live: the standard library and the libraries read by
# dedicated code here. Trust follows the defining module's name.
_TRUSTED_PACKAGES = frozenset(
    {
        *sys.stdlib_module_names,
        "numpy",
        "pandas",
        "pyarrow",
        "matplotlib",
        "mpl_toolkits",
        "sklearn",
        "torch",
        "jupyter_lineage",
    }
)
_MPL_PACKAGES = frozenset({"matplotlib", "mpl_toolkits"})


def _mro(tp: type) -> tuple[type, ...]:
    try:
        return _type_mro(tp)  # type: ignore[no-any-return]
    except Exception:
        return (tp,)


def _namespace(klass: type) -> Any:
    """The class's own namespace (a mappingproxy), without the metaclass's help."""
    try:
        return _type_namespace(klass)
    except Exception:
        return {}


def _module_of(tp: type) -> str:
    try:
        module = _type_module(tp)
    except Exception:
        return ""
    return module if isinstance(module, str) else ""


def _root_of(tp: type) -> str:
    return _module_of(tp).partition(".")[0]


def _core_type_ids() -> frozenset[int]:
    """The interpreter's own types: every C type that says its module is ``builtins``
    without being one of these is another extension's (or a class made by exec)."""
    import builtins

    found = [value for value in vars(builtins).values() if isinstance(value, type)]
    found += [value for value in vars(types).values() if isinstance(value, type)]
    samples: list[Any] = [
        iter([]), iter(()), iter(""), iter(b""), iter(bytearray()), iter(range(1)),
        iter({}), iter(set()), iter({}.values()), iter({}.items()), reversed([]),
        {}.keys(), {}.values(), {}.items(), iter(lambda: 0, 0), type.__dict__,
        object.__init__, object().__str__, str.join, dict.__dict__["fromkeys"],
    ]  # fmt: skip
    found += [type(sample) for sample in samples]
    return frozenset(_identity(tp) for tp in found)


# Types live as long as the process when they are the interpreter's own, so their ids are theirs.
_CORE_TYPE_IDS = _core_type_ids()


def _is_trusted_class(klass: type) -> bool:
    root = _root_of(klass)
    if root == "builtins":
        return _identity(klass) in _CORE_TYPE_IDS
    return root in _TRUSTED_PACKAGES


def _is_trusted_type(tp: type) -> bool:
    """Whether every class in ``tp``'s MRO is trusted code."""
    return all(_is_trusted_class(klass) for klass in _mro(tp))


def type_name(tp: type) -> str:
    """``module.qualname`` of a type as fingerprints name it, read without the metaclass's help."""
    return _type_name(tp)


def defines_untrusted(tp: type, names: frozenset[str]) -> bool:
    """Whether a class in ``tp``'s MRO that is not trusted code defines one of ``names`` itself
    (read from each class's own namespace, without the metaclass's help)."""
    return any(
        not _is_trusted_class(klass) and any(name in _namespace(klass) for name in names)
        for klass in _mro(tp)
    )


def _lookup(tp: type, name: str) -> Any:
    """What ``name`` resolves to on the class, as attribute lookup would find it; _MISSING if none."""
    for klass in _mro(tp):
        namespace = _namespace(klass)
        if name in namespace:
            return namespace[name]
    return _MISSING


def _type_name(tp: type) -> str:
    """``module.qualname`` of a type, with public names for builtins, numpy and pandas."""
    try:
        module = _type_module(tp)
        qualname = _type_qualname(tp)
    except Exception:
        return "?"
    if type(module) is not str or type(qualname) is not str:
        return "?" if type(qualname) is not str else qualname
    if module == "builtins":
        return qualname
    for package in ("pandas", "numpy", "pyarrow"):
        if module.startswith(package + "."):
            public = sys.modules.get(package)
            if public is not None and getattr(public, str(qualname), None) is tp:
                return f"{package}.{qualname}"
    return f"{module}.{qualname}"


def _describe_exception(exc: BaseException) -> str:
    """``Type: message`` of an exception, without calling its (or its arguments') ``__str__``."""
    name = _type_name(type(exc)).rpartition(".")[2] or "Exception"
    try:
        args = _exception_args(exc)
    except Exception:
        args = ()
    if type(args) is not tuple or not args:
        return name
    if len(args) == 1 and type(args[0]) is str:
        message = args[0]
    elif all(type(arg) in _SUMMARY_SCALARS for arg in args):
        message = BaseException.__str__(exc)
    else:
        message = "<message not shown: it would run the exception's own code>"
    return f"{name}: {message}" if message else name


_SUMMARY_SCALARS = frozenset({type(None), bool, int, float, str})


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
# The same, keyed by the type's id: looking a type up by id never calls its
# metaclass's __hash__ or __eq__, and builtin types live (at one id) forever.
_SCALAR_BY_ID: dict[int, Callable[[Any], bytes]] = {
    _identity(tp): encode for tp, encode in _SCALAR_ENCODERS.items()
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
    if type(tp) is type and tp in _SCALAR_ENCODERS and tp is not memoryview:
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


# --- a __lineage_fingerprint__ hook: bounded in time ------------------------------
#
# A hook is the only user code fingerprinting runs, and only because its class
# asked for it. Checking the clock between objects cannot stop one that sleeps
# or loops, and a worker thread given up on at the deadline would keep running,
# holding the value and racing the user's code. So in the main thread (where
# IPython runs cells) an interval timer raises _Timeout inside the hook at the
# deadline, and again every 50 ms in case the hook catches it; if it caught one
# already (``except BaseException`` in a loop), a trace function raises on every
# line it runs, which no except clause survives.


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
        """Make every line of the hook's code (the frames up to this module's) raise."""
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
        raise _OwnCodeTimeout("time budget exhausted in __lineage_fingerprint__, which ignored it")
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
        raise _Timeout("time budget exhausted")
    where = f"{getattr(code, 'co_qualname', code.co_name)} at {code.co_filename}:{frame.f_lineno}"
    raise _OwnCodeTimeout(f"time budget exhausted in __lineage_fingerprint__ ({where})")


def _no_op() -> None:
    return None


# --- how an object of a class is read: its plan ------------------------------------


class _Plan:
    """How the walk reads instances of one class, decided once per class and walk.

    ``note`` set: no content hash (the reason). ``pickle``: a trusted type whose
    state lives in C, pickled. Otherwise the slots in ``members`` and the
    ``__dict__`` that ``dict_getter`` reads.
    """

    __slots__ = ("dict_getter", "members", "note", "pickle", "tag")

    def __init__(
        self,
        tag: bytes,
        *,
        note: str | None = None,
        pickle: bool = False,
        members: tuple[tuple[bytes, Any], ...] = (),
        dict_getter: Callable[[Any, type], Any] | None = None,
    ) -> None:
        self.tag = tag
        self.note = note
        self.pickle = pickle
        self.members = members
        self.dict_getter = dict_getter


# Tags of library types, which live as long as the process.
_library_tags: dict[type, bytes] = {}


def _type_tag(tp: type) -> bytes:
    plain = type(tp) is type
    if plain:
        tag = _library_tags.get(tp)
        if tag is not None:
            return tag
    name = _type_name(tp).encode("utf-8", "surrogatepass")
    tag = b"t" + _pack_q(len(name)) + name
    if plain and _root_of(tp) in _CACHED_MODULES and _is_trusted_type(tp):
        _library_tags[tp] = tag
    return tag


def _plain_namespace(namespace: Any) -> bool:
    """Whether a class body holds only data: nothing trusted code could call into."""
    if "__slots__" in namespace:
        # Pickling such a class would have copyreg cache __slotnames__ on it.
        return False
    return all(type(value) in _PLAIN_TYPES for value in namespace.values())


def _hidden_state_class(tp: type, stop: type) -> type | None:
    """The first class between ``tp`` and ``stop`` whose instances hold state in C, if any.

    A class's instance layout grows only by its slots, a ``__dict__`` pointer and
    a weak-reference pointer when it is written in Python; anything more is a C
    type's fields, which no slot or ``__dict__`` shows.
    """
    klass = tp
    while klass is not stop and klass is not object:
        try:
            base = _type_base(klass)
            if base is None or _type_itemsize(klass) != _type_itemsize(base):
                return klass
            namespace = _namespace(klass)
            allowed = 0
            if "__slots__" in namespace:
                allowed += _POINTER * sum(
                    1 for value in namespace.values() if type(value) is _MemberDescriptor
                )
            if _type_weakrefoffset(klass) > 0 and _type_weakrefoffset(base) == 0:
                allowed += _POINTER
            if _type_dictoffset(klass) > 0 and _type_dictoffset(base) == 0:
                allowed += _POINTER
            if _type_basicsize(klass) - _type_basicsize(base) > allowed:
                return klass
        except Exception:
            return klass
        klass = base
    return None


def _make_plan(
    tp: type, stop: type = object, known_extra: Callable[[type], bool] | None = None
) -> _Plan:
    """Decide how instances of ``tp`` are read; ``stop`` is the base a handler already reads."""
    tag = _type_tag(tp)
    name = _type_name(tp)
    mro = _mro(tp)
    foreign_code = False
    for klass in mro:
        if _is_trusted_class(klass):
            continue
        namespace = _namespace(klass)
        if "__getattribute__" in namespace:
            return _Plan(
                tag,
                note=f"{name} defines __getattribute__, so what its attributes hold is its own "
                "code's answer (define __lineage_fingerprint__)",
            )
        if not foreign_code and not _plain_namespace(namespace):
            foreign_code = True
    hidden = _hidden_state_class(tp, stop)
    if hidden is not None and not (known_extra is not None and known_extra(hidden)):
        if foreign_code or not _is_trusted_class(hidden):
            where = "" if hidden is tp else f": {_type_name(hidden)} keeps it in C"
            return _Plan(
                tag,
                note=f"{name} has no readable state without running its own code{where} "
                "(define __lineage_fingerprint__)",
            )
        return _Plan(tag, pickle=True)
    members: list[tuple[bytes, Any]] = []
    dict_getter: Callable[[Any, type], Any] | None = None
    for klass in mro:
        namespace = _namespace(klass)
        if "__slots__" in namespace:
            for key, value in namespace.items():
                if type(value) is _MemberDescriptor and type(key) is str:
                    members.append((_encode_str(key), value))
        if dict_getter is None:
            # The interpreter's own __dict__ descriptor; a class that puts
            # something else (a property) under that name is passed over.
            value = namespace.get("__dict__")
            if type(value) is _GetSetDescriptor:
                dict_getter = _getset_get.__get__(value)
            elif type(value) is _MemberDescriptor:
                dict_getter = _member_get.__get__(value)
    return _Plan(tag, members=tuple(members), dict_getter=dict_getter)


def _instance_dict(obj: Any, tp: type, plan: _Plan) -> dict[Any, Any] | None:
    if plan.dict_getter is None:
        return None
    try:
        state = plan.dict_getter(obj, tp)
    except AttributeError:
        return None
    return state if issubclass(type(state), dict) else None


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


# Types pickle writes by itself, element by element; the pickler's per-object
# hook lets them through.
_PICKLE_NATIVE = frozenset(
    {type(None), bool, int, float, complex, str, bytes, bytearray, tuple, list, dict}
)


def _trusted_dispatch_table() -> dict[type, Any]:
    """copyreg's reducers for trusted types by trusted functions; a user's registrations are left out."""
    table: dict[type, Any] = {}
    for tp, reducer in list(copyreg.dispatch_table.items()):
        if type(tp) is not type or not _is_trusted_type(tp):
            continue
        if type(reducer) is types.FunctionType:
            module = _function_module(reducer)
            if not isinstance(module, str) or module.partition(".")[0] not in _TRUSTED_PACKAGES:
                continue
        table[tp] = reducer
    return table


class _Pickler(pickle.Pickler):
    """Pickles one trusted object into a hash, handing every object it holds back to the walk.

    Only the top object is reduced by pickle; anything it holds that pickle would
    not write by itself (a user's object, a set, a function, another trusted
    object) is replaced by its digest from the walk, so no user code runs and
    sets do not depend on hash randomisation.
    """

    def __init__(self, walker: _Walker, sink: _Sink, top: Any) -> None:
        super().__init__(sink, protocol=5)
        self.dispatch_table = _trusted_dispatch_table()
        self._walker = walker
        self._top = top

    def persistent_id(self, obj: Any) -> Any:
        tp = type(obj)
        if type(tp) is type and tp in _PICKLE_NATIVE:
            return None
        if obj is self._top:
            return None
        if _perf_counter() > self._walker.deadline:
            raise _Timeout("time budget exhausted while pickling")
        return self._walker.digest(obj)


_plain_metaclasses: dict[int, tuple[weakref.ref[type], bool]] = {}
_TYPE_HASH = _lookup(type, "__hash__")
_TYPE_EQ = _lookup(type, "__eq__")


def _check_metaclass(tp: type) -> None:
    """Refuse a class whose metaclass overrides __hash__ or __eq__ (a dict lookup would call it)."""
    meta = type(tp)
    cached = _plain_metaclasses.get(_identity(meta))
    if cached is not None and cached[0]() is meta:
        plain = cached[1]
    else:
        plain = _lookup(meta, "__hash__") is _TYPE_HASH and _lookup(meta, "__eq__") is _TYPE_EQ
        _plain_metaclasses[_identity(meta)] = (weakref.ref(meta), plain)
    if not plain:
        raise _Unhashable(
            f"the metaclass of {_type_name(tp)} defines __hash__ or __eq__, which are not called "
            "here (define __lineage_fingerprint__)"
        )


class _Walker:
    """One fingerprint computation: the deadline, the objects being walked, what it learnt of types."""

    __slots__ = (
        "_active",
        "_alarm",
        "_handlers",
        "_mpl",
        "_plans",
        "_seen_types",
        "_tick",
        "deadline",
        "names",
    )

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        # id -> position, for the objects currently being walked; a value
        # met again while still active is a cycle.
        self._active: dict[int, int] = {}
        self._tick = _TICK
        self._alarm: _Alarm | None = None
        # Per walk, keyed by id, so a class changed between two cells is looked at
        # afresh; the types are held until the walk ends, so no id is reused in it.
        self._seen_types: list[type] = []
        self._handlers: dict[int, Callable[[_Walker, Any, Any], None]] = {}
        self._plans: dict[int, _Plan] = {}
        self._mpl: dict[tuple[int, Any], Any] = {}
        # Encoded attribute names: every instance of a class repeats them.
        self.names: dict[str, bytes] = {}

    def run_hook(self, tp: type) -> None:
        """About to run a __lineage_fingerprint__ hook: make sure it is stopped at the deadline.

        Only a signal can stop it, so only in the main thread, with SIGALRM free;
        elsewhere the hook is not run.
        """
        if self._alarm is not None:
            return
        if not _Alarm.available():
            raise _Unhashable(
                f"the __lineage_fingerprint__ of {_type_name(tp)} is run only where it can be "
                "stopped at the time budget (the main thread, with SIGALRM not in use)"
            )
        self._alarm = _Alarm(self.deadline)

    def close(self) -> None:
        if self._alarm is not None:
            self._alarm.stop()
            self._alarm = None

    def _check_clock(self) -> None:
        self._tick = _TICK
        if _perf_counter() > self.deadline:
            raise _Timeout("time budget exhausted")

    def count(self, n: int) -> None:
        """Account for ``n`` elements hashed without going through ``feed``."""
        self._tick -= n
        if self._tick <= 0:
            self._check_clock()

    def pair_digests(self, items: Iterable[tuple[Any, Any]]) -> list[bytes]:
        """``digest(key) + digest(value)`` of each item; scalars inline, the hot case."""
        encoders = _SCALAR_BY_ID.get
        digest = self.digest
        pairs: list[bytes] = []
        append = pairs.append
        for key, value in items:
            encode = encoders(_identity(type(key)))
            key_digest = digest(key) if encode is None else _xxh3_digest(encode(key))
            encode = encoders(_identity(type(value)))
            append(key_digest + (digest(value) if encode is None else _xxh3_digest(encode(value))))
        self.count(len(pairs))
        return pairs

    def plan(
        self, tp: type, stop: type = object, known_extra: Callable[[type], bool] | None = None
    ) -> _Plan:
        plan = self._plans.get(_identity(tp))
        if plan is None:
            plan = self._plans[_identity(tp)] = _make_plan(tp, stop, known_extra)
            self._seen_types.append(tp)
        return plan

    def digest(self, obj: Any) -> bytes:
        """16-byte digest of one value."""
        encode = _SCALAR_BY_ID.get(_identity(type(obj)))
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
        encode = _SCALAR_BY_ID.get(_identity(tp))
        if encode is not None:
            h.update(encode(obj))
            return
        handler = self._handlers.get(_identity(tp))
        if handler is None:
            if type(tp) is not type:
                # Before any dict lookup by the type, which would call these.
                _check_metaclass(tp)
            handler = _EXACT_HANDLERS.get(tp) or _resolve_handler(obj, tp)
            self._handlers[_identity(tp)] = handler
            self._seen_types.append(tp)
        key = _identity(obj)
        active = self._active
        seen = active.get(key)
        if seen is not None:
            h.update(b"@" + _pack_q(seen))
            return
        depth = len(active)
        if depth >= _MAX_DEPTH:
            raise _Unhashable(f"nested deeper than {_MAX_DEPTH} levels")
        active[key] = depth
        try:
            handler(self, h, obj)
        finally:
            del active[key]

    def feed_sub(self, h: Any, tag: bytes, fill: Callable[..., None], *args: Any) -> None:
        """Hash what ``fill(self, sub, *args)`` writes separately; append ``tag`` + that digest.

        Keeps large or open-ended streams (arrays, pickles) from being
        ambiguous with whatever follows them in the parent stream.
        """
        sub = _xxh3_128()
        fill(self, sub, *args)
        h.update(tag + sub.digest())

    def feed_pickle(self, h: Any, obj: Any) -> None:
        """Append the digest of a trusted object's pickle, or raise ``_Unhashable`` if it has none."""
        sub = _xxh3_128()
        try:
            with warnings.catch_warnings():
                # A trusted type's pickling may warn (deprecated pickle support):
                # not the user's business, and not to be printed in their cell.
                warnings.simplefilter("ignore")
                _Pickler(self, _Sink(sub.update, self.deadline), obj).dump(obj)
        except (_Timeout, _Unhashable, _HookFailed, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise _Unhashable("not picklable: " + _describe_exception(exc)) from None
        h.update(b"P" + sub.digest())

    def mpl_member(self, tp: type, name: str) -> Any:
        """matplotlib's own function or property getter for ``name`` on ``tp``.

        The first look at a type also checks that matplotlib's code would run
        none of the user's on its instances.
        """
        key = (_identity(tp), name)
        found = self._mpl.get(key, _MISSING)
        if found is _MISSING:
            self.mpl_check(tp)
            found = self._mpl[key] = _mpl_member(tp, name)
            self._seen_types.append(tp)
        return found

    def mpl_getters(self, tp: type, names: tuple[str, ...]) -> list[Any]:
        """matplotlib's own methods ``names`` of ``tp`` (None where this version has none)."""
        key = (_identity(tp), names)
        found = self._mpl.get(key)
        if found is None:
            found = []
            for name in names:
                # A method, or a property's getter, called with the object alone; a name
                # this matplotlib lacks, or sets to data (Axes3D.get_frame_on = None), is skipped.
                kind, function = self.mpl_member(tp, name)
                found.append(None if kind == "data" else function)
            self._mpl[key] = found
        return found  # type: ignore[no-any-return]

    def mpl_check(self, tp: type) -> None:
        key = (_identity(tp), "")
        problem = self._mpl.get(key, _MISSING)
        if problem is _MISSING:
            problem = self._mpl[key] = _mpl_subclass_problem(tp)
            self._seen_types.append(tp)
        if problem is not None:
            raise _Unhashable(problem)


# --- handlers: each appends one value's encoding to h ---------------------------


def _feed_sequence(walker: _Walker, h: Any, tag: bytes, n: int, items: Iterable[Any]) -> None:
    h.update(tag + _pack_q(n))
    encoders = _SCALAR_BY_ID.get
    feed = walker.feed
    update = h.update
    # Scalars inline (the hot case), counted in batches between looks at the clock.
    pending = 0
    for item in items:
        encode = encoders(_identity(type(item)))
        if encode is None:
            feed(h, item)
        else:
            update(encode(item))
            pending += 1
            if pending >= _TICK:
                walker.count(pending)
                pending = 0
    walker.count(pending)


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
    # dict equality ignores order, so the digest does too. Keys are hashed by
    # content: walking items never calls a key's __hash__ or __eq__.
    digest = walker.digest
    pairs: Iterable[bytes]
    if n <= _SORT_LIMIT:
        pairs = walker.pair_digests(items)
    else:
        pairs = (_xxh3_digest(digest(key) + digest(value)) for key, value in items)
    _feed_unordered(walker, h, b"D", n, pairs)


def _feed_dict(walker: _Walker, h: Any, obj: dict[Any, Any]) -> None:
    _feed_dict_items(walker, h, len(obj), obj.items())


def _feed_type_tag(h: Any, tp: type) -> None:
    h.update(_type_tag(tp))


def _feed_state(walker: _Walker, h: Any, obj: Any, tp: type, plan: _Plan) -> None:
    """Append an object's slots and ``__dict__``, read through the interpreter's descriptors."""
    for key, member in plan.members:
        try:
            value = _member_get(member, obj, tp)
        except AttributeError:
            h.update(b"-" + key)
            continue
        h.update(key)
        walker.feed(h, value)
    state = _instance_dict(obj, tp, plan)
    if state is not None:
        _feed_attributes(walker, h, state)


def _feed_attributes(walker: _Walker, h: Any, state: dict[Any, Any]) -> None:
    """Append an instance ``__dict__``, in an order that does not depend on how it was filled.

    Attribute names are strings, so the items are sorted by name (a comparison
    of distinct strings never reaches the values) and each value is streamed
    after its name, with no digest per item. A dict with other keys is hashed
    as a dict.
    """
    n = dict.__len__(state)
    if not n:
        return
    if n <= _SORT_LIMIT:
        for key in dict.keys(state):
            if type(key) is not str:
                break
        else:
            names = walker.names
            feed = walker.feed
            update = h.update
            update(b"a" + _pack_q(n))
            for key, value in sorted(dict.items(state)):
                encoded = names.get(key)
                if encoded is None:
                    encoded = names[key] = _encode_str(key)
                update(encoded)
                feed(h, value)
            return
    h.update(b"d")
    _feed_dict_items(walker, h, n, dict.items(state))


def _feed_object(walker: _Walker, h: Any, obj: Any) -> None:
    """An object of a class with no reader: its type, then its slots and ``__dict__``."""
    tp = type(obj)
    plan = walker._plans.get(_identity(tp)) or walker.plan(tp)
    if plan.note is not None:
        raise _Unhashable(plan.note)
    if plan.pickle:
        walker.feed_pickle(h, obj)
        return
    h.update(plan.tag + b"O")
    if plan.members:
        _feed_state(walker, h, obj, tp, plan)
        return
    # The common case, inlined: a __dict__ and no slots.
    getter = plan.dict_getter
    if getter is not None:
        try:
            state = getter(obj, tp)
        except AttributeError:
            return
        if issubclass(type(state), dict):
            _feed_attributes(walker, h, state)


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
_BUILTIN_BASES = (list, tuple, dict, set, frozenset, int, float, complex, str, bytes, bytearray)


def _collections_extra(klass: type) -> bool:
    """OrderedDict's order and defaultdict's factory: state in C the handler reads or ignores."""
    collections = sys.modules.get("collections")
    return collections is not None and (
        klass is collections.OrderedDict or klass is collections.defaultdict
    )


def _feed_builtin_subclass(walker: _Walker, h: Any, obj: Any) -> None:
    """Subclasses of list/tuple/dict/set/str/...: the builtin content, type, slots and attributes."""
    tp = type(obj)
    base = next(b for b in _BUILTIN_BASES if issubclass(tp, b))
    plan = walker.plan(tp, base, _collections_extra)
    if plan.note is not None:
        raise _Unhashable(plan.note)
    if plan.pickle:
        walker.feed_pickle(h, obj)
        return
    h.update(plan.tag)
    # Unbound builtin methods, and no copies: a ten-million-entry subclass costs
    # no more memory than the builtin, and element __hash__/__eq__ are never called.
    if base is dict:
        _feed_dict_items(walker, h, dict.__len__(obj), dict.items(obj))
        collections = sys.modules.get("collections")
        if collections is not None and issubclass(tp, collections.defaultdict):
            h.update(b"df")
            walker.feed(h, collections.defaultdict.__dict__["default_factory"].__get__(obj))
    elif base is list:
        _feed_sequence(walker, h, b"L", list.__len__(obj), list.__iter__(obj))
    elif base is tuple:
        _feed_sequence(walker, h, b"U", tuple.__len__(obj), tuple.__iter__(obj))
    elif base is set:
        _feed_set_items(walker, h, b"S", set.__len__(obj), set.__iter__(obj))
    elif base is frozenset:
        _feed_set_items(walker, h, b"Z", frozenset.__len__(obj), frozenset.__iter__(obj))
    else:
        for scalar, exact in _SCALAR_BASES:
            if base is scalar:
                h.update(_SCALAR_ENCODERS[scalar](exact(obj)))
                break
    _feed_state(walker, h, obj, tp, plan)


def _builtin_exception(klass: type) -> bool:
    return _module_of(klass) == "builtins"


def _feed_exception(walker: _Walker, h: Any, exc: BaseException) -> None:
    """An exception: its type, ``args``, the builtin exception's fields, its own attributes.

    Not its traceback, cause or context: what was raised, not where.
    """
    tp = type(exc)
    plan = walker.plan(tp, BaseException, _builtin_exception)
    if plan.note is not None:
        raise _Unhashable(plan.note)
    h.update(plan.tag + b"X")
    walker.feed(h, _exception_args(exc))
    for klass in _mro(tp):
        if not _builtin_exception(klass):
            continue
        for key, value in _namespace(klass).items():
            # Fields such as OSError.filename and StopIteration.value, read in C.
            if type(value) is _MemberDescriptor and not key.startswith("__"):
                h.update(_encode_str(key))
                walker.feed(h, _member_get(value, exc, tp))
    _feed_state(walker, h, exc, tp, plan)


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
    walker.feed(h, fn.__module__)
    walker.feed(h, fn.__name__)
    owner = fn.__self__
    if owner is not None and type(owner) is not types.ModuleType:
        walker.feed(h, owner)


# Functions compiled by Cython (numpy's, pandas', scikit-learn's...): by name, read
# through the function type's own descriptors.
_CYTHON_FUNCTIONS = frozenset({"cython_function_or_method", "fused_cython_function"})


def _is_cython_function_type(tp: type) -> bool:
    # Cython's function type names its module "_cython_<version>", which its own
    # __module__ descriptor (for its instances) hides: known by name and shape.
    return _type_qualname(tp) in _CYTHON_FUNCTIONS and type(_lookup(tp, "__qualname__")) in (
        _GetSetDescriptor,
        _MemberDescriptor,
    )


def _feed_cython_function(walker: _Walker, h: Any, fn: Any) -> None:
    tp = type(fn)
    h.update(b"cf")
    for name in ("__module__", "__qualname__"):
        descriptor = _lookup(tp, name)
        value = None
        if type(descriptor) in (_GetSetDescriptor, _MemberDescriptor):
            value = descriptor.__get__(fn, tp)
        walker.feed(h, value if type(value) is str else None)


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
    if _timed_out_before(tp):
        raise _Timeout(
            f"the __lineage_fingerprint__ of {_type_name(tp)} ran past the budget before; "
            "not run again in this process"
        )
    hook = _find_hook(tp)
    walker.run_hook(tp)
    try:
        result = hook(obj) if type(hook) is types.FunctionType else hook.__get__(obj, tp)()
    except _OwnCodeTimeout:
        _remember_timeout(tp)
        raise
    except (KeyboardInterrupt, _Timeout):
        raise
    except BaseException as exc:
        raise _HookFailed("__lineage_fingerprint__ raised " + _describe_exception(exc)) from None
    _feed_type_tag(h, tp)
    h.update(b"H")
    walker.feed(h, result)


def _find_hook(tp: type) -> Any:
    """The class's ``__lineage_fingerprint__``, looked up without running any ``__getattr__``."""
    hook = _lookup(tp, "__lineage_fingerprint__")
    return None if hook is _MISSING else hook


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


# id -> (dtype, its names, token); the dtype is held so that its id is not
# reused, and its names because they are the one part that can be changed in place.
_dtype_tokens: dict[int, tuple[Any, Any, bytes]] = {}


def _dtype_token(dtype: Any) -> bytes:
    if dtype.fields is not None or dtype.subdtype is not None:
        # repr(descr) costs tens of microseconds; a forest's trees repeat one dtype.
        names = dtype.names
        cached = _dtype_tokens.get(_identity(dtype))
        if cached is not None and cached[0] is dtype and cached[1] is names:
            return cached[2]
        token = repr(dtype.descr).encode()
        if len(_dtype_tokens) < 1024:
            _dtype_tokens[_identity(dtype)] = (dtype, names, token)
        return token
    return (repr(dtype) if dtype.kind == "T" else dtype.str).encode()


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
    """Append an object (or variable-width string) array's elements, walked in C order."""
    flat = arr.reshape(-1)
    n = flat.shape[0]
    step = 1 << 16
    h.update(b"L" + _pack_q(n))
    for start in range(0, n, step):
        for item in flat[start : start + step].tolist():
            walker.feed(h, item)


def _feed_ndarray(walker: _Walker, h: Any, arr: Any) -> None:
    np = sys.modules["numpy"]
    tp = type(arr)
    state_plan = None
    if tp is not np.ndarray:
        _feed_type_tag(h, tp)
        if not _is_trusted_type(tp):
            # A user's subclass: its data through a plain ndarray view (no
            # __array_finalize__, no overridden shape or dtype), its own
            # attributes structurally.
            state_plan = walker.plan(tp, np.ndarray)
            if state_plan.note is not None:
                raise _Unhashable(state_plan.note)
            if state_plan.pickle:
                raise _Unhashable(
                    f"{_type_name(tp)} has no readable state without running its own code "
                    "(define __lineage_fingerprint__)"
                )
            view = np.ndarray.view(arr, np.ndarray)
            _feed_ndarray(walker, h, view)
            _feed_state(walker, h, arr, tp, state_plan)
            return
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
    dtype = obj.dtype
    token = _dtype_token(dtype)
    data = obj.tobytes()
    prefix = _type_tag(tp) + b"a" + _pack_q(len(token)) + token + _pack_q(len(data))
    h.update(prefix + data)
    if dtype.kind in "biufc" and _identity(tp) not in _SCALAR_BY_ID:
        # Booleans, integers, floats and complex numbers have one dtype per type, so
        # from now on they are encoded like Python's scalars: a prefix and their bytes.
        # (numpy's scalar types live as long as the process, so their id is theirs.)
        _SCALAR_BY_ID[_identity(tp)] = _numpy_encoder(prefix)


def _numpy_encoder(prefix: bytes) -> Callable[[Any], bytes]:
    def encode(obj: Any) -> bytes:
        return prefix + obj.tobytes()

    return encode


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
        _feed_object(walker, h, obj)


# --- pandas --------------------------------------------------------------------


def _feed_pandas_values(walker: _Walker, h: Any, values: Any) -> None:
    """Append a column's values (a pandas ExtensionArray or ndarray) by their buffers."""
    np = sys.modules["numpy"]
    pd = sys.modules["pandas"]
    tp = type(values)
    if issubclass(tp, np.ndarray) or not _is_trusted_type(tp):
        # Arrays by the array reader; another library's ExtensionArray (its
        # methods are not trusted) structurally.
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
    _feed_object(walker, h, values)


def _feed_pandas_index(walker: _Walker, h: Any, index: Any) -> None:
    pd = sys.modules["pandas"]
    if not _is_trusted_type(type(index)):
        walker.feed(h, index)
        return
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
    if not _is_trusted_type(tp):
        if issubclass(tp, (pd.DataFrame, pd.Series)):
            _feed_pandas_subclass(walker, h, obj)
        elif issubclass(tp, pd.Index):
            raise _Unhashable(
                f"{_type_name(tp)} has no readable state without running its own code "
                "(define __lineage_fingerprint__)"
            )
        else:
            # Another library's ExtensionArray or dtype, say: read structurally.
            _feed_object(walker, h, obj)
        return
    if issubclass(tp, pd.DataFrame):
        _feed_type_tag(h, tp)
        rows, columns = obj.shape
        h.update(_pack_q(rows) + _pack_q(columns))
        walker.feed_sub(h, b"c", _feed_pandas_index, obj.columns)
        walker.feed_sub(h, b"i", _feed_pandas_index, obj.index)
        column = _column_reader(obj)
        for position in range(columns):
            walker.feed_sub(h, b"v", _feed_pandas_values, column(position))
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
        # Timestamps, offsets, dtypes...: pandas' own types, read like any other.
        _feed_object(walker, h, obj)


def _column_reader(frame: Any) -> Callable[[int], Any]:
    """A function of a column's position giving its values as ``Series.array`` would, read
    from the frame's block manager: ``frame.iloc[:, i]`` builds a Series for each column,
    which costs thirty times more."""
    pd = sys.modules["pandas"]
    np = sys.modules["numpy"]
    values_at = getattr(getattr(frame, "_mgr", None), "iget_values", None)
    if values_at is None:
        return lambda position: frame.iloc[:, position].array

    def column(position: int) -> Any:
        values = values_at(position)
        # A NumPy column is wrapped as Series.array wraps it, so its digest is the same.
        return pd.arrays.NumpyExtensionArray(values) if type(values) is np.ndarray else values

    return column


# What pandas keeps in a frame's or series' __dict__ besides the user's attributes.
_PANDAS_INTERNAL = frozenset({"_mgr", "_item_cache", "_attrs", "_flags", "_cache", "_name"})


def _feed_pandas_subclass(walker: _Walker, h: Any, obj: Any) -> None:
    """A user's DataFrame or Series subclass: the data of a plain one over the same
    block manager (so no overridden property or ``_constructor`` runs), then the
    subclass's own attributes."""
    pd = sys.modules["pandas"]
    tp = type(obj)
    plan = walker.plan(tp)
    if plan.note is not None:
        raise _Unhashable(plan.note)
    base = pd.DataFrame if issubclass(tp, pd.DataFrame) else pd.Series
    state = _instance_dict(obj, tp, plan) or {}
    manager = dict.get(state, "_mgr")
    if plan.pickle or manager is None or _lookup(base, "_from_mgr") is _MISSING:
        raise _Unhashable(
            f"{_type_name(tp)} has no readable state without running its own code "
            "(define __lineage_fingerprint__)"
        )
    plain = base._from_mgr(manager, axes=manager.axes)
    if base is pd.Series:
        plain._name = dict.get(state, "_name")
    h.update(plan.tag + b"pd")
    _feed_pandas(walker, h, plain)
    extra = {key: value for key, value in dict.items(state) if key not in _PANDAS_INTERNAL}
    walker.feed(h, extra)


# --- matplotlib ------------------------------------------------------------------
#
# A figure is read through matplotlib's own getters, for what decides the
# picture: per Axes its position, titles, labels, scales, limits when set by
# hand (autoscaled limits follow from the data, margins and data limits, which
# are read instead, so reading never triggers an autoscale), tick locators and
# formatters with fixed values, and its artists: lines' data and style,
# collections' offsets, paths, values and colours, patches' geometry and
# colours, texts, images' data, extent and colour scale, legends. An artist of
# a kind without a reader here contributes its type, visibility, label,
# z-order and alpha. Nothing is pickled, and every method called is checked
# to be matplotlib's own: a subclass that overrides one, or adds properties or
# attribute hooks that matplotlib's code would run, gets an identity fingerprint.

# Dunder names a subclass may define without matplotlib's getters reaching them.
_MPL_SUBCLASS_OK = frozenset(
    {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__init__",
        "__firstlineno__",
        "__static_attributes__",
        "__annotations__",
        "__orig_bases__",
        "__parameters__",
    }
)


def _mpl_subclass_problem(tp: type) -> str | None:
    """Why matplotlib's getters could run user code on an instance of ``tp``, or None."""
    mro = _mro(tp)
    foreign = [klass for klass in mro if not _is_trusted_class(klass)]
    if not foreign:
        return None
    trusted_names: set[str] = set()
    for klass in mro:
        if _is_trusted_class(klass) and klass is not object:
            trusted_names.update(key for key in _namespace(klass) if type(key) is str)
    name = _type_name(tp)
    for klass in foreign:
        for key, value in _namespace(klass).items():
            if key in _MPL_SUBCLASS_OK or type(value) in _PLAIN_TYPES:
                continue
            if key in _ATTRIBUTE_HOOKS:
                return f"{name} defines {key} (define __lineage_fingerprint__)"
            if key in trusted_names:
                return f"{name} overrides matplotlib's {key} (define __lineage_fingerprint__)"
            if type(value) not in (types.FunctionType, staticmethod, classmethod):
                return (
                    f"{name} defines {key}, which matplotlib's own code could run "
                    "(define __lineage_fingerprint__)"
                )
    return None


def _mpl_member(tp: type, name: str) -> Any:
    """("call", function) or ("get", property getter) or ("data", class value) for ``name``."""
    value = _lookup(tp, name)
    if value is _MISSING or type(value) in _PLAIN_TYPES:
        return ("data", value)
    function = value.fget if type(value) is property else value
    if type(function) is types.FunctionType:
        module = _function_module(function)
        if isinstance(module, str) and module.partition(".")[0] in _MPL_PACKAGES:
            return ("get" if function is not value else "call", function)
    raise _Unhashable(
        f"{_type_name(tp)}.{name} is not matplotlib's own (define __lineage_fingerprint__)"
    )


def _mpl_call(walker: _Walker, obj: Any, name: str, *args: Any) -> Any:
    """matplotlib's method ``name`` on ``obj``; _MISSING when this matplotlib has none."""
    kind, function = walker.mpl_member(type(obj), name)
    if kind == "call":
        return function(obj, *args)
    if kind == "data":
        return _MISSING
    raise _Unhashable(f"{_type_name(type(obj))}.{name} is a property, not a method")


def _mpl_attr(walker: _Walker, obj: Any, name: str) -> Any:
    """Attribute ``name`` of a matplotlib object: a matplotlib property, or the instance's own."""
    tp = type(obj)
    kind, found = walker.mpl_member(tp, name)
    if kind == "get":
        return found(obj)
    if kind == "call":
        raise _Unhashable(f"{_type_name(tp)}.{name} is a method")
    state = _instance_dict(obj, tp, walker.plan(tp))
    if state is not None:
        value = dict.get(state, name, _MISSING)
        if value is not _MISSING:
            return value
    return found


def _feed_mpl_values(walker: _Walker, h: Any, obj: Any, names: tuple[str, ...]) -> None:
    feed = walker.feed
    for function in walker.mpl_getters(type(obj), names):
        if function is None:
            h.update(b"-")
        else:
            feed(h, function(obj))


def _feed_mpl_children(walker: _Walker, h: Any, owner: Any, names: Iterable[str]) -> None:
    for name in names:
        children = _mpl_attr(walker, owner, name)
        if children is _MISSING or children is None:
            h.update(b"-")
            continue
        items = list(children)
        h.update(b"[" + _pack_q(len(items)))
        for child in items:
            walker.feed(h, child)


def _feed_mpl_path(walker: _Walker, h: Any, path: Any) -> None:
    walker.feed(h, _mpl_attr(walker, path, "vertices"))
    walker.feed(h, _mpl_attr(walker, path, "codes"))


def _feed_mpl_ticker(walker: _Walker, h: Any, ticker: Any) -> None:
    """A locator or formatter: its type, and the values of the fixed kinds, read from its state."""
    tp = type(ticker)
    _feed_type_tag(h, tp)
    state = _instance_dict(ticker, tp, walker.plan(tp))
    if state is None:
        return
    for key in ("locs", "seq", "fmt", "func", "nbins"):
        value = dict.get(state, key, _MISSING)
        if value is not _MISSING:
            h.update(_encode_str(key))
            walker.feed(h, value)


def _feed_mpl_colormap(walker: _Walker, h: Any, mappable: Any) -> None:
    cmap = _mpl_call(walker, mappable, "get_cmap")
    if cmap is _MISSING or cmap is None:
        h.update(b"-")
        return
    # The name, not the colormap's state: its lookup table is built lazily at draw.
    walker.feed(h, _mpl_attr(walker, cmap, "name"))
    walker.feed(h, _mpl_call(walker, mappable, "get_clim"))


_MPL_ARTIST = ("get_visible", "get_label", "get_zorder", "get_alpha")
_MPL_LINE = (
    "get_color",
    "get_linestyle",
    "get_linewidth",
    "get_marker",
    "get_markersize",
    "get_markerfacecolor",
    "get_markeredgecolor",
    "get_drawstyle",
)
_MPL_PATCH = (
    "get_facecolor",
    "get_edgecolor",
    "get_linewidth",
    "get_linestyle",
    "get_hatch",
    "get_fill",
)
_MPL_TEXT = (
    "get_text",
    "get_position",
    "get_rotation",
    "get_color",
    "get_fontsize",
    "get_horizontalalignment",
    "get_verticalalignment",
)
_MPL_AXES = (
    "get_xlabel",
    "get_ylabel",
    "get_zlabel",
    "get_xscale",
    "get_yscale",
    "margins",
    "get_aspect",
    "get_facecolor",
    "get_frame_on",
    "get_axisbelow",
)
_MPL_AXES_CHILDREN = (
    "lines",
    "collections",
    "patches",
    "texts",
    "images",
    "tables",
    "artists",
    "child_axes",
)
_MPL_FIGURE = ("get_size_inches", "get_dpi", "get_facecolor", "get_edgecolor")
_MPL_FIGURE_CHILDREN = ("axes", "texts", "legends", "images", "lines", "patches", "subfigs")


def _feed_mpl_axes(walker: _Walker, h: Any, ax: Any) -> None:
    call = _mpl_call
    walker.feed(h, _mpl_attr(walker, call(walker, ax, "get_position", True), "bounds"))
    for loc in ("left", "center", "right"):
        walker.feed(h, call(walker, ax, "get_title", loc))
    _feed_mpl_values(walker, h, ax, _MPL_AXES)
    walker.feed(h, _mpl_attr(walker, ax, "axison"))
    # Limits set by hand; autoscaled ones follow from the data limits and margins.
    for axis in ("x", "y"):
        if call(walker, ax, f"get_autoscale{axis}_on") is False:
            walker.feed(h, call(walker, ax, f"get_{axis}lim"))
        else:
            h.update(b"auto")
    walker.feed(h, call(walker, _mpl_attr(walker, ax, "dataLim"), "get_points"))
    for axis_name in ("xaxis", "yaxis"):
        axis = _mpl_attr(walker, ax, axis_name)
        _feed_mpl_ticker(walker, h, call(walker, axis, "get_major_locator"))
        _feed_mpl_ticker(walker, h, call(walker, axis, "get_major_formatter"))
    children = _mpl_attr(walker, ax, "_children")
    if type(children) is list:
        # Every line, collection, patch, text, image and table, in the order
        # they were added: the public lists are views of this one.
        _feed_sequence(walker, h, b"[", len(children), children)
        _feed_mpl_children(walker, h, ax, ("child_axes",))
    else:
        _feed_mpl_children(walker, h, ax, _MPL_AXES_CHILDREN)
    legend = call(walker, ax, "get_legend")
    walker.feed(h, None if legend is _MISSING else legend)
    if call(walker, ax, "get_autoscalez_on") is False:
        walker.feed(h, call(walker, ax, "get_zlim"))
    for angle in ("elev", "azim", "roll"):  # a 3D view's camera
        value = _mpl_attr(walker, ax, angle)
        if value is not _MISSING:
            walker.feed(h, value)


def _feed_mpl_figure(walker: _Walker, h: Any, fig: Any) -> None:
    _feed_mpl_values(walker, h, fig, _MPL_FIGURE)
    engine = _mpl_call(walker, fig, "get_layout_engine")
    walker.feed(h, None if engine is _MISSING or engine is None else _type_name(type(engine)))
    _feed_mpl_children(walker, h, fig, _MPL_FIGURE_CHILDREN)


def _feed_mpl_line(walker: _Walker, h: Any, line: Any) -> None:
    walker.feed(h, _mpl_call(walker, line, "get_xdata", True))
    walker.feed(h, _mpl_call(walker, line, "get_ydata", True))
    _feed_mpl_values(walker, h, line, _MPL_LINE)


def _feed_mpl_collection(walker: _Walker, h: Any, coll: Any) -> None:
    _feed_mpl_values(walker, h, coll, ("get_offsets", "get_sizes", "get_linewidth"))
    coordinates = _mpl_call(walker, coll, "get_coordinates")
    if coordinates is not _MISSING:
        # A mesh: its coordinates, not one path per cell built on demand.
        walker.feed(h, coordinates)
    else:
        paths = _mpl_call(walker, coll, "get_paths")
        if type(paths) is not list:
            paths = [] if paths is None or paths is _MISSING else list(paths)
        h.update(_pack_q(len(paths)))
        for path in paths:
            _feed_mpl_path(walker, h, path)
    values = _mpl_call(walker, coll, "get_array")
    if values is None:
        # Colours as set; with values, the colours are derived from them at draw.
        _feed_mpl_values(walker, h, coll, ("get_facecolor", "get_edgecolor"))
    else:
        walker.feed(h, values)
        _feed_mpl_colormap(walker, h, coll)


def _feed_mpl_patch(walker: _Walker, h: Any, patch: Any) -> None:
    rectangle = sys.modules["matplotlib.patches"].Rectangle
    if issubclass(type(patch), rectangle):
        _feed_mpl_values(walker, h, patch, ("get_xy", "get_width", "get_height", "get_angle"))
    else:
        _feed_mpl_path(walker, h, _mpl_call(walker, patch, "get_path"))
        transform = _mpl_call(walker, patch, "get_patch_transform")
        walker.feed(h, _mpl_call(walker, transform, "get_matrix"))
    _feed_mpl_values(walker, h, patch, _MPL_PATCH)


def _feed_mpl_text(walker: _Walker, h: Any, text: Any) -> None:
    _feed_mpl_values(walker, h, text, _MPL_TEXT)
    xy = _mpl_attr(walker, text, "xy")  # an annotation's target point
    if xy is not _MISSING:
        walker.feed(h, xy)


def _feed_mpl_image(walker: _Walker, h: Any, image: Any) -> None:
    _feed_mpl_values(walker, h, image, ("get_array", "get_extent", "get_interpolation"))
    _feed_mpl_colormap(walker, h, image)


def _feed_mpl_legend(walker: _Walker, h: Any, legend: Any) -> None:
    for text in _mpl_call(walker, legend, "get_texts"):
        walker.feed(h, text)
    walker.feed(h, _mpl_call(walker, legend, "get_title"))


# (module, class name, reader), most specific first.
_MPL_READERS: tuple[tuple[str, str, Callable[[_Walker, Any, Any], None]], ...] = (
    ("matplotlib.figure", "FigureBase", _feed_mpl_figure),
    ("matplotlib.axes", "Axes", _feed_mpl_axes),
    ("matplotlib.lines", "Line2D", _feed_mpl_line),
    ("matplotlib.collections", "Collection", _feed_mpl_collection),
    ("matplotlib.patches", "Patch", _feed_mpl_patch),
    ("matplotlib.text", "Text", _feed_mpl_text),
    ("matplotlib.image", "_ImageBase", _feed_mpl_image),
    ("matplotlib.legend", "Legend", _feed_mpl_legend),
)


# What a 3D artist is made of, kept beside the 2D projection that drawing
# recomputes (and with it the 2D data, colours and z-order the readers above read).
_MPL_3D_STATE = (
    "_verts3d",
    "_offsets3d",
    "_sizes3d",
    "_linewidths3d",
    "_facecolor3d",
    "_edgecolor3d",
    "_faces",
    "_codes3d",
    "_segments3d",
    "_segment3d",
    "_z",
    "_dir_vec",
)


def _is_mpl_3d(tp: type) -> bool:
    return any(_module_of(klass).startswith("mpl_toolkits.mplot3d") for klass in _mro(tp))


def _feed_mpl_3d(walker: _Walker, h: Any, artist: Any) -> None:
    """A 3D line or collection: its 3D data and style, not the projection drawing makes of it."""
    tp = type(artist)
    state = _instance_dict(artist, tp, walker.plan(tp)) or {}
    for key in _MPL_3D_STATE:
        value = dict.get(state, key, _MISSING)
        if value is not _MISSING:
            h.update(_encode_str(key))
            walker.feed(h, value)
    if issubclass(tp, sys.modules["matplotlib.lines"].Line2D):
        _feed_mpl_values(walker, h, artist, _MPL_LINE)
    else:
        values = _mpl_call(walker, artist, "get_array")
        walker.feed(h, None if values is _MISSING else values)
        if values is not None and values is not _MISSING:
            _feed_mpl_colormap(walker, h, artist)


def _feed_mpl_artist(walker: _Walker, h: Any, artist: Any) -> None:
    tp = type(artist)
    walker.mpl_check(tp)
    _feed_type_tag(h, tp)
    is_3d = walker._mpl.get((_identity(tp), "3d"))
    if is_3d is None:
        is_3d = walker._mpl[(_identity(tp), "3d")] = _is_mpl_3d(tp)
    if is_3d:
        axes = sys.modules.get("matplotlib.axes")
        if axes is not None and issubclass(tp, axes.Axes):
            _feed_mpl_values(walker, h, artist, _MPL_ARTIST)
            _feed_mpl_axes(walker, h, artist)
            return
        # Not the z-order either: drawing sorts 3D artists by depth.
        _feed_mpl_values(walker, h, artist, ("get_visible", "get_label", "get_alpha"))
        collections = sys.modules.get("matplotlib.collections")
        lines = sys.modules.get("matplotlib.lines")
        if (lines is not None and issubclass(tp, lines.Line2D)) or (
            collections is not None and issubclass(tp, collections.Collection)
        ):
            _feed_mpl_3d(walker, h, artist)
            return
    else:
        _feed_mpl_values(walker, h, artist, _MPL_ARTIST)
    for module_name, class_name, reader in _MPL_READERS:
        module = sys.modules.get(module_name)
        klass = None if module is None else module.__dict__.get(class_name)
        if klass is not None and issubclass(tp, klass):
            reader(walker, h, artist)
            return


# --- scikit-learn ------------------------------------------------------------------
#
# Estimators, fitted or not, are read structurally like any object: their type
# and their __dict__, which holds the constructor's parameters under their own
# names and the fitted attributes (``coef_``, ``estimators_``...), arrays by
# their buffers. A fitted tree's Cython ``Tree`` keeps its nodes in C; its own
# ``__getstate__`` gives them as arrays.


def _feed_sklearn_tree(walker: _Walker, h: Any, tree: Any) -> None:
    tp = type(tree)
    _feed_type_tag(h, tp)
    getstate = _namespace(tp).get("__getstate__")
    walker.feed(h, getstate(tree))


def _sklearn_tree_type() -> type | None:
    module = sys.modules.get("sklearn.tree._tree")
    tree = None if module is None else module.__dict__.get("Tree")
    return tree if type(tree) is type else None


def _sklearn_fitted(obj: Any) -> bool | None:
    """Whether an estimator is fitted, by scikit-learn's rule: a public attribute ending in ``_``."""
    tp = type(obj)
    plan = _make_plan(tp)
    state = _instance_dict(obj, tp, plan)
    if state is None:
        return None
    return any(
        type(key) is str and key.endswith("_") and not key.startswith("_")
        for key in dict.keys(state)
    )


# --- torch ---------------------------------------------------------------------------
#
# A module: its training flag, its parameters and buffers (tensors by their
# bytes) and submodules, read from the dicts torch keeps them in, and its other
# public attributes. Hooks are left out: they are code attached to the module,
# not its state.


def _feed_torch_tensor(walker: _Walker, h: Any, tensor: Any) -> None:
    torch = sys.modules["torch"]
    np = sys.modules.get("numpy")
    tp = type(tensor)
    _feed_type_tag(h, tp)
    try:
        detached = torch.Tensor.detach(tensor).cpu().contiguous()
        dtype = str(detached.dtype).encode()
        shape = repr(tuple(detached.shape)).encode()
        requires_grad = _lookup(torch.Tensor, "requires_grad").__get__(tensor) is True
        if np is None:
            raise TypeError("numpy is needed to read a tensor's bytes")
        try:
            data = detached.numpy()
        except (TypeError, RuntimeError):
            # No numpy dtype (bfloat16, ...): its raw bytes.
            data = detached.reshape(-1).view(torch.uint8).numpy()
    except (KeyboardInterrupt, _Timeout):
        raise
    except Exception as exc:
        raise _Unhashable("tensor not readable: " + _describe_exception(exc)) from None
    h.update(b"Q" + _pack_q(len(dtype)) + dtype + _pack_q(len(shape)) + shape)
    h.update(b"g" if requires_grad else b"-")
    walker.feed_sub(h, b"B", _feed_array_bytes, data, np)


def _feed_torch_module(walker: _Walker, h: Any, module: Any) -> None:
    tp = type(module)
    plan = walker.plan(tp)
    if plan.note is not None:
        raise _Unhashable(plan.note)
    state = _instance_dict(module, tp, plan)
    if plan.pickle or state is None:
        raise _Unhashable(
            f"{_type_name(tp)} has no readable state without running its own code "
            "(define __lineage_fingerprint__)"
        )
    h.update(plan.tag + b"M")
    for key in ("training", "_parameters", "_buffers", "_modules"):
        h.update(_encode_str(key))
        walker.feed(h, dict.get(state, key))
    public = {
        key: value
        for key, value in dict.items(state)
        if type(key) is str and not key.startswith("_") and key != "training"
    }
    walker.feed(h, public)


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
    "matplotlib",
    "sklearn",
)


def _resolve_handler(obj: Any, tp: type) -> Callable[[_Walker, Any, Any], None]:
    """The handler for a type not in the exact-type table."""
    if _find_hook(tp) is not None:
        return _feed_hook
    module = _module_of(tp)
    handler = _resolve_known(obj, tp, module)
    if module.partition(".")[0] in _CACHED_MODULES and _is_trusted_type(tp):
        _EXACT_HANDLERS[tp] = handler
    return handler


def _stdlib_handler(tp: type, module: str) -> Callable[[_Walker, Any, Any], None] | None:
    qualname = _type_qualname(tp)
    handler = _STDLIB_HANDLERS.get((module, qualname))
    if handler is not None and getattr(sys.modules.get(module), qualname, None) is tp:
        return handler
    return None


def _library_class(module_name: str, class_name: str) -> type | None:
    module = sys.modules.get(module_name)
    klass = None if module is None else module.__dict__.get(class_name)
    return klass if isinstance(klass, type) else None


def _resolve_known(obj: Any, tp: type, module: str) -> Callable[[_Walker, Any, Any], None]:
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(tp, np.ndarray):
            return _feed_ndarray
        if issubclass(tp, np.generic) and tp is not np.object_ and _is_trusted_type(tp):
            return _feed_numpy_scalar
    pd = sys.modules.get("pandas")
    if pd is not None and (
        module.partition(".")[0] == "pandas" or issubclass(tp, (pd.DataFrame, pd.Series, pd.Index))
    ):
        return _feed_pandas
    pa = sys.modules.get("pyarrow")
    if (
        pa is not None
        and issubclass(tp, (pa.Table, pa.RecordBatch, pa.ChunkedArray, pa.Array))
        and _is_trusted_type(tp)
    ):
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
    if issubclass(tp, BaseException):
        return _feed_exception
    if issubclass(tp, _BUILTIN_BASES):
        return _feed_builtin_subclass
    if _is_cython_function_type(tp):
        return _feed_cython_function
    artist = _library_class("matplotlib.artist", "Artist")
    if artist is not None and issubclass(tp, artist):
        return _feed_mpl_artist
    if tp is _sklearn_tree_type():
        return _feed_sklearn_tree
    torch = sys.modules.get("torch")
    if torch is not None:
        if issubclass(tp, torch.nn.Module):
            return _feed_torch_module
        if issubclass(tp, torch.Tensor) and _is_trusted_type(tp):
            return _feed_torch_tensor
    return _feed_object


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
        return None, None, _truncate(f"builtin {obj.__name__}")
    if issubclass(tp, type):
        return None, None, _truncate(f"class {_type_name(obj)}")
    module = _module_of(tp)
    if _stdlib_handler(tp, module) is not None:
        return None, None, _stdlib_summary(obj, tp)
    enum = sys.modules.get("enum")
    if enum is not None and issubclass(tp, enum.Enum):
        name = object.__getattribute__(obj, "__dict__").get("_name_")
        return None, None, _truncate(f"{_type_name(tp)}.{name if type(name) is str else '?'}")
    np = sys.modules.get("numpy")
    if np is not None and issubclass(tp, np.ndarray):
        # ndarray's own descriptors: a subclass's shape or dtype property is not run.
        shape = tuple(np.ndarray.__dict__["shape"].__get__(obj))
        dtype = np.ndarray.__dict__["dtype"].__get__(obj)
        return (
            str(shape),
            (shape[0] if shape else None),
            f"ndarray {dtype} {shape}"[:_MAX_SUMMARY],
        )
    if np is not None and issubclass(tp, np.generic) and module == "numpy":
        return None, None, _truncate(f"{tp.__name__} {obj!r}")
    trusted = _is_trusted_type(tp)
    pd = sys.modules.get("pandas")
    if pd is not None and module.partition(".")[0] == "pandas" and trusted:
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
    if pa is not None and module.partition(".")[0] == "pyarrow" and trusted:
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
    figure = _library_class("matplotlib.figure", "Figure")
    if figure is not None and issubclass(tp, figure) and trusted:
        count = len(obj.axes)
        return None, None, f"{_type_name(tp)} with {count} Axes"
    estimator = _library_class("sklearn.base", "BaseEstimator")
    # "fitted" only when its attributes show it: a pipeline, say, is fitted through its steps.
    if estimator is not None and issubclass(tp, estimator) and _sklearn_fitted(obj):
        return None, None, f"{_type_name(tp)} (fitted)"
    return None, None, _type_name(tp)


def _stdlib_summary(obj: Any, tp: type) -> str:
    """The standard library's own repr of its value types, unless it would show a user's object."""
    tzinfo = obj.tzinfo if _module_of(tp) == "datetime" and hasattr(tp, "tzinfo") else None
    if tzinfo is not None and not _is_trusted_type(type(tzinfo)):
        # repr() would call the user's tzinfo's __repr__.
        naive = obj.replace(tzinfo=None)
        return _truncate(f"{naive!r} tzinfo={_type_name(type(tzinfo))}")
    return _truncate(repr(obj))


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
        walker = _Walker(_perf_counter() + budget_s)
        h = _xxh3_128()
        try:
            walker.feed(h, obj)
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
        # Fingerprinting is passive: whatever happens while a value is hashed
        # (even SystemExit from a __lineage_fingerprint__ hook) must not end the user's cell.
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


# Classes whose __lineage_fingerprint__ ran past the budget: a value that takes the
# whole budget once would take it again in every cell that reads it.
_slow_types: dict[int, weakref.ref[type]] = {}


def _timed_out_before(tp: type) -> bool:
    ref = _slow_types.get(_identity(tp))
    return ref is not None and ref() is tp


def _remember_timeout(tp: type) -> None:
    try:
        _slow_types[_identity(tp)] = weakref.ref(tp)
    except TypeError:
        pass


_SIZED_SCALARS = frozenset({str, bytes, bytearray, range})
_IMMUTABLE_SCALARS = frozenset({type(None), bool, int, float, complex, str, bytes, range})


def is_immutable_value(obj: Any) -> bool:
    """Whether ``obj`` cannot change in place, so an earlier fingerprint of it still holds."""
    return _is_immutable(obj, 0)


def _is_immutable(obj: Any, depth: int) -> bool:
    tp = type(obj)
    if type(tp) is not type:
        # Not a builtin, and the set lookup below would call its metaclass's __hash__.
        return False
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
