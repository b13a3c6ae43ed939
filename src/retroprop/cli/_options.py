"""Options that several commands share: one definition each.

Options spelled the same in every command (the CSV file, the preprocessing options) are whole
``Annotated`` types. Options whose flags are shared but whose help says what they mean to one
command (``--quiet``, ``--seed``, ``--learning-rate``, ``--output``) are made by a function that
takes the help text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from retroprop.cli._common import CommandError, choice
from retroprop.views.i18n import LANGUAGES, language

__all__ = [
    "TASKS",
    "CategoricalOpt",
    "CsvArg",
    "DropMissingOpt",
    "EncodingOpt",
    "ForceOpt",
    "IgnoreOpt",
    "ImputeOpt",
    "OptionalTargetOpt",
    "TargetOpt",
    "TaskOpt",
    "batch_size_value",
    "csv_not_model",
    "declared_target",
    "encoding_value",
    "file_option",
    "finite_number",
    "hidden_sizes",
    "learning_rate_option",
    "missing_policy",
    "output_option",
    "quiet_option",
    "seed_option",
    "values_option",
]

TASKS = ("auto", "classification", "regression")

CsvArg = Annotated[
    Path,
    typer.Argument(
        metavar="DATA",
        help="CSV or FANN data file (detected by content).",
        exists=True,
        dir_okay=False,
    ),
]
TargetOpt = Annotated[str, typer.Option("--target", "-t", help="Column to predict.")]
OptionalTargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target", "-t", help="Column to predict (required, but for a FANN file's one target)."
    ),
]


def declared_target(target: str | None, declared: Sequence[str]) -> str:
    """``--target``, or the one target column a file declares (``Table.targets``: a FANN data
    file's outputs) when it is not given.

    Raises:
        CommandError: no ``--target`` and not exactly one declared target (the message lists
            the file's outputs, if any).
    """
    if target:
        return target
    if len(declared) == 1:
        return declared[0]
    outputs = f" (one of the file's outputs {', '.join(declared)})" if declared else ""
    raise CommandError(f"Missing option '--target' / '-t': the column to predict{outputs}")


TaskOpt = Annotated[str, typer.Option(help="auto, classification or regression.")]
DropMissingOpt = Annotated[
    bool, typer.Option("--drop-missing", help="Skip rows with missing values.")
]
ImputeOpt = Annotated[
    str | None, typer.Option(help="'mean': fill missing values (mode if categorical).")
]
CategoricalOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="COLUMN", help="Treat this numeric column as categorical."),
]
EncodingOpt = Annotated[
    str,
    typer.Option(metavar="NAME", help="Text encoding of the CSV file: utf-8, latin-1, cp1252, …"),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace output files that exist (never an input, a read-only file or a "
        "device). Missing folders are created either way.",
    ),
]
IgnoreOpt = Annotated[
    list[str] | None, typer.Option(metavar="COLUMN", help="Leave this column out.")
]


LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="en|es",
        help="Language of what the command prints: en or es [default: RETROPROP_LANG, else "
        "the locale (es_* is Spanish), else en].",
    ),
]


def lang_value(option: str, value: str | None) -> str:
    """The language a command speaks: its ``option``'s ``value`` (checked, the error naming the
    option) or, without one, :func:`~retroprop.views.i18n.language`'s choice (RETROPROP_LANG,
    the locale, English)."""
    return language(None if value is None else choice(option, value, LANGUAGES))


def values_option(metavar: str, help: str) -> Any:
    """An option a command takes several values of (``--hidden 10 5``; see
    :func:`~._values.expand_multi_values`), shown with ``metavar`` (``N…``, ``NAME…``)."""
    return typer.Option(metavar=metavar, help=help)


def file_option(metavar: str, help: str, exists: bool = False) -> Any:
    """An option naming a file (not a folder), which must exist if ``exists``."""
    return typer.Option(metavar=metavar, help=help, exists=exists, dir_okay=False)


def quiet_option(help: str) -> Any:
    """``--quiet`` / ``-q``: what the command leaves out."""
    return typer.Option("--quiet", "-q", help=help)


def seed_option(help: str) -> Any:
    """``--seed`` (≥ 0): what it seeds in this command."""
    return typer.Option(min=0, help=help)


def learning_rate_option(help: str, **kwargs: Any) -> Any:
    """``--learning-rate`` / ``--lr``: η, with this command's default in the help."""
    return typer.Option("--learning-rate", "--lr", help=help, **kwargs)


def output_option(help: str) -> Any:
    """``--output`` / ``-o``: the file the command writes."""
    return typer.Option("--output", "-o", help=help)


def missing_policy(drop_missing: bool, impute: str | None) -> Literal["drop", "mean", "error"]:
    """What --drop-missing and --impute ask for; both at once, or an unknown --impute, is a
    :class:`CommandError`."""
    if drop_missing and impute:
        raise CommandError("--drop-missing and --impute: choose one")
    if impute:
        choice("--impute", impute, ("mean",))
        return "mean"
    return "drop" if drop_missing else "error"


def hidden_sizes(values: Sequence[str]) -> tuple[int, ...]:
    """The layer sizes of ``--hidden`` values ("10 5", "10,5" or several values); ``0`` alone
    means no hidden layer. Anything else than sizes from 1 to 100000 is a :class:`CommandError`.
    """
    sizes = [tok for v in values for tok in re.split(r"[,\s]+", v.strip()) if tok]
    if not all(tok.isdigit() for tok in sizes):
        raise CommandError(f"--hidden: expected layer sizes such as 10 5, got {' '.join(values)}")
    out = tuple(int(tok) for tok in sizes)
    if out == (0,):
        return ()  # no hidden layer: a single-layer perceptron
    if not out or min(out) < 1 or max(out) > 100_000:
        raise CommandError(f"--hidden: layer sizes must be between 1 and 100000, got {out}")
    return out


def batch_size_value(value: str, word: str) -> int | str:
    """``--batch-size``: a positive integer, or ``word`` (``"all"`` for train's full batch,
    ``"auto"`` for the estimators' min(200, n))."""
    if value == word:
        return word
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"--batch-size: expected a positive integer or {word!r}, got {value!r}")
    return int(value)


def encoding_value(name: str) -> str:
    """``--encoding``: ``name`` if it is a text encoding Python knows, else a
    :class:`CommandError` naming the option."""
    from retroprop.data.tabular import text_encoding
    from retroprop.errors import ParameterError

    try:
        text_encoding(name)
    except ParameterError:
        raise CommandError(
            f"--encoding: unknown text encoding {name!r}; e.g. utf-8, latin-1 or cp1252"
        ) from None
    return name


_ZIP_MAGIC = b"PK\x03\x04"


def is_model_file(path: Path) -> bool:
    """Whether ``path`` is a regular file holding a retroprop model or checkpoint (a zip archive
    with their header member). Reads only the start of other files; never opens a FIFO, whose
    bytes the CSV reader would then miss."""
    from retroprop.files.archive import member_names

    try:
        if not path.is_file():
            return False
        with path.open("rb") as f:
            if f.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                return False
            f.seek(0)
            names = member_names(f)
    except OSError:
        return False  # the reader says what is wrong with the file
    return names is not None and bool({"header.json", "checkpoint.json"} & names)


def csv_not_model(data: Path | None, usage: str, model: Path | None = None) -> None:
    """Refuse a model file given as the CSV file, with the command's ``usage`` (and, when the
    ``model`` argument is not a model file, the likely swap).

    Raises:
        CommandError: e.g. "iris.retroprop is a retroprop model file, not a CSV file; usage:
            retroprop predict MODEL DATA".
    """
    if data is None or not is_model_file(data):
        return
    swapped = model is not None and not is_model_file(model)
    hint = f" ({model} and {data} the other way round?)" if swapped else ""
    raise CommandError(f"{data} is a retroprop model file, not a CSV file; usage: {usage}{hint}")


def finite_number(option: str, value: float) -> float:
    """``value`` if it is a finite number (click's ranges let ``inf`` through, and ``nan``);
    else a :class:`CommandError` naming ``option``."""
    if not math.isfinite(value):
        raise CommandError(f"{option}: expected a finite number, got {value}")
    return value
