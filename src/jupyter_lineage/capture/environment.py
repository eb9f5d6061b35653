"""A snapshot of the environment a cell ran in, cached until something changes.

A kernel creates one :class:`EnvironmentCapture` and calls ``snapshot()`` for
every captured cell. The first call reads everything (machine, packages, git,
GPUs); later calls compare a cheap change key (``sys.path``, the stat of every
``sys.path`` directory, the stat of the repository's ``HEAD``/ref/``index``/
``config`` files, the allow-listed environment variables) and return the same
:class:`~jupyter_lineage.events.EnvironmentSnapshot` (the ``environment`` event) while the key is unchanged, with
no subprocess and no directory listing.

Packages are read from ``*.dist-info`` / ``*.egg-info`` directory names on
``sys.path`` rather than through ``importlib.metadata`` (about 0.3 ms instead
of 44 ms per 100 packages, measured by ``bench/bench_environment.py``).

Environment variables are recorded only from an allow-list, never wholesale:
the environment of a notebook server holds cloud keys and tokens.

Known blind spot: editing a tracked file without staging it changes neither
the index nor ``HEAD``, so the git ``dirty`` flag is refreshed only on the next
``invalidate()``, ``snapshot(force=True)``, commit, ``git add`` or checkout.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jupyter_lineage.config import git_work_tree
from jupyter_lineage.events import EnvironmentSnapshot
from jupyter_lineage.urls import strip_credentials

DEFAULT_ENV_ALLOWLIST: tuple[str, ...] = (
    # Devices and determinism.
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUBLAS_WORKSPACE_CONFIG",
    "PYTHONHASHSEED",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "PYTORCH_CUDA_ALLOC_CONF",
    "JAX_PLATFORMS",
    "XLA_FLAGS",
    # Threading of numerical libraries.
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "TOKENIZERS_PARALLELISM",
    # Locale and time zone (string sorting, date parsing).
    "LANG",
    "LC_ALL",
    "TZ",
    # Which Python environment.
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
)
"""Environment variables recorded by default. Add names with ``JUPYTER_LINEAGE_ENV_ALLOW``.

These names are vetted: ``TOKENIZERS_PARALLELISM`` is allowed although it
contains ``TOKEN``. Extra names are refused when they look like secrets.
"""

ENV_ALLOW_VARIABLE = "JUPYTER_LINEAGE_ENV_ALLOW"
"""Comma-separated extra environment variable names to record."""

# Extra names matching this are never recorded, even when listed.
_SECRET_NAME_RE = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|PRIVATE|COOKIE", re.IGNORECASE
)

# Read for the container image reference; their presence alone marks Kubernetes.
_IMAGE_VARIABLES = ("JUPYTER_IMAGE_SPEC", "JUPYTER_IMAGE", "CONTAINER_IMAGE")
_KUBERNETES_VARIABLE = "KUBERNETES_SERVICE_HOST"

_GIT_TIMEOUT = 5.0
_GPU_TIMEOUT = 2.0

# Variables that would point git at another repository than the one found on disk.
_GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")

_NAME_RUN_RE = re.compile(r"[-_.]+")

_Signature = tuple[int, int, int, int] | None


def normalize_package_name(name: str) -> str:
    """Normalise a distribution name per PEP 503: lowercase, runs of ``-_.`` become ``-``."""
    return _NAME_RUN_RE.sub("-", name).lower()


def compute_environment_id(fields: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of an environment's fields.

    ``captured_at`` and ``environment_id`` are left out, so identical
    environments share an id. Canonical JSON: sorted keys, no whitespace, UTF-8.
    """
    content = {k: v for k, v in fields.items() if k not in ("environment_id", "captured_at")}
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EnvironmentCapture:
    """Snapshots of the environment for one kernel, cached while nothing has changed.

    Args:
        repo_dir: directory whose git repository is recorded; defaults to the
            working directory at construction (the notebook's directory in a
            kernel). A later ``os.chdir`` does not move it.
        extra_allow: environment variable names to record besides
            :data:`DEFAULT_ENV_ALLOWLIST` and ``JUPYTER_LINEAGE_ENV_ALLOW``;
            secret-looking names are refused.

    The returned :class:`EnvironmentSnapshot` is shared between calls: treat it as read-only.
    """

    def __init__(
        self,
        repo_dir: str | os.PathLike[str] | None = None,
        extra_allow: Iterable[str] = (),
    ) -> None:
        if repo_dir is None:
            try:
                repo_dir = os.getcwd()
            except OSError:
                repo_dir = "."
        self.repo_dir = os.path.abspath(os.fspath(repo_dir))
        self._extra_allow = tuple(extra_allow)
        self._stale = True
        self._env: EnvironmentSnapshot | None = None
        self._machine: dict[str, Any] | None = None
        self._container_files: dict[str, Any] | None = None

        self._paths_key: tuple[Any, ...] | None = None
        self._dir_cache: dict[str, tuple[_Signature, dict[str, str]]] = {}
        self._packages: dict[str, str] = {}

        self._repo: _Repo | None = None
        self._git_watch: tuple[str, ...] = ()
        self._git_key: tuple[_Signature, ...] | None = None
        self._git: dict[str, Any] | None = None

        self._allow_setting: str | None = None
        self._env_names: tuple[str, ...] = ()
        self._env_key: tuple[str | None, ...] | None = None
        self._env_vars: dict[str, str] = {}
        self._container: dict[str, Any] | None = None

    def invalidate(self) -> None:
        """Re-read packages, git state and environment variables on the next ``snapshot()``.

        Call it after a cell ran ``pip``, ``%pip``, ``conda`` or anything else
        that may change them unnoticed. Machine facts (CPU, RAM, GPUs, OS) are
        kept; ``snapshot(force=True)`` re-reads those too.
        """
        self._stale = True

    def snapshot(self, force: bool = False) -> EnvironmentSnapshot:
        """The current environment: the cached one while its change key is unchanged.

        Never raises: a part that cannot be read is left ``None`` or empty.
        """
        try:
            return self._snapshot(force)
        except Exception:
            self._stale = True  # read everything again next time
            if self._env is not None:
                return self._env
            return _bare_environment()

    def _snapshot(self, force: bool) -> EnvironmentSnapshot:
        if force:
            self._machine = None
            self._container_files = None
            self._stale = True
        paths_key = _paths_key()
        git_key = _signatures(self._git_watch)
        env_key = self._current_env_key()
        if (
            not self._stale
            and self._env is not None
            and paths_key == self._paths_key
            and git_key == self._git_key
            and env_key == self._env_key
        ):
            return self._env

        stale = self._stale
        self._stale = False
        if self._machine is None:
            self._machine = self._read_machine()
            self._container_files = _container_from_files()
        if stale or paths_key != self._paths_key:
            self._paths_key = paths_key
            self._packages = self._read_packages(clear=stale)
        if stale or git_key != self._git_key:
            self._refresh_git(rediscover=stale)
        if stale or env_key != self._env_key:
            self._env_key = env_key
            self._env_vars = {
                name: value
                for name in self._env_names
                if (value := os.environ.get(name)) is not None
            }
            self._container = _container(self._container_files)

        fields: dict[str, Any] = {
            **self._machine,
            "git": self._git,
            "container": self._container,
            "env_vars": self._env_vars,
            "packages": self._packages,
        }
        environment_id = compute_environment_id(fields)
        if self._env is None or self._env.environment_id != environment_id:
            captured_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            self._env = EnvironmentSnapshot(
                environment_id=environment_id, captured_at=captured_at, **fields
            )
        return self._env

    # The three readers below are methods so that a subclass can observe them.

    def _read_machine(self) -> dict[str, Any]:
        """Facts that do not change while a process runs (GPUs run a subprocess)."""
        return _machine_facts()

    def _read_packages(self, clear: bool) -> dict[str, str]:
        """Installed distributions, re-listing only the ``sys.path`` directories that changed."""
        if clear:
            self._dir_cache.clear()
        return _packages_on_path(self._dir_cache)

    def _read_git(self, repo: _Repo) -> dict[str, Any] | None:
        """Git state of ``repo`` (runs git)."""
        return _git_state(repo)

    def _refresh_git(self, rediscover: bool) -> None:
        if rediscover or self._repo is None:
            self._repo = _find_repo(self.repo_dir)
        repo = self._repo
        if repo is None:
            self._git_watch = ()
            self._git_key = ()
            self._git = None
            return
        # Stat before running git, so a change made meanwhile is seen next time.
        self._git_watch = repo.watched_files()
        self._git_key = _signatures(self._git_watch)
        self._git = self._read_git(repo)

    def _current_env_key(self) -> tuple[str | None, ...]:
        setting = os.environ.get(ENV_ALLOW_VARIABLE)
        if setting != self._allow_setting or not self._env_names:
            self._allow_setting = setting
            self._env_names = allowed_env_names(self._extra_allow, setting)
        get = os.environ.get
        return (setting, *[get(name) for name in self._env_names], *_container_env_key())


def allowed_env_names(extra: Iterable[str] = (), setting: str | None = None) -> tuple[str, ...]:
    """The environment variable names to record: defaults plus extras that do not look secret.

    Args:
        extra: names given in code.
        setting: the value of ``JUPYTER_LINEAGE_ENV_ALLOW`` (comma-separated names).
    """
    names = list(DEFAULT_ENV_ALLOWLIST)
    candidates = list(extra)
    if setting:
        candidates.extend(setting.split(","))
    for raw in candidates:
        name = raw.strip()
        if name and name not in names and not _SECRET_NAME_RE.search(name):
            names.append(name)
    return tuple(names)


def git_info(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Git state of the repository containing ``path``, or None (no repository, no git).

    Returns a dict with ``root`` (work tree path), ``commit`` (None before the
    first commit), ``branch`` (None when detached), ``dirty`` (tracked files
    differ from ``HEAD``; untracked files do not count), ``diff_sha256``
    (SHA-256 of ``git diff HEAD --binary`` when dirty) and ``remote_url``
    (``origin`` with any credentials removed). Never raises.
    """
    try:
        repo = _find_repo(os.path.abspath(os.fspath(path)))
        return _git_state(repo) if repo is not None else None
    except Exception:
        return None


# --- change key -------------------------------------------------------------


def _signature(path: str) -> _Signature:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    # The inode catches git's write-to-lock-file-then-rename even within one
    # timestamp tick; nlink catches a subdirectory added or removed.
    return (st.st_ino, st.st_mtime_ns, st.st_nlink, st.st_size)


def _signatures(paths: Iterable[str]) -> tuple[_Signature, ...]:
    return tuple([_signature(p) for p in paths])


def _entry_dir(entry: object) -> str | None:
    if isinstance(entry, str):
        return entry or "."
    try:
        path = os.fsdecode(os.fspath(entry))  # type: ignore[call-overload]
    except TypeError:
        return None
    return path or "."


def _paths_key() -> tuple[Any, ...]:
    entries = tuple(sys.path)
    try:
        cwd: str | None = os.getcwd()  # relative entries ("" in a kernel) follow it
    except OSError:
        cwd = None
    sigs = []
    for entry in entries:
        path = (entry or ".") if isinstance(entry, str) else _entry_dir(entry)
        sigs.append(_signature(path) if path is not None else None)
    return (entries, cwd, tuple(sigs))


# --- packages ---------------------------------------------------------------


def _packages_on_path(cache: dict[str, tuple[_Signature, dict[str, str]]]) -> dict[str, str]:
    """Name → version for every distribution on ``sys.path``; the first on the path wins."""
    packages: dict[str, str] = {}
    seen: set[str] = set()
    used: set[str] = set()
    for entry in list(sys.path):
        path = _entry_dir(entry)
        if path is None:
            continue
        try:
            path = os.path.abspath(path)
        except (OSError, ValueError):
            continue
        if path in seen:
            continue
        seen.add(path)
        signature = _signature(path)
        cached = cache.get(path)
        if cached is not None and cached[0] == signature:
            found = cached[1]
        else:
            found = _distributions_in(path) if signature is not None else {}
            cache[path] = (signature, found)
        used.add(path)
        for name, version in found.items():
            packages.setdefault(name, version)
    for path in list(cache):
        if path not in used:
            del cache[path]
    return packages


_process_dirs: dict[str, tuple[_Signature, dict[str, str]]] = {}


def installed_packages() -> dict[str, str]:
    """Name → version of the distributions this process would import now (the first on
    ``sys.path`` wins), re-listing only the ``sys.path`` directories that changed since the last call."""
    return _packages_on_path(_process_dirs)


def packages_that_matter(sources: Iterable[str], packages: Mapping[str, str]) -> dict[str, str]:
    """The recorded packages the sources import (by module name or the distribution providing it)."""
    from importlib import metadata

    from .analysis import analyse, python_source

    modules: set[str] = set()
    for source in sources:
        modules.update(analyse(python_source(source)).imports)
    try:
        providers = metadata.packages_distributions()
    except Exception:
        providers = {}
    found = {}
    for module in modules:
        for candidate in (module, *providers.get(module, ())):
            name = normalize_package_name(candidate)
            if name in packages:
                found[name] = packages[name]
    return dict(sorted(found.items()))


def _distributions_in(directory: str) -> dict[str, str]:
    """Distributions whose metadata directory is directly inside ``directory``."""
    try:
        names = os.listdir(directory)
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    # Sorted, so that a directory holding two versions of one name gives the same answer every time.
    for entry in sorted(n for n in names if n.endswith((".dist-info", ".egg-info"))):
        if entry.startswith(("~", ".")):
            continue  # pip's half-removed leftovers, hidden files
        try:
            parsed = _parse_metadata_dir_name(entry) or _read_metadata(
                os.path.join(directory, entry)
            )
        except Exception:
            parsed = None
        if parsed is not None:
            found.setdefault(normalize_package_name(parsed[0]), parsed[1])
    return found


def _parse_metadata_dir_name(entry: str) -> tuple[str, str] | None:
    """``foo_bar-1.2.dist-info`` → ``("foo_bar", "1.2")``; None when the name is ambiguous."""
    if entry.endswith(".dist-info"):
        parts = entry[: -len(".dist-info")].split("-")
        if len(parts) != 2:
            return None
    else:
        # foo-1.2.egg-info, foo-1.2-py3.11.egg-info, foo-1.2-py3.11-linux-x86_64.egg-info
        parts = entry[: -len(".egg-info")].split("-")
        if len(parts) < 2 or (len(parts) > 2 and not parts[2].startswith("py")):
            return None
    name, version = parts[0], parts[1]
    # An escaped "-" in the version (written as "_") cannot be undone from the name alone.
    if not name or not version or "_" in version or not version[0].isalnum():
        return None
    return name, version


def _read_metadata(path: str) -> tuple[str, str] | None:
    """Name and Version from the metadata headers of a ``.dist-info``/``.egg-info`` entry."""
    if os.path.isdir(path):
        filename = "METADATA" if path.endswith(".dist-info") else "PKG-INFO"
        path = os.path.join(path, filename)
    name = version = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                break  # end of the headers
            key, _, value = line.partition(":")
            if key == "Name" and name is None:
                name = value.strip()
            elif key == "Version" and version is None:
                version = value.strip()
            if name and version:
                return name, version
    return None


# --- machine ----------------------------------------------------------------


def _guarded(default: Any, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception:
        return default


def _machine_facts() -> dict[str, Any]:
    uname = _guarded(None, platform.uname)
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable or "",
        "platform": _guarded("", platform.platform),
        "os_name": uname.system if uname else "",
        "os_release": uname.release if uname else "",
        "machine": uname.machine if uname else "",
        "hostname": _guarded("", socket.gethostname),
        "cpu_model": _guarded(None, _cpu_model),
        "cpu_count": _guarded(None, os.cpu_count),
        "ram_bytes": _guarded(None, _ram_bytes),
        "gpus": _guarded([], _gpus),
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    processor = platform.processor().strip()
    return processor if processor and processor != "unknown" else None


def _ram_bytes() -> int | None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if total > 0:
            return int(total)
    except (AttributeError, ValueError, OSError):
        pass
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs as reported by ``nvidia-smi``; empty without it."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    out = _run(
        [
            exe,
            "--query-gpu=name,memory.total,driver_version,uuid",
            "--format=csv,noheader,nounits",
        ],
        timeout=_GPU_TIMEOUT,
    )
    if out is None:
        return []
    gpus = []
    for row in csv.reader(io.StringIO(out), skipinitialspace=True):
        if len(row) < 4:
            continue
        name, memory, driver, uuid = (cell.strip() for cell in row[:4])
        gpus.append(
            {
                "name": name,
                "memory_total_mib": int(memory) if memory.isdigit() else None,
                "driver_version": driver or None,
                "uuid": uuid or None,
            }
        )
    return gpus


# --- container --------------------------------------------------------------

_CGROUP_HINTS = (
    ("kubepods", "kubernetes"),
    ("libpod", "podman"),
    ("docker", "docker"),
    ("containerd", "containerd"),
    ("crio", "cri-o"),
    ("lxc", "lxc"),
)


def _container_from_files() -> dict[str, Any]:
    """What the file system says about a container (read once per process)."""
    facts: dict[str, Any] = {"runtime": None, "cgroup_kubernetes": False, "podman_image": None}
    try:
        if os.path.exists("/run/.containerenv"):
            facts["runtime"] = "podman"
            facts["podman_image"] = _containerenv_image("/run/.containerenv")
        elif os.path.exists("/.dockerenv"):
            facts["runtime"] = "docker"
    except Exception:
        pass
    try:
        with open("/proc/self/cgroup", encoding="utf-8", errors="replace") as f:
            cgroup = f.read()
    except OSError:
        cgroup = ""
    for hint, runtime in _CGROUP_HINTS:
        if hint in cgroup:
            if runtime == "kubernetes":
                facts["cgroup_kubernetes"] = True
            elif facts["runtime"] is None:
                facts["runtime"] = runtime
    return facts


def _containerenv_image(path: str) -> str | None:
    # Podman writes image="..." here for privileged containers; the file may be empty.
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key == "image" and value.strip('"'):
                    return value.strip('"')
    except OSError:
        pass
    return None


def _container_env_key() -> tuple[str | None, ...]:
    get = os.environ.get
    return (
        *[get(name) for name in _IMAGE_VARIABLES],
        "k8s" if _KUBERNETES_VARIABLE in os.environ else None,
    )


def _container(files: dict[str, Any] | None) -> dict[str, Any] | None:
    """``runtime``, ``kubernetes``, ``image`` and ``image_digest``, or None outside a container."""
    files = files or {}
    image = next((v for name in _IMAGE_VARIABLES if (v := os.environ.get(name))), None)
    image = image or files.get("podman_image")
    kubernetes = _KUBERNETES_VARIABLE in os.environ or bool(files.get("cgroup_kubernetes"))
    runtime = files.get("runtime")
    if runtime is None and not kubernetes and image is None:
        return None
    digest = image.partition("@")[2] or None if image else None
    return {
        "runtime": runtime,
        "kubernetes": kubernetes,
        "image": image,
        "image_digest": digest if digest and digest.startswith("sha256:") else None,
    }


# --- git --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Repo:
    """Where a work tree and its git directories are."""

    root: str
    git_dir: str  # HEAD and index (per work tree)
    common_dir: str  # refs, packed-refs and config (shared by linked work trees)

    def watched_files(self) -> tuple[str, ...]:
        """Files whose change means the git state may have changed."""
        files = [
            os.path.join(self.git_dir, "HEAD"),
            os.path.join(self.git_dir, "index"),
            os.path.join(self.common_dir, "packed-refs"),
            os.path.join(self.common_dir, "config"),
        ]
        try:
            with open(files[0], encoding="utf-8", errors="replace") as f:
                head = f.read().strip()
            if head.startswith("ref:"):
                files.append(os.path.join(self.common_dir, *head[4:].strip().split("/")))
        except OSError:
            pass
        return tuple(files)


def _find_repo(start: str) -> _Repo | None:
    """The repository whose work tree contains ``start``, found by walking up to ``.git``."""
    found = git_work_tree(start)
    if found is None:
        return None
    root, git_dir = found
    return _Repo(root, git_dir, _common_dir(git_dir))


def _common_dir(git_dir: str) -> str:
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            return os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except OSError:
        return git_dir


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REDIRECTS}
    # Never prompt for credentials, never take the index lock (no rewrite of .git/index
    # that would look like a change), messages in English.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def _git_state(repo: _Repo) -> dict[str, Any] | None:
    """Commit, branch, dirty flag, diff hash and remote of ``repo``; None when git fails."""
    git = shutil.which("git")
    if git is None:
        return None
    env = _git_env()
    base = [git, "--no-optional-locks", "-C", repo.root]
    # One call gives commit, branch and the list of changed tracked files.
    status = _run(
        [*base, "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
        env=env,
        timeout=_GIT_TIMEOUT,
    )
    if status is None:
        return None
    commit = branch = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            oid = line[len("# branch.oid ") :].strip()
            commit = oid if oid != "(initial)" else None
        elif line.startswith("# branch.head "):
            head = line[len("# branch.head ") :].strip()
            branch = head if head != "(detached)" else None
        elif line and not line.startswith("#"):
            dirty = True
    diff_sha256 = None
    if dirty and commit is not None:
        diff_sha256 = _run_sha256(
            [
                *base,
                "diff",
                "HEAD",
                "--binary",
                # Fixed options, so that user configuration cannot change the bytes hashed.
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--diff-algorithm=myers",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "-U3",
            ],
            env=env,
            timeout=_GIT_TIMEOUT,
        )
    remote = _run([*base, "config", "--get", "remote.origin.url"], env=env, timeout=_GIT_TIMEOUT)
    return {
        "root": repo.root,
        "commit": commit,
        "branch": branch,
        "dirty": dirty,
        "diff_sha256": diff_sha256,
        "remote_url": strip_credentials(remote.strip()) if remote and remote.strip() else None,
    }


def repository_root(path: str | os.PathLike[str]) -> str | None:
    """The work tree root of the repository containing ``path``, found on disk (git is not run)."""
    try:
        repo = _find_repo(os.path.abspath(os.fspath(path)))
    except (OSError, ValueError):
        return None
    return repo.root if repo is not None else None


# --- subprocesses -----------------------------------------------------------


def _run(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> str | None:
    """Stdout of a command that succeeded within ``timeout``, else None."""
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            timeout=timeout,
            check=False,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace")


def _run_sha256(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> str | None:
    """SHA-256 of a command's stdout, streamed (a diff can be large), or None on failure."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    timer = threading.Timer(timeout, proc.kill)
    timer.daemon = True
    timer.start()
    digest = hashlib.sha256()
    try:
        assert proc.stdout is not None
        with proc.stdout:
            while chunk := proc.stdout.read(1 << 20):
                digest.update(chunk)
        returncode = proc.wait()
    except Exception:
        return None
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return digest.hexdigest() if returncode == 0 else None


def _bare_environment() -> EnvironmentSnapshot:
    """The little that is known without reading anything, for when everything else failed."""
    fields: dict[str, Any] = {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable or "",
        "platform": "",
        "os_name": "",
        "os_release": "",
        "machine": "",
        "hostname": "",
        "cpu_model": None,
        "cpu_count": None,
        "ram_bytes": None,
        "gpus": [],
        "git": None,
        "container": None,
        "env_vars": {},
        "packages": {},
    }
    return EnvironmentSnapshot(
        environment_id=compute_environment_id(fields),
        captured_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        **fields,
    )
