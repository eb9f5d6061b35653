"""How a magic's line is read: options first, then free text exactly as typed.

Options are read with shell quoting (``shlex``), but only up to the free text.
The free text is either a positional text (``%lineage_note ... TEXT``) or the
value of a free-text option (``--note``, ``--hypothesis``, ``--reason``,
``--justification``, ``--description``, ``--intended-use``, ``--limitations``,
``--ethical-considerations``). The rule:

1. The text starts at its first character (after the option and the spaces
   that separate it) and runs **verbatim to the end of the line**: no
   unquoting, no collapsing of spaces, no ``$name`` or ``{expr}`` expansion.
   Options go before the text; an option written after it is part of it::

       %lineage_note --kind rationale the model doesn't see plan changes
       -> text: the model doesn't see plan changes

2. ``--`` ends the options: everything after ``-- `` (the one separating
   space removed) is the text, verbatim, even when it starts with ``-`` or a
   quote::

       %lineage_note --kind decision -- --force was wrong; "dry run" first
       -> text: --force was wrong; "dry run" first
       %lineage_model waive churn@1.0.0 accuracy --actor cro@example.com --reason --   "pilot"
       -> reason:   "pilot"

3. Quoting still works: when the text begins with ``'`` or ``"`` and that one
   shell-quoted string is followed only by spaces and the end of the line, or
   by further options, its shell-unquoted content is the text and the options
   after it are read::

       %lineage_experiment start x --hypothesis "depth 8 beats 4" --success "accuracy >= 0.85"
       -> hypothesis: depth 8 beats 4

   Otherwise the text is verbatim, quotes included::

       %lineage_note "Hi," she said
       -> text: "Hi," she said

A word in the options that starts with ``-`` but is no option of the magic is
an error naming it (so a typo is not silently stored as text); write ``--``
before a text that starts with ``-``. IPython's own line handling would still
cut a line magic's text (trailing spaces, a final ``?`` asking for help, a
final backslash joining the next line); ``magic_input`` keeps those lines as
typed.

This module is pure (argparse and shlex); :func:`usage_errors` is the one
place a magic turns the package's errors into IPython's one-line UsageError.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import LineageError, UsageError

# shlex's whitespace: what separates words among the options.
_SPACE = " \t\r\n"
_LONG = re.compile(r"--[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class LineSyntax:
    """What a magic's line may hold: its options, and where free text is."""

    prog: str
    """The magic as the user types it, for messages: ``%lineage_note``."""
    options: Mapping[str, bool] = field(default_factory=dict)
    """Every option string (``--kind``, ``-k``) and whether it takes a value."""
    text_options: frozenset[str] = frozenset()
    """Long options whose value is free text."""
    text_positional: str | None = None
    """The destination of a positional free text: the first word that is no option starts it."""
    dests: Mapping[str, str] = field(default_factory=dict)
    """Each option's destination in the parsed namespace."""
    text_is_list: bool = False
    """Whether the positional text is parsed as a list of words (``nargs`` ``*`` or ``+``)."""


@dataclass(frozen=True, slots=True)
class SplitLine:
    """A magic's line, split: words for argparse, and the positional text as typed."""

    argv: list[str]
    """Options and positional words, shell-unquoted; a free-text option as ``--opt=TEXT``."""
    text: str | None
    """The positional free text, verbatim; ``None`` when the line has none."""
    texts: dict[str, str] = field(default_factory=dict)
    """The free-text options given, and their texts verbatim."""


def syntax_of(
    parser: argparse.ArgumentParser,
    prog: str,
    *,
    text_options: Iterable[str] = (),
    text_positional: str | None = None,
) -> LineSyntax:
    """The syntax of an argparse parser's line, with the free-text parts named.

    Reads ``parser._actions``: argparse has no public list of its options, and
    describing them twice (once for argparse, once here) would let them drift.
    """
    options: dict[str, bool] = {}
    dests: dict[str, str] = {}
    text_is_list = False
    for action in parser._actions:
        for option in action.option_strings:
            options[option] = action.nargs != 0
            dests[option] = action.dest
        if not action.option_strings and action.dest == text_positional:
            text_is_list = action.nargs in ("*", "+")
    text = frozenset(text_options)
    unknown = sorted(text - options.keys())
    if unknown:  # a programming error, caught by the tests
        raise ValueError(f"{prog} has no option {unknown[0]}")
    return LineSyntax(prog, options, text, text_positional, dests, text_is_list)


def _skip_space(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in _SPACE:
        pos += 1
    return pos


def _is_double_dash(line: str, pos: int) -> bool:
    """Whether a lone ``--`` word starts at ``pos``."""
    return line.startswith("--", pos) and (pos + 2 == len(line) or line[pos + 2] in _SPACE)


def _read_word(line: str, pos: int, syntax: LineSyntax) -> tuple[str, int]:
    """One shell word starting at ``pos``: its unquoted text and the position after it."""
    stream = io.StringIO(line[pos:])
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # as shlex.split: '#' is an ordinary character
    try:
        word = lexer.get_token()
    except ValueError as exc:
        raise UsageError(
            f"{syntax.prog}: {str(exc).lower()} in {line[pos:]!r}; close the quote, or put the "
            "text after -- to keep it as typed"
        ) from None
    # shlex reads one character at a time: the stream stops just past the word's end.
    return word or "", pos + stream.tell()


def _raw_word(line: str, pos: int) -> str:
    """The characters from ``pos`` to the next space, as typed."""
    end = pos
    while end < len(line) and line[end] not in _SPACE:
        end += 1
    return line[pos:end]


def _quoted_end(line: str, pos: int) -> int | None:
    """The position after the shell-quoted string that opens at ``pos``, if it closes."""
    quote = line[pos]
    i = pos + 1
    while i < len(line):
        char = line[i]
        if char == "\\" and quote == '"':
            i += 2
            continue
        if char == quote:
            return i + 1
        i += 1
    return None


def _resolve(word: str, syntax: LineSyntax) -> str | None:
    """The option a word names: exactly, or as an unambiguous prefix of a long option."""
    if word in syntax.options:
        return word
    if word.startswith("--"):
        matches = [o for o in syntax.options if o.startswith("--") and o.startswith(word)]
        if len(matches) == 1:
            return matches[0]
    return None


def _looks_like_option(word: str) -> bool:
    """``-k``, ``--kind``: a dash then a letter or a second dash (``-5`` and ``-`` are text)."""
    return len(word) > 1 and word[0] == "-" and (word[1].isalpha() or word[1] == "-")


def _options_follow(line: str, pos: int, syntax: LineSyntax) -> bool:
    """Whether the words from ``pos`` on start with an option of the magic (or a typo of one)."""
    if pos >= len(line) or _is_double_dash(line, pos):
        return False
    word = _raw_word(line, pos).split("=", 1)[0]
    # A long option we do not know is reported, not taken as text: it is most likely a typo.
    return _resolve(word, syntax) is not None or bool(_LONG.fullmatch(word))


def _read_text(line: str, pos: int, syntax: LineSyntax) -> tuple[str, int]:
    """The free text starting at ``pos`` (rules 1-3 of the module docstring), and where reading goes on."""
    if pos >= len(line):
        return "", pos
    if _is_double_dash(line, pos):
        return line[pos + 3 :], len(line)
    if line[pos] in "'\"":
        end = _quoted_end(line, pos)
        if end is not None and (end == len(line) or line[end] in _SPACE):
            after = _skip_space(line, end)
            if after == len(line) or _options_follow(line, after, syntax):
                return shlex.split(line[pos:end])[0], after
    return line[pos:], len(line)


def _option_hint(syntax: LineSyntax) -> str:
    names = sorted(o for o in syntax.options if o.startswith("--"))
    return f"its options are {', '.join(names)}" if names else "it takes no options"


def split_line(line: str, syntax: LineSyntax) -> SplitLine:
    """Split a magic's line by the rule of this module's docstring.

    Raises:
        UsageError: an unknown option, an option without its value, a quote not
            closed among the options; one line naming it and the fix.
    """
    argv: list[str] = []
    texts: dict[str, str] = {}
    positional_text: str | None = None
    pos = 0
    while True:
        pos = _skip_space(line, pos)
        if pos >= len(line):
            return SplitLine(argv, positional_text, texts)
        if positional_text is not None and not _looks_like_option(_raw_word(line, pos)):
            raise UsageError(
                f"{syntax.prog}: {_raw_word(line, pos)!r} follows the quoted text; put the whole "
                "text inside the quotes, or write it unquoted after the options"
            )
        if _is_double_dash(line, pos):
            if syntax.text_positional is not None:
                return SplitLine(argv, line[pos + 3 :], texts)
            # argparse's own meaning: the words after it are positional, whatever they look like.
            argv.append("--")
            pos = _skip_space(line, pos + 2)
            while pos < len(line):
                word, pos = _read_word(line, pos, syntax)
                argv.append(word)
                pos = _skip_space(line, pos)
            return SplitLine(argv, positional_text, texts)
        long_option = _LONG.match(line, pos)
        if long_option is not None:
            name = _resolve(long_option.group(), syntax)
            after = long_option.end()
            if name in syntax.text_options and (after == len(line) or line[after] in "=" + _SPACE):
                if after < len(line) and line[after] == "=":
                    start = after + 1  # --opt=TEXT: the text starts right after '='
                else:
                    start = _skip_space(line, after)
                text, pos = _read_text(line, start, syntax)
                if not text.strip():
                    raise UsageError(
                        f"{syntax.prog}: {name} needs a text; write it after the option: "
                        f"{name} TEXT"
                    )
                argv.append(f"{name}={text}")
                texts[name] = text
                continue
        if not _looks_like_option(_raw_word(line, pos)):
            if syntax.text_positional is not None:
                # Verbatim to the end of the line, or a quoted text with options after it.
                positional_text, pos = _read_text(line, pos, syntax)
                continue
            word, pos = _read_word(line, pos, syntax)
            argv.append(word)
            continue
        word, end = _read_word(line, pos, syntax)
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        option = _resolve(name, syntax)
        if option is None and not word.startswith("--") and word[:2] in syntax.options:
            # -kVALUE and -k=VALUE, as argparse reads them
            option, eq, value = word[:2], "=", word[3:] if word[2:3] == "=" else word[2:]
        if option is None:
            raise UsageError(
                f"{syntax.prog}: unknown option {name!r}; {_option_hint(syntax)} "
                f"(to write a text that starts with '-', put -- before it)"
            )
        if not syntax.options[option]:
            argv.append(f"{option}={value}" if eq else option)
            pos = end
            continue
        if not eq:
            pos = _skip_space(line, end)
            if pos >= len(line):
                raise UsageError(f"{syntax.prog}: {option} needs a value")
            value, end = _read_word(line, pos, syntax)
        # --opt=VALUE: argparse would take a value starting with '-' for an option.
        argv.append(f"{option}={value}")
        pos = end


def parse(
    parser: argparse.ArgumentParser,
    line: str,
    syntax: LineSyntax,
    *,
    prefix: Iterable[str] = (),
) -> argparse.Namespace:
    """Split ``line`` and parse it with ``parser`` (after the words of ``prefix``, e.g. a
    sub-command); the free texts are set verbatim.

    argparse sees a placeholder instead of each text: it would drop a text that is just
    ``--`` (it takes it for its separator), and there is nothing in a text for it to check.
    A positional text parsed as a list of words is set as a one-element list.
    """
    split = split_line(line, syntax)
    argv = [*prefix]
    for word in split.argv:
        option = word.split("=", 1)[0]
        argv.append(f"{option}=-" if option in split.texts else word)
    if split.text is not None:
        argv += ["--", "-"]
    args = parser.parse_args(argv)
    for option, text in split.texts.items():
        setattr(args, syntax.dests[option], text)
    if syntax.text_positional is not None and split.text is not None:
        setattr(args, syntax.text_positional, [split.text] if syntax.text_is_list else split.text)
    return args


def parse_magic(
    magic: Any,
    line: str,
    *,
    text_options: Iterable[str] = (),
    text_positional: str | None = None,
    prog: str | None = None,
) -> argparse.Namespace:
    """Parse the line of a magic decorated with ``magic_arguments``; errors are one-line UsageErrors."""
    prog = prog or "%" + magic.__name__
    with usage_errors(prog):
        syntax = syntax_of(
            magic.parser, prog, text_options=text_options, text_positional=text_positional
        )
        return parse(magic.parser, line, syntax)


@contextmanager
def usage_errors(prog: str | None = None) -> Iterator[None]:
    """Turn the package's errors into IPython's one-line UsageError, never a traceback.

    argparse's messages (IPython's magic parsers raise UsageError themselves) get
    the magic's name in front when ``prog`` is given and they lack it.
    """
    from IPython.core.error import UsageError as IPythonUsageError

    try:
        yield
    except LineageError as exc:
        raise IPythonUsageError(str(exc)) from None
    except IPythonUsageError as exc:
        message = str(exc)
        if prog and not message.startswith(prog):
            raise IPythonUsageError(f"{prog}: {message}") from None
        raise


__all__ = [
    "LineSyntax",
    "SplitLine",
    "parse",
    "parse_magic",
    "split_line",
    "syntax_of",
    "usage_errors",
]
