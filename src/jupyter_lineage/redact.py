"""Credentials out of everything written: pure, precompiled, and cheap when there are none.

Every event passes through :func:`redact_value` on its way into a journal
(``journal.JournalWriter.append``), so a cell's source, an error message or
traceback, a value summary, a file path, an annotation's text or a parameter
never reaches a file with a credential in it. What is found is replaced by a
marker such as ``[REDACTED:aws-secret-key]`` and the event lists what was
replaced (``redactions``), never the secret.

Speed matters because this runs on every cell. Each rule names the lowercase
literals one of its matches must contain (``akia`` for AWS key ids, ``://``
for URLs with a password, ``token`` for ``token = "..."``). A text holding
none of them costs one ``lower()`` and a few substring scans and no regular
expression; the patterns start with a literal where they can, so the regular
expression engine skips to it instead of trying every position.

Secrets without a shape are found by value when the process knows them: the
values of environment variables whose names say they are secret, and the
passwords in any variable's URL or connection string, become
``[REDACTED:env:NAME]`` wherever they appear, as written, escaped by repr() or
JSON, URL-quoted, or cut short at an ellipsis or an end of text. The list is
read again only when ``os.environ`` changes (one dict comparison per check),
and costs a few substring scans per text while nothing matches.

Known limits: a secret with no recognisable shape, assigned to a name that
does not say what it holds (``x = "hunter2"``) and not in the environment,
cannot be told from data. An unquoted ``password=NAME`` is redacted even when
``NAME`` is a variable, because in a URL, a log line or an error message it
is the secret itself.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MARKER_PREFIX = "[REDACTED:"


def marker(kind: str) -> str:
    """The text that replaces a credential of ``kind``."""
    return f"{MARKER_PREFIX}{kind}]"


# -- names that say they hold a secret ---------------------------------------------

_WORD_SPLIT = re.compile(r"[^A-Za-z]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Last word of a name -> kind of secret.
_SECRET_LAST_WORDS = {
    "password": "password",
    "passwd": "password",
    "pwd": "password",
    "pass": "password",
    "passphrase": "password",
    "secret": "secret",
    "token": "token",
    "credential": "credential",
    "credentials": "credential",
    "apikey": "api-key",
}
# Run-together names (``PGPASSWORD``, ``csrftoken``): the end of the one word -> kind.
_SECRET_SUFFIXES = (
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("secret", "secret"),
    ("apikey", "api-key"),
    ("accesskey", "api-key"),
    ("secretkey", "secret"),
    ("privatekey", "private-key"),
    ("credentials", "credential"),
    ("token", "token"),
)
# (second to last, last) -> kind.
_SECRET_PAIRS = {
    ("api", "key"): "api-key",
    ("access", "key"): "api-key",
    ("secret", "key"): "secret",
    ("private", "key"): "private-key",
    ("signing", "key"): "secret",
    ("encryption", "key"): "secret",
    ("session", "key"): "secret",
    ("auth", "key"): "api-key",
    ("license", "key"): "api-key",
    ("master", "key"): "secret",
}
# ``pad_token = "[PAD]"`` and friends name vocabulary entries, not credentials.
_VOCABULARY_TOKENS = frozenset(
    {"pad", "eos", "bos", "unk", "sep", "cls", "mask", "start", "end", "special", "stop"}
)


def secret_name_kind(name: str) -> str | None:
    """The kind of secret a variable, key or parameter name announces, or None.

    ``db_password``, ``GITHUB_TOKEN``, ``PGPASSWORD``, ``apiKey``,
    ``aws_secret_access_key`` and ``client_secret`` announce one;
    ``token_count``, ``pad_token`` and ``password_file`` do not (the secret
    word must end the name).
    """
    # Names repeat (every event of a kind has the same keys), so each is judged once. A
    # str subclass is made a plain str first: the cache then runs none of its methods.
    return _name_kind(name if type(name) is str else str.__str__(name))


@functools.lru_cache(maxsize=4096)
def _name_kind(name: str) -> str | None:
    words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
    if not words:
        return None
    last = words[-1]
    kind = _SECRET_LAST_WORDS.get(last)
    if kind is not None:
        if last == "token" and len(words) > 1 and words[-2] in _VOCABULARY_TOKENS:
            return None
        if last == "pass" and len(words) == 1:
            return None  # the Python statement, not a name
        return kind
    if len(words) > 1:
        kind = _SECRET_PAIRS.get((words[-2], last))
        if kind is not None:
            return kind
    for suffix, kind in _SECRET_SUFFIXES:
        if last.endswith(suffix) and len(last) > len(suffix):
            if suffix == "token" and last[: -len(suffix)] in _VOCABULARY_TOKENS:
                return None
            return kind
    return None


# -- rules with a shape: vendor tokens, keys, URLs, headers -------------------------

# Builds the replacement of one match and the kind replaced, or None to leave the match.
Replacer = Callable[["re.Match[str]", str, str], "tuple[str, str] | None"]


def _starts_word(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")


def _token(m: re.Match[str], text: str, kind: str) -> tuple[str, str] | None:
    """The whole match, when it starts a word (``xghp_...`` is not a token)."""
    return (marker(kind), kind) if _starts_word(text, m.start()) else None


def _group(group: int) -> Replacer:
    """Only ``group`` of the match; the text around it stays."""

    def replace(m: re.Match[str], text: str, kind: str) -> tuple[str, str] | None:
        if text.startswith(MARKER_PREFIX, m.start(group)):
            return None  # already redacted
        start = m.start()
        whole = text[start : m.end()]
        return (
            whole[: m.start(group) - start] + marker(kind) + whole[m.end(group) - start :],
            kind,
        )

    return replace


def _mixed(text: str) -> bool:
    """Looks random: upper and lower case letters, and a digit or ``/+``."""
    return (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() or c in "/+" for c in text)
    )


def _aws_secret_after_key_id(m: re.Match[str], text: str, kind: str) -> tuple[str, str] | None:
    # ``boto3.client("s3", "AKIA...", "wJalr...")``: a 40-character random string
    # right after a key id is its secret (the id itself goes by the next rule).
    if not _starts_word(text, m.start()) or not _mixed(m.group(2)):
        return None
    return _group(2)(m, text, kind)


def _openai(m: re.Match[str], text: str, kind: str) -> tuple[str, str] | None:
    body = m.group(1)
    if len(body) < 32 or not any(c.isdigit() for c in body):
        return None  # ``sk-learn-style-long-names`` are not keys
    return _token(m, text, kind)


_URL_PASSWORD = re.compile(r"://[^\s/:@'\"<>]*:([^\s/@'\"<>]+)@")


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    # Lowercase literals, one of which every match contains.
    triggers: tuple[str, ...]
    pattern: re.Pattern[str]
    replace: Replacer = _token
    # Match against the lowercased text (same offsets) instead of the text itself.
    on_lower: bool = False


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private-key",
        ("-----",),
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        lambda m, text, kind: (marker(kind), kind),
    ),
    _Rule(
        "jwt",
        ("eyj",),
        re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ),
    _Rule("url-password", ("://",), _URL_PASSWORD, _group(1)),
    _Rule(
        "aws-secret-key",
        ("secret",),
        re.compile(
            r"aws[a-z0-9_\-]{0,20}?secret[a-z0-9_\-]{0,20}['\"]?\]?\s*[:=]\s*"
            r"[rbu]?['\"]?([a-z0-9/+]{40})(?![a-z0-9/+])"
        ),
        _group(1),
        on_lower=True,
    ),
    _Rule(
        "aws-secret-key",
        ("akia", "asia"),
        re.compile(
            r"A(?:KIA|SIA)[A-Z0-9]{16}\b(.{1,120}?)(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})"
            r"(?![A-Za-z0-9/+=])",
            re.DOTALL,
        ),
        _aws_secret_after_key_id,
    ),
    _Rule("aws-access-key", ("akia", "asia"), re.compile(r"A(?:KIA|SIA)[A-Z0-9]{16}\b")),
    _Rule(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"g(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})"),
    ),
    _Rule(
        "gitlab-token",
        ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glsoat-"),
        re.compile(r"gl(?:pat|dt|rt|ptt|cbt|ft|soat)-[A-Za-z0-9_\-]{20,}"),
    ),
    _Rule("slack-token", ("xox",), re.compile(r"xox[abposre]-[A-Za-z0-9\-]{10,}")),
    _Rule(
        "slack-webhook",
        ("://",),
        re.compile(r"://hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9/_\-]+)"),
        _group(1),
    ),
    _Rule("anthropic-key", ("sk-",), re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}")),
    _Rule(
        "openai-key",
        ("sk-",),
        re.compile(r"sk-((?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})"),
        _openai,
    ),
    _Rule("google-api-key", ("aiza",), re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    _Rule("google-oauth-token", ("ya29.",), re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}")),
    _Rule("huggingface-token", ("hf_",), re.compile(r"hf_[A-Za-z0-9]{30,}")),
    _Rule("pypi-token", ("pypi-",), re.compile(r"pypi-AgE[A-Za-z0-9_\-]{50,}")),
    _Rule("stripe-key", ("_live_",), re.compile(r"[sr]k_live_[A-Za-z0-9]{20,}")),
    _Rule(
        "bearer-token",
        ("bearer",),
        re.compile(r"bearer\s+([a-z0-9\-._~+/]{8,}=*)"),
        _group(1),
        on_lower=True,
    ),
    _Rule(
        "basic-auth",
        ("authoriz",),
        re.compile(
            r"authorization['\"]?\s*[:=]\s*['\"]?(?:basic|digest|token)\s+([a-z0-9+/=._~\-]{6,})"
        ),
        _group(1),
        on_lower=True,
    ),
)


def _apply(rule: _Rule, text: str, low: str, spans: list[_Span] | None) -> tuple[str, list[str]]:
    """``text`` with the rule's matches replaced, and the kinds replaced.

    A match that would cut through one of ``spans`` (known secret values) is left.
    """
    pieces: list[str] = []
    hits: list[str] = []
    done = 0
    for m in rule.pattern.finditer(low if rule.on_lower else text):
        if text.startswith(MARKER_PREFIX, m.start()):
            continue
        out = rule.replace(m, text, rule.kind)
        if out is None:
            continue
        if spans:
            # What the marker replaces: the match less what the replacement kept around it.
            at = out[0].find(MARKER_PREFIX)
            kept_after = len(out[0]) - at - len(marker(out[1]))
            if not _allowed(spans, m.start() + at, m.end() - kept_after):
                continue
        pieces.append(text[done : m.start()])
        pieces.append(out[0])
        hits.append(out[1])
        done = m.end()
    if not hits:
        return text, hits
    pieces.append(text[done:])
    return "".join(pieces), hits


# -- name = "value", name: value, ?name=value ------------------------------------------
# Found by the secret word first; the name around it is then read and judged by
# secret_name_kind, so the cost follows how often such words occur.

_ASSIGNMENT_TRIGGERS = ("pass", "pwd", "secret", "token", "credential", "key")
_SECRET_WORD = re.compile(r"pass|pwd|secret|token|credential|key")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# ``=``, ``:``, ``:=``, or an annotated assignment (``password: str = ``).
_SEPARATOR = re.compile(
    r"""['"]?\]?[ \t]*(?::[ \t]*[A-Za-z_][\w\[\]., |]*?[ \t]*=(?!=)|:=|=(?!=)|:(?!:))[ \t]*"""
)
_QUOTED_VALUE = re.compile(r"""(?:[rbuRBU]|rb|br|RB|BR)?(['"])([^'"\n]*)\1""")
_BARE_VALUE = re.compile(r"""[^\s'"&;,#<>()\[\]{}=][^\s'"&;,#<>()\[\]{}]*""")
_PLACEHOLDER = re.compile(
    r"^(?:\*+|x+|X+|\.\.\.|<[^<>]*>|\{[^{}]*\}|\$\{?[A-Za-z_]\w*\}?|%\(?\w*\)?s)$"
)
_TYPE_NAMES = frozenset(
    {"str", "bytes", "int", "float", "bool", "dict", "list", "any", "optional", "none"}
)
_CODE_CHAIN = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_LITERALS = frozenset({"none", "true", "false", "null", "undefined", "nil"})


def _assignments(
    text: str, low: str, spans: list[_Span] | None, code: bool = False
) -> tuple[str, list[str]]:
    """Redact the values given to names that say they hold a secret (``code``: in Python source)."""
    pieces: list[str] = []
    found: list[str] = []
    done = 0  # text before this offset is final
    n = len(text)
    for word in _SECRET_WORD.finditer(low):
        if word.start() < done:
            continue
        start = word.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        end = word.end()
        while end < n and text[end] in _NAME_CHARS:
            end += 1
        name = text[start:end]
        kind = secret_name_kind(name)
        if kind is None or _in_marker(text, start):
            continue
        sep = _SEPARATOR.match(text, end)
        if sep is None:
            continue
        quoted = _QUOTED_VALUE.match(text, sep.end())
        if quoted is not None:
            value_start, value_end = quoted.span(2)
            value = quoted.group(2)
            if not value or value.startswith(MARKER_PREFIX) or _PLACEHOLDER.match(value):
                continue
        else:
            bare = _BARE_VALUE.match(text, sep.end())
            if bare is None:
                continue
            value_start, value_end = bare.span()
            value = bare.group()
            if not _bare_value_is_secret(name, sep.group(), value, text, value_end, code):
                continue
            if value.endswith("."):
                value_end -= 1  # the full stop ending a sentence
        if not _allowed(spans, value_start, value_end):
            continue
        pieces.append(text[done:value_start])
        pieces.append(marker(kind))
        found.append(kind)
        done = value_end
    if not found:
        return text, found
    pieces.append(text[done:])
    return "".join(pieces), found


def _in_string_literal(source: str, index: int) -> bool:
    """Whether ``index`` of Python ``source`` is inside a string literal (or the source does
    not tokenize, when it is safer to take the text for prose)."""
    import io
    import tokenize

    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                continue
            start = line_starts[token.start[0] - 1] + token.start[1]
            end = line_starts[token.end[0] - 1] + token.end[1]
            if start <= index <= end:
                return True
            if start > index:
                return False
    except (tokenize.TokenError, SyntaxError, IndexError):
        return True
    return False


def _in_marker(text: str, index: int) -> bool:
    """Whether ``index`` is inside a marker (``[REDACTED:env:DB_PASSWORD]`` names a secret)."""
    opened = text.rfind(MARKER_PREFIX, 0, index)
    return opened >= 0 and "]" not in text[opened:index]


def _bare_value_is_secret(
    name: str, sep: str, value: str, text: str, end: int, code: bool = False
) -> bool:
    if value.startswith(MARKER_PREFIX) or _PLACEHOLDER.match(value):
        return False
    if code and value.isidentifier() and not _in_string_literal(text, end):
        return False  # in Python, ``db_password = q`` gives the value of the variable q
    low = value.lower()
    if low in _LITERALS or value == name or _CODE_CHAIN.match(value) or value.isdigit():
        return False
    if ":" in sep and "=" not in sep and low in _TYPE_NAMES:
        return False  # a type annotation: ``def login(password: str)``
    following = text[end : end + 1]
    # A call, subscript or attribute access is code, not the secret.
    return not (following in ("(", "[") or (following == "." and value.isidentifier()))


# -- values known to be secret: the environment's ----------------------------------
# A secret with no shape (a random 32-character password) can still be recognised
# when the process knows it: the values of its environment variables whose names say
# they hold one (``SENSOR_SERVICE_PASSWORD``, ``AWS_SECRET_ACCESS_KEY``) and the
# passwords inside any variable's URL or ``key=value`` connection string.

# Shorter values are too common to be told from data (``PASSWORD=x`` would take every "x").
MIN_SECRET_CHARS = 6
# The least of a value's start (or end) taken for the value cut short by a summary.
MIN_FRAGMENT_CHARS = 8
_CUT_MARKS = ("…", "...")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W\d_]+")
_KIND_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
# A connection string made only of key=value pairs: libpq's ``host=db password=PW``,
# ODBC's ``Server=db;PWD={PW};``. Only a whole value of that form is read as one, so
# a sentence that mentions ``password=...`` is not taken for a password.
_PAIR = r"""[A-Za-z_][\w.\-]*[ \t]*=[ \t]*(?:'[^']*'|"[^"]*"|\{[^{}]*\}|[^\s;'"{}]*)"""
_CONNECTION_STRING = re.compile(rf"[ \t]*{_PAIR}(?:(?:[ \t]*;[ \t]*|[ \t]+){_PAIR})*[ \t;]*")
_KEYWORD_VALUE = re.compile(
    r"""([A-Za-z_][\w.\-]*)[ \t]*=[ \t]*(?:'([^']*)'|"([^"]*)"|\{([^{}]*)\}|([^\s;'"{}]*))"""
)
_MARKER_SPAN = re.compile(r"\[REDACTED:[^\]\s]*\]")

# (start, end, kind) of a known value in a text.
_Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class _Form:
    """One way a known value can appear in a record."""

    text: str
    kind: str  # ``env:NAME``
    word: bool  # letters only: a word, matched only where it stands alone


@dataclass(frozen=True, slots=True)
class _Known:
    forms: tuple[_Form, ...]  # longest first
    # The first and last MIN_FRAGMENT_CHARS of each form: every whole or cut-short
    # occurrence holds one, so a text holding none needs no further look.
    probes: tuple[str, ...]


_NOTHING_KNOWN = _Known((), ())


def _worth_redacting(value: str) -> bool:
    """Whether a secret-named variable's value can be told from ordinary data."""
    if len(value) < MIN_SECRET_CHARS or _PLACEHOLDER.match(value):
        return False
    # A boolean, null or number is data that occurs everywhere (counts, ports,
    # timestamps); a value like that says nothing secret and would redact them all.
    if value.lower() in _LITERALS or _NUMBER.fullmatch(value):
        return False
    # The path of an existing file (GOOGLE_APPLICATION_CREDENTIALS) says where a
    # secret is kept, and the record needs it to name the file a cell read.
    return not (os.path.isabs(value) and os.path.exists(value))


def _embedded_secrets(value: str) -> list[str]:
    """Passwords inside a URL (``postgresql://u:PW@h``) or a connection string (``password=PW``)."""
    found: list[str] = []
    if "://" in value:
        from urllib.parse import unquote

        for m in _URL_PASSWORD.finditer(value):
            found += (m.group(1), unquote(m.group(1)))
    if "=" in value and _CONNECTION_STRING.fullmatch(value):
        for m in _KEYWORD_VALUE.finditer(value):
            if _secret_name(m.group(1)):
                found.append(next(g for g in m.groups()[1:] if g is not None))
    return found


def _escapes(text: str) -> set[str]:
    """``text`` as repr() and JSON write it inside a longer string."""
    return {
        repr(text)[1:-1],
        # repr() picks its quote for the whole string the text is part of, so a
        # ``'`` may be escaped or not.
        repr(text + "\"'")[1:-4],
        json.dumps(text, ensure_ascii=True)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }


def _escaped_forms(value: str) -> set[str]:
    """How ``value`` can appear in a record: as is, URL-quoted, escaped by repr() or JSON.

    Escapes nest up to two deep (the summary of a string holding JSON is the repr
    of JSON); one more JSON escape covers the journal's check of each event's JSON.
    """
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8", "surrogateescape")
    forms = {
        value,
        repr(raw)[2:-1],
        repr(raw + b"\"'")[2:-4],
        quote(value, safe="", errors="surrogateescape"),
        quote_plus(value, safe="", errors="surrogateescape"),
    }
    for _ in range(2):
        forms |= {escaped for form in forms for escaped in _escapes(form)}
    forms |= {json.dumps(form)[1:-1] for form in forms}
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


def _known_from(values: dict[str, str]) -> _Known:
    """What the redactor looks for, given secret values and their kinds."""
    forms: dict[str, _Form] = {}
    for value, kind in values.items():
        word = _WORD.fullmatch(value) is not None
        for text in sorted(_escaped_forms(value)):
            forms.setdefault(text, _Form(text, kind, word))
    ordered = tuple(sorted(forms.values(), key=lambda f: (-len(f.text), f.text)))
    probes: dict[str, None] = {}
    for form in ordered:
        if form.word or len(form.text) <= MIN_FRAGMENT_CHARS:
            probes[form.text] = None
        else:
            probes[form.text[:MIN_FRAGMENT_CHARS]] = None
            probes[form.text[-MIN_FRAGMENT_CHARS:]] = None
    # A probe holding another is found whenever that one is: checking the shorter suffices.
    kept = [p for p in probes if not any(o != p and o in p for o in probes)]
    return _Known(ordered, tuple(kept))


_name_is_secret: dict[str, bool] = {}
# The shell's working directories, named like ODBC's password keyword.
_NOT_SECRET_VARIABLES = frozenset({"PWD", "OLDPWD"})


def _secret_name(name: str) -> bool:
    secret = _name_is_secret.get(name)
    if secret is None:
        secret = _name_is_secret[name] = secret_name_kind(name) is not None
    return secret


def environment_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Secret values in an environment, each with its kind (``env:NAME``).

    The value of every variable whose name announces a secret
    (:func:`secret_name_kind`), and the passwords in any variable's URL or
    ``key=value`` string, unless too short or too ordinary to be one.
    """
    found: dict[str, str] = {}
    for name, value in sorted(environ.items()):
        kind = "env:" + _KIND_UNSAFE.sub("_", name)
        secret = name not in _NOT_SECRET_VARIABLES and _secret_name(name)
        candidates = [value] if secret else []
        candidates += _embedded_secrets(value)
        for candidate in candidates:
            for text in (candidate, candidate.strip()):
                if _worth_redacting(text):
                    found.setdefault(text, kind)
    return found


# (the environment as last seen, what it holds); replaced whole, so threads need no lock.
_env_state: tuple[dict[Any, Any] | None, _Known] = (None, _NOTHING_KNOWN)


def _known() -> _Known:
    """The environment's secret values, looked up again only when ``os.environ`` changed."""
    data = getattr(os.environ, "_data", None)
    if type(data) is not dict:
        data = dict(os.environ)
    seen, known = _env_state
    # Comparing with a copy costs about half a microsecond for 40 variables: values
    # unchanged are the same objects, compared by identity.
    if data == seen:
        return known
    return _refresh(data)


def _refresh(data: dict[Any, Any]) -> _Known:
    global _env_state
    snapshot = dict(data)
    try:
        known = _known_from(environment_secrets(os.environ))
    except Exception:
        # Never fail a write over this; keep what was known and look again next time.
        return _env_state[1]
    _env_state = (snapshot, known)
    return known


def _has_probe(text: str, known: _Known) -> bool:
    for probe in known.probes:  # noqa: SIM110 (a plain loop is faster than any() here)
        if probe in text:
            return True
    return False


def _value_spans(text: str, known: _Known) -> list[_Span]:
    """Where known values occur in ``text``, whole or cut short at an ellipsis or an end."""
    spans: list[_Span] = []
    n = len(text)
    for form in known.forms:
        f, size = form.text, len(form.text)
        if form.word:
            i = text.find(f)
            while i >= 0:
                end = i + size
                if not (i and text[i - 1].isalnum()) and not (end < n and text[end].isalnum()):
                    spans.append((i, end, form.kind))
                i = text.find(f, i + 1)
            continue
        head = f[:MIN_FRAGMENT_CHARS]
        i = text.find(head)
        while i >= 0:
            if text.startswith(f, i):
                spans.append((i, i + size, form.kind))
            else:
                # A summary cut to length may keep only the start of the value.
                end = i + MIN_FRAGMENT_CHARS
                while end < n and end - i < size and text[end] == f[end - i]:
                    end += 1
                if end == n or text.startswith(_CUT_MARKS, end):
                    spans.append((i, end, form.kind))
            i = text.find(head, i + 1)
        if size <= MIN_FRAGMENT_CHARS:
            continue
        tail = f[-MIN_FRAGMENT_CHARS:]
        j = text.find(tail)
        while j >= 0:
            # ... or only its end (a text kept from its end, or cut in the middle).
            end = j + MIN_FRAGMENT_CHARS
            start = j
            while (
                start > 0 and end - start < size and text[start - 1] == f[size - (end - start) - 1]
            ):
                start -= 1
            if end - start < size and (start == 0 or text.endswith(_CUT_MARKS, 0, start)):
                spans.append((start, end, form.kind))
            j = text.find(tail, j + 1)
    if not spans:
        return spans
    if MARKER_PREFIX in text:
        # A value that is part of a marker's text was already replaced.
        markers = [m.span() for m in _MARKER_SPAN.finditer(text)]
        spans = [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in markers)]
    spans.sort()
    merged: list[_Span] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    return merged


def _allowed(spans: list[_Span] | None, start: int, end: int) -> bool:
    """Whether replacing ``text[start:end]`` leaves every known value whole or gone.

    A rule's match that cuts through a known value (a bearer token ending at a
    character the rule does not take) is left to the value's own replacement,
    which takes all of it.
    """
    if spans:
        for s, e, _ in spans:
            if s < end and start < e and not (start <= s and e <= end):
                return False
    return True


def _replace_spans(text: str, spans: list[_Span]) -> tuple[str, list[str]]:
    pieces: list[str] = []
    done = 0
    for start, end, kind in spans:
        pieces += (text[done:start], marker(kind))
        done = end
    pieces.append(text[done:])
    return "".join(pieces), [kind for _, _, kind in spans]


# -- text ------------------------------------------------------------------------------

_ALL_TRIGGERS: tuple[str, ...] = tuple(
    sorted({t for rule in _RULES for t in rule.triggers} | set(_ASSIGNMENT_TRIGGERS))
)


def _lower(text: str) -> str:
    """``text.lower()`` with the same length, so offsets found in it hold in ``text``."""
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters lowercase to two (``İ``); keep those as they are.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def may_contain_secret(text: str) -> bool:
    """The cheap pre-check: whether any rule or known secret value could match ``text`` at all."""
    return _may_contain(text, _known())


def _may_contain(text: str, known: _Known) -> bool:
    if known.probes and _has_probe(text, known):
        return True
    low = text.lower()
    for trigger in _ALL_TRIGGERS:  # noqa: SIM110 (a plain loop is faster than any() here)
        if trigger in low:
            return True
    return False


def redact_text(text: str, *, code: bool = False) -> tuple[str, list[str]]:
    """``text`` with every credential replaced by a marker, and the kinds replaced (in order).

    Shapes and assignments go first, so a credential with a shape is named by it
    (``aws-secret-key``); a known value left (``env:NAME``) goes last. With ``code``,
    ``text`` is Python source, where a bare name given to ``password =`` is a variable,
    not the secret, and stays as written.
    """
    return _redact_text(text, _known(), code)


def _redact_text(text: str, known: _Known, code: bool = False) -> tuple[str, list[str]]:
    spans = _value_spans(text, known) if known.probes and _has_probe(text, known) else None
    low = _lower(text)
    present = {t for t in _ALL_TRIGGERS if t in low}
    found: list[str] = []
    if not present and not spans:
        return text, found
    for rule in _RULES:
        if present.isdisjoint(rule.triggers):
            continue
        new, hits = _apply(rule, text, low, spans)
        if hits:
            text, low = new, _lower(new)
            found.extend(hits)
            if spans:
                spans = _value_spans(text, known)
    if not present.isdisjoint(_ASSIGNMENT_TRIGGERS):
        new, kinds = _assignments(text, low, spans, code)
        if kinds:
            text = new
            found.extend(kinds)
            if spans:
                spans = _value_spans(text, known)
    if spans:
        text, kinds = _replace_spans(text, spans)
        found.extend(kinds)
    return text, found


# -- event payloads --------------------------------------------------------------------

# Fields of a {"name": ..., ...} record that show the named thing's content. The
# fingerprint stays: it is what links a value to the cells that read it.
_NAMED_CONTENT = frozenset({"value", "summary"})


def redact_value(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Redact every string in a JSON-like value.

    Returns the value (copied where something changed) and ``path:kind`` for
    each replacement. Besides credentials and known secret values in text, a
    string under a key that names a secret (``{"api_key": "..."}``) is replaced
    whole, and so are the ``value`` and ``summary`` of a record whose ``name``
    names one: a parameter ``{"name": "password", "value": ...}``, or a
    variable ``password`` whose summary would show it. Such a variable keeps its
    ``fingerprint`` (a hash of its content), which lineage needs to link it to
    the cells that read it.
    """
    found: list[str] = []
    return _walk(value, path, found, _known()), found


# Fields that hold Python source.
_CODE_KEYS = frozenset({"source"})


def _walk(value: Any, path: str, found: list[str], known: _Known, code: bool = False) -> Any:
    tp = type(value)
    if tp is str:
        if not _may_contain(value, known):
            return value
        new, kinds = _redact_text(value, known, code)
        found.extend(f"{path}:{k}" for k in kinds)
        return new
    if tp is dict:
        out: dict[Any, Any] | None = None
        name = value.get("name")
        named_kind = secret_name_kind(name) if type(name) is str else None
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            kind = None
            if item is not None and type(item) is not bool:
                if named_kind is not None and key in _NAMED_CONTENT:
                    if type(item) not in (int, float):
                        kind = named_kind  # a number named "token_budget" is not a secret
                elif type(item) is str and type(key) is str:
                    kind = secret_name_kind(key)
            if kind is not None and not (
                type(item) is str and (not item or item.startswith(MARKER_PREFIX))
            ):
                new_item: Any = marker(kind)
                found.append(f"{sub}:{kind}")
            else:
                new_item = _walk(item, sub, found, known, key in _CODE_KEYS)
            new_key = key
            if type(key) is str and _may_contain(key, known):
                new_key, kinds = _redact_text(key, known)
                found.extend(f"{path}{{key}}:{k}" for k in kinds)
            if new_item is not item or new_key is not key:
                if out is None:
                    out = dict(value)
                if new_key is not key:
                    del out[key]
                out[new_key] = new_item
        return value if out is None else out
    if tp is list or tp is tuple:
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new_item = _walk(item, f"{path}[{i}]", found, known)
            if new_item is not item:
                if items is None:
                    items = list(value)
                items[i] = new_item
        return value if items is None else items
    return value
