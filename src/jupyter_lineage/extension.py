"""``%load_ext jupyter_lineage``: a session for the kernel, its capture hooks, and every magic.

This is the one place the IPython extension is put together, so what a notebook
gets is listed here: the kernel's :class:`~jupyter_lineage.session.Session` (its
journal, author and store), the capture layer's cell hooks and ``%%lineage``
magics, then each feature's magics, each given the session. The feature magics live in ``magics/``,
outside the features' packages, and import only IPython when imported; a feature
loads when one of its magics first runs, so loading the extension stays fast.
"""

from __future__ import annotations

from typing import Any

from .capture import magics as capture_magics
from .capture.recorder import Recorder
from .session import SHELL_ATTR, Session


def _feature_magics() -> list[type]:
    from .magics.annotations import AnnotateMagics
    from .magics.cards import CardMagics
    from .magics.graph import GraphMagics
    from .magics.registry import RegistryMagics
    from .magics.reproduce import ReproduceMagics
    from .magics.stale import StaleMagics

    return [AnnotateMagics, RegistryMagics, CardMagics, GraphMagics, ReproduceMagics, StaleMagics]


def load_ipython_extension(shell: Any) -> None:
    """Attach a session and a recorder to ``shell`` and register the magics (once per shell)."""
    if getattr(shell, SHELL_ATTR, None) is not None:
        return
    session = Session(ships_in_background=True)
    recorder = Recorder(shell, session)
    setattr(shell, SHELL_ATTR, session)
    capture_magics.install(shell, recorder)
    for magics in _feature_magics():
        shell.register_magics(magics(shell, session))


def unload_ipython_extension(shell: Any) -> None:
    """Stop capturing: the hooks go, the journal is closed (the magics stay registered, as
    IPython allows)."""
    recorder = capture_magics.uninstall(shell)
    if recorder is not None and getattr(shell, SHELL_ATTR, None) is recorder.session:
        delattr(shell, SHELL_ATTR)
