"""Artifacts of a model version: files copied into the content-addressed store, or references by URI."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import RegistryError, UsageError
from ..events import ArtifactRegistered, event_data
from ..hashing import sha256_file
from ..journal import utc_now
from ..session import current_session
from ..store import registry as q
from .api import ARTIFACT_KINDS, _store, get_version

_CHUNK = 8 << 20
_PROGRESS_FROM = 64 << 20  # show a progress bar for files from this size on
_SHA256 = "0123456789abcdef"


def artifacts_dir() -> Path:
    return current_session().store_dir / "artifacts" / "sha256"


def _blob_path(digest: str) -> Path:
    return artifacts_dir() / digest[:2] / digest


def _progress(total: int, label: str, enabled: bool) -> Any:
    if not enabled or total < _PROGRESS_FROM:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)


def hash_file(path: Path, progress: bool = True) -> tuple[str, int]:
    """SHA-256 and size of a file, streamed (with a progress bar for large files)."""
    bar = _progress(path.stat().st_size, f"hashing {path.name}", progress)
    if bar is None:
        return sha256_file(path)
    try:
        return sha256_file(path, progress=bar.update)
    finally:
        bar.close()


def _copy_in(source: Path, progress: bool) -> tuple[str, int, Path]:
    """Stream a file into the content-addressed store; returns (sha256, size, stored path)."""
    target_dir = artifacts_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    size = source.stat().st_size
    bar = _progress(size, f"copying {source.name}", progress)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        final = _blob_path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
            os.chmod(final, 0o444)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        if bar is not None:
            bar.close()
    return digest, size, final


def add_artifact(
    model: str,
    source: str | os.PathLike[str],
    *,
    name: str | None = None,
    kind: str = "weights",
    version: str | None = None,
    copy: bool = True,
    sha256: str | None = None,
    progress: bool = True,
    actor: str | None = None,
) -> dict[str, Any]:
    """Register a file (copied into the store, or referenced in place with ``copy=False``) or a URI."""
    if kind not in ARTIFACT_KINDS:
        raise UsageError(f"unknown artifact kind {kind!r}; use one of: {', '.join(ARTIFACT_KINDS)}")
    _, v = get_version(model, version)
    text = os.fspath(source)
    parsed = urlparse(text)
    remote = parsed.scheme not in ("", "file") and len(parsed.scheme) > 1
    stored_path = None
    if remote:
        if sha256 is None or len(sha256) != 64 or any(c not in _SHA256 for c in sha256.lower()):
            raise UsageError(
                f"{text} is not a local file; give its SHA-256 (64 hex digits) with sha256="
            )
        digest, size, uri = sha256.lower(), None, text
    else:
        path = Path(parsed.path if parsed.scheme == "file" else text).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"no file at {path}; give the path of the artifact to register")
        if copy:
            digest, size, blob = _copy_in(path, progress)
            stored_path = str(blob.relative_to(current_session().store_dir))
        else:
            digest, size = hash_file(path, progress)
        if sha256 is not None and sha256.lower() != digest:
            raise RegistryError(f"{path} has SHA-256 {digest}, not the {sha256} given")
        uri = path.as_uri()
    record = ArtifactRegistered(
        artifact_id=uuid.uuid4().hex,
        version_id=v["version_id"],
        name=name or Path(parsed.path or text).name,
        kind=kind,
        uri=uri,
        stored_path=stored_path,
        sha256=digest,
        size=size,
        created_by=actor or current_session().author,
        created_at=utc_now(),
    )
    current_session().emit(record)
    return event_data(record)


def verify(model: str, version: str | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Re-hash every artifact of a version; each result says ok, or what is wrong."""
    _, v = get_version(model, version)
    results = []
    root = current_session().store_dir
    for a in q.version_artifacts(_store(), v["version_id"]):
        result = {
            "name": a["name"],
            "sha256": a["sha256"],
            "ok": False,
            "actual": None,
            "problem": None,
        }
        if a["stored_path"]:
            path = root / a["stored_path"]
        elif a["uri"].startswith("file:"):
            path = Path(urlparse(a["uri"]).path)
        else:
            result["problem"] = "remote reference: not checked here"
            result["ok"] = None
            results.append(result)
            continue
        if not path.is_file():
            result["problem"] = f"missing: {path}"
        else:
            actual, _ = hash_file(path, progress)
            result["actual"] = actual
            result["ok"] = actual == a["sha256"]
            if not result["ok"]:
                result["problem"] = f"content changed: SHA-256 is now {actual}"
        results.append(result)
    return results


def fetch(
    model: str,
    name: str,
    destination: str | os.PathLike[str] | None = None,
    version: str | None = None,
) -> Path:
    """The local path of a stored artifact, verified (copied to ``destination`` when given)."""
    _, v = get_version(model, version)
    matches = [a for a in q.version_artifacts(_store(), v["version_id"]) if a["name"] == name]
    if not matches:
        raise RegistryError(f"version {v['version']} of {model} has no artifact called {name!r}")
    a = matches[-1]
    if not a["stored_path"]:
        raise RegistryError(f"artifact {name!r} is a reference to {a['uri']}, not stored here")
    path = current_session().store_dir / a["stored_path"]
    if not path.is_file():
        raise RegistryError(f"stored copy of {name!r} is missing at {path}")
    actual, _ = hash_file(path)
    if actual != a["sha256"]:
        raise RegistryError(
            f"stored copy of {name!r} is corrupted: SHA-256 {actual}, expected {a['sha256']}"
        )
    if destination is None:
        return path
    dest = Path(destination)
    if dest.is_dir():
        dest = dest / name
    shutil.copyfile(path, dest)
    return dest
