"""Free text given to the magics is stored byte for byte, and shown exactly as stored.

Texts drawn by hypothesis (unicode, apostrophes, both kinds of quotes, backslashes,
leading, trailing and repeated spaces, Markdown, ``--``, ``$x`` and ``{x}``) go
through the real magics of an in-process IPython shell with ``%load_ext
jupyter_lineage``: each cell runs with ``run_cell``, so IPython's own input
transformation and variable expansion are part of what is tested. They are read
back from the DuckDB views, from the model card's JSON and, last, from the
sidebar's REST API on a real Jupyter server.

A line magic cannot carry a line break or a NUL, so texts with those go through
``%%lineage_note``'s body and the Python API. A text the redactor would change
(it looks like a credential) is not drawn: not writing secrets comes first.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import jupyter_lineage
from jupyter_lineage.cards import card_data
from jupyter_lineage.redact import redact_text
from jupyter_lineage.session import SHELL_ATTR
from jupyter_lineage.store import DuckDBStore

NOTEBOOK = "work/verbatim.ipynb"
MODEL = "verbatim"
# What IPython (str.splitlines) takes for the end of a line: a line magic's text holds none.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
FRAGMENTS = [
    *("'", '"', "\\", " ", "  ", "\t", "--", "-- ", " -- ", "$x", "${x}", "{x}", "{x!r}"),
    *("**bold**", "# Heading", "- item", "`code`", "?", "??", "it's", '"Hi," she said'),
    *("costs $5", "{", "}", "%", "%%", "--kind", "--on LAST", "=", "é", "日本語", "🙂", "\u00a0"),
]
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _texts(*, line: bool) -> st.SearchStrategy[str]:
    excluded = "\x00" + LINE_BREAKS if line else ""
    chars = st.characters(exclude_categories=("Cs",), exclude_characters=excluded)
    breaks = [] if line else ["\n", "\n\n", "\r\n", "\n  ", "\x00"]
    piece = st.one_of(st.sampled_from(FRAGMENTS + breaks), st.text(chars, min_size=1, max_size=6))
    return (
        st.lists(piece, min_size=1, max_size=12)
        .map("".join)
        .filter(lambda t: bool(t.strip()) and redact_text(t)[0] == t)
    )


LINE_TEXTS = _texts(line=True)
CELL_TEXTS = _texts(line=False)
# How the text follows its option: right after it, after "--", or in single quotes.
FORMS = st.sampled_from(["plain", "dashdash", "quoted"])


def _plain_ok(text: str) -> bool:
    """Whether the text can follow its option bare, by the rule: not read as an option or a
    separator, and not a quoted text that would be unquoted."""
    first = text[0]
    looks_like_option = first == "-" and len(text) > 1 and (text[1].isalpha() or text[1] == "-")
    return first not in " \t'\"" and not looks_like_option


def _written(text: str, form: str) -> str:
    """The text as typed after its option (or as a note's text) in ``form``."""
    if form == "quoted" and "'" not in text:
        return f"'{text}'"
    if form in ("plain", "quoted") and _plain_ok(text):
        return text
    return f"-- {text}"


class Lab:
    """An in-process IPython shell with the extension loaded, capturing into ``root/work``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notebook = (root / NOTEBOOK).resolve()
        self.notebook.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), self.notebook)
        self.store_dir = self.notebook.parent / ".lineage"
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        saved = os.environ.get("JPY_SESSION_NAME")
        os.environ["JPY_SESSION_NAME"] = str(
            self.notebook
        )  # the kernel's notebook, as Jupyter says
        try:
            self.shell = InteractiveShell.instance(config=config)
            self.run("%load_ext jupyter_lineage")
        finally:
            if saved is None:
                del os.environ["JPY_SESSION_NAME"]
            else:
                os.environ["JPY_SESSION_NAME"] = saved
        self.run(f"%lineage_config store={self.store_dir}")
        self.session = getattr(self.shell, SHELL_ATTR)
        assert self.session.notebook_path == str(self.notebook)
        self.store = DuckDBStore(self.store_dir)
        self.names = itertools.count()
        self.open = True
        self.run(f"%%lineage --model {MODEL}\n_trained = 1")
        self.run(f"%lineage_model register {MODEL} --owner ml@example.com")
        self.run(f"%lineage_model version {MODEL} 1.0.0 --framework python")

    def run(self, cell: str) -> Any:
        """Run a cell as a kernel does; a failure fails the test with IPython's message."""
        result = self.shell.run_cell(cell, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        assert error is None, f"{cell!r}: {type(error).__name__}: {error}"
        return result.result

    def capture(self, model: str = MODEL, options: str = "") -> str:
        """Run a captured cell; returns its execution id."""
        self.run(f"%%lineage --model {model} {options}\n_value = 1")
        return self.session.recent[-1].execution_id

    def last_annotation(self) -> str:
        return list(self.session.annotation_ids)[-1]

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"

    def one(self, sql: str, *params: Any) -> Any:
        df = self.store.query(sql, list(params))
        assert len(df) == 1, (sql, params, df)
        return df.iloc[0, 0]

    def close(self) -> None:
        if self.open:
            self.open = False
            self.shell.run_line_magic("unload_ext", "jupyter_lineage")
            InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("verbatim"))
    yield lab
    lab.close()


def _card(spec: str) -> dict[str, Any]:
    """The card's JSON, through a JSON round trip as the export writes it."""
    return json.loads(json.dumps(card_data(spec), default=str))


def _stored(lab: Lab, sql: str, keys: dict[str, str]) -> dict[str, str]:
    """``{key: text}`` for the keys written, read with one query (``sql`` selects key, text
    and has one parameter, the keys as a list)."""
    df = lab.store.query(sql, [list(keys)])
    return dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))


def _hardest(texts: list[str], n: int = 4) -> list[str]:
    """The texts with the most kinds of trouble in them, for the checks that cost a card each."""

    def trouble(text: str) -> tuple[int, int]:
        kinds = [
            "'" in text,
            '"' in text,
            "\\" in text,
            "$" in text or "{" in text,
            "  " in text or "\t" in text,
            text != text.strip(),
            "--" in text,
            "\n" in text,
            not text.isascii(),
        ]
        return sum(kinds), len(text)

    return sorted(dict.fromkeys(texts), key=trouble, reverse=True)[:n]


def _missing(texts: Any, shown: Any) -> list[str]:
    shown = list(shown)
    return [t for t in dict.fromkeys(texts) if t not in shown]


# -- annotations --------------------------------------------------------------------------
#
# Each test writes its examples one by one (a magic that fails fails the example, and
# hypothesis shrinks it), then reads them all back with one query and one card: an ingest
# and a card cost a good part of a second each, and the comparison names any text that
# differs.


def test_a_line_notes_text_is_stored_and_carded_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}

    @EXAMPLES
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        lab.capture()
        lab.run(f"%lineage_note --kind rationale --on LAST {_written(text, form)}")
        written[lab.last_annotation()] = text

    write()
    sql = "SELECT annotation_id, text FROM annotations WHERE list_contains(?, annotation_id)"
    assert _stored(lab, sql, written) == written
    assert _missing(written.values(), (a["text"] for a in _card(MODEL)["rationale"])) == []


def test_a_cell_notes_body_and_the_python_api_store_texts_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}

    @EXAMPLES
    @given(text=CELL_TEXTS, api=st.booleans())
    def write(text: str, api: bool) -> None:
        lab.capture()
        if api:
            annotation_id = jupyter_lineage.note(text, kind="decision", on="LAST")
        else:
            lab.run(f"%%lineage_note --kind rationale --on LAST\n{text}")
            annotation_id = lab.last_annotation()
        written[annotation_id] = text

    write()
    sql = "SELECT annotation_id, text FROM annotations WHERE list_contains(?, annotation_id)"
    assert _stored(lab, sql, written) == written
    assert _missing(written.values(), (a["text"] for a in _card(MODEL)["rationale"])) == []


def test_a_captured_cells_note_is_stored_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}

    @EXAMPLES
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        written[lab.capture(options=f"--tag t --note {_written(text, form)}")] = text

    write()
    sql = (
        "SELECT l.target, a.text FROM annotations a JOIN annotation_links l USING (annotation_id) "
        "WHERE l.target_type = 'execution' AND list_contains(?, l.target) AND a.kind = 'note'"
    )
    assert _stored(lab, sql, written) == written
    sql = "SELECT execution_id, tags[1] FROM runs WHERE list_contains(?, execution_id)"
    assert set(_stored(lab, sql, written).values()) == {"t"}  # the options before --note


# -- experiments and forgetting --------------------------------------------------------------


def test_an_experiments_hypothesis_is_stored_and_carded_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}
    models: dict[str, str] = {}

    @EXAMPLES
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        name, model = lab.name("exp-"), lab.name("exp_model_")
        hypothesis = _written(text, form)
        if hypothesis.startswith("'"):  # quoted: the options after it are read
            options = f'--hypothesis {hypothesis} --success "accuracy >= 0.5"'
        else:
            options = f'--success "accuracy >= 0.5" --hypothesis {hypothesis}'
        lab.run(f"%lineage_experiment start {name} {options}")
        lab.capture(model=model)
        lab.run("%lineage_experiment end")
        written[name] = text
        models[model] = text

    write()
    sql = "SELECT name, hypothesis FROM experiments WHERE list_contains(?, name)"
    assert _stored(lab, sql, written) == written
    sql = "SELECT name, success_criterion FROM experiments WHERE list_contains(?, name)"
    assert set(_stored(lab, sql, written).values()) == {"accuracy >= 0.5"}
    for model, text in models.items():
        if text in _hardest(list(models.values())):
            assert _card(model)["experiment"]["hypothesis"] == text


def test_a_forget_reason_is_stored_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}

    @EXAMPLES
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        execution_id = lab.capture(model=lab.name("forgotten_"))
        lab.run(f"%lineage_forget {execution_id[:12]} --reason {_written(text, form)}")
        written[execution_id] = text

    write()
    sql = "SELECT execution_id, reason FROM forgotten WHERE list_contains(?, execution_id)"
    assert _stored(lab, sql, written) == written


# -- the registry ------------------------------------------------------------------------------

REGISTRY = settings(EXAMPLES, max_examples=12)


def _new_version(lab: Lab) -> str:
    """A model with a captured training cell and version 1.0.0 in DRAFT; returns its name."""
    name = lab.name("model_")
    lab.run(f"%lineage_model register {name} --owner ml@example.com")
    lab.capture(model=name)
    lab.run(f"%lineage_model version {name} 1.0.0 --framework python")
    return name


def test_a_models_description_is_stored_and_carded_exactly(lab: Lab) -> None:
    written: dict[str, str] = {}

    @REGISTRY
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        name = lab.name("described_")
        described = f"--description {_written(text, form)}"
        lab.run(f"%lineage_model register {name} --owner ml@example.com {described}")
        written[name] = text

    write()
    sql = "SELECT name, description FROM model_registry WHERE list_contains(?, name)"
    assert _stored(lab, sql, written) == written
    for name, text in written.items():
        if text in _hardest(list(written.values())):
            lab.capture(model=name)
            lab.run(f"%lineage_model version {name} 1.0.0 --framework python")
            assert _card(name)["model_details"]["description"] == text


# option -> (its column in model_versions, where the card shows it)
VERSION_TEXTS = {
    "--intended-use": ("intended_use", "intended_use", "primary_uses"),
    "--limitations": ("limitations", "ethical_considerations", "limitations"),
    "--ethical-considerations": ("ethical_considerations", "ethical_considerations", "text"),
}


def test_a_versions_card_texts_are_stored_and_carded_exactly(lab: Lab) -> None:
    name = _new_version(lab)
    written: dict[str, tuple[str, str]] = {}  # version -> (option, text)

    @settings(REGISTRY, max_examples=24)
    @given(text=LINE_TEXTS, form=FORMS, option=st.sampled_from(sorted(VERSION_TEXTS)))
    def write(text: str, form: str, option: str) -> None:
        version = f"1.0.{len(written) + 1}"
        lab.run(f"%lineage_model version {name} {version} {option} {_written(text, form)}")
        written[version] = (option, text)

    write()
    df = lab.store.query("SELECT * FROM model_versions WHERE model = ?", [name])
    rows = {r["version"]: r for r in df.to_dict("records")}
    stored = {v: (o, rows[v][VERSION_TEXTS[o][0]]) for v, (o, _) in written.items()}
    assert stored == written
    for option, (_, section, key) in VERSION_TEXTS.items():
        texts = [t for o, t in written.values() if o == option]
        for version, (o, text) in written.items():
            if o == option and text in _hardest(texts, 2):
                assert _card(f"{name}@{version}")[section][key] == text


def test_a_transitions_justification_is_stored_and_carded_exactly(lab: Lab) -> None:
    name = _new_version(lab)
    justifications: list[str] = []

    @REGISTRY
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        # Back and forth between review and changes, so every example has a legal move.
        state, role = (
            ("CHANGES_REQUESTED", "reviewer") if len(justifications) % 2 else ("SUBMITTED", "owner")
        )
        lab.run(
            f"%lineage_model promote {name}@1.0.0 {state} --actor ml@example.com --role {role} "
            f"--justification {_written(text, form)}"
        )
        justifications.append(text)

    write()
    sql = "SELECT justification FROM version_transitions WHERE model = ? ORDER BY occurred_at"
    assert list(lab.store.query(sql, [name])["justification"]) == justifications
    transitions = _card(f"{name}@1.0.0")["lifecycle"]["transitions"]
    assert [t["justification"] for t in transitions] == justifications


def test_a_waivers_reason_is_stored_and_carded_exactly(lab: Lab) -> None:
    name = _new_version(lab)
    reasons: list[str] = []

    @REGISTRY
    @given(text=LINE_TEXTS, form=FORMS)
    def write(text: str, form: str) -> None:
        lab.run(
            f"%lineage_model waive {name}@1.0.0 accuracy --actor cro@example.com --days 7 "
            f"--reason {_written(text, form)}"
        )
        reasons.append(text)

    write()
    sql = "SELECT reason FROM waivers WHERE model = ? ORDER BY created_at"
    assert list(lab.store.query(sql, [name])["reason"]) == reasons
    waivers = _card(f"{name}@1.0.0")["lifecycle"]["waivers"]
    assert [w["reason"] for w in waivers] == reasons


# -- the sidebar's REST API (last: it closes the shell, so the server writes as a server) ------


@pytest.fixture
def jp_root_dir(lab: Lab) -> Path:
    """Serve the directory the lab's notebook is in, as JupyterLab would."""
    return lab.root


async def _get(jp_fetch: Any, *parts: str, **params: str) -> Any:
    response = await jp_fetch("lineage", "api", *parts, params={"path": NOTEBOOK, **params})
    return json.loads(response.body.decode("utf-8"))


async def test_the_sidebar_api_shows_and_posts_texts_exactly(lab: Lab, jp_fetch: Any) -> None:
    notes: list[tuple[str, str]] = []  # (execution id, text) written through the magics
    posted: list[str] = []
    models: list[tuple[str, str]] = []

    @settings(EXAMPLES, max_examples=12)
    @given(line=LINE_TEXTS, cell=CELL_TEXTS, form=FORMS)
    def write(line: str, cell: str, form: str) -> None:
        execution_id = lab.capture(options=f"--note {_written(line, form)}")
        notes.append((execution_id, line))
        lab.run(f"%lineage_note --kind rationale --on LAST {_written(line, form)}")
        lab.run(f"%%lineage_note --kind alternative --on LAST\n{cell}")
        notes.append((execution_id, cell))
        name = lab.name("served_")
        lab.run(
            f"%lineage_model register {name} --owner ml@example.com --description {_written(line, form)}"
        )
        models.append((name, line))
        posted.append(cell)

    write()
    lab.close()  # from here on, annotations are written by the server's own session

    for execution_id, text in notes:
        answer = await _get(jp_fetch, "annotations", execution=execution_id)
        assert text in [a["text"] for a in answer["annotations"]]
    overview = {m["name"]: m for m in (await _get(jp_fetch, "models"))["models"]}
    for name, text in models:
        assert overview[name]["description"] == text

    execution_id = notes[0][0]
    for text in dict.fromkeys(posted):  # the same words twice on one target are one annotation
        response = await jp_fetch(
            "lineage",
            "api",
            "annotations",
            method="POST",
            body=json.dumps(
                {
                    "kind": "note",
                    "text": text,
                    "targets": [{"type": "execution", "ref": execution_id}],
                }
            ),
            params={"path": NOTEBOOK},
        )
        assert response.code == 201
        written = json.loads(response.body.decode("utf-8"))["annotation"]
        assert written["text"] == text
        answer = await _get(jp_fetch, "annotations", execution=execution_id)
        assert written["annotation_id"] in [
            a["annotation_id"] for a in answer["annotations"] if a["text"] == text
        ]
