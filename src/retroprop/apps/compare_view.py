"""Presenting a :class:`~retroprop.apps.compare.ComparisonResult`: table rows, text, one plot.

These functions only read what :func:`retroprop.apps.compare.compare` recorded. The rows are plain
strings, so the CLI can render them with rich and a script can print :func:`format_table`.
matplotlib is imported inside :func:`plot_comparison` (file-only Agg backend).

It lives beside :mod:`retroprop.apps.compare`, not in :mod:`retroprop.views`, because what it
presents is the application's own result and views may not import applications; moving
:class:`~retroprop.apps.compare.ComparisonResult` down instead would split the comparison in
two. Like :func:`retroprop.apps.search.plot_search`, it draws with :mod:`retroprop.views.plots`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from retroprop.apps.compare import ComparisonResult, SolverResult
from retroprop.errors import ParameterError
from retroprop.views.i18n import command_words

__all__ = [
    "GROWTH_COLUMNS",
    "REGRESSION_COLUMNS",
    "TABLE_COLUMNS",
    "format_growth",
    "format_table",
    "growth_columns",
    "growth_note",
    "growth_rows",
    "plot_comparison",
    "table_columns",
    "table_rows",
]

TABLE_COLUMNS = (
    "solver",
    "batch",
    "η",
    "train loss",
    "train acc",
    "test loss",
    "test acc",
    "epochs",
    "updates",
    "time s",
    "to target s",
)
"""Header of :func:`table_rows` for classification; "epochs" are iterations for L-BFGS,
generations for the GA."""

REGRESSION_COLUMNS = (
    *TABLE_COLUMNS[:4],
    "train R²",
    "train MAE",
    "test loss",
    "test R²",
    "test MAE",
    *TABLE_COLUMNS[7:],
)
"""Header of :func:`table_rows` for regression: R² and the mean absolute error (in the
target's units) instead of the accuracies."""


GROWTH_COLUMNS = ("hidden", "installed", "train loss", "train acc", "test loss", "test acc",
                  "time s")  # fmt: skip
"""Header of :func:`growth_rows`: per number of hidden neurons, the activation of the neuron
just installed, the losses and accuracies after the outputs were trained, the time so far."""


def table_columns(result: ComparisonResult, lang: str = "en") -> tuple[str, ...]:
    """The header of ``result``'s rows: :data:`TABLE_COLUMNS` or :data:`REGRESSION_COLUMNS`, in
    ``lang`` (``"en"`` or ``"es"``; η stays η)."""
    columns = REGRESSION_COLUMNS if result.task == "regression" else TABLE_COLUMNS
    T = command_words(lang)
    return tuple(T.get(f"compare_col_{name}", name) for name in columns)


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _scores(r: SolverResult, regression: bool) -> tuple[list[str], list[str]]:
    """The training and the test cells after each loss: accuracy, or R² and MAE."""
    if regression:
        return (
            [_cell(r.train_r2, ".3f"), _cell(r.train_mae, ".4g")],
            [_cell(r.test_r2, ".3f"), _cell(r.test_mae, ".4g")],
        )
    return [_cell(r.train_accuracy, ".3f")], [_cell(r.test_accuracy, ".3f")]


def table_rows(
    result: ComparisonResult, part: str = "solvers", lang: str = "en"
) -> list[list[str]]:
    """Rows of strings in :func:`table_columns` order, one per run of ``part`` ("solvers" or
    "modes"); a diverged run says so in ``lang``.

    "to target s" is the time to ``target_loss`` (or, without one, to ``target_accuracy``).

    Raises:
        ParameterError: ``part`` is neither "solvers" nor "modes".
    """
    runs = {"solvers": result.solvers, "modes": result.modes}
    if part not in runs:
        raise ParameterError(f"part: expected 'solvers' or 'modes', got {part!r}")
    diverged = command_words(lang)["compare_diverged"]
    rows = []
    for r in runs[part].values():
        to_target = r.time_to_target if result.target_loss is not None else r.time_to_accuracy
        train_scores, test_scores = _scores(r, result.task == "regression")
        rows.append(
            [
                r.label + (diverged if r.error else ""),
                str(r.batch_size),
                _cell(r.learning_rate, "g"),
                _cell(r.train_loss, ".3g"),
                *train_scores,
                _cell(r.test_loss, ".3g"),
                *test_scores,
                str(r.epochs),
                str(r.updates),
                _cell(r.seconds, ".2f"),
                _cell(to_target, ".2f"),
            ]
        )
    return rows


def growth_columns(lang: str = "en") -> tuple[str, ...]:
    """The header of :func:`growth_rows` (:data:`GROWTH_COLUMNS`) in ``lang``."""
    T = command_words(lang)
    return tuple(T[f"compare_col_{name}"] for name in GROWTH_COLUMNS)


def growth_rows(result: ComparisonResult) -> list[list[str]]:
    """Rows of strings in :data:`GROWTH_COLUMNS` order, one per number of hidden neurons of
    the cascade-correlation run (none without one); accuracies "—" for regression."""
    if result.growth is None:
        return []
    return [
        [
            str(step.n_hidden),
            step.activation or "—",
            _cell(step.logs["loss"], ".3g"),
            _cell(step.logs.get("accuracy"), ".3f"),
            _cell(step.logs.get("val_loss"), ".3g"),
            _cell(step.logs.get("val_accuracy"), ".3f"),
            _cell(step.seconds, ".2f"),
        ]
        for step in result.growth.steps
    ]


def growth_note(result: ComparisonResult, lang: str = "en") -> str:
    """One line on the cascade-correlation run: the network grown, its neurons and time, what
    stopped it, and where the test loss (the training loss without test rows) is lowest."""
    growth = result.growth
    if growth is None:
        return ""
    T = command_words(lang)
    key = "val_loss" if "val_loss" in growth.steps[0].logs else "loss"
    best = min(growth.steps, key=lambda step: step.logs[key]).n_hidden
    why = T["compare_growth_budget"] if growth.budget_reached else ""
    return T["compare_growth_note"].format(
        network=growth.network, n=growth.n_hidden, seconds=growth.seconds, why=why, best=best
    )


def format_growth(result: ComparisonResult, lang: str = "en") -> str:
    """Plain-text table of :func:`growth_rows`, its header in ``lang``."""
    return _aligned([list(growth_columns(lang)), *growth_rows(result)])


def format_table(result: ComparisonResult, part: str = "solvers", lang: str = "en") -> str:
    """Plain-text table of :func:`table_rows` with aligned columns (no rich needed), its header
    in ``lang``."""
    return _aligned([list(table_columns(result, lang)), *table_rows(result, part, lang)])


def _aligned(rows: list[list[str]]) -> str:
    """Rows of cells (the first the header) as text: the first column left-aligned, the others
    right-aligned, a rule under the header."""
    header = rows[0]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if c else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def plot_comparison(
    result: ComparisonResult,
    path: str | os.PathLike[str],
    title: str | None = None,
    lang: str = "en",
) -> Path:
    """Write ONE PNG: training loss against wall time (left) and against epochs (middle), and
    with a cascade-correlation run, its training and test loss against the number of hidden
    neurons grown (right; its titles in ``lang``).

    Every solver (and every mode, dashed) is one curve starting at its start loss at time 0.
    Epochs are on a log axis, because L-BFGS and the GA run many more of them than online SGD.
    For regression, each curve's legend gives its final R² and MAE (on the test rows when
    there are some).

    Returns:
        The path written.
    """
    from retroprop.views.plots import pyplot, save_png

    plt = pyplot()

    panels = 3 if result.growth is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5))
    ax_t, ax_e = axes[0], axes[1]
    runs = [(r, "-", r.label + _legend_scores(r)) for r in result.solvers.values()]
    runs += [
        (r, "--", f"{r.optimizer} {r.label}{_legend_scores(r)}") for r in result.modes.values()
    ]
    lowest = np.inf
    for r, style, name in runs:
        h = r.history
        loss = [r.start_loss, *h["loss"]] if h.epochs else [r.start_loss]
        times = [0.0, *h["time"]] if h.epochs else [0.0]
        ax_t.plot(times, loss, style, label=name)
        ax_e.plot(range(1, h.epochs + 1), loss[1:], style, label=name)
        lowest = min(lowest, *loss)
    if result.target_loss is not None:
        for ax in (ax_t, ax_e):
            ax.axhline(result.target_loss, color="grey", lw=0.8, ls=":")
    fig.suptitle(title or f"{result.network}: same θ₀, {result.budget_seconds:g} s each")
    ax_t.set(xlabel="wall time (s)", ylabel="training loss", yscale="log", title="Against time")
    ax_e.set(
        xlabel="epoch (L-BFGS: iteration, GA: generation)",
        ylabel="training loss",
        xscale="log",
        yscale="log",
        title="Against epochs",
    )
    start = max((r.start_loss for r, _, _ in runs), default=1.0)
    for ax in (ax_t, ax_e):  # a loss of 1e-30 is "solved": don't let it squash the other curves
        ax.set_ylim(bottom=max(lowest, 1e-8 * start) / 2)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if result.growth is not None:
        _plot_growth(axes[2], result, lang)
    return save_png(fig, path)


def _plot_growth(ax: Any, result: ComparisonResult, lang: str) -> None:
    """The cascade-correlation run's training and test loss against the hidden neurons."""
    assert result.growth is not None
    T = command_words(lang)
    steps = result.growth.steps
    n = [step.n_hidden for step in steps]
    ax.plot(n, [step.logs["loss"] for step in steps], "o-", label=T["compare_plot_train"])
    if "val_loss" in steps[0].logs:
        ax.plot(n, [step.logs["val_loss"] for step in steps], "s--", label=T["compare_plot_test"])
    ax.set(xlabel=T["compare_plot_hidden"], ylabel=T["compare_plot_loss"], yscale="log",
           title=T["compare_plot_growth"])  # fmt: skip
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def _legend_scores(r: SolverResult) -> str:
    """`` (test R² 0.84, MAE 2.91)`` for a regression run (training values without a test
    set); nothing for classification."""
    test = r.test_r2 is not None or r.test_mae is not None
    r2, mae = (r.test_r2, r.test_mae) if test else (r.train_r2, r.train_mae)
    if r2 is None and mae is None:
        return ""
    return f" ({'test' if test else 'train'} R² {_cell(r2, '.3f')}, MAE {_cell(mae, '.4g')})"
