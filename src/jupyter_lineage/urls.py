"""URLs without their secrets: the one credential scrubber, and a remote as documents show it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Schemes whose user name names an account (``ssh://git@host``, ``postgresql://alice@db``),
# which is no secret. Elsewhere the user part is often a token (``https://TOKEN@host``).
_ACCOUNT_SCHEMES = re.compile(r"ssh|postgres|mysql|mongodb|redis|ftp", re.IGNORECASE)
# scp-like git addresses: ``[user@]host:path``. A host of one letter is a Windows drive.
_SCP_LIKE = re.compile(r"^(?:[^@/\\]*@)?(?P<host>[^@:/\\]{2,}):(?P<path>.+)$")


def strip_credentials(url: str, *, mark: bool = False) -> str:
    """``url`` without credentials: ``https://user:pass@host/x`` → ``https://host/x``.

    A password always goes. The user name stays where it names an account (ssh and
    database URLs); elsewhere the whole user part goes. With ``mark``, what was removed
    is shown as ``***`` (``postgresql://alice:***@db/x``), for messages that should say a
    secret was given. scp-like addresses (``git@host:org/repo``), local paths and text
    that is no URL are returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable address>" if mark else url
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    if user and _ACCOUNT_SCHEMES.match(parts.scheme):
        host = f"{user}:***@{host}" if mark and has_password else f"{user}@{host}"
    elif mark:
        host = f"***@{host}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def public_url(url: str | None) -> str | None:
    """A remote as a document that leaves this machine may show it, or None.

    Credentials go (:func:`strip_credentials`), and so do the query and fragment, where
    tokens are also passed. An scp-like address (``git@host:org/repo.git``) is shown as
    ``https://host/org/repo.git``. A local remote (a path, ``file://``) is nothing anyone
    elsewhere can open and would only show this machine's directories: None.
    """
    text = (url or "").strip()
    if not text:
        return None
    if "://" not in text:
        scp = _SCP_LIKE.match(text)
        if scp is None or scp.group("path").startswith("//"):
            return None  # a local path, relative or absolute
        return f"https://{scp.group('host')}/{scp.group('path').lstrip('/')}"
    try:
        parts = urlsplit(strip_credentials(text))
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() == "file" or not host:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
