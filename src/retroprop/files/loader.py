"""Loading a model from whatever file holds one: a model file or a training checkpoint.

A checkpoint (:mod:`retroprop.files.checkpoint_file`) holds a complete model file with the best
weights of its run so far, so it can be used wherever a model can: :func:`load_model` tells the
two apart by their header member and validates the whole file either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from retroprop.files.archive import member_names
from retroprop.files.checkpoint_file import read_checkpoint
from retroprop.files.model import Model
from retroprop.files.model_file import ModelFileError, read_model
from retroprop.files.regular import open_regular

__all__ = ["load_model", "read_model_or_checkpoint"]


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file written by :func:`~retroprop.files.model_file.save_model`.

    A training checkpoint is accepted too (its model: the best weights of the run so far).

    Raises:
        ModelFileError: the file is missing, not a regular file (a pipe, a device), not a
            model, truncated, from a newer retroprop, invalid or tampered with; the message
            says which.
    """
    path = Path(path)
    try:
        with open_regular(path, ModelFileError, "model file") as f:
            return read_model_or_checkpoint(f, path.name)
    except OSError as exc:
        raise ModelFileError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None


def read_model_or_checkpoint(f: IO[bytes], name: str) -> Model:
    """:func:`load_model` from an open binary file; ``name`` is the file's name for messages.

    A zip archive with a ``checkpoint.json`` and no ``header.json`` is read as a checkpoint
    (:class:`~retroprop.files.checkpoint_file.CheckpointError` is a :class:`ModelFileError`);
    anything else as a model file, whose reader says what is wrong with it.
    """
    names = member_names(f)
    if names is not None and "checkpoint.json" in names and "header.json" not in names:
        return read_checkpoint(f, name).model
    return read_model(f, name)
