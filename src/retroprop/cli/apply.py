"""``retroprop predict`` and ``retroprop evaluate``: a saved model applied to a CSV file
(or a FANN data file: :mod:`retroprop.data.fann`).

Columns are matched by name (order does not matter; extra columns are ignored with a warning;
missing ones are an error). An unseen category is an error naming column, line and value
unless ``--ignore-unknown`` (then it is encoded as all zeros, with a warning). Missing values
are handled as the model was trained (:mod:`retroprop.data.preprocessing`): filled with the
training means and most frequent categories after ``train --impute mean``, skipped by
``evaluate`` after ``--drop-missing``, refused otherwise; ``--impute mean|none`` overrides it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import typer

from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.cli._options import (
    EncodingOpt,
    ForceOpt,
    LangOpt,
    csv_not_model,
    encoding_value,
    lang_value,
)
from retroprop.data.fann import match_outputs, read_data
from retroprop.data.tabular import DataWarning, Table
from retroprop.files.atomic import OutputRules, atomic_path, is_stdout, output_rules
from retroprop.files.loader import load_model
from retroprop.files.model import Model
from retroprop.views.i18n import command_words
from retroprop.views.terminal import visible

if TYPE_CHECKING:
    from retroprop.data.encoders import Target
    from retroprop.data.preprocessing import Preprocessor

__all__ = ["ImputeOpt", "evaluate", "evaluate_table", "missing_override", "predict"]

ModelArg = Annotated[
    Path,
    typer.Argument(
        metavar="MODEL", help="Model file from retroprop train.", exists=True, dir_okay=False
    ),
]
DataArg = Annotated[
    Path,
    typer.Argument(
        metavar="DATA",
        help="CSV or FANN data file with the model's columns.",
        exists=True,
        dir_okay=False,
    ),
]
ImputeOpt = Annotated[
    str | None,
    typer.Option(
        help="'mean': fill missing values (training means, most frequent categories); 'none': "
        "refuse them. [default: as the model was trained; retroprop info shows it]",
        show_default=False,
    ),
]
UnknownOpt = Annotated[
    bool,
    typer.Option("--ignore-unknown", help="Encode unseen categories as all zeros, not fail."),
]


def missing_override(impute: str | None) -> Literal["error", "mean"] | None:
    """What ``--impute`` asks for: None (the model's own policy), "mean" or "error" ("none")."""
    if impute is None:
        return None
    return "mean" if choice("--impute", impute, ("mean", "none")) == "mean" else "error"


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def predict(
    model_path: ModelArg,
    data: DataArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="CSV file to write [default, or -: stdout]."),
    ] = None,
    proba: Annotated[
        bool, typer.Option("--proba", help="Add a probability column per class.")
    ] = False,
    impute: ImputeOpt = None,
    ignore_unknown: UnknownOpt = False,
    encoding: EncodingOpt = "utf-8",
    force: ForceOpt = False,
    lang: LangOpt = None,
) -> None:
    """Predict the target of every row of a CSV file with a saved model.

    Writes one CSV row per data row, in order: the predicted value (a column named like the
    target), and with --proba one column proba_<class> per class. On stdout, control
    characters in labels are written as escapes (\\x1b); -o keeps them as they are. An
    existing -o file is replaced only with --force (never MODEL or DATA). Missing values are
    handled as the model was trained: filled after train --impute mean (training means, most
    frequent categories), refused otherwise; --impute mean|none overrides that.

    Example:

        retroprop predict iris.retroprop new_flowers.csv --proba -o predictions.csv
    """
    T = command_words(lang_value("--lang", lang))
    output = None if is_stdout(output) else output
    rules = output_rules(force=force, inputs={"MODEL": model_path, "DATA": data})
    rules.check({"--output": output})
    with warnings_on_stderr():
        model = _load(model_path, data, encoding, "retroprop predict MODEL DATA")
        if proba and model.task != "classification":
            raise CommandError("--proba: the model is a regression model")
        table = model.preprocessor.align(read_data(data, encoding=encoding))
        X = model.preprocessor.transform(
            table,
            missing=missing_override(impute),
            unknown="ignore" if ignore_unknown else "error",
        )
    header, columns = _prediction_columns(model, model.network.predict(X), proba)
    if output is None:  # stdout may be a terminal: labels are shown, never obeyed
        header = [visible(h) for h in header]
        columns = [[visible(cell) for cell in column] for column in columns]
    _write_predictions(header, columns, output, rules, T)


def _load(model_path: Path, data: Path, encoding: str, usage: str) -> Model:
    """The model, once ``--encoding`` is known and DATA is not a model file (``usage``: the
    command's, for the message that says so)."""
    encoding_value(encoding)
    csv_not_model(data, usage, model_path)
    return load_model(model_path)


def _prediction_columns(
    model: Model, O: np.ndarray, proba: bool
) -> tuple[list[str], list[list[str]]]:
    """The header and the columns of the predictions for the network's outputs ``O``
    (n, outputs): the decoded target, and with ``proba`` one probability column per class."""
    target = model.preprocessor.target
    header = list(target.names)
    columns: list[list[str]] = []
    if target.kind == "classification":
        columns.append([str(c) for c in model.preprocessor.decode(O)])
        if proba:
            P = model.probabilities(O)
            header += [f"proba_{c}" for c in target.classes]
            columns += [[_fmt(p) for p in P[:, k]] for k in range(P.shape[1])]
    else:
        Y = np.asarray(model.preprocessor.decode(O)).reshape(len(O), target.width)
        columns += [[_fmt(float(v)) for v in Y[:, k]] for k in range(target.width)]
    return header, columns


def _write_predictions(
    header: list[str],
    columns: list[list[str]],
    output: Path | None,
    rules: OutputRules,
    T: dict[str, str],
) -> None:
    """The predictions as CSV, to ``output`` (as the rules allow) or stdout (None); the line
    that says so in the language of the command-line words ``T``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    if output is None:
        sys.stdout.write(buf.getvalue())
        return
    try:
        with rules, atomic_path(output) as tmp:
            tmp.write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{output}: cannot write ({exc.strerror or exc})") from None
    n = len(columns[0])
    console.print(T["predict_written"].format(n=n, path=output), highlight=False)


def evaluate_table(
    model: Model,
    table: Table,
    *,
    missing: Literal["error", "drop", "mean"] | None = None,
    unknown: Literal["error", "ignore"] = "error",
) -> dict[str, Any]:
    """Scores of ``model`` on a table that has the target column.

    Missing values as ``missing`` says, by default as the model was trained: ``"drop"`` skips
    the rows with one (with a warning), ``"mean"`` fills them, ``"error"`` refuses them.

    Classification: ``accuracy``, ``loss``, ``per_class`` (precision, recall, F1, support) and
    ``confusion`` (rows: true class, columns: predicted). Regression: ``r2``, ``mae``, ``rmse``
    in the target's units. Both: ``n`` (rows scored).
    """
    pre = model.preprocessor
    missing = pre.missing if missing is None else missing
    table, rows = _rows_to_score(pre, table, missing)
    X = pre.transform(table, rows, missing=missing, unknown=unknown)
    Y = pre.encode_target(table, rows)
    O = model.network.predict(X)
    out: dict[str, Any] = {"n": len(X), "loss": model.network.loss.mean(Y.astype(O.dtype), O)}
    if pre.target.kind == "classification":
        return {**out, **_classification_scores(pre.target.classes, Y, O)}
    return {**out, **_regression_scores(pre.target, Y, O)}


def _rows_to_score(
    pre: Preprocessor, table: Table, missing: Literal["error", "drop", "mean"]
) -> tuple[Table, np.ndarray | None]:
    """``table`` matched to the model's columns (the target among them), and the rows to
    score: those without a missing value for ``"drop"`` (a warning counts the others), else
    None (all)."""
    if table.has_header:  # before align's warnings; a header-less file is matched by position
        for name in pre.target.names:
            table.column(name, "target column")
    table = match_outputs(table, pre.target, required=True)
    table = pre.align(table)
    for name in pre.target.names:
        table.column(name, "target column")
    rows = pre.complete_rows(table, with_target=True) if missing == "drop" else None
    if rows is not None and not len(rows):
        raise CommandError(f"{table.source}: every row has a missing value")
    if rows is not None and len(rows) < table.n_rows:
        warnings.warn(
            f"{table.source}: skipped {table.n_rows - len(rows)} of {table.n_rows} rows with "
            f"missing values",
            DataWarning,
            stacklevel=3,
        )
    return table, rows


def _classification_scores(classes: Sequence[Any], Y: np.ndarray, O: np.ndarray) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 and support per class, and the confusion matrix (rows:
    true class, columns: predicted) of one-hot targets ``Y`` and outputs ``O``, (n, K): the
    definitions of sklearn.metrics (tests compare), without its slow import."""
    y, p, K = Y.argmax(axis=1), O.argmax(axis=1), Y.shape[1]
    confusion = np.zeros((K, K), dtype=np.int64)
    np.add.at(confusion, (y, p), 1)
    tp, predicted, support = np.diag(confusion), confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(K), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(K), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(K), where=total > 0)
    per_class = [
        {
            "class": c,
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, c in enumerate(classes)
    ]
    return {
        "accuracy": float(np.mean(y == p)),
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def _regression_scores(target: Target, Y: np.ndarray, O: np.ndarray) -> dict[str, Any]:
    """R² (None for a constant target), MAE and RMSE in the target's units, of standardised
    targets ``Y`` and outputs ``O``, (n, n_targets). Several targets: each one's scores under
    ``per_target``, and their means as ``r2``, ``mae`` and ``rmse`` (scikit-learn's
    ``multioutput="uniform_average"``; R² None if a target is constant)."""
    y = Y * target.scales + target.means
    o = O.astype(np.float64) * target.scales + target.means
    per_target = [_scores_of(name, y[:, k], o[:, k]) for k, name in enumerate(target.names)]
    if len(per_target) == 1:
        return {key: v for key, v in per_target[0].items() if key != "target"}
    r2 = [s["r2"] for s in per_target]
    return {
        "r2": None if None in r2 else float(np.mean(r2)),
        "mae": float(np.mean([s["mae"] for s in per_target])),
        "rmse": float(np.mean([s["rmse"] for s in per_target])),
        "per_target": per_target,
    }


def _scores_of(name: str, y: np.ndarray, o: np.ndarray) -> dict[str, Any]:
    """R² (None for a constant target), MAE and RMSE of one target's values ``y`` and
    predictions ``o``, (n,), in its units."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "target": name,
        "r2": 1.0 - float(np.sum((y - o) ** 2)) / ss_tot if ss_tot > 0 else None,
        "mae": float(np.mean(np.abs(y - o))),
        "rmse": float(np.sqrt(np.mean((y - o) ** 2))),
    }


def evaluate(
    model_path: ModelArg,
    data: DataArg,
    drop_missing: Annotated[
        bool, typer.Option("--drop-missing", help="Skip rows with missing values.")
    ] = False,
    impute: ImputeOpt = None,
    ignore_unknown: UnknownOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    encoding: EncodingOpt = "utf-8",
    lang: LangOpt = None,
) -> None:
    """Score a saved model on a CSV file that has the target column.

    Classification: accuracy, precision, recall and F1 per class, confusion matrix.
    Regression: R², mean absolute error and root mean squared error, in the target's units.

    Example:

        retroprop evaluate iris.retroprop iris_test.csv
    """
    from retroprop.cli._render import print_classification

    T = command_words(lang_value("--lang", lang))
    if drop_missing and impute:
        raise CommandError("--drop-missing and --impute: choose one")
    with warnings_on_stderr():
        model = _load(model_path, data, encoding, "retroprop evaluate MODEL DATA")
        scores = evaluate_table(
            model,
            read_data(data, encoding=encoding),
            missing="drop" if drop_missing else missing_override(impute),
            unknown="ignore" if ignore_unknown else "error",
        )
    if as_json:
        sys.stdout.write(json.dumps(scores, indent=2) + "\n")
    elif model.task == "classification":
        print_classification(model.classes, scores, scores["confusion"], T)
    else:
        _print_regression(model.preprocessor.target, scores, T)


def _print_regression(target: Target, scores: dict[str, Any], T: dict[str, str]) -> None:
    """The regression scores as a table; several targets: each one's, then their means."""
    from retroprop.cli._render import key_value_table, target_label

    rows: dict[str, Any] = {T["evaluate_rows"]: scores["n"]}
    for s in scores.get("per_target", []):
        rows.update({f"{key} ({s['target']})": s[k] for key, k in _SCORES})
    mean = f" ({target_label(target, T)})" if target.more else ""
    rows.update({f"{key}{mean}": scores[k] for key, k in _SCORES})
    rows[T["loss"]] = scores["loss"]
    names = ", ".join(map(repr, target.names))
    console.print(key_value_table(T["evaluate_regression"].format(name=names), rows))


_SCORES = (("R²", "r2"), ("MAE", "mae"), ("RMSE", "rmse"))
