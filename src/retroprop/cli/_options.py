"""Options that several data commands share (train, search): one definition each."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from retroprop.cli._common import CommandError, choice

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
IgnoreOpt = Annotated[
    list[str] | None, typer.Option(metavar="COLUMN", help="Leave this column out.")
]


def missing_policy(drop_missing: bool, impute: str | None) -> Literal["drop", "mean", "error"]:
    """What --drop-missing and --impute ask for; both at once, or an unknown --impute, is a
    :class:`CommandError`."""
    if drop_missing and impute:
        raise CommandError("--drop-missing and --impute: choose one")
    if impute:
        choice("--impute", impute, ("mean",))
        return "mean"
    return "drop" if drop_missing else "error"
