"""The IPython magics: argument parsing, then a call into the recorder or the store.

``%%lineage`` is recognised in two places that share one parser: an input
transformer strips the magic's line so IPython runs the cell body as an
ordinary cell (same result, output, exception and traceback as without the
extension), and the ``pre_run_cell`` hook reads the options from the raw
cell. The registered cell magic only runs when something calls it directly
(for example ``run_cell_magic``); it then executes the body the way ``%%time``
does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from .. import magic_input
from ..config import is_team_store_url
from ..magic_args import parse_magic, usage_errors
from ..urls import strip_credentials
from .recorder import CaptureOptions, Recorder

_MAGIC_LINE = re.compile(r"^%%lineage(?:[ \t]+(.*))?$")
_LINEAGE_ONLY_CELL = re.compile(r"^\s*(%load_ext\s+jupyter_lineage|%%?lineage\w*)\b")
_RECORDER_ATTR = "_jupyter_lineage_recorder"


def get_recorder(shell: Any) -> Recorder | None:
    """The recorder attached to a shell by ``%load_ext jupyter_lineage``."""
    return getattr(shell, _RECORDER_ATTR, None)


@magics_class
class LineageMagics(Magics):
    """``%%lineage``, ``%lineage``, ``%lineage_sql`` and ``%lineage_config``."""

    def __init__(self, shell: Any, recorder: Recorder) -> None:
        super().__init__(shell)
        self.recorder = recorder

    @magic_arguments()
    @argument("--name", "-n", help="A name for this cell, e.g. 'train'.")
    @argument("--tag", "-t", action="append", default=[], help="A tag (repeatable).")
    @argument("--model", "-m", help="Marks the cell as producing the model NAME.")
    @argument(
        "--base-model",
        help="The model this one is fine-tuned or transferred from: NAME, NAME@VERSION, or a file path.",
    )
    @argument("--note", help="A short note about the cell, as typed to the end of the line.")
    @argument("--no-values", action="store_true", help="Record names but not value fingerprints.")
    @argument("switch", nargs="?", help="Line magic only: on, off or status.")
    @no_var_expand
    @line_cell_magic
    def lineage(self, line: str, cell: str | None = None) -> Any:
        """Capture the lineage of a cell (``%%lineage``) or of every cell (``%lineage on|off|status``).

        Examples::

            %%lineage --name clean --tag data
            df = raw.dropna()

            %lineage on
        """
        if cell is None:
            return self._switch(line)
        options = parse_options(line)
        return self._run_body(options, cell)

    def _switch(self, line: str) -> None:
        words = line.split()
        if len(words) > 1 or (words and words[0] not in ("on", "off", "status")):
            raise IPythonUsageError(
                f"%lineage takes on, off or status, not {line.strip()!r}; "
                "to capture a single cell put %%lineage on its first line"
            )
        word = words[0] if words else "status"
        rec = self.recorder
        if word == "on":
            rec.auto = True
            rec.prepare()
        elif word == "off":
            rec.auto = False
        state = "on (every cell)" if rec.auto else "off (only %%lineage cells)"
        print(
            f"jupyter-lineage: capture {state}; store {rec.session.store_dir}; "
            f"{rec.captured_count} cell(s) captured in this session"
        )

    def _run_body(self, options: CaptureOptions, cell: str) -> Any:
        """Run a cell body the way ``%%time`` does, captured."""
        shell: Any = self.shell
        rec = self.recorder
        transformed = shell.transform_cell(cell)
        rec.begin(options, cell, cell, transformed, None, shell.execution_count)
        error: BaseException | None = None
        try:
            tree = shell.compile.ast_parse(transformed)
            tree = shell.transform_ast(tree)
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(shell.compile(tree, "<lineage>", "exec"), shell.user_ns)
            if last is not None:
                return eval(shell.compile(last, "<lineage>", "eval"), shell.user_ns)
            return None
        except BaseException as exc:
            error = exc
            raise
        finally:
            rec.end(error, shell.execution_count)

    @line_cell_magic
    def lineage_sql(self, line: str, cell: str | None = None) -> Any:
        """Run SQL over the store and return a pandas DataFrame.

        Examples::

            %lineage_sql SELECT status, count(*) FROM runs GROUP BY status

            %%lineage_sql
            SELECT name, fingerprint FROM cell_outputs ORDER BY started_at DESC
        """
        sql = (cell if cell is not None else line).strip()
        if not sql:
            raise IPythonUsageError(
                "%lineage_sql needs a query, e.g. %lineage_sql SELECT * FROM runs LIMIT 5"
            )
        with usage_errors():
            return self.recorder.session.store().query(sql)

    @line_magic
    def lineage_config(self, line: str) -> None:
        """Show or change settings: ``%lineage_config store=PATH``, ``%lineage_config value_budget=2.0``.

        ``store=postgresql://user@host/db`` ships this kernel's events to a team store as
        well (``store=local`` stops that); the journal stays in the local store directory.
        """
        rec = self.recorder
        session = rec.session
        for word in line.split():
            key, sep, value = word.partition("=")
            if not sep or not value:
                raise IPythonUsageError(
                    f"%lineage_config takes key=value pairs, not {word!r} (keys: store, value_budget)"
                )
            if key == "store" and is_team_store_url(value):
                session.store_url = value
            elif key == "store" and value == "local":
                session.store_url = ""
            elif key == "store":
                target = Path(value).expanduser()
                if target.exists() and not target.is_dir():
                    raise IPythonUsageError(
                        f"store={value!r} is a file, not a directory; give a directory path"
                    )
                rec.set_store_dir(value)
            elif key == "value_budget":
                try:
                    budget = float(value)
                    if not 0 < budget < 3600:
                        raise ValueError
                except ValueError:
                    raise IPythonUsageError(
                        f"value_budget must be a number of seconds above 0 and below 3600, "
                        f"not {value!r}"
                    ) from None
                rec.value_budget_s = budget
            else:
                raise IPythonUsageError(
                    f"unknown setting {key!r}; known settings: store, value_budget"
                )
        team = session.team_store_url
        print(
            f"store={session.store_dir} "
            + (f"team_store={strip_credentials(team, mark=True)} " if team else "")
            + f"value_budget={rec.value_budget_s} "
            f"auto={'on' if rec.auto else 'off'} notebook={session.notebook_path or '(unknown)'} "
            f"session={session.session_id}"
        )

    @magic_arguments()
    @argument("execution", nargs="*", help="An execution id, a unique prefix of one, or LAST.")
    @argument("--reason", help="Why, as typed to the end of the line.")
    @no_var_expand
    @line_magic
    def lineage_forget(self, line: str) -> None:
        """Hide an execution's source, error text, value summaries and annotations from every view.

        Examples::

            %lineage_forget 3f2a9c
            %lineage_forget LAST --reason printed an API key
        """
        args = parse_magic(LineageMagics.lineage_forget, line, text_options=["--reason"])
        if len(args.execution) != 1:
            raise IPythonUsageError(
                "%lineage_forget takes one execution id (or a unique prefix, or LAST), "
                "e.g. %lineage_forget 3f2a9c --reason pasted a key"
            )
        session = self.recorder.session
        with usage_errors():
            execution_id = session.resolve_execution(args.execution[0])
        session.forget(execution_id, args.reason)
        print(f"jupyter-lineage: execution {execution_id} forgotten (hidden from every view)")


def _options_from_args(args: Any) -> CaptureOptions:
    if args.switch is not None:
        raise IPythonUsageError(
            f"%%lineage takes options only (--name, --tag, --model, --base-model, --note, --no-values), "
            f"not {args.switch!r}"
        )
    tags = tuple(t for t in args.tag if t)
    return CaptureOptions(
        mode="magic",
        name=args.name,
        tags=tags,
        model=args.model,
        base_model=args.base_model,
        note=args.note,
        capture_values=not args.no_values,
    )


@lru_cache(maxsize=256)
def parse_options(line: str) -> CaptureOptions:
    """Parse a ``%%lineage`` line's arguments; raises IPython's UsageError on bad ones.

    ``--note`` is free text (``magic_args``): it runs as typed to the end of the line.
    """
    args = parse_magic(LineageMagics.lineage, line, text_options=["--note"], prog="%%lineage")
    return _options_from_args(args)


def _valid_options(line: str) -> CaptureOptions | None:
    try:
        return parse_options(line)
    except IPythonUsageError:
        return None


def split_magic_line(raw: str) -> tuple[str, str, str] | None:
    """``(arguments, source, code)`` when a cell's leading cell-magic lines include ``%%lineage``.

    ``source`` is the cell without the ``%%lineage`` line, and so is ``code``:
    the analysis reads its IPython-transformed form, seeing through the magics
    that run Python (``%%time``, ``%%capture``...) and not reading the bodies
    of those that do not (``%%writefile``, ``%%bash``) as Python.
    """
    stripped = raw.lstrip("\n\r\t ")
    if not stripped.startswith("%%"):
        return None
    lines = stripped.split("\n")
    args = None
    kept: list[str] = []
    i = 0
    while i < len(lines) and lines[i].startswith("%%"):
        m = _MAGIC_LINE.match(lines[i].rstrip("\r"))  # a --note's trailing spaces are its own
        if m is not None and args is None:
            args = m.group(1) or ""
        else:
            kept.append(lines[i])
        i += 1
    if args is None:
        return None
    body = "\n".join(lines[i:])
    source = "\n".join([*kept, body]) if kept else body
    return args, source, source


def _strip_magic_line(lines: list[str]) -> list[str]:
    """Input transformer: drop a valid leading ``%%lineage`` line so the body runs as usual."""
    if not lines or not lines[0].startswith("%%lineage"):
        return lines
    m = _MAGIC_LINE.match(lines[0].rstrip())
    if m is None or _valid_options(m.group(1) or "") is None:
        # Leave it: IPython will call the magic, which reports the bad arguments.
        return lines
    return lines[1:]


def _pre_run_cell(recorder: Recorder, shell: Any) -> Callable[[Any], None]:
    def pre_run_cell(info: Any) -> None:
        try:
            if recorder.in_cell and not info.store_history:
                # A cell run by the running cell (``%%capture`` runs its body as one):
                # part of that cell's record, which analyses its code.
                recorder.skip()
                return
            raw = info.raw_cell or ""
            split = split_magic_line(raw)
            options = None
            source = code = raw
            transformed = getattr(info, "transformed_cell", None)
            if split is not None:
                options = _valid_options(split[0])
                source, code = split[1], split[2]
            elif recorder.auto and not _LINEAGE_ONLY_CELL.match(raw):
                options = CaptureOptions(mode="auto")
            if options is None:
                recorder.skip()
                return
            count = shell.execution_count - 1 if info.store_history else None
            recorder.begin(
                options, source, code, transformed, getattr(info, "cell_id", None), count
            )
        except Exception as exc:  # never let a callback error reach the user's cell
            recorder.skip()
            recorder.warn_once(
                "pre", f"capture hook failed ({type(exc).__name__}); the cell runs as usual"
            )

    return pre_run_cell


def _post_run_cell(recorder: Recorder) -> Callable[[Any], None]:
    def post_run_cell(result: Any) -> None:
        try:
            # Not ``or``: that would ask a user's exception for its truth value.
            error = result.error_before_exec
            if error is None:
                error = result.error_in_exec
            recorder.end(error, result.execution_count)
        except Exception as exc:
            recorder.warn_once(
                "post", f"capture hook failed ({type(exc).__name__}); the cell ran as usual"
            )

    return post_run_cell


def install(shell: Any, recorder: Recorder) -> None:
    """Register the capture magics, the cell hooks and the ``%%lineage`` line transformer."""
    setattr(shell, _RECORDER_ATTR, recorder)
    shell.register_magics(LineageMagics(shell, recorder))
    pre, post = _pre_run_cell(recorder, shell), _post_run_cell(recorder)
    recorder._hooks = (pre, post)  # type: ignore[attr-defined]
    shell.events.register("pre_run_cell", pre)
    shell.events.register("post_run_cell", post)
    shell.input_transformers_cleanup.append(_strip_magic_line)
    magic_input.install(shell)  # free-text magics get their lines as typed


def uninstall(shell: Any) -> Recorder | None:
    """Unregister the hooks and the transformer and close the recorder; returns it."""
    recorder = get_recorder(shell)
    if recorder is None:
        return None
    pre, post = recorder._hooks  # type: ignore[attr-defined]
    for name, fn in (("pre_run_cell", pre), ("post_run_cell", post)):
        try:
            shell.events.unregister(name, fn)
        except ValueError:
            pass
    if _strip_magic_line in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(_strip_magic_line)
    magic_input.uninstall(shell)
    recorder.close()
    delattr(shell, _RECORDER_ATTR)
    return recorder
