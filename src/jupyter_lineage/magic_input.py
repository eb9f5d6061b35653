"""IPython input that reaches the free-text magics exactly as typed.

IPython rewrites a line magic's line before the magic sees it: it drops the
spaces at its end, takes a line ending in ``name?`` for a help request
(``%lineage_note Why trees?`` would show help on ``trees`` and record
nothing), and joins a line ending in a backslash to the next one. A cell
magic's body gets a newline added at its end when the cell has none, and the
first line's trailing spaces are dropped; when the body's first line looks
like a prompt (``>>> ``, ``... ``), prompts are stripped from every line.

:class:`VerbatimMagicLine` is a token transformer that runs before IPython's
own: a free-text magic's line becomes its ``run_line_magic`` call with the
line as typed (only the line break removed). It reads IPython's tokens, so a
``%lineage_note`` inside a string is left alone. For ``%%lineage_note``,
:func:`raw_cell_magic` gives the magic the cell as typed, which IPython hands
to ``pre_run_cell`` callbacks before it runs the cell.

Variable expansion (``$name``, ``{expr}``) is turned off by decorating the
magics with ``IPython.core.magic.no_var_expand``; this module does not do it.
"""

from __future__ import annotations

import tokenize
from typing import Any

from IPython.core.inputtransformer2 import TokenTransformBase

FREE_TEXT_LINE_MAGICS = frozenset(
    {"lineage_note", "lineage_experiment", "lineage_model", "lineage_forget"}
)
"""Line magics whose line may end in free text, and so is passed on as typed."""

_RAW_CELL_ATTR = "_jupyter_lineage_raw_cell"


class VerbatimMagicLine(TokenTransformBase):
    """``%lineage_note TEXT`` -> ``get_ipython().run_line_magic('lineage_note', 'TEXT')``, TEXT as typed."""

    # Before HelpEnd (5), which would take a final '?' for a help request, and
    # EscapedCommand (10), which strips the line's end and joins continued lines.
    priority = 4

    @classmethod
    def find(cls, tokens_by_line: list[list[tokenize.TokenInfo]]) -> VerbatimMagicLine | None:
        """The first line whose first token is ``%`` and second a free-text magic's name."""
        try:
            for line in tokens_by_line:
                ix = 0
                while ix < len(line) and line[ix].type in (tokenize.INDENT, tokenize.DEDENT):
                    ix += 1
                if ix + 1 >= len(line):
                    continue
                escape, name = line[ix], line[ix + 1]
                if (
                    escape.string == "%"
                    and name.type == tokenize.NAME
                    and name.string in FREE_TEXT_LINE_MAGICS
                    and name.start == (escape.start[0], escape.start[1] + 1)
                    # '%lineage_note?' asks for help; only a space or the line's end follows a magic
                    and name.line[name.end[1] : name.end[1] + 1] in ("", " ", "\n", "\r")
                ):
                    return cls(escape.start)
        except Exception:  # never let input handling break a cell: IPython's own rules apply
            return None
        return None

    def transform(self, lines: list[str]) -> list[str]:
        """Replace the magic's physical line by its call, the arguments as typed."""
        try:
            physical = lines[self.start_line]
            indent = physical[: self.start_col]
            content = physical[self.start_col + 1 :].splitlines()[0]
            name, _, args = content.partition(" ")
            call = f"{indent}get_ipython().run_line_magic({name!r}, {args!r})\n"
            return [*lines[: self.start_line], call, *lines[self.start_line + 1 :]]
        except Exception as exc:
            # IPython tries its next transformer after a SyntaxError.
            raise SyntaxError(f"cannot read the magic's line: {exc}") from None


class _RawCell:
    """The cell IPython is about to run, as typed, and its transformed form."""

    def __init__(self) -> None:
        self.raw: str | None = None
        self.transformed: str | None = None

    def pre_run_cell(self, info: Any) -> None:
        self.raw = getattr(info, "raw_cell", None)
        self.transformed = getattr(info, "transformed_cell", None)


def raw_cell_magic(shell: Any, name: str, line: str, cell: str) -> tuple[str, str]:
    """The line and body of ``%%name`` as typed, when the running cell is that magic.

    Falls back to IPython's ``line`` and ``cell`` when the magic was called some
    other way (``run_cell_magic`` from code, a silent execution).
    """
    memory = getattr(shell, _RAW_CELL_ATTR, None)
    raw = getattr(memory, "raw", None)
    transformed = getattr(memory, "transformed", None)
    # The running cell is this call only if IPython transformed it into exactly this.
    expected = f"get_ipython().run_cell_magic({name!r}, {line!r}, {cell!r})"
    if raw is None or transformed is None or transformed.strip() != expected:
        return line, cell
    pos = 0
    while True:  # IPython drops the blank lines before a cell magic
        end = raw.find("\n", pos)
        if end == -1 or raw[pos:end].strip():
            break
        pos = end + 1
    end = raw.find("\n", pos)
    first, body = (raw[pos:], "") if end == -1 else (raw[pos:end], raw[end + 1 :])
    head = first.lstrip()
    magic = "%%" + name
    rest = head[len(magic) :]
    if (
        not head.startswith(magic)
        or (rest and rest[0] not in " \t\r")
        or len(first.splitlines()) > 1  # a line break IPython sees and we do not
    ):
        return line, cell
    return rest, body


def install(shell: Any) -> None:
    """Make the free-text magics receive their input as typed."""
    transformers = shell.input_transformer_manager.token_transformers
    if VerbatimMagicLine not in transformers:
        transformers.insert(0, VerbatimMagicLine)
    if getattr(shell, _RAW_CELL_ATTR, None) is None:
        memory = _RawCell()
        setattr(shell, _RAW_CELL_ATTR, memory)
        shell.events.register("pre_run_cell", memory.pre_run_cell)


def uninstall(shell: Any) -> None:
    """Undo :func:`install`."""
    transformers = shell.input_transformer_manager.token_transformers
    if VerbatimMagicLine in transformers:
        transformers.remove(VerbatimMagicLine)
    memory = getattr(shell, _RAW_CELL_ATTR, None)
    if memory is not None:
        try:
            shell.events.unregister("pre_run_cell", memory.pre_run_cell)
        except ValueError:
            pass
        delattr(shell, _RAW_CELL_ATTR)
