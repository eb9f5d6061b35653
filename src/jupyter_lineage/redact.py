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

Known limits: a secret with no recognisable shape, assigned to a name that
does not say what it holds (``x = "hunter2"``), cannot be told from data. An
unquoted ``password=NAME`` is redacted even when ``NAME`` is a variable,
because in a URL, a log line or an error message it is the secret itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    _Rule(
        "url-password",
        ("://",),
        re.compile(r"://[^\s/:@'\"<>]*:([^\s/@'\"<>]+)@"),
        _group(1),
    ),
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
        ("gh", "github_pat_"),
        re.compile(r"g(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})"),
    ),
    _Rule(
        "gitlab-token",
        ("gl",),
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


def _apply(rule: _Rule, text: str, low: str) -> tuple[str, list[str]]:
    """``text`` with the rule's matches replaced, and the kinds replaced."""
    pieces: list[str] = []
    hits: list[str] = []
    done = 0
    for m in rule.pattern.finditer(low if rule.on_lower else text):
        if text.startswith(MARKER_PREFIX, m.start()):
            continue
        out = rule.replace(m, text, rule.kind)
        if out is None:
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


def _assignments(text: str, low: str) -> tuple[str, list[str]]:
    """Redact the values given to names that say they hold a secret."""
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
        if kind is None:
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
            if not _bare_value_is_secret(name, sep.group(), value, text, value_end):
                continue
            if value.endswith("."):
                value_end -= 1  # the full stop ending a sentence
        pieces.append(text[done:value_start])
        pieces.append(marker(kind))
        found.append(kind)
        done = value_end
    if not found:
        return text, found
    pieces.append(text[done:])
    return "".join(pieces), found


def _bare_value_is_secret(name: str, sep: str, value: str, text: str, end: int) -> bool:
    if value.startswith(MARKER_PREFIX) or _PLACEHOLDER.match(value):
        return False
    low = value.lower()
    if low in _LITERALS or value == name or _CODE_CHAIN.match(value) or value.isdigit():
        return False
    if ":" in sep and "=" not in sep and low in _TYPE_NAMES:
        return False  # a type annotation: ``def login(password: str)``
    following = text[end : end + 1]
    # A call, subscript or attribute access is code, not the secret.
    return not (following in ("(", "[") or (following == "." and value.isidentifier()))


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
    """The cheap pre-check: whether any rule could match ``text`` at all."""
    low = text.lower()
    for trigger in _ALL_TRIGGERS:  # noqa: SIM110 (a plain loop is faster than any() here)
        if trigger in low:
            return True
    return False


def redact_text(text: str) -> tuple[str, list[str]]:
    """``text`` with every credential replaced by a marker, and the kinds replaced (in order)."""
    low = _lower(text)
    present = {t for t in _ALL_TRIGGERS if t in low}
    found: list[str] = []
    if not present:
        return text, found
    for rule in _RULES:
        if present.isdisjoint(rule.triggers):
            continue
        new, hits = _apply(rule, text, low)
        if hits:
            text, low = new, _lower(new)
            found.extend(hits)
    if not present.isdisjoint(_ASSIGNMENT_TRIGGERS):
        text, kinds = _assignments(text, low)
        found.extend(kinds)
    return text, found


# -- event payloads --------------------------------------------------------------------

# Fields of a {"name": ..., ...} record that carry the named thing's content.
_NAMED_CONTENT = frozenset({"value", "summary", "fingerprint"})


def redact_value(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Redact every string in a JSON-like value.

    Returns the value (copied where something changed) and ``path:kind`` for
    each replacement. Besides patterns in text, a string under a key that names
    a secret (``{"api_key": "..."}``) is replaced whole, and so are the
    ``value``, ``summary`` and ``fingerprint`` of a record whose ``name`` names
    one: a parameter ``{"name": "password", "value": ...}``, or a variable
    ``password`` whose summary would show it and whose fingerprint would let a
    guess be checked.
    """
    found: list[str] = []
    return _walk(value, path, found), found


def _walk(value: Any, path: str, found: list[str]) -> Any:
    tp = type(value)
    if tp is str:
        if not may_contain_secret(value):
            return value
        new, kinds = redact_text(value)
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
                    if type(item) is str or key != "fingerprint":
                        kind = named_kind
                    if type(item) in (int, float):
                        kind = None  # a number named "token_budget" is not a secret
                elif type(item) is str and type(key) is str:
                    kind = secret_name_kind(key)
            if kind is not None and not (
                type(item) is str and (not item or item.startswith(MARKER_PREFIX))
            ):
                new_item: Any = marker(kind)
                found.append(f"{sub}:{kind}")
            else:
                new_item = _walk(item, sub, found)
            new_key = key
            if type(key) is str and may_contain_secret(key):
                new_key, kinds = redact_text(key)
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
            new_item = _walk(item, f"{path}[{i}]", found)
            if new_item is not item:
                if items is None:
                    items = list(value)
                items[i] = new_item
        return value if items is None else items
    return value
