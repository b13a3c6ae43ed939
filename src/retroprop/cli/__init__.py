"""The ``retroprop`` command: the typer app (:mod:`.app`) and one module per command. A thin
layer: it parses options, calls the library and prints; users' mistakes
(:class:`retroprop.errors.RetropropError`) become one line and exit code 2.

May import: anything in retroprop.
"""

from __future__ import annotations

from retroprop.cli.app import app, main

__all__ = ["app", "main"]
