"""Bodies of CLI commands (``train``, ``predict``, ``evaluate``, ``info MODEL``, …).

:mod:`retroprop.cli` registers them; this package keeps ``cli.py`` short. Library code raises
:class:`~retroprop.tabular.DataError`, :class:`~retroprop.modelfile.ModelFileError` or another
``ValueError`` for bad input, which the CLI reports in one line with exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..activations import ACTIVATIONS

__all__ = ["expand_multi_values"]

_ACTIVATION_NAMES = {*ACTIVATIONS, "logistic", "linear", "leaky"}
_MULTI: dict[str, Callable[[str], bool]] = {
    "--hidden": lambda tok: tok.replace(",", "").isdigit(),
    "--activation": lambda tok: tok in _ACTIVATION_NAMES,
}


def expand_multi_values(argv: Sequence[str]) -> list[str]:
    """Let ``train`` take several values after one option, as in ``--hidden 10 5``.

    click options take one value per occurrence, so ``train … --hidden 10 5 --activation
    tanh relu`` is rewritten to ``--hidden 10 --hidden 5 --activation tanh --activation relu``.
    A following token is taken as another value only if it looks like one (a number for
    ``--hidden``, an activation name for ``--activation``), so positional arguments after the
    values keep working. Other commands are left alone.
    """
    argv = list(argv)
    if not argv or argv[0] != "train":
        return argv
    out = [argv[0]]
    option: str | None = None
    first = False
    for n, tok in enumerate(argv[1:], start=1):
        if tok == "--":
            return out + argv[n:]
        if tok in _MULTI:
            option, first = tok, True
        elif option is not None and first:
            first = False
        elif option is not None and _MULTI[option](tok):
            out.append(option)
        else:
            option = None
        out.append(tok)
    return out
