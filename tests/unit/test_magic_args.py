"""The rule for reading a magic's line: options with shell quoting, then free text as typed."""

from __future__ import annotations

import argparse

import pytest
from IPython.core.error import UsageError as IPythonUsageError

from jupyter_lineage.errors import UsageError
from jupyter_lineage.magic_args import (
    LineSyntax,
    SplitLine,
    parse,
    split_line,
    syntax_of,
    usage_errors,
)


def _note_parser() -> argparse.ArgumentParser:
    """The shape of %lineage_note: value options, a flag, and a positional text."""
    parser = argparse.ArgumentParser(prog="%lineage_note", add_help=False)
    parser.add_argument("--kind", "-k", default="note")
    parser.add_argument("--on", action="append", default=[])
    parser.add_argument("--revises")
    parser.add_argument("--draft", action="store_true")
    parser.add_argument("text", nargs="*")
    return parser


def _experiment_parser() -> argparse.ArgumentParser:
    """The shape of %lineage_experiment: positionals, a free-text option, a criterion."""
    parser = argparse.ArgumentParser(prog="%lineage_experiment", add_help=False)
    parser.add_argument("action")
    parser.add_argument("name", nargs="?")
    parser.add_argument("--hypothesis")
    parser.add_argument("--success")
    return parser


NOTE = syntax_of(_note_parser(), "%lineage_note", text_positional="text")
EXPERIMENT = syntax_of(_experiment_parser(), "%lineage_experiment", text_options=["--hypothesis"])


def note(line: str) -> SplitLine:
    return split_line(line, NOTE)


def hypothesis(line: str) -> str:
    return parse(_experiment_parser(), line, EXPERIMENT).hypothesis


# -- the positional text --------------------------------------------------------------


def test_the_text_runs_verbatim_to_the_end_of_the_line() -> None:
    line = "--kind rationale the model doesn't see  plan changes, it's $5 or {x}  "
    assert note(line) == SplitLine(
        ["--kind=rationale"], "the model doesn't see  plan changes, it's $5 or {x}  "
    )


def test_options_after_the_text_are_text() -> None:
    assert note("We tried --kind of thing --on LAST").text == "We tried --kind of thing --on LAST"


def test_no_text_is_none_and_only_spaces_are_no_text() -> None:
    assert note("") == SplitLine([], None)
    assert note("   \t ") == SplitLine([], None)
    assert note("--kind decision") == SplitLine(["--kind=decision"], None)


def test_double_dash_ends_the_options_and_one_space_after_it_is_removed() -> None:
    assert note('--kind x --  --force "dry" run').text == ' --force "dry" run'
    assert note('-- "quoted" stays quoted').text == '"quoted" stays quoted'
    assert note("--").text == ""
    assert note("-- ").text == ""
    assert note("--   ").text == "  "


def test_a_quoted_text_alone_is_unquoted() -> None:
    assert note('"depth 8  beats 4"').text == "depth 8  beats 4"
    assert note("'single  quotes'   ").text == "single  quotes"
    assert note(r'"a \"b\" c"').text == 'a "b" c'


def test_a_quoted_text_followed_by_options_is_unquoted_and_the_options_read() -> None:
    assert note('"Chose trees" --kind rationale -k decision') == SplitLine(
        ["--kind=rationale", "-k=decision"], "Chose trees"
    )


def test_a_quote_followed_by_more_text_is_verbatim() -> None:
    assert note('"Hi," she said').text == '"Hi," she said'
    assert note('"x"y z').text == '"x"y z'
    assert note("'it''s'").text == "'it''s'"  # two quoted strings, not one
    assert note("'a' - b").text == "'a' - b"


def test_a_quote_not_closed_is_verbatim() -> None:
    assert note('"unclosed  text --kind x').text == '"unclosed  text --kind x'
    assert note("doesn't matter").text == "doesn't matter"


def test_words_after_a_quoted_text_and_its_options_are_refused() -> None:
    with pytest.raises(UsageError, match="'more' follows the quoted text"):
        note('"x" --kind r more')


def test_a_dash_that_is_no_option_starts_the_text() -> None:
    assert note("- first point").text == "- first point"
    assert note("-5% is within noise").text == "-5% is within noise"


# -- options ---------------------------------------------------------------------------


def test_an_unknown_option_is_a_one_line_error_naming_it_and_suggesting_double_dash() -> None:
    with pytest.raises(UsageError) as caught:
        note("--knd rationale text")
    message = str(caught.value)
    assert "\n" not in message
    assert "'--knd'" in message and "--kind" in message and "put -- before it" in message
    with pytest.raises(UsageError, match="unknown option '-x'"):
        note("-x text")


def test_an_unknown_option_after_a_quoted_text_is_reported_not_stored() -> None:
    with pytest.raises(UsageError, match="unknown option '--kindd'"):
        note('"x" --kindd r')


def test_option_values_use_shell_quoting_and_may_start_with_a_dash() -> None:
    assert note("--on 'file:my data.csv' --on=LAST text") == SplitLine(
        ["--on=file:my data.csv", "--on=LAST"], "text"
    )
    assert note("--kind -weird text").argv == ["--kind=-weird"]
    assert note("-krationale -k=decision x").argv == ["-k=rationale", "-k=decision"]


def test_a_long_option_may_be_abbreviated_when_unambiguous() -> None:
    assert note("--ki r text").argv == ["--kind=r"]
    assert note("--dr text").argv == ["--draft"]


def test_an_option_without_its_value_or_an_unclosed_quote_in_options_is_an_error() -> None:
    with pytest.raises(UsageError, match="--revises needs a value"):
        note("--revises")
    with pytest.raises(UsageError, match=r"no closing quotation.*put the text after --"):
        note('--on "LAST text')


# -- free-text options -----------------------------------------------------------------


def test_a_free_text_option_runs_to_the_end_of_the_line() -> None:
    assert hypothesis("start x --hypothesis depth's   $x {y} --success 'a >= 1'") == (
        "depth's   $x {y} --success 'a >= 1'"
    )


def test_a_quoted_free_text_option_keeps_the_options_after_it() -> None:
    args = parse(
        _experiment_parser(),
        'start x --hypothesis "depth 8 beats 4" --success "accuracy >= 0.85"',
        EXPERIMENT,
    )
    assert (args.action, args.name, args.hypothesis, args.success) == (
        "start",
        "x",
        "depth 8 beats 4",
        "accuracy >= 0.85",
    )


def test_a_free_text_option_with_equals_or_double_dash() -> None:
    assert hypothesis("start x --hypothesis=  two spaces first") == "  two spaces first"
    assert hypothesis('start x --hypothesis -- "kept quoted" --success x') == (
        '"kept quoted" --success x'
    )
    assert hypothesis("start x --hypothesis --dash first") == "--dash first"
    assert hypothesis("start x --hyp abbreviated") == "abbreviated"


def test_an_empty_free_text_option_is_an_error() -> None:
    for line in ("start x --hypothesis", "start x --hypothesis   ", "start x --hypothesis -- "):
        with pytest.raises(UsageError, match="--hypothesis needs a text"):
            split_line(line, EXPERIMENT)


def test_double_dash_without_a_positional_text_goes_to_argparse() -> None:
    assert split_line("start -- -x", EXPERIMENT).argv == ["start", "--", "-x"]


def test_positional_words_use_shell_quoting() -> None:
    assert split_line("start 'a b'", EXPERIMENT).argv == ["start", "a b"]


def test_syntax_of_refuses_a_free_text_option_the_parser_does_not_have() -> None:
    with pytest.raises(ValueError, match="--nope"):
        syntax_of(_note_parser(), "%lineage_note", text_options=["--nope"])


def test_a_syntax_without_options_says_so() -> None:
    with pytest.raises(UsageError, match="takes no options"):
        split_line("--x", LineSyntax("%bare"))


# -- errors in magics -------------------------------------------------------------------


def test_usage_errors_become_one_line_ipython_usage_errors_with_the_magic_named() -> None:
    with pytest.raises(IPythonUsageError, match=r"^bad value$"), usage_errors("%m"):
        raise UsageError("bad value")
    with pytest.raises(IPythonUsageError, match=r"^%m: argument x$"), usage_errors("%m"):
        raise IPythonUsageError("argument x")
    with pytest.raises(IPythonUsageError, match=r"^%m: already named$"), usage_errors("%m"):
        raise IPythonUsageError("%m: already named")


def test_a_text_that_is_just_double_dash_survives_argparse() -> None:
    # argparse alone would take the value "--" for its separator and drop it.
    assert parse(_experiment_parser(), "start x --hypothesis -- --", EXPERIMENT).hypothesis == "--"
    assert parse(_note_parser(), "-- --", NOTE).text == ["--"]
    assert parse(_note_parser(), "--kind x plain", NOTE).text == ["plain"]
