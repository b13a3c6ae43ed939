"""Matplotlib figures drawn from a training :class:`~retroprop.train.loop.History`.

Plots read what training recorded; they never compute anything about the network.
matplotlib is imported inside each function (with the file-only Agg backend) so that
``import retroprop`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from retroprop.files.atomic import PNG_METADATA, atomic_path
from retroprop.train.loop import History
from retroprop.views.i18n import words

__all__ = ["plot_learning_curve"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (imported on first use: it is slow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Lay out ``fig``, write it as a PNG atomically (the old file or the new, never half) and
    close it. The PNG names retroprop as its Software, which makes it ours to replace.

    Returns:
        The path written.
    """
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata=PNG_METADATA)
    pyplot().close(fig)
    return target


def plot_learning_curve(
    history: History,
    path: str | os.PathLike[str],
    title: str = "Learning curve",
    lang: str = "en",
) -> Path:
    """Write a PNG of the training (and validation) MSE per epoch, with accuracy if recorded,
    its axes and legends in ``lang`` (en or es).

    MSE here is the lecture's: the mean over samples of E = ½ Σ (y − o)².

    Returns:
        The path written.
    """
    plt, T = pyplot(), words(lang)
    epochs = history["epoch"]
    has_acc = "accuracy" in history
    fig, axes = plt.subplots(
        1, 2 if has_acc else 1, figsize=(10 if has_acc else 6, 4), squeeze=False
    )
    ax = axes[0][0]
    ax.plot(epochs, history["mse"], label=T["report_training"])
    if "val_mse" in history:
        ax.plot(epochs, history["val_mse"], label=T["report_validation"])
    ax.set(xlabel=T["report_epoch"], ylabel=T["report_mse_axis"], title=title, yscale="log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if has_acc:
        ax = axes[0][1]
        ax.plot(epochs, history["accuracy"], label=T["report_training"])
        if "val_accuracy" in history:
            ax.plot(epochs, history["val_accuracy"], label=T["report_validation"])
        accuracy = T["report_accuracy"]
        ax.set(
            xlabel=T["report_epoch"], ylabel=accuracy, title=accuracy.capitalize(), ylim=(0, 1.02)
        )
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    return save_png(fig, path)
