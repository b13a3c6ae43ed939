"""Groups of options defined once: ``train``'s data options (shared by ``compare`` and
``search``) and the mechanism that lets a command take a group as one parameter.

A group is a function whose parameters are typer options and whose result is what the command
wants (checked values), or a ``NamedTuple`` whose fields are the options:
:meth:`DataOptions.from_options` turns ``--task``, ``--drop-missing``, ``--impute``,
``--categorical``, ``--ignore`` and ``--encoding`` into a :class:`DataOptions`.
:func:`with_options` shows typer the group's options in the place of the command's parameter
(same flags, defaults and help in every command that takes the group) and calls the command
with the group's result.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from retroprop.cli._common import choice
from retroprop.cli._options import (
    TASKS,
    CategoricalOpt,
    DropMissingOpt,
    EncodingOpt,
    IgnoreOpt,
    ImputeOpt,
    TaskOpt,
    encoding_value,
    missing_policy,
)

__all__ = ["NO_DATA_OPTIONS", "DataOptions", "with_options"]

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class DataOptions:
    """The data options, checked: what :meth:`Preprocessor.fit
    <retroprop.data.preprocessing.Preprocessor.fit>` takes, and the CSV file's encoding."""

    task: Literal["auto", "classification", "regression"] = "auto"
    missing: Literal["drop", "mean", "error"] = "error"
    categorical: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    encoding: str = "utf-8"

    @classmethod
    def from_options(
        cls,
        task: TaskOpt = "auto",
        drop_missing: DropMissingOpt = False,
        impute: ImputeOpt = None,
        categorical: CategoricalOpt = None,
        ignore: IgnoreOpt = None,
        encoding: EncodingOpt = "utf-8",
    ) -> DataOptions:
        """The group's options, checked: a :class:`~._common.CommandError` names the first
        one that is wrong."""
        return cls(
            task=choice("--task", task, TASKS),  # type: ignore[arg-type]
            missing=missing_policy(drop_missing, impute),
            categorical=tuple(categorical or ()),
            ignore=tuple(ignore or ()),
            encoding=encoding_value(encoding),
        )

    def preprocessing(self) -> dict[str, Any]:
        """The keyword arguments of ``Preprocessor.fit`` (all but the encoding)."""
        return {
            "task": self.task,
            "missing": self.missing,
            "categorical": self.categorical,
            "ignore": self.ignore,
        }


NO_DATA_OPTIONS = DataOptions()
"""The default of a ``data_options`` parameter (typer never sees it: :func:`with_options`)."""


def with_options(**groups: Callable[..., Any]) -> Callable[[Command], Command]:
    """A decorator: each parameter of the command named in ``groups`` is shown to typer as the
    parameters of its group function (in its place, so ``--help`` lists them there), and the
    command is called with what the group function returns for them.

    Example: ``@with_options(data_options=DataOptions.from_options)`` on a command with a
    parameter ``data_options: DataOptions``.
    """

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = {name: list(_parameters(group)) for name, group in groups.items()}
        shown = [q for p in signature.parameters.values() for q in own.get(p.name, [p])]

        @functools.wraps(command)
        def run(**given: Any) -> Any:
            for name, group in groups.items():
                given[name] = group(**{p.name: given.pop(p.name) for p in own[name]})
            return command(**given)

        run.__signature__ = signature.replace(parameters=shown)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in shown}
        return run  # type: ignore[return-value]

    return decorate


def _parameters(group: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters of a group function, or the fields of a group class (a ``NamedTuple``
    whose fields are the options), their annotations evaluated as typer needs them."""
    hints = typing.get_type_hints(group, include_extras=True)
    return [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(group).parameters.values()
    ]
