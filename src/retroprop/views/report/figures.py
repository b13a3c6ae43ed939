"""The report's matplotlib figures, one function each, drawn from recorded data.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (so no global
backend is switched and no window can open; PNGs are rendered by Agg). matplotlib is imported
inside the functions so that ``import retroprop`` stays fast. The figures read the history,
the final weights and the data; the only computing they do is the network's forward pass for
the decision boundary.

``T`` is the word table of one language (:func:`retroprop.views.i18n.words`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Network
from retroprop.glassbox.recorder import history_key
from retroprop.train.loop import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "accuracy_figure",
    "boundary_figure",
    "confusion_figure",
    "delta_figure",
    "error_figure",
    "network_figure",
    "png_bytes",
    "units_figure",
    "weights_figure",
]

Array = NDArray[np.floating]
POSITIVE, NEGATIVE = "#2b6cb0", "#c53030"
"""Edge colours of positive and negative weights (the step-through page's)."""
MAX_DRAWN = 16
"""A layer with more neurons is drawn with its first and last ones and a gap between."""


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG file contents (rendered by Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _epochs(history: History) -> list[float]:
    """The x axis: epochs, or the number of hidden neurons of a cascade-correlation run."""
    for key in ("hidden_neurons", "epoch"):
        if key in history:
            return history[key]
    return list(range(1, history.epochs + 1))


def _x_label(history: History, T: dict[str, str]) -> str:
    return T["report_hidden_neurons"] if "hidden_neurons" in history else T["report_epoch"]


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    """Log scale when the positive, finite values span more than a factor of 10."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]  # epochs not recorded (before a resumed run's first)
    if v.size and np.all(v > 0) and np.all(np.isfinite(v)) and v.max() > 10 * v.min():
        ax.set_yscale("log")


def _curves(
    ax: Any, history: History, key: str, T: dict[str, str], test: float | None, log: bool
) -> None:
    """Training and validation series of ``key``, the test value as a line, the best epoch."""
    epochs = _epochs(history)
    ax.plot(epochs, history[key], label=T["report_training"], color="#2b6cb0")
    if f"val_{key}" in history:
        ax.plot(epochs, history[f"val_{key}"], label=T["report_validation"], color="#dd6b20")
    if test is not None:
        ax.axhline(test, ls=":", color="#2f855a", label=T["report_test_final"])
    if history.best_epoch:
        ax.axvline(history.best_epoch, ls="--", lw=0.8, color="#718096", label=T["report_best"])
    if log:
        _log_if_wide(ax, history[key])
    ax.set_xlabel(_x_label(history, T))
    ax.grid(True, alpha=0.3)
    ax.legend()


def error_figure(
    history: History, T: dict[str, str], test_loss: float | None = None, loss: str = "mse"
) -> Figure:
    """Training and validation loss per epoch (log scale if wide): the network's ``loss`` (mean
    of its E over the samples), or with ``loss="mse"`` the lecture's MSE (mean of ½ Σ (y − o)²).
    """
    fig, axes = _figure(7, 3.6)
    key = "loss" if loss != "mse" and "loss" in history else "mse"
    _curves(axes[0][0], history, key, T, test_loss, log=True)
    axes[0][0].set_ylabel("MSE = ½ Σ (y − o)²" if key == "mse" else T.get(loss, loss))
    return fig


def accuracy_figure(history: History, T: dict[str, str], test_acc: float | None = None) -> Figure:
    """Training and validation accuracy per epoch."""
    fig, axes = _figure(7, 3.6)
    _curves(axes[0][0], history, "accuracy", T, test_acc, log=False)
    axes[0][0].set(ylabel=T["report_accuracy"], ylim=(-0.02, 1.02))
    return fig


def _tick(label: str, width: int = 18) -> str:
    """A class name as a tick label: shown as written (a ``$`` would start matplotlib's
    mathtext), cut to ``width`` characters."""
    text = label if len(label) <= width else label[: width - 1] + "…"
    return text.replace("$", r"\$")


def confusion_figure(
    cm: NDArray[np.int64], T: dict[str, str], class_names: Sequence[str] | None = None
) -> Figure:
    """The confusion matrix cm[true, predicted] with the count in every cell; the classes are
    named on the axes (``class_names``, else numbered from 0)."""
    k = len(cm)
    size = min(8.0, 2.6 + 0.45 * k)
    fig, axes = _figure(size, size * 0.9)
    ax = axes[0][0]
    ax.imshow(cm, cmap="Blues", vmin=0)
    top = cm.max() or 1
    for (i, j), count in np.ndenumerate(cm):
        color = "white" if count > top / 2 else "#1a202c"
        ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=9)
    ax.set(xticks=range(k), yticks=range(k), xlabel=T["report_predicted"], ylabel=T["report_true"])
    if class_names is not None and len(class_names) == k:
        ticks = [_tick(str(c)) for c in class_names]
        turn = max(map(len, ticks)) > 3
        ax.set_xticklabels(ticks, rotation=30 if turn else 0, ha="right" if turn else "center")
        ax.set_yticklabels(ticks)
    return fig


def boundary_figure(
    network: Network | CascadeNetwork,
    X: Array,
    labels: NDArray[np.int64],
    T: dict[str, str],
    X_test: Array | None = None,
    test_labels: NDArray[np.int64] | None = None,
    resolution: int = 200,
) -> Figure:
    """The class the network gives to every point of the (2-D) input plane, with the data.

    One output: the colour is o (0 blue, 1 red) and the black line is o = 0.5. Several
    outputs: the colour is the class of the largest output.
    """
    both = X if X_test is None else np.vstack([X, X_test])
    lo, hi = both.min(axis=0), both.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g1, g2 = (np.linspace(lo[d] - pad[d], hi[d] + pad[d], resolution) for d in range(2))
    G1, G2 = np.meshgrid(g1, g2)
    O = network.predict(np.column_stack([G1.ravel(), G2.ravel()]))
    fig, axes = _figure(6, 5)
    ax = axes[0][0]
    if O.shape[1] == 1:
        cmap, vmax = "RdBu_r", 1
        o = O[:, 0].reshape(G1.shape)
        area = ax.contourf(G1, G2, o, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.4)
        ax.contour(G1, G2, o, levels=[0.5], colors="black")
        fig.colorbar(area, ax=ax, label="o")
    else:
        cmap, vmax = "tab10", 9
        cls = np.argmax(O, axis=1).reshape(G1.shape)
        levels = np.arange(-0.5, O.shape[1])
        ax.contourf(G1, G2, cls, levels=levels, cmap=cmap, vmin=0, vmax=9, alpha=0.35)
    style = {"cmap": cmap, "vmin": 0, "vmax": vmax, "edgecolors": "black", "linewidths": 0.5}
    ax.scatter(X[:, 0], X[:, 1], c=labels, s=18, label=T["report_training"], **style)
    if X_test is not None and test_labels is not None:
        ax.scatter(X_test[:, 0], X_test[:, 1], c=test_labels, s=30, marker="^", **style)
        ax.scatter([], [], c="white", marker="^", edgecolors="black", label=T["report_test"])
    ax.set(xlabel="x₁", ylabel="x₂")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _shown(n: int) -> list[int]:
    """Indices of the neurons drawn in a layer of n (all, or the first and last ones)."""
    if n <= MAX_DRAWN:
        return list(range(n))
    half = MAX_DRAWN // 2
    return [*range(half), *range(n - half + 1, n)]


def network_figure(network: Network, T: dict[str, str]) -> Figure:
    """The network with its final weights: edge colour = sign of wⱼᵢ, width ∝ |wⱼᵢ|.

    Layers with more than :data:`MAX_DRAWN` neurons show their first and last neurons and a
    "+n" mark for the ones left out; edges are drawn between the neurons shown.
    """
    from matplotlib.collections import LineCollection

    sizes = network.sizes
    shown = [_shown(n) for n in sizes]
    slots = [len(s) + (len(s) < n) for s, n in zip(shown, sizes, strict=True)]  # +1: the gap
    tallest = max(slots)
    spacing = 1.0 / max(tallest - 1, 1)
    fig, axes = _figure(max(5.0, 2.2 * len(sizes)), max(3.0, 0.3 * tallest + 1.2))
    ax = axes[0][0]

    def y(c: int, slot: int) -> float:  # slot 0 at the top, each column centred on 0.5
        return 0.5 + ((slots[c] - 1) / 2 - slot) * spacing

    half = MAX_DRAWN // 2
    pos = [
        {j: (float(c), y(c, k + (slots[c] > len(idx) and k >= half))) for k, j in enumerate(idx)}
        for c, idx in enumerate(shown)
    ]
    w_max = max(float(np.max(np.abs(ly.W))) for ly in network.layers) or 1.0
    segments, colors, widths = [], [], []
    for l, layer in enumerate(network.layers):
        for j in shown[l + 1]:
            for i in shown[l]:
                w = float(layer.W[j, i])
                segments.append([pos[l][i], pos[l + 1][j]])
                colors.append(POSITIVE if w >= 0 else NEGATIVE)
                widths.append(0.3 + 3.2 * abs(w) / w_max)
    alpha = 0.8 if len(segments) < 200 else 0.45
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, alpha=alpha))
    size = float(np.clip(2400 / tallest, 20, 400))
    for c, placed in enumerate(pos):
        xs, ys = zip(*placed.values(), strict=True)
        ax.scatter(xs, ys, s=size, c="white", edgecolors="#2d3748", zorder=3)
        if slots[c] > len(shown[c]):
            ax.text(c, y(c, half), "⋮", ha="center", va="center", fontsize=12)
            more = T["report_more_neurons"].format(n=sizes[c] - len(shown[c]))
            box = {"facecolor": "white", "edgecolor": "none", "pad": 1}
            ax.text(c + 0.08, y(c, half), more, ha="left", va="center", fontsize=8, bbox=box)
        name = T["input"] if c == 0 else network.layers[c - 1].activation.name
        ax.text(c, -0.06, f"{name}\n{sizes[c]}", ha="center", va="top", fontsize=9)
    ax.set(xlim=(-0.3, len(sizes) - 0.7), ylim=(-0.24, 1.12))
    ax.axis("off")
    return fig


def _layer_curves(
    ax: Any, history: History, stat: str, names: Sequence[str], style: str, suffix: str
) -> int:
    """Plot the recorded series ``stat`` of every layer that has one; returns how many."""
    drawn = 0
    for l, name in enumerate(names):
        key = history_key(stat, l)
        if key in history:
            label = name if not suffix else suffix.format(layer=name)
            ax.plot(_epochs(history), history[key], style, color=f"C{l}", label=label)
            drawn += 1
    return drawn


def delta_figure(history: History, names: Sequence[str], T: dict[str, str]) -> Figure:
    """Mean |δ| of every layer per epoch (log scale if wide), as the Recorder measured it."""
    fig, axes = _figure(7, 3.8)
    ax = axes[0][0]
    _layer_curves(ax, history, "mean_abs_delta", names, "-", "")
    _log_if_wide(
        ax, [v for l in range(len(names)) for v in history[history_key("mean_abs_delta", l)]]
    )
    ax.set(xlabel=T["report_epoch"], ylabel=T["report_mean_delta"])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def units_figure(history: History, names: Sequence[str], T: dict[str, str]) -> Figure:
    """Fraction of saturated (sigmoid, tanh) and dead (ReLU) units per layer and epoch."""
    fig, axes = _figure(7, 3.6)
    ax = axes[0][0]
    drawn = _layer_curves(ax, history, "saturated", names, "-", T["report_saturated_label"])
    drawn += _layer_curves(ax, history, "dead", names, "--", T["report_dead_label"])
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, T["report_no_units"], ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel=T["report_epoch"], ylabel=T["report_fraction"], ylim=(-0.03, 1.03))
    ax.grid(True, alpha=0.3)
    return fig


def weights_figure(
    network: Network | CascadeNetwork, names: Sequence[str], T: dict[str, str]
) -> Figure:
    """One histogram of the final weights wⱼᵢ per layer."""
    L = len(network.layers)
    ncols = min(L, 3)
    nrows = -(-L // ncols)
    fig, axes = _figure(3.4 * ncols, 2.8 * nrows, nrows, ncols)
    for k, ax in enumerate(axes.ravel()):
        if k >= L:
            ax.axis("off")
            continue
        W = network.layers[k].W
        ax.hist(W.ravel(), bins=min(40, max(8, W.size // 4)), color=f"C{k}", alpha=0.85)
        ax.axvline(0, color="#4a5568", lw=0.8)
        ax.set_title(f"{names[k]}\nW: {W.shape[0]} × {W.shape[1]}", fontsize=9)
        ax.set(xlabel=T["report_weight"], ylabel=T["report_count"])
    return fig
