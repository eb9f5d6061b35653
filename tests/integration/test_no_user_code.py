"""Capture runs none of the user's code: a zoo of classes that count every call to the methods
fingerprinting could be tempted to make, bound, read and changed by captured cells in a real
kernel. Every counter stays at zero, the notebook's outputs are those of a run without the
extension, and changes in place are still recorded."""

from __future__ import annotations

from pathlib import Path

from .conftest import execute_notebook
from .test_capture import _strip_outputs

# Counted calls are those capture could make: the notebook's own use of the zoo (building
# a dict keyed by zoo objects hashes them) runs with counting switched off.
SETUP = '''
import collections, pathlib, random, threading, warnings
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("ignore")
CALLS = collections.Counter()
COUNTING = True


def count(name):
    if COUNTING:
        CALLS[name] += 1


class Counting:
    """Every method here counts its calls; none should be called by capture."""

    __slots__ = ()

    def __getstate__(self):
        count("__getstate__")
        return {}

    def __setstate__(self, state):
        count("__setstate__")

    def __reduce__(self):
        count("__reduce__")
        return (object, ())

    def __reduce_ex__(self, protocol):
        count("__reduce_ex__")
        return (object, ())

    def __getattr__(self, name):
        count("__getattr__")
        raise AttributeError(name)

    @property
    def prop(self):
        count("property")
        return 1

    def __eq__(self, other):
        count("__eq__")
        return self is other

    def __hash__(self):
        count("__hash__")
        return 7

    def __len__(self):
        count("__len__")
        return 0

    def __iter__(self):
        count("__iter__")
        return iter(())

    def __contains__(self, item):
        count("__contains__")
        return False

    def __getitem__(self, key):
        count("__getitem__")
        raise KeyError(key)

    def __repr__(self):
        count("__repr__")
        return "Counting()"

    def __str__(self):
        count("__str__")
        return "Counting"

    def __bool__(self):
        count("__bool__")
        return True

    def __format__(self, spec):
        count("__format__")
        return "Counting"

    def __sizeof__(self):
        count("__sizeof__")
        return 0

    def __copy__(self):
        count("__copy__")
        return self

    def __deepcopy__(self, memo):
        count("__deepcopy__")
        return self

    def __dir__(self):
        count("__dir__")
        return []

    def __class_getitem__(cls, item):
        count("__class_getitem__")
        return cls


class Zoo(Counting):
    def __init__(self, a):
        self.a = a


class Slotted(Counting):
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Guarded(Counting):
    def __init__(self, a):
        object.__setattr__(self, "a", a)

    def __getattribute__(self, name):
        count("__getattribute__")
        return object.__getattribute__(self, name)


class Meta(type):
    def __eq__(cls, other):
        count("Meta.__eq__")
        return cls is other

    def __hash__(cls):
        count("Meta.__hash__")
        return 7

    def __instancecheck__(cls, obj):
        count("Meta.__instancecheck__")
        return False

    def __subclasscheck__(cls, sub):
        count("Meta.__subclasscheck__")
        return False


class Odd(metaclass=Meta):
    pass


class Printer:
    def __init__(self):
        self.payload = [1, 2, 3]

    def __reduce__(self):
        print("REDUCED")
        return (Printer, ())


class Seedy:
    """A seed whose class is a property: isinstance() on it runs the user's code."""

    @property
    def __class__(self):
        count("__class__")
        return int


class Pathy(type(pathlib.Path())):
    """A path whose __str__ (which __fspath__ calls) is the user's."""

    def __str__(self):
        count("Pathy.__str__")
        return super().__str__()


class Buggy:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows = [1, 2]

    def __getstate__(self):
        state = self.__dict__
        state.pop("lock")
        return state
'''

CELLS = [
    SETUP,
    # Bound: plain, slotted, nested, in containers, in a cycle, guarded, odd, as dict keys.
    "z = Zoo(1)\n"
    "s = Slotted(1, [1, 2])\n"
    "nested = Zoo(Zoo(Slotted(2, None)))\n"
    "ring = Zoo(None)\n"
    "ring.a = ring\n"
    "box = [z, s, {'k': z}, (nested,)]\n"
    "table = {'first': nested}\n"
    "COUNTING = False\n"
    "keyed = {Zoo(5): 'five', z: 'zed'}\n"
    "COUNTING = True\n"
    "guarded = Guarded(3)\n"
    "odd = Odd()\n"
    "printer = Printer()\n"
    "buggy = Buggy()\n"
    "arr = np.arange(6.0)\n"
    "df = pd.DataFrame({'x': [1.0, None, 3.0]})\n"
    "X = np.array([[0.0], [1.0], [2.0], [3.0]])\n"
    "y = np.array([0, 0, 1, 1])\n"
    "model = LogisticRegression()",
    # Read only.
    "pair = [z, s, nested, ring, box, table, keyed, guarded, odd, printer, buggy]",
    # A seed the record looks at (random.seed's own isinstance checks are not counted).
    "seedy = Seedy()\nCOUNTING = False\nrandom.seed(seedy)\nCOUNTING = True",
    # A path the record would resolve to see whether a native reader opened it.
    "where = Pathy('absent.parquet')\nCOUNTING = False\ntry:\n    pd.read_parquet(where)\n"
    "except OSError:\n    pass\nCOUNTING = True",
    # Changed in place.
    "z.a = 10",
    "s.b.append(3)",
    "ring.b = 'more'",
    "box.append(Zoo(7))",
    "table['second'] = z",
    "COUNTING = False\nkeyed[Zoo(6)] = 'six'\nCOUNTING = True",
    "arr[:] += 1",
    "arr += 1",
    "df.dropna(inplace=True)",
    "model.fit(X, y)",
    "print(sorted(CALLS.items()))\nprint('lock' in vars(buggy), len(printer.payload))",
]

MUTATED = {"z", "s", "ring", "box", "table", "keyed", "arr", "df", "model"}


def test_capture_runs_no_user_code_and_still_sees_changes(tmp_path: Path) -> None:
    plain = execute_notebook(["pass", "pass", *CELLS], tmp_path / "plain")
    captured = execute_notebook(
        ["%load_ext jupyter_lineage", "%lineage on", *CELLS], tmp_path / "captured"
    )

    # Outputs are those of the run without the extension, and no counter moved.
    assert _strip_outputs(captured.nb)[2:] == _strip_outputs(plain.nb)[2:]
    last = len(CELLS) + 1
    assert plain.text(last) == "[]\nTrue 3\n"
    assert captured.text(last) == "[]\nTrue 3\n"
    everything = "".join(captured.text(i) for i in range(last + 1))
    assert "REDUCED" not in everything

    runs = captured.sql("SELECT status FROM runs")
    assert len(runs) == len(CELLS) and set(runs["status"]) == {"ok"}

    outputs = captured.sql(
        "SELECT name, action, fingerprint, fingerprint_kind AS kind, note FROM cell_outputs "
        "ORDER BY started_at"
    )
    mutated = set(outputs[outputs["action"] == "mutated"]["name"])
    assert mutated >= MUTATED, MUTATED - mutated

    assigned = outputs[outputs["action"] == "assigned"].drop_duplicates("name", keep="first")
    kind = dict(zip(assigned["name"], assigned["kind"], strict=True))
    note = dict(zip(assigned["name"], assigned["note"], strict=True))
    for name in ("z", "s", "nested", "ring", "box", "table", "keyed", "printer", "df", "model"):
        assert kind[name] == "content", (name, note[name])
    # What cannot be read without the user's code is identified, and the note says why.
    assert kind["guarded"] == "identity" and "__getattribute__" in note["guarded"]
    assert kind["odd"] == "identity" and "metaclass" in note["odd"]
    assert kind["buggy"] == "identity" and "lock" in note["buggy"]

    # Both `arr[:] += 1` and `arr += 1` leave an output whose fingerprint is not the one read.
    changes = captured.sql(
        "SELECT i.fingerprint AS before, o.fingerprint AS after FROM cell_inputs i "
        "JOIN cell_outputs o USING (execution_id, name) WHERE i.name = 'arr'"
    )
    assert len(changes) == 2
    assert all(changes["before"] != changes["after"])


# Garbage in reference cycles, whose finalizer notes whether capture's code is running.
# The collector runs whenever enough objects have been made since it last ran, wherever
# that falls. Each cell moves that point (a threshold of its own); unpaused, the capture's
# hooks ran about half of these finalizers.
FINALIZERS = """
import gc, sys
INSIDE = []

def capture_running():
    frame = sys._getframe(1)
    while frame is not None:
        if "jupyter_lineage" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False

class Cyclic:
    def __init__(self):
        self.me = self

    def __del__(self):
        INSIDE.append(capture_running())

"""


def test_no_finalizer_of_the_users_runs_inside_capture(tmp_path: Path) -> None:
    garbage = [
        f"gc.set_threshold({40 + 3 * i})\nfor _ in range(5):\n    Cyclic()" for i in range(40)
    ]
    cells = [FINALIZERS, *garbage, "gc.collect()\nprint(len(INSIDE), sum(INSIDE))"]
    run = execute_notebook(["%load_ext jupyter_lineage", "%lineage on", *cells], tmp_path)
    ran, inside = map(int, run.text(len(cells) + 1).split())
    assert ran == 200 and inside == 0
    assert len(run.sql("SELECT * FROM runs WHERE status = 'ok'")) == len(cells)


# Errors whose showing runs the user's code: a __str__ and a __repr__ that count, a failed
# lookup on a user's object, an error chained to one of those. IPython runs them to show
# each error; the record must not run them again.
ERRORS_SETUP = """
import collections
SHOWN = collections.Counter()

class Loud(Exception):
    def __str__(self):
        SHOWN["__str__"] += 1
        return "loud, with its reasons"

class Key:
    def __repr__(self):
        SHOWN["__repr__"] += 1
        return "Key()"

    def __dir__(self):
        SHOWN["__dir__"] += 1
        return ["alpha"]

class Quiet(Exception):
    pass

key = Key()
"""
ERROR_CELLS = [
    ERRORS_SETUP,
    "raise Loud('x')",
    "{}[key]",
    "key.alphb",
    "try:\n    {}[key]\nexcept KeyError as e:\n    raise ValueError('wrapped') from e",
    "raise Quiet('plain words')",
    "print(sorted(SHOWN.items()))",
]


def test_recording_an_error_runs_none_of_the_users_code(tmp_path: Path) -> None:
    plain = execute_notebook(["pass", "pass", *ERROR_CELLS], tmp_path / "plain")
    captured = execute_notebook(
        ["%load_ext jupyter_lineage", "%lineage on", *ERROR_CELLS], tmp_path / "captured"
    )

    # The calls IPython made to show the errors, and no more.
    last = len(ERROR_CELLS) + 1
    assert captured.text(last) == plain.text(last)
    assert "__str__" in plain.text(last) and "__repr__" in plain.text(last)
    assert _strip_outputs(captured.nb)[2:] == _strip_outputs(plain.nb)[2:]

    runs = captured.sql(
        "SELECT error_type, error_message, traceback, capture_errors FROM runs "
        "WHERE status = 'failed' ORDER BY started_at"
    ).to_dict("records")
    shown = [
        (o["ename"], o["evalue"])
        for cell in captured.nb.cells[3:last]
        for o in cell.outputs
        if o.output_type == "error"
    ]
    # Each record says what the kernel showed.
    assert [(r["error_type"], r["error_message"]) for r in runs] == shown
    loud, missing, lookup, wrapped, quiet = runs
    assert loud["error_message"] == "loud, with its reasons"
    assert "Loud: loud, with its reasons" in loud["traceback"]
    assert "\x1b[" not in loud["traceback"]
    assert any("as IPython showed them" in note for note in loud["capture_errors"])
    assert missing["error_message"] == "Key()"
    assert lookup["error_message"] == "'Key' object has no attribute 'alphb'"
    assert "ValueError: wrapped" in wrapped["traceback"] and "KeyError" in wrapped["traceback"]
    # A user's class that defines nothing formatting reads is formatted as Python does.
    assert quiet["error_message"] == "plain words"
    assert "Traceback (most recent call last)" in quiet["traceback"]
    assert not any("IPython" in note for note in quiet["capture_errors"])
