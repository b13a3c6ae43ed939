"""Opening a model or checkpoint for reading: only a regular file is one.

A model file and a checkpoint are zip archives, read by seeking to their directory at the end;
a pipe, a FIFO (``<(cat m.retroprop)``), a device (``/dev/zero``: endless) or a socket can hold
neither. :func:`open_regular` refuses them before reading a byte, and without waiting for a
FIFO's writer.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["open_regular"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(path: Path, error: type[Exception], what: str) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file (links are followed).

    Raises:
        error: ``path`` is a folder, pipe, device or socket; the message names it and ``what``
            (``"model file"``) it should have been.
        OSError: it cannot be opened (missing, no permission, …).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise error(f"{path}: {kind}, not a {what}; a {what} is read from a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
