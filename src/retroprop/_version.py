"""retroprop's version, read from the installed package's metadata (one source: pyproject.toml).

May import: nothing (a leaf every package may use).
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("retroprop")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
