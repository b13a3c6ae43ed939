"""rich output of the data commands: progress bar, training summary, evaluation tables.

Class labels, column names and file names are users' strings: they enter a table or a line
through :func:`~retroprop.views.terminal.plain` / :func:`~retroprop.views.terminal.visible`,
never as rich markup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.table import Table as RichTable
from rich.text import Text

from retroprop.cli._common import console
from retroprop.core.network import Network
from retroprop.data.encoders import Target
from retroprop.train.loop import Callback, History, Logs
from retroprop.views.i18n import command_words
from retroprop.views.terminal import plain

if TYPE_CHECKING:
    from retroprop.cli._training import TrainResult
    from retroprop.data.tabular import Table


class CompileNotice(Callback):
    """Says what is going on when the first epoch keeps the user waiting: a first run on this
    machine compiles the generic training kernels (numba; cached afterwards), which takes
    seconds. (A new architecture's own kernel compiles in the background: no one waits.)"""

    def __init__(
        self, say: Callable[[str], None], after: float = 1.0, text: str | None = None
    ) -> None:
        self.say, self.after = say, after
        self.text = text or command_words("en")["compiling"]
        self.timer: threading.Timer | None = None

    def on_train_begin(self, network: Network) -> None:
        super().on_train_begin(network)
        text = self.text
        self.timer = threading.Timer(self.after, self.say, args=(text,))
        self.timer.daemon = True
        self.timer.start()

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if self.timer is not None:
            self.timer.cancel()
        return None

    def on_train_end(self, history: History) -> None:
        if self.timer is not None:
            self.timer.cancel()


@contextmanager
def training_progress(epochs: int, quiet: bool, lang: str = "en") -> Iterator[Callback]:
    """A callback driving a progress bar with the live loss (off if quiet or not a terminal),
    its words in ``lang``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    T = command_words(lang)
    progress = Progress(
        TextColumn(T["training"]),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(T["loss"] + " {task.fields[loss]}"),
        TextColumn("{task.fields[val]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task("train", total=epochs, loss="…", val="")

    def say(text: str) -> None:
        if not quiet:
            progress.console.print(text, style="dim", highlight=False, soft_wrap=True)

    class Report(CompileNotice):
        def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
            super().on_epoch_end(epoch, logs)
            val = f"{T['validation']} {loss_text(logs['val_loss'])}" if "val_loss" in logs else ""
            progress.update(task, completed=epoch, loss=loss_text(logs["loss"]), val=val)
            return None

    with progress:
        yield Report(say, text=T["compiling"])


def loss_text(value: float) -> str:
    """A loss with 4 significant digits, trailing zeros kept so that a column of them lines
    up: 0.0001234 stays 0.0001234 (4 decimals printed a good fit's loss as 0.0000), 0.486 is
    0.4860, 1234.0 is 1234."""
    return f"{value:#.4g}".rstrip(".")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def key_value_table(title: str, rows: Mapping[str, Any]) -> RichTable:
    """A two-column table of names (bold) and values (floats with 4 significant digits)."""
    table = RichTable(title=plain(title), show_header=False, title_justify="left", min_width=50)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(plain(key), plain(_fmt(value)))
    return table


def print_training_summary(
    result: TrainResult, data: Table, output: Path, lang: str = "en"
) -> None:
    """Data, task, network and settings (one line each), then the final scores on the
    training, validation and (if held out) test rows; words in ``lang``."""
    T = command_words(lang)
    model, m = result.model, result.metrics
    for line in _summary_lines(result, data, T):
        console.print(plain(line), highlight=False, soft_wrap=True)
    t = model.preprocessor.target
    scores = (
        [("accuracy", T["accuracy"])]
        if t.kind == "classification"
        else [("r2", "R²"), ("mae", f"MAE ({target_label(t, T)})")]
    )
    parts = ["train", "validation", *(["test"] if m.get("n_test") else [])]
    table = RichTable(title=T["train_summary"], title_justify="left")
    for name in ("", *parts):
        table.add_column(T[name] if name else "", justify="left" if not name else "right")
    loss = f"{T['loss']} ({model.network.loss.name})"
    for key, name in (("loss", loss), *scores):
        cells = [m.get(f"{part}_{key}") for part in parts]
        text = loss_text if key == "loss" else "{:.4f}".format
        table.add_row(plain(name), *("–" if v is None else text(v) for v in cells))
    console.print(table, highlight=False)
    console.print(plain(T["model_written"].format(path=output)), highlight=False, soft_wrap=True)


def target_label(t: Target, T: Mapping[str, str]) -> str:
    """The target column's name, or "mean of 'y1', 'y2'" for several (a score's mean)."""
    if not t.more:
        return t.name
    return T["mean_of"].format(names=", ".join(map(repr, t.names)))


def regression_many(t: Target, T: Mapping[str, str]) -> str:
    """A multi-output regression target: its columns, each with its mean and scale."""
    columns = ", ".join(
        T["regression_column"].format(name=repr(m.name), mean=m.mean, scale=m.scale)
        for m in (t, *t.more)
    )
    return T["regression_many"].format(n=t.width, columns=columns)


def _summary_lines(result: TrainResult, data: Table, T: Mapping[str, str]) -> list[str]:
    """The summary's lines before its table: rows, features, task, network, settings."""
    model, m = result.model, result.metrics
    pre, t, s = model.preprocessor, model.preprocessor.target, model.training
    if t.kind == "classification":
        labels = ", ".join(map(str, t.classes[:8])) + (", …" if len(t.classes) > 8 else "")
        task = T["train_classification"].format(name=repr(t.name), n=len(t.classes), labels=labels)
    elif t.more:
        task = T["task_line"].format(task=regression_many(t, T))
    else:
        task = T["train_regression"].format(name=repr(t.name), mean=t.mean, scale=t.scale)
    stop = T["train_stopped"].format(epoch=m["best_epoch"]) if m["stopped_early"] else ""
    seconds = f", {m['seconds']:.1f} s" if m["seconds"] is not None else ""
    test = T["train_test_rows"].format(n_test=m["n_test"]) if m.get("n_test") else ""
    n_cat = sum(f.kind == "categorical" for f in pre.features)
    return [
        T["train_rows"].format(
            source=data.source,
            n_rows=data.n_rows,
            n_train=m["n_train"],
            n_validation=m["n_validation"],
            test=test,
        ),
        T["train_features"].format(n=len(pre.features), n_cat=n_cat, n_inputs=pre.n_inputs),
        task,
        T["train_network"].format(network=repr(model.network)),
        _settings_line(s, m, stop, seconds, T),
    ]


def _settings_line(
    s: Mapping[str, Any], m: Mapping[str, Any], stop: str, seconds: str, T: Mapping[str, str]
) -> str:
    """What trained the model: the solver's settings, or the neurons cascade-correlation grew."""
    if s.get("grow"):
        return T["train_grown"].format(
            hidden=m.get("hidden_neurons"),
            max_hidden=s["max_hidden"],
            seed=s["seed"],
            seconds=seconds,
        )
    return T["train_settings"].format(
        solver=s["solver"],
        eta=s["learning_rate"],
        batch_size=s["batch_size"],
        epochs=m["epochs"],
        max_epochs=s["epochs"],
        stop=stop,
        seed=s["seed"],
        seconds=seconds,
    )


def print_classification(
    classes: Sequence[Any],
    scores: Mapping[str, Any],
    confusion: Sequence[Sequence[int]],
    T: Mapping[str, str] | None = None,
) -> None:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix, in the language of the
    command-line words ``T`` (English by default)."""
    T = T or command_words("en")
    line = T["evaluate_line"].format(
        accuracy=scores["accuracy"], n=scores["n"], loss=loss_text(scores["loss"])
    )
    console.print(line, highlight=False)
    per_class = RichTable(title=T["evaluate_per_class"], title_justify="left")
    columns = ("class", "precision", "recall", "F1", "support")
    for name in columns:
        header = T.get(f"evaluate_{name}", name)
        per_class.add_column(header, justify="left" if name == "class" else "right")
    for row in scores["per_class"]:
        per_class.add_row(
            plain(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    console.print(per_class, highlight=False)
    matrix = confusion_table(T["evaluate_confusion"], classes, confusion)
    console.print(matrix, highlight=False)


def confusion_table(
    title: str,
    classes: Iterable[Any],
    confusion: Iterable[Iterable[int]],
    title_justify: Literal["left", "center"] = "left",
) -> RichTable:
    """The confusion matrix, (K, K), rows true class and columns predicted: the diagonal in
    green, other counts in red, zeros as dots."""
    classes = list(classes)
    matrix = RichTable(title=title, title_justify=title_justify)
    matrix.add_column("", style="bold")
    for c in classes:
        matrix.add_column(plain(c), justify="right")
    for t, row in enumerate(confusion):
        cells = [
            Text(str(n), style="green") if t == p else (Text(str(n), style="red") if n else "·")
            for p, n in enumerate(row)
        ]
        matrix.add_row(plain(classes[t]), *cells)
    return matrix
