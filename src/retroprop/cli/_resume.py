"""Interruption and resumption of ``retroprop train``: signals, checkpoints, settings.

While a :class:`SignalGuard` is active, SIGINT (Ctrl-C) and SIGTERM during training ask the
:class:`~retroprop.files.checkpointer.Checkpointer` to write a checkpoint at the end of the running
epoch and stop; a second signal, or one outside training, stops at once with
:class:`~._common.Interrupted`. Either way the command ends with one line and exit code
128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process a
signal ended.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from retroprop.cli._common import CommandError, Interrupted
from retroprop.cli._settings import (
    OUTPUT_SETTING,
    SettingError,
    option_name,
    settings_from_json,
)
from retroprop.files.checkpoint_file import Checkpoint
from retroprop.files.checkpointer import Checkpointer, TrainingInterrupted

__all__ = [
    "SignalGuard",
    "interrupted_message",
    "output_setting",
    "resumed_output",
    "resumed_settings",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum is not None else "a stop request"


class SignalGuard:
    """Context manager turning SIGINT and SIGTERM into a clean stop (see the module docs).

    Attributes:
        phase: ``"reading"``, ``"training"`` or ``"saving"``; set by the command as it goes.
    """

    def __init__(self, checkpointer: Checkpointer | None, why_not: str = "") -> None:
        self.checkpointer, self.why_not = checkpointer, why_not
        self.phase = "reading"
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():  # else signals are not ours
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        ck, name, code = self.checkpointer, _name(signum), 128 + signum
        if self.phase == "training" and ck is not None and not ck.stop_requested:
            ck.request_stop(signum)  # the checkpointer saves and stops after this epoch
            return
        if self.phase == "training" and ck is not None:
            last = ck.saved
            where = (
                f"the last checkpoint (epoch {last.state.epoch}) is {ck.path}"
                if last is not None
                else "no checkpoint was written"
            )
            raise Interrupted(f"interrupted again ({name}): stopped at once; {where}", code)
        if self.phase == "training":
            raise Interrupted(f"interrupted ({name}); nothing was saved{self.why_not}", code)
        what = "the model was not written" if self.phase == "saving" else "nothing was written"
        raise Interrupted(f"interrupted ({name}) while {self.phase}; {what}", code)


def interrupted_message(
    exc: TrainingInterrupted, data: Path, options: Sequence[str | Path] = ()
) -> Interrupted:
    """The one line (and exit code) for a run that stopped on a signal after checkpointing;
    it ends with the command that continues the run: ``data``, ``--resume`` and ``options``
    (``-o`` and the others a checkpoint does not hold), quoted for a shell."""
    ck = exc.checkpoint
    best = f"best epoch {ck.best_epoch}"
    if ck.best_epoch:
        best += f", {ck.monitor.replace('val_', 'validation ')} {ck.best_value:.4g}"
    again = ["retroprop", "train", data, "--resume", exc.path, *options]
    message = (
        f"interrupted ({_name(exc.signum)}) after epoch {ck.state.epoch} of {ck.epochs}; "
        f"checkpoint written to {exc.path} ({best}); continue with: "
        + " ".join(shlex.quote(str(word)) for word in again)
    )
    return Interrupted(message, 128 + (exc.signum or signal.SIGINT))


def output_setting(output: Path) -> dict[str, str]:
    """What a checkpoint stores of the model file ``output`` among its settings: its absolute
    path, so that a run resumed from another folder writes the same file."""
    return {OUTPUT_SETTING: os.path.abspath(output)}


def resumed_output(checkpoint: Checkpoint) -> Path | None:
    """The model file the run saved in ``checkpoint`` writes (None for a checkpoint written
    before it was stored): a resumed run writes it too unless ``-o`` says otherwise."""
    output = checkpoint.settings.get(OUTPUT_SETTING)
    return Path(output) if isinstance(output, str) and output else None


def resumed_settings(checkpoint: Checkpoint, path: Path, given: Any, epochs: int | None) -> Any:
    """The settings to resume with: the checkpoint's, with ``epochs`` if given.

    ``given`` holds the command-line settings (a ``TrainSettings``); any that is not its
    default must equal the checkpoint's, since a resumed run keeps the settings it started
    with (else the result would not be the uninterrupted run's). The checkpoint's settings are
    checked as the command line's are, and against the network the checkpoint holds, before
    anything is built from them.

    Raises:
        CommandError: the checkpoint was not written by ``retroprop train``, its settings are
            invalid or do not match its network, an option contradicts them, or ``epochs`` is
            fewer than it has already trained.
    """
    kind = type(given)
    try:
        saved = settings_from_json(checkpoint.settings)
    except SettingError as exc:
        raise CommandError(
            f"{path.name}: not a checkpoint of retroprop train (settings.{exc.field}: "
            f"{exc.problem})"
        ) from None
    network = checkpoint.model.network
    if list(saved.hidden) != network.sizes[1:-1] or saved.dtype != str(network.dtype):
        raise CommandError(
            f"{path.name}: its settings (hidden {list(saved.hidden)}, {saved.dtype}) do not "
            f"match its network ({network.sizes}, {network.dtype}); refused"
        )
    default = kind(target="")  # the command passes "" when --target is not given
    for f in fields(kind):
        value, ours = getattr(given, f.name), getattr(saved, f.name)
        if f.name == "epochs" or value == getattr(default, f.name) or value == ours:
            continue
        raise CommandError(
            f"{option_name(f.name)}: {value!r} differs from the checkpoint's {ours!r}; a resumed "
            f"run keeps the settings it started with"
        )
    done = checkpoint.state.epoch
    if epochs is not None and epochs < done:
        raise CommandError(f"--epochs {epochs}: {path.name} has already trained {done} epochs")
    return replace(saved, epochs=checkpoint.epochs if epochs is None else epochs)
