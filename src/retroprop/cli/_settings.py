"""The one validation of ``retroprop train``'s settings, for the command line and checkpoints.

:func:`check_settings` checks every field of a :class:`~._training.TrainSettings`: its type,
its range, the registry it names. ``retroprop train`` runs it on the options given;
``--resume`` runs it (through :func:`check_checkpoint_settings`) on the settings a checkpoint
holds, as soon as the checkpoint's header is read and before anything is allocated, so a
checkpoint cannot ask for what the command line would refuse. The ranges are those files can
hold (:mod:`retroprop.files.limits`), so every run the command accepts can be checkpointed and
resumed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from retroprop.cli._common import CommandError
from retroprop.cli._options import TASKS
from retroprop.cli._training import TrainSettings
from retroprop.core.activations import get_activation
from retroprop.core.initializers import get_initializer
from retroprop.core.losses import get_loss
from retroprop.data.schema import SchemaError
from retroprop.files.limits import MAX_EPOCHS, MAX_LAYERS, MAX_LIST, MAX_SECTION_BYTES, MAX_TEXT
from retroprop.train.registry import TRAINERS

__all__ = [
    "MAX_HIDDEN_UNITS",
    "OUTPUT_SETTING",
    "SettingError",
    "check_checkpoint_settings",
    "check_settings",
    "option_name",
    "settings_from_json",
]

MAX_HIDDEN_UNITS = 100_000
"""Most neurons of one hidden layer (``--hidden``)."""
OUTPUT_SETTING = "output"
"""The key under which a checkpoint's settings hold the model file the run writes (the
absolute path of ``-o``; a resumed run writes it too). Not a :class:`TrainSettings` field:
where the model goes does not change the model."""
_MAX_PATH = 4096
_MAX_INT = 2**63 - 1
_CHOICES: dict[str, tuple[str, ...]] = {
    "task": TASKS,
    "missing": ("error", "drop", "mean"),
    "dtype": ("float64", "float32"),
    "engine": ("auto", "numba", "numpy"),
    "train_error": ("final", "running"),
}
_OPTION = {"missing": "--drop-missing/--impute", "learning_rate": "--learning-rate"}
_TUPLES = ("hidden", "activation", "categorical", "ignore")
_ADDED = ("test_fraction", "grow", "max_hidden")
"""Settings newer than the first checkpoints: one that lacks them has their defaults."""
_SETTINGS_BYTES = MAX_SECTION_BYTES - 4096
"""Most bytes of the settings as JSON: what a model's ``training`` section holds, less room for
what training adds to them."""


class SettingError(CommandError):
    """A setting out of its domain; ``field`` names it, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{option_name(field)}: {problem}")
        self.field, self.problem = field, problem


def option_name(field: str) -> str:
    """The command-line option of the setting ``field`` (``--learning-rate`` for
    ``learning_rate``)."""
    return _OPTION.get(field, "--" + field.replace("_", "-"))


def _int(s: TrainSettings, name: str, lo: int, hi: int) -> None:
    value = getattr(s, name)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SettingError(name, f"expected an integer from {lo} to {hi}, got {value!r}")


def _number(s: TrainSettings, name: str, lo: float, hi: float, *, open_lo: bool = False) -> None:
    value = getattr(s, name)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not lo <= value <= hi or (open_lo and value == lo):
        side = "above" if open_lo else "from"
        top = "" if math.isinf(hi) else f" up to {hi}"
        raise SettingError(name, f"expected a finite number {side} {lo}{top}, got {value!r}")


def _names(s: TrainSettings, name: str, lookup: Callable[[str], object] | None) -> None:
    """A tuple of strings (each a name ``lookup`` knows, if given)."""
    values = getattr(s, name)
    if not isinstance(values, tuple) or len(values) > MAX_LIST:
        raise SettingError(name, f"expected at most {MAX_LIST} names")
    for value in values:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise SettingError(name, f"expected names of at most {MAX_TEXT} characters")
        if lookup is not None:
            _known(name, value, lookup)


def _known(name: str, value: Any, lookup: Callable[[str], object]) -> None:
    try:
        lookup(value)
    except (ValueError, TypeError) as exc:
        raise SettingError(name, str(exc)) from None


def check_settings(s: TrainSettings) -> TrainSettings:
    """``s`` if every setting is in its domain (see the module docs).

    Raises:
        SettingError: the first setting out of its domain, named as its option.
    """
    _check_network(s)
    _check_training(s)
    _check_columns(s)
    return s


def _check_target(target: object) -> None:
    """One column name, or a tuple of at least two distinct ones (multi-output regression)."""
    names = target if isinstance(target, tuple) else (target,)
    ok = all(isinstance(n, str) and len(n) <= MAX_TEXT for n in names)
    if not ok or len(names) > MAX_LIST or (isinstance(target, tuple) and len(names) < 2):
        raise SettingError("target", "expected a column name, or several distinct ones")
    if len(set(names)) != len(names):
        raise SettingError("target", f"a column named twice: {names}")


def _check_network(s: TrainSettings) -> None:
    """The target column, hidden layers, activations and loss (see :func:`check_settings`)."""
    _check_target(s.target)
    hidden = s.hidden
    if not isinstance(hidden, tuple) or len(hidden) > MAX_LAYERS - 1:
        raise SettingError("hidden", f"at most {MAX_LAYERS - 1} hidden layers")
    if not all(type(n) is int and 1 <= n <= MAX_HIDDEN_UNITS for n in hidden):
        raise SettingError(
            "hidden", f"layer sizes must be between 1 and {MAX_HIDDEN_UNITS}, got {hidden}"
        )
    _names(s, "activation", get_activation)
    if len(s.activation) not in (1, len(hidden)):
        raise SettingError(
            "activation",
            f"give one activation or one per hidden layer ({len(hidden)}), got {len(s.activation)}",
        )
    for name, lookup in (("output_activation", get_activation), ("loss", get_loss)):
        value = getattr(s, name)
        if value is not None and not isinstance(value, str):
            raise SettingError(name, "expected a name")
        if value is not None:
            _known(name, value, lookup)


def _check_training(s: TrainSettings) -> None:
    """The solver and its training settings (see :func:`check_settings`)."""
    if s.solver not in TRAINERS:
        raise SettingError("solver", f"expected one of {', '.join(TRAINERS)}, got {s.solver!r}")
    if s.learning_rate is not None:
        _number(s, "learning_rate", 0.0, math.inf, open_lo=True)
    if s.batch_size != "all":
        _int(s, "batch_size", 1, _MAX_INT)
    _int(s, "epochs", 1, MAX_EPOCHS)
    _int(s, "seed", 0, 2**64 - 1)
    _number(s, "validation_fraction", 0.0, 0.9)
    _number(s, "test_fraction", 0.0, 0.9)
    _number(s, "weight_decay", 0.0, math.inf)
    if not isinstance(s.early_stopping, bool):
        raise SettingError("early_stopping", "expected true or false")
    _int(s, "patience", 1, MAX_EPOCHS)
    if not isinstance(s.grow, bool):
        raise SettingError("grow", "expected true or false")
    _int(s, "max_hidden", 0, MAX_HIDDEN_UNITS)
    for name, allowed in _CHOICES.items():
        if getattr(s, name) not in allowed:
            raise SettingError(
                name, f"expected one of {', '.join(allowed)}, got {getattr(s, name)!r}"
            )


def _check_columns(s: TrainSettings) -> None:
    """The named columns, the initializer and the settings' size (see :func:`check_settings`)."""
    _names(s, "categorical", None)
    _names(s, "ignore", None)
    if not isinstance(s.init, str):
        raise SettingError("init", "expected a name")
    _known("init", s.init, get_initializer)
    size = len(json.dumps(asdict(s), ensure_ascii=False).encode("utf-8"))
    if size > _SETTINGS_BYTES:
        raise SettingError(
            "categorical" if len(s.categorical) > len(s.ignore) else "ignore",
            f"the settings take {size} bytes, more than a model file holds "
            f"({_SETTINGS_BYTES}); name fewer columns",
        )


def settings_from_json(raw: dict[str, Any]) -> TrainSettings:
    """The :class:`~._training.TrainSettings` a checkpoint holds, checked by
    :func:`check_settings`.

    Raises:
        SettingError: a setting is missing, unknown or out of its domain.
    """
    names = [f.name for f in fields(TrainSettings)]
    raw = dict(raw)
    output = raw.pop(OUTPUT_SETTING, None)
    if output is not None and not (isinstance(output, str) and 0 < len(output) <= _MAX_PATH):
        raise SettingError(
            OUTPUT_SETTING, f"expected a file path of at most {_MAX_PATH} characters"
        )
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise SettingError(unknown[0][:100], "not a setting of retroprop train")
    for name in names:
        if name not in raw and name not in _ADDED:
            raise SettingError(name, "missing")
    values = dict(raw)
    if isinstance(values["target"], list):  # several columns: multi-output regression
        values["target"] = tuple(values["target"])
    for name in _TUPLES:
        if not isinstance(values[name], list):
            raise SettingError(name, f"expected a list, got {type(values[name]).__name__}")
        values[name] = tuple(values[name])
    return check_settings(TrainSettings(**values))


def check_checkpoint_settings(raw: dict[str, Any]) -> None:
    """:func:`settings_from_json` for the checkpoint reader: a problem is a
    :class:`~retroprop.data.schema.SchemaError` naming ``checkpoint.settings.<field>``."""
    try:
        settings_from_json(raw)
    except SettingError as exc:
        raise SchemaError(f"checkpoint.settings.{exc.field}: {exc.problem}") from None
