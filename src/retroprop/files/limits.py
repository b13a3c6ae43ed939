"""The limits of model files and checkpoints: one set, shared by the writers and the readers.

A reader refuses a file that breaks one of these *before* it reads the data that would cost
memory or time; a writer refuses to write (or the command line refuses up front) what the
reader would refuse, so every file retroprop writes can be read again.

Sizes are checked on the zip directory before any member is read: the declared uncompressed
size of every member is enforced by :mod:`zipfile` while inflating, so the total bound is a
bound on what reading can cost, and the compression ratio bound makes a small file that would
inflate to a large one ("a zip bomb") fail at once. The writer stores a member uncompressed
when deflating it would exceed the ratio (an array of zeros, say), so it never writes a file
the reader refuses.
"""

from __future__ import annotations

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_CHECKPOINT_BYTES",
    "MAX_COLUMNS",
    "MAX_EPOCHS",
    "MAX_HEADER_BYTES",
    "MAX_HISTORY_VALUES",
    "MAX_LAYERS",
    "MAX_LIST",
    "MAX_MEMBERS",
    "MAX_MODEL_BYTES",
    "MAX_NAME",
    "MAX_RATIO",
    "MAX_SECTION_BYTES",
    "MAX_SECTION_KEYS",
    "MAX_TEXT",
    "MAX_UNITS",
    "MAX_UPDATES",
    "MAX_VERSIONS",
    "RATIO_EXEMPT_BYTES",
]

# -- the archive -------------------------------------------------------------------------------
MAX_HEADER_BYTES = 16 << 20
"""Largest JSON header (``header.json``, ``checkpoint.json``): 16 MiB (a model's holds the
categories of every feature)."""
MAX_ARRAY_BYTES = 1 << 30
"""Largest total size of a model's parameters (weights and biases): 1 GiB (134 million float64
parameters). Every other array of a checkpoint is bounded by it too."""
MAX_MODEL_BYTES = MAX_HEADER_BYTES + MAX_ARRAY_BYTES + (1 << 20)
"""Largest total uncompressed size of a model file's members (header, arrays, .npy headers)."""
MAX_CHECKPOINT_BYTES = 8 * MAX_ARRAY_BYTES
"""Largest total uncompressed size of a checkpoint's members: its model file, the current
weights, the optimizer's arrays (two copies for Adam), the early-stopping weights, the sample
order and the history (8 GiB)."""
MAX_RATIO = 20
"""Largest compression ratio (uncompressed / compressed size) of a member larger than
:data:`RATIO_EXEMPT_BYTES`. Trained weights deflate by less than 1.2; only data made to inflate
(zeros, repeated bytes) comes near."""
RATIO_EXEMPT_BYTES = 1 << 16
"""Members up to this size (64 KiB: small biases, headers) are not held to :data:`MAX_RATIO`."""
MAX_MEMBERS = 50_000
"""Most members an archive may have (a model has two per layer)."""

# -- the network -------------------------------------------------------------------------------
MAX_LAYERS = 1000
"""Most layers of a network in a model file."""
MAX_UNITS = 10_000_000
"""Most neurons of one layer (inputs included) in a model file."""

# -- a training run (checkpoints) ------------------------------------------------------------
MAX_EPOCHS = 1_000_000_000
"""Most epochs a run may be asked for (``retroprop train --epochs``) and a checkpoint hold."""
MAX_UPDATES = 2**62
"""Most weight updates a checkpoint may count."""
MAX_COLUMNS = 64
"""Most history columns (loss, mse, accuracy, their val_ twins, time, updates, …)."""
MAX_HISTORY_VALUES = MAX_ARRAY_BYTES // 8
"""Most numbers in a checkpoint's history (epochs × columns): 1 GiB of float64."""

# -- JSON headers --------------------------------------------------------------------------
MAX_SECTION_KEYS = 256
"""Most entries of a free-form header section (``training``, ``metrics``, ``data``,
``settings``)."""
MAX_VERSIONS = 64
"""Most entries of a model's ``versions`` (library → version)."""
MAX_LIST = 10_000
"""Longest list in a free-form section (``--categorical`` or ``--ignore`` columns, say)."""
MAX_SECTION_BYTES = 256 << 10
"""Largest free-form section as JSON (256 KiB): what ``retroprop info`` prints in a second."""
MAX_NAME = 200
"""Longest key, name or version string in a header."""
MAX_TEXT = 10_000
"""Longest other string in a header (a file name, a setting)."""
