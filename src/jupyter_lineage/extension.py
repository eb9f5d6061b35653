"""``%load_ext jupyter_lineage``: a session for the kernel, its capture hooks, and every magic.

This is the one place the IPython extension is put together, so what a notebook
gets is listed here: the kernel's :class:`~jupyter_lineage.session.Session` (its
journal, author and store), the capture layer's cell hooks and ``%%lineage``
magics, then each feature's magics, each given the session. A feature's magics
module imports only IPython when it is imported; the feature itself loads when a
magic is first used, so loading the extension stays fast.
"""

from __future__ import annotations

from typing import Any

from .capture import magics as capture_magics
from .capture.recorder import Recorder
from .session import SHELL_ATTR, Session


def _feature_magics() -> list[type]:
    from .annotations.magics import AnnotateMagics
    from .cards.magics import CardMagics
    from .graph.magics import GraphMagics
    from .registry.magics import RegistryMagics
    from .reproduce.magics import ReproduceMagics

    return [AnnotateMagics, RegistryMagics, CardMagics, GraphMagics, ReproduceMagics]


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
