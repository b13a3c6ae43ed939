"""Bodies of CLI commands (``train``, ``predict``, ``evaluate``, ``info MODEL``, …).

:mod:`retroprop.cli.app` registers them; this package keeps ``cli.py`` short. Library code raises
:class:`~retroprop.data.tabular.DataError`, :class:`~retroprop.files.model_file.ModelFileError` or
another
``ValueError`` for bad input, which the CLI reports in one line with exit code 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from retroprop.core.activations import ACTIVATION_ALIASES, ACTIVATIONS
from retroprop.train.registry import TRAINERS

__all__ = ["expand_multi_values"]

_ACTIVATION_NAMES = {*ACTIVATIONS, *ACTIVATION_ALIASES}
_SOLVER_NAMES = set(TRAINERS) - {"rprop"}  # "rprop" (= iRprop⁺) is compare's shorthand only


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


_MULTI: dict[str, dict[str, Callable[[str], bool]]] = {
    "train": {
        "--hidden": lambda tok: tok.replace(",", "").isdigit(),
        "--activation": lambda tok: tok in _ACTIVATION_NAMES,
    },
    "compare": {
        "--hidden": lambda tok: tok.replace(",", "").isdigit(),
        "--solvers": lambda tok: tok.lower() in _SOLVER_NAMES | {"rprop"},
        "--modes": lambda tok: tok in ("online", "minibatch", "batch"),
    },
    # search: each --hidden value is a whole architecture ("10 5" quoted, or 10,5)
    "search": {
        "--hidden": lambda tok: re.fullmatch(r"[\d\s,]*\d[\d\s,]*", tok) is not None,
        "--activation": lambda tok: tok in _ACTIVATION_NAMES,
        "--solver": lambda tok: tok in _SOLVER_NAMES,
        "--learning-rate": _is_number,
        "--lr": _is_number,
        "--alpha": _is_number,
    },
}


def expand_multi_values(argv: Sequence[str]) -> list[str]:
    """Let ``train``, ``compare`` and ``search`` take several values after one option.

    click options take one value per occurrence, so ``train … --hidden 10 5 --activation
    tanh relu`` is rewritten to ``--hidden 10 --hidden 5 --activation tanh --activation relu``.
    A following token is taken as another value only if it looks like one (a number for
    ``--hidden``, an activation name for ``--activation``), so positional arguments after the
    values keep working. ``search`` takes whole architectures (``--hidden "10" "10 5"``), η and
    α values, solvers and activations this way. Other commands are left alone.
    """
    argv = list(argv)
    if not argv or argv[0] not in _MULTI:
        return argv
    multi = _MULTI[argv[0]]
    out = [argv[0]]
    option: str | None = None
    first = False
    for n, tok in enumerate(argv[1:], start=1):
        if tok == "--":
            return out + argv[n:]
        if tok in multi:
            option, first = tok, True
        elif option is not None and first:
            first = False
        elif option is not None and multi[option](tok):
            out.append(option)
        else:
            option = None
        out.append(tok)
    return out
