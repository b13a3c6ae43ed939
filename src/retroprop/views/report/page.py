"""The training report: one self-contained HTML file (figures inlined as PNG data URIs).

The page has a summary table, the figures of :mod:`retroprop.views.report.figures` (each under its
own ``<h2>`` in a ``<section id="name">``) and the diagnostics of
:mod:`retroprop.views.report.findings` in words. It needs no network and no script: it opens from a
file in any browser and prints as it is shown.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.metrics import accuracy, is_classification
from retroprop.core.network import Network
from retroprop.errors import ParameterError
from retroprop.files.atomic import atomic_path
from retroprop.glassbox.recorder import MAX_ROWS, history_key
from retroprop.train.loop import History, as_arrays
from retroprop.views.i18n import words
from retroprop.views.report import figures
from retroprop.views.report.findings import diagnose_training, finding_text

__all__ = ["FIGURES", "ReportData", "Section", "report_sections", "write_report"]

Array = NDArray[np.floating]

FIGURES = ("error", "accuracy", "confusion", "boundary", "network", "delta", "units", "weights")
"""Names of the figures, in page order; a figure that applies is written to ``<name>.png``.
``accuracy`` and ``confusion`` need 0/1 targets, ``boundary`` also two inputs."""


@dataclass(frozen=True)
class Section:
    """One figure of the report: its name, heading and caption, and the PNG (or a note why
    there is none)."""

    name: str
    heading: str
    caption: str
    png: bytes | None = None
    note: str | None = None


def _labels(Y: Array) -> NDArray[np.int64]:
    """Class of each row: o ≥ 0.5 for one column, else the largest output."""
    if Y.shape[1] == 1:
        return (Y[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(Y, axis=1).astype(np.int64)


def _loss(network: Network | CascadeNetwork, Y: Array, O: Array) -> float:
    """The network's loss on (Y, O): the mean over the samples of its E, as training and the
    command line's summary measure it."""
    return float(network.loss.mean(Y.astype(O.dtype), O))


def _r2(Y: Array, O: Array) -> float | None:
    """R² = 1 − Σ (y − o)² / Σ (y − ȳ)² of a one-output regression (None if y is constant or
    there are several outputs); the same in standardised and original units."""
    if Y.shape[1] != 1 or len(Y) < 2:
        return None
    y, o = Y[:, 0].astype(np.float64), O[:, 0].astype(np.float64)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return None if ss_tot <= 0 else 1.0 - float(np.sum((y - o) ** 2)) / ss_tot


def _layer_names(network: Network | CascadeNetwork, T: dict[str, str]) -> list[str]:
    last = len(network.layers) - 1
    return [
        f"{T['layer'].format(l=l + 1)} ({ly.activation.name}"
        + (f", {T['output_layer']})" if l == last else ")")
        for l, ly in enumerate(network.layers)
    ]


@dataclass(frozen=True)
class ReportData:
    """What the report reads: the trained network, its history and the data it is shown on.

    Attributes:
        network: the trained network.
        history: what :func:`retroprop.fit` returned.
        X: training inputs, (n_samples, n_inputs); Y: targets, (n_samples, n_outputs).
        test: held-out data (X_test, Y_test) in the same layout, or None.
        validation: the validation data (X_val, Y_val), or None (then the validation row of
            the summary is read from the history).
        class_names: the name of each class, in output order (classification), or None.
    """

    network: Network | CascadeNetwork
    history: History
    X: Array
    Y: Array
    test: tuple[Array, Array] | None = None
    validation: tuple[Array, Array] | None = None
    class_names: tuple[str, ...] | None = None


def _figure(name: str, fig: Any, T: dict[str, str], **fields: Any) -> Section:
    """The section of a drawn figure: its heading, its caption (filled with ``fields``), PNG."""
    caption = T[f"report_cap_{name}"].format(**fields)
    return Section(name, T[f"report_fig_{name}"], caption, png=figures.png_bytes(fig))


def _classification_sections(data: ReportData, T: dict[str, str]) -> list[Section]:
    """Accuracy per epoch, the confusion matrix and, for two inputs, the decision boundary.

    The confusion matrix counts the test data when there is some, else the training data.
    """
    network, history = data.network, data.history
    test = data.test
    out: list[Section] = []
    if "accuracy" in history:
        test_acc = None if test is None else accuracy(test[1], network.predict(test[0]))
        out.append(_figure("accuracy", figures.accuracy_figure(history, T, test_acc), T))
    Xc, Yc = test or (data.X, data.Y)
    k = max(2, data.Y.shape[1])
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (_labels(Yc), _labels(network.predict(Xc))), 1)
    on = T["report_test"] if test is not None else T["report_training"]
    fig = figures.confusion_figure(cm, T, data.class_names)
    out.append(_figure("confusion", fig, T, data=on, n=len(Yc)))
    if data.X.shape[1] == 2:
        X_test, test_labels = (None, None) if test is None else (test[0], _labels(test[1]))
        fig = figures.boundary_figure(network, data.X, _labels(data.Y), T, X_test, test_labels)
        out.append(_figure("boundary", fig, T))
    return out


def _recorded_sections(data: ReportData, T: dict[str, str]) -> list[Section]:
    """Mean |δ| and saturated / dead units per epoch, or notes that a Recorder was not used."""
    names = _layer_names(data.network, T)
    recorded = history_key("mean_abs_delta", 0) in data.history
    out = []
    for name, draw in (("delta", figures.delta_figure), ("units", figures.units_figure)):
        if recorded:
            out.append(_figure(name, draw(data.history, names, T), T, n=MAX_ROWS))
        else:
            cap = T[f"report_cap_{name}"].format(n=MAX_ROWS)
            out.append(Section(name, T[f"report_fig_{name}"], cap, note=T["report_not_recorded"]))
    return out


def report_sections(data: ReportData, T: dict[str, str]) -> list[Section]:
    """Draw every figure that applies to this network and data, as PNG bytes, in page order."""
    network, history = data.network, data.history
    test = (
        None if data.test is None else _loss(network, data.test[1], network.predict(data.test[0]))
    )
    loss = network.loss.name
    fig = figures.error_figure(history, T, test, loss)
    out = [_figure("error", fig, T, loss=T.get(loss, loss))]
    if is_classification(data.Y):
        out += _classification_sections(data, T)
    if isinstance(network, CascadeNetwork):  # no layers to draw side by side
        note = T["report_cascade_not_drawn"]
        out.append(Section("network", T["report_fig_network"], "", note=note))
    else:
        fig = figures.network_figure(network, T)
        out.append(_figure("network", fig, T, max=figures.MAX_DRAWN))
    out += _recorded_sections(data, T)
    names = _layer_names(network, T)
    out.append(_figure("weights", figures.weights_figure(network, names, T), T))
    return out


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1a202c; background: #f7fafc; }
header { padding: .8rem 1.2rem; background: #2d3748; color: #fff; }
header h1 { font-size: 1.3rem; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 1rem; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: .6rem 1rem;
          margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: .2rem 0 .6rem; }
figure { margin: 0; }
img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption, .note { color: #4a5568; font-size: .9rem; margin-top: .4rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .25rem .8rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
#diagnostics li { margin: .3rem 0; }
"""


SummaryRow = tuple[str, str, float, float | None]
"""(data set, number of samples, loss, accuracy or R² (None: not defined)) of the summary."""


def _summary_rows(data: ReportData, T: dict[str, str]) -> list[SummaryRow]:
    """(data set, samples, loss, accuracy or R²) for the training, validation and test data.

    The network's own loss, as the command line's summary shows it. Every row is the final
    network's, except a validation row read from the history (no validation data given): that
    one is as recorded at the epoch the history reports (the best one after early stopping).
    """
    network, history = data.network, data.history
    classify = is_classification(data.Y)

    def row(name: str, X: Array, Y: Array) -> SummaryRow:
        O = network.predict(X)
        score = accuracy(Y, O) if classify else _r2(Y, O)
        return (name, str(len(X)), _loss(network, Y, O), score)

    rows = [row(T["report_training"], data.X, data.Y)]
    if data.validation is not None:
        rows.append(row(T["report_validation"], *data.validation))
    elif "val_loss" in history:
        shown = history.best_epoch or history.epochs
        val_acc = history["val_accuracy"][shown - 1] if "val_accuracy" in history else None
        rows.append((T["report_validation"], "", history["val_loss"][shown - 1], val_acc))
    if data.test is not None:
        rows.append(row(T["report_test"], *data.test))
    return rows


def _summary(data: ReportData, T: dict[str, str]) -> str:
    """The summary section: the network, the epochs and a table of :func:`_summary_rows`."""
    history = data.history
    classify = is_classification(data.Y)
    epochs = str(history["hidden_neurons"][-1] if "hidden_neurons" in history else history.epochs)
    if history.stopped_early:
        epochs += f" ({T['report_stopped_early'].format(best=history.best_epoch)})"
    loss = data.network.loss.name
    head = [T["report_data"], T["report_samples"], T["report_loss"].format(loss=T.get(loss, loss))]
    head += [T["report_accuracy"] if classify else T["report_r2"]]
    lines = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for name, n, value, score in _summary_rows(data, T):
        shown_score = "" if score is None else (f"{score:.2%}" if classify else f"{score:.4f}")
        cells = [escape(name), n, f"{value:.4g}", shown_score]
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    shown = history.best_epoch or history.epochs
    from_history = data.validation is None and "val_loss" in history
    note = T["report_summary_note"].format(epoch=shown) if from_history else ""
    note = note or (T["report_summary_final"] if data.validation or data.test else "")
    return (
        f'<section id="summary"><h2>{escape(T["report_summary"])}</h2>'
        f"<p>{escape(T['network'])}: <code>{escape(repr(data.network))}</code> · "
        f"{escape(T['report_steps' if 'hidden_neurons' in history else 'report_epochs'])}: "
        f"{escape(epochs)}</p>"
        f"<table>{''.join(lines)}</table>"
        f'<p class="note">{escape(note)}</p></section>'
    )


def _figure_html(s: Section) -> str:
    if s.png is None:
        body = f'<p class="note">{escape(s.note or "")}</p>'
    else:
        data = base64.b64encode(s.png).decode("ascii")
        body = f'<img src="data:image/png;base64,{data}" alt="{escape(s.heading)}">'
    return (
        f'<section id="{s.name}"><h2>{escape(s.heading)}</h2><figure>{body}'
        f"<figcaption>{escape(s.caption)}</figcaption></figure></section>"
    )


def _report_data(
    network: Network | CascadeNetwork,
    history: History,
    X_train: Any,
    Y_train: Any,
    X_test: Any,
    Y_test: Any,
    validation: tuple[Any, Any] | None = None,
    class_names: Sequence[Any] | None = None,
) -> ReportData:
    """The arguments of :func:`write_report` checked (shapes, finite numbers, a real history)."""
    X, Y = as_arrays(network, X_train, Y_train, "report training data")
    if (X_test is None) != (Y_test is None):
        raise ParameterError("X_test and Y_test: give both or neither")
    test = None if X_test is None else as_arrays(network, X_test, Y_test, "report test data")
    val = None
    if validation is not None and len(validation[0]):
        val = as_arrays(network, *validation, "report validation data")
    names = None if class_names is None else tuple(str(c) for c in class_names)
    data = ReportData(network, history, X, Y, test, val, names)
    if history.epochs == 0 or "mse" not in history:
        raise ParameterError(
            "history: no epochs with 'mse'; pass the History that retroprop.fit returned"
        )
    return data


def _page(data: ReportData, sections: list[Section], lang: str, heading: str) -> str:
    """The whole HTML page: summary, figures and the training diagnostics in words."""
    T = words(lang)
    found = diagnose_training(data.history, len(data.network.layers))
    items = [f"<li>{escape(finding_text(d, lang))}</li>" for d in found]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(heading)}</title><style>{_STYLE}</style></head>",
            f"<body><header><h1>{escape(heading)}</h1></header><main>",
            _summary(data, T),
            *(_figure_html(s) for s in sections),
            f'<section id="diagnostics"><h2>{escape(T["diagnostics"])}</h2>',
            f'<p class="note">{escape(T["report_diagnostics_intro"])}</p>',
            f"<ul>{''.join(items)}</ul>" if items else f"<p>{escape(T['no_findings'])}</p>",
            "</section></main></body></html>",
        ]
    )


def _write_pngs(sections: list[Section], png_dir: str | os.PathLike[str]) -> None:
    """Each drawn figure as ``<png_dir>/<name>.png`` (atomically)."""
    for s in sections:
        if s.png is not None:
            with atomic_path(Path(png_dir) / f"{s.name}.png") as tmp:
                tmp.write_bytes(s.png)


def write_report(
    path: str | os.PathLike[str],
    network: Network | CascadeNetwork,
    history: History,
    X_train: Any,
    Y_train: Any,
    X_test: Any = None,
    Y_test: Any = None,
    *,
    lang: str = "en",
    title: str | None = None,
    png_dir: str | os.PathLike[str] | None = None,
    validation: tuple[Any, Any] | None = None,
    class_names: Sequence[Any] | None = None,
) -> Path:
    """Write the training report of a trained network as one self-contained HTML file.

    The summary: the network's loss (and accuracy, or R²) on the training, validation and
    test data. The figures: training (and validation) loss per epoch; accuracy per epoch, the
    confusion matrix (on the test data if given, else the training data) and, for two inputs, the
    decision boundary, when the targets are 0/1 classes; the network with its final weights;
    mean |δ| per layer and the fraction of saturated or dead units per epoch, when training ran
    with a :class:`~retroprop.views.report.Recorder`; a weight histogram per layer. Then the
    diagnostics in words. Nothing here trains: the report reads ``history`` and evaluates the
    final network on the data it is given.

    Args:
        path: the HTML file to write (atomically; parent folders are created).
        network: the trained network.
        history: what :func:`retroprop.fit` returned.
        X_train: training inputs, (n_samples, n_inputs); Y_train: targets, (n_samples,
            n_outputs) or (n_samples,).
        X_test: optional held-out inputs, same layout as ``X_train``.
        Y_test: their targets, same layout as ``Y_train``.
        lang: ``"en"`` or ``"es"``.
        title: the page's title (default: "Training report" in ``lang``).
        png_dir: also write each figure as ``<png_dir>/<name>.png``, names from
            :data:`FIGURES`.
        validation: the validation data (X_val, Y_val), for the summary's validation row on
            the final network (without it, that row is read from the history).
        class_names: the classes in output order, to name them in the confusion matrix.

    Returns:
        The path of the HTML file.
    """
    T = words(lang)
    data = _report_data(network, history, X_train, Y_train, X_test, Y_test, validation, class_names)
    sections = report_sections(data, T)
    html = _page(data, sections, lang, title if title is not None else T["report_title"])
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    if png_dir is not None:
        _write_pngs(sections, png_dir)
    return target
