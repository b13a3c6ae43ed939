"""Architecture search: how many hidden neurons? Answered by cross-validation.

:func:`search` reads a table (as ``retroprop train`` does: the same preprocessing, fitted once on
the whole file), then runs scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` with
retroprop's :class:`~retroprop.MLPClassifier` or :class:`~retroprop.MLPRegressor` over every
combination of hidden layer sizes, learning rates, activations, solvers and L2 penalties. Folds
are stratified for classification and shuffled with the seed, and every fit uses the same seed,
so a search is reproducible — also on a Dask cluster (``scheduler="tcp://host:port"``;
``pip install 'retroprop[dask]'``; the workers need retroprop installed), where every fit is a
task of its own (:mod:`retroprop.apps.cluster`): a lost worker costs only its running fits, and a
lost scheduler ends the search with :class:`SearchLost` holding the candidates that finished.

The best candidate is refitted on all rows and returned as a :class:`~retroprop.files.model.Model`
(save it with :func:`~retroprop.save_model`). A binary classifier's single logistic output
p = σ(z) is stored as two softmax outputs with logits (0, z): softmax(0, z) = (1 − p, p)
exactly, so the model file has one output per class as ``retroprop train`` makes it.

Note: scaling and categories are fitted on the whole file before it is split into folds, as
``retroprop train`` fits them before holding out validation rows; the folds share them.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from retroprop.apps.cluster import ClusterError
from retroprop.core.activations import ACTIVATIONS
from retroprop.core.network import Dense, Network
from retroprop.data.fann import read_data
from retroprop.data.preprocessing import Missing, Preprocessor, Task
from retroprop.data.tabular import DataError, Table
from retroprop.errors import ParameterError
from retroprop.files.model import Model

__all__ = [
    "Candidate",
    "ClusterError",
    "SearchLost",
    "SearchResult",
    "plot_search",
    "search",
    "varied_params",
]

GRID_NAMES = {
    "hidden": "hidden_layer_sizes",
    "learning_rate": "learning_rate_init",
    "activation": "activation",
    "solver": "solver",
    "alpha": "alpha",
}
"""The arguments of :func:`search` → the estimator parameters they set."""
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler's answer before giving up (``scheduler_timeout``)."""
MAX_CONNECT_TIMEOUT = 3600.0
SHORT_NAMES = {"hidden_layer_sizes": "hidden", "learning_rate_init": "η", "alpha": "α"}
"""How tables and plots name the estimator parameters."""


@dataclass(frozen=True)
class Candidate:
    """One point of the grid and its cross-validated score.

    Attributes:
        rank: 1 for the best mean score (ties share a rank; failed fits rank last).
        params: the estimator parameters of this candidate (scikit-learn's names).
        n_parameters: weights and biases of its network.
        scores: the score on each fold, (cv,); NaN where the fit failed.
        mean_score: the mean of ``scores``.
        std_score: their standard deviation.
        mean_fit_time: mean seconds per fit.
        std_fit_time: standard deviation of the seconds per fit.
    """

    rank: int
    params: dict[str, Any]
    n_parameters: int
    scores: tuple[float, ...]
    mean_score: float
    std_score: float
    mean_fit_time: float
    std_fit_time: float

    @property
    def hidden(self) -> tuple[int, ...]:
        """Neurons per hidden layer."""
        return tuple(self.params["hidden_layer_sizes"])


@dataclass
class SearchResult:
    """What :func:`search` found, best candidate first.

    Attributes:
        candidates: every candidate, sorted by rank.
        scoring: the score's name (``"accuracy"``, ``"r2"`` or the one asked for).
        cv: number of folds.
        task: ``"classification"`` or ``"regression"``.
        model: the best candidate refitted on all rows (None with ``refit=False``).
        seconds: wall time of the search, refit included.
        backend: ``"local"`` or ``"dask <address>"``.
        cv_results: scikit-learn's ``cv_results_``, as it returned them (on a cluster: the same
            keys and numbers, computed from the fits' tasks).
        unfinished: candidates of the grid not in ``candidates`` (a search cut short by a lost
            scheduler, see :class:`SearchLost`); 0 for a complete search.
    """

    candidates: list[Candidate]
    scoring: str
    cv: int
    task: Literal["classification", "regression"]
    model: Model | None
    seconds: float
    backend: str
    cv_results: dict[str, Any] = field(repr=False)
    unfinished: int = 0

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: settings and every candidate (NaN scores become None)."""

        def num(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        rows = []
        for c in self.candidates:
            params = {k: list(v) if isinstance(v, tuple) else v for k, v in c.params.items()}
            rows.append(
                {
                    "rank": c.rank,
                    "params": params,
                    "n_parameters": c.n_parameters,
                    "scores": [num(s) for s in c.scores],
                    "mean_score": num(c.mean_score),
                    "std_score": num(c.std_score),
                    "mean_fit_time": c.mean_fit_time,
                    "std_fit_time": c.std_fit_time,
                }
            )
        return {
            "scoring": self.scoring,
            "cv": self.cv,
            "task": self.task,
            "seconds": self.seconds,
            "backend": self.backend,
            "unfinished": self.unfinished,
            "candidates": rows,
        }


class SearchLost(ClusterError):
    """The Dask scheduler was lost (or a fit failed on the cluster) before the search finished.

    Attributes:
        partial: the candidates whose every fold finished, ranked among themselves, with
            ``unfinished`` counting the others and no model.
    """

    def __init__(self, message: str, partial: SearchResult) -> None:
        super().__init__(message)
        self.partial = partial


def search(
    data: Table | str | os.PathLike[str] | Any,
    target: str,
    hidden: Sequence[Sequence[int]] = ((10,),),
    *,
    learning_rate: Sequence[float] = (0.01,),
    activation: Sequence[str] = ("sigmoid",),
    solver: Sequence[str] = ("adam",),
    alpha: Sequence[float] = (0.0001,),
    params: Mapping[str, Sequence[Any]] | None = None,
    epochs: int = 200,
    batch_size: int | Literal["auto"] = 32,
    cv: int = 5,
    scoring: str | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    scheduler_timeout: float = CONNECT_TIMEOUT,
    seed: int = 0,
    task: Task = "auto",
    categorical: Sequence[str] = (),
    ignore: Sequence[str] = (),
    missing: Missing = "error",
    refit: bool = True,
) -> SearchResult:
    """Cross-validate every combination of the given settings; refit the best.

    Args:
        data: a CSV file, or a table in memory: a :class:`~retroprop.data.tabular.Table`, a
            DataFrame or columns ``{name: values}`` (:meth:`~retroprop.Table.from_data`).
        target: the column to predict.
        hidden: the architectures to compare, e.g. ``[(10,), (10, 5)]`` (``()``: no hidden layer).
        learning_rate: values to try for the estimator's ``learning_rate_init`` (η).
        activation: values to try for its hidden ``activation``.
        solver: values to try for its ``solver``.
        alpha: values to try for its L2 penalty ``alpha``.
        params: more estimator parameters to search, ``{name: [values]}``.
        epochs: ``max_iter``: at most this many passes (scikit-learn's tolerance rule may stop
            earlier); ``batch_size``: as the estimators take it.
        cv: folds (stratified for classification, shuffled with ``seed``).
        scoring: a scikit-learn scoring name; default accuracy or R².
        n_jobs: parallel fits on this machine (joblib; -1: all cores).
        scheduler: a Dask scheduler's address (``tcp://host:port``): its workers run the fits.
        scheduler_timeout: seconds to wait for the scheduler (connecting, reconnecting; ≤ 3600).
        seed: ``random_state`` of every fit and of the fold shuffle.
        task: preprocessing, as ``retroprop train --task`` (``categorical`` and ``ignore``:
            as its ``--categorical`` and ``--ignore``).
        missing: ``"mean"`` (as ``--impute mean``), ``"drop"`` (``--drop-missing``) or ``"error"``.
        refit: refit the best candidate on all rows and return it as ``model``.

    Raises:
        DataError: the table cannot be used; ValueError: an invalid setting, named;
        ImportError: ``scheduler`` without dask installed; ClusterError: the scheduler cannot be
        reached or is not a Dask scheduler (:class:`SearchLost`: lost during the search).
    """
    _check_scoring(scoring)
    _check_dask(scheduler, scheduler_timeout)
    rows = _encoded_rows(data, target, task, categorical, ignore, missing)
    choices = (hidden, learning_rate, activation, solver, alpha, params)
    fit = _planned_fit(rows, cv, epochs, batch_size, seed, choices, scoring, refit)
    return _searched(fit, rows, n_jobs, scheduler, scheduler_timeout)


_Choices = tuple[
    Sequence[Sequence[int]],
    Sequence[float],
    Sequence[str],
    Sequence[str],
    Sequence[float],
    Mapping[str, Sequence[Any]] | None,
]
"""The values :func:`search` tries: hidden, learning_rate, activation, solver, alpha, params."""


def _planned_fit(
    rows: _Rows,
    cv: int,
    epochs: int,
    batch_size: int | Literal["auto"],
    seed: int,
    choices: _Choices,
    scoring: str | None,
    refit: bool,
) -> _Fit:
    """The estimator, the grid of its settings and the folds, every one checked against the
    rows before anything is fitted."""
    from sklearn.model_selection import KFold, StratifiedKFold

    _check_cv(cv, rows.y, rows.pre, rows.classify)
    estimator = _estimator(rows.classify, epochs, batch_size, seed)
    grid = _grid(*choices)
    _check_grid(estimator, grid)
    splitter = (StratifiedKFold if rows.classify else KFold)(cv, shuffle=True, random_state=seed)
    return _Fit(estimator, grid, splitter, scoring, refit)


def _searched(
    fit: _Fit, rows: _Rows, n_jobs: int | None, scheduler: str | None, timeout: float
) -> SearchResult:
    """Every fit run (on this machine, or as tasks on the Dask cluster at ``scheduler``), the
    candidates ranked, and the refitted best added as the result's model."""
    if scheduler is None:
        cv_results, best, seconds = _fit_grid(fit, rows.X, rows.y, n_jobs)
    else:
        cv_results, best, seconds = _fit_on_cluster(fit, rows, scheduler, timeout)
    result = _result(cv_results, rows, fit, seconds, f"dask {scheduler}" if scheduler else "local")
    if best is not None:
        result.model = _model(best, rows, result)
    return result


class _Fit(NamedTuple):
    """What every fit of a search shares: the estimator, the grid, the folds, the score."""

    estimator: Any
    grid: dict[str, list[Any]]
    splitter: Any
    scoring: str | None
    refit: bool


def _result(
    cv_results: Mapping[str, Any], rows: _Rows, fit: _Fit, seconds: float, backend: str
) -> SearchResult:
    """The ranked candidates of ``cv_results`` (a model is added by the caller)."""
    classes = rows.pre.target.classes
    n_out = len(classes) if rows.classify and len(classes) > 2 else 1
    cv = fit.splitter.get_n_splits()
    candidates = _candidates(cv_results, cv, [rows.X.shape[1]], n_out)
    return SearchResult(
        candidates,
        fit.scoring or ("accuracy" if rows.classify else "r2"),
        cv,
        rows.pre.target.kind,
        None,
        seconds,
        backend,
        dict(cv_results),
    )


class _Rows(NamedTuple):
    """The table's rows used, encoded: inputs X (n, n_inputs) and targets y (n,), class
    indices for classification, the standardised target for regression."""

    table: Table
    pre: Preprocessor
    rows: Any
    X: Any
    y: Any
    classify: bool


def _check_scoring(scoring: str | None) -> None:
    """None (the default score) or one of scikit-learn's scoring names."""
    from sklearn.metrics import get_scorer_names

    if scoring is not None and scoring not in get_scorer_names():
        raise ParameterError(
            f"scoring: unknown score {scoring!r}; for example accuracy, balanced_accuracy, "
            f"f1_macro, neg_log_loss, r2, neg_mean_absolute_error (all: "
            f"sklearn.metrics.get_scorer_names())"
        )


def _encoded_rows(
    data: Table | str | os.PathLike[str] | Any,
    target: str,
    task: Task,
    categorical: Sequence[str],
    ignore: Sequence[str],
    missing: Missing,
) -> _Rows:
    """The table (read if a file), its preprocessing fitted on every row, and the rows
    encoded, as ``retroprop train`` does."""
    table = read_data(data) if isinstance(data, str | os.PathLike) else Table.from_data(data)
    pre, rows = Preprocessor.fit(
        table, target, task=task, categorical=categorical, ignore=ignore, missing=missing
    )
    X = pre.transform(table, rows, missing="mean" if missing == "mean" else "error")
    classify = pre.target.kind == "classification"
    Y = pre.encode_target(table, rows)
    y = np.argmax(Y, axis=1) if classify else Y[:, 0]
    return _Rows(table, pre, rows, X, y, classify)


def _check_grid(estimator: Any, grid: Mapping[str, Sequence[Any]]) -> None:
    """Every combination is one the estimator takes (checked now, not in the fits); a value it
    refuses is a :class:`ParameterError` naming the argument of :func:`search`."""
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    argument = {v: k for k, v in GRID_NAMES.items()}
    for combination in ParameterGrid(grid):
        try:
            clone(estimator).set_params(**combination)._validate_params()
        except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is both
            match = re.match(r"The '(\w+)' parameter", str(exc))
            name = match.group(1) if match else "params"
            raise ParameterError(f"{argument.get(name, name)}: {exc}") from None


def _fit_grid(fit: _Fit, X: Any, y: Any, n_jobs: int | None) -> tuple[Any, Any, float]:
    """GridSearchCV on this machine: its ``cv_results_``, the refitted best estimator (None
    without refit) and the wall time in seconds. When every fit failed, a
    :class:`ParameterError` with the first failure."""
    from sklearn.model_selection import GridSearchCV

    gs = GridSearchCV(
        fit.estimator,
        fit.grid,
        scoring=fit.scoring,
        cv=fit.splitter,
        n_jobs=n_jobs,
        refit=fit.refit,
        error_score=np.nan,
    )
    start = time.perf_counter()
    with _quiet_fits():
        try:
            gs.fit(X, y)
        except ValueError as exc:
            if "fits failed" not in str(exc):
                raise
            raise ParameterError(f"every fit failed; {_first_error(str(exc))}") from None
    return gs.cv_results_, gs.best_estimator_ if fit.refit else None, time.perf_counter() - start


def _check_dask(scheduler: str | None, timeout: float) -> None:
    """With a scheduler: dask.distributed is installed and the timeout is a number of seconds
    in (0, 3600]. Without one, nothing to check (the timeout is not used)."""
    from retroprop.apps.cluster import MISSING_DASK

    if scheduler is None:
        return
    if not 0 < timeout <= MAX_CONNECT_TIMEOUT:
        raise ParameterError(
            f"scheduler_timeout: expected seconds in (0, {MAX_CONNECT_TIMEOUT:g}], got {timeout}"
        )
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise ImportError(f"scheduler {scheduler}: {MISSING_DASK}") from None


def _fit_on_cluster(
    fit: _Fit, rows: _Rows, scheduler: str, timeout: float
) -> tuple[dict[str, Any], Any, float]:
    """Every fit as a task on the Dask cluster (:mod:`retroprop.apps.cluster`), the best refitted
    here as GridSearchCV refits it: ``cv_results_``, the best estimator, the wall time.

    Raises:
        SearchLost: the scheduler was lost; holds the candidates whose every fold finished.
    """
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    from retroprop.apps import cluster

    start = time.perf_counter()
    candidates = list(ParameterGrid(fit.grid))
    splits = list(fit.splitter.split(rows.X, rows.y))
    with cluster.connect(scheduler, timeout) as client:
        run = cluster.cross_validate_grid(
            client, fit.estimator, candidates, rows.X, rows.y, splits, fit.scoring, timeout
        )
    cv = len(splits)
    finished = [i for i in range(len(candidates)) if all((i, k) in run.folds for k in range(cv))]
    folds = {(j, k): run.folds[i, k] for j, i in enumerate(finished) for k in range(cv)}
    cv_results = cluster.cv_results([candidates[i] for i in finished], folds, cv)
    if run.lost is not None:
        partial = _result(cv_results, rows, fit, time.perf_counter() - start, f"dask {scheduler}")
        partial.unfinished = len(candidates) - len(finished)
        raise SearchLost(
            f"{run.lost}; {len(finished)} of {len(candidates)} candidates finished", partial
        )
    _fit_failures([f for f in folds.values() if f.failure is not None], len(folds))
    best = None
    if fit.refit:
        params = candidates[int(np.argmin(cv_results["rank_test_score"]))]
        with _quiet_fits():
            best = clone(fit.estimator).set_params(**clone(params, safe=False))
            best.fit(rows.X, rows.y)
    return cv_results, best, time.perf_counter() - start


def _fit_failures(failed: Sequence[Any], n_fits: int) -> None:
    """As GridSearchCV reports them: every fit failed is an error, some a warning."""
    if not failed:
        return
    if len(failed) == n_fits:
        raise ParameterError(f"every fit failed; All the {n_fits} fits failed: {failed[0].failure}")
    warnings.warn(
        f"some fits failed and rank last; {len(failed)} fits failed out of a total of "
        f"{n_fits}: {failed[0].failure}",
        stacklevel=4,
    )


def _estimator(classify: bool, epochs: int, batch_size: int | str, seed: int) -> Any:
    from retroprop.estimators import MLPClassifier, MLPRegressor

    cls = MLPClassifier if classify else MLPRegressor
    return cls(max_iter=epochs, batch_size=batch_size, random_state=seed)


def _grid(
    hidden: Sequence[Sequence[int]],
    learning_rate: Sequence[float],
    activation: Sequence[str],
    solver: Sequence[str],
    alpha: Sequence[float],
    params: Mapping[str, Sequence[Any]] | None,
) -> dict[str, list[Any]]:
    archs = [tuple(int(n) for n in h) for h in hidden]
    if any(n < 1 for h in archs for n in h):
        raise ParameterError(f"hidden: layer sizes must be positive, got {archs}")
    values = dict(zip(GRID_NAMES, (archs, learning_rate, activation, solver, alpha), strict=True))
    grid = {GRID_NAMES[k]: list(dict.fromkeys(v)) for k, v in values.items()}
    grid.update({k: list(v) for k, v in (params or {}).items()})
    argument = {v: k for k, v in GRID_NAMES.items()}
    for name, options in grid.items():
        if not options:
            raise ParameterError(f"{argument.get(name, name)}: give at least one value to try")
    return grid


def _check_cv(cv: int, y: Any, pre: Preprocessor, classify: bool) -> None:
    if cv < 2 or cv > len(y):
        raise ParameterError(f"cv: expected 2 to {len(y)} folds (the number of rows), got {cv}")
    if classify:
        counts = np.bincount(y, minlength=len(pre.target.classes))
        k = int(np.argmin(counts))
        if counts[k] < cv:
            fewer = (
                f"use cv={counts[k]} or fewer"
                if counts[k] >= 2  # stratified folds need ≥ 2 rows of every class, even for cv=2
                else "a class needs at least 2 rows to be cross-validated; add rows of it, or "
                "leave them out of the file"
            )
            raise DataError(
                f"cv={cv}: class {pre.target.classes[k]!r} has only {counts[k]} "
                f"row{'s' if counts[k] > 1 else ''}, fewer than the folds; {fewer}"
            )


@contextmanager
def _quiet_fits() -> Iterator[None]:
    """Silence "did not converge" (epochs is the user's budget), batch sizes clipped to small
    folds and scikit-learn's non-finite-score note; summarise failed fits in one warning."""
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("always", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        warnings.filterwarnings("ignore", "Got `batch_size` less than 1 or larger")  # small folds
        yield
    failed = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    for w in caught:
        if w not in failed:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if failed:
        first = _first_error(str(failed[0].message))
        warnings.warn(f"some fits failed and rank last; {first}", stacklevel=4)


def _first_error(message: str) -> str:
    """The count and the last line of the first traceback in scikit-learn's failure message."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "Error:" in line and not line.startswith("File")]
    return f"{lines[0].rstrip('.')}: {errors[0] if errors else lines[-1]}"


def _candidates(res: Mapping[str, Any], cv: int, n_in: list[int], n_out: int) -> list[Candidate]:
    out = []
    for i, p in enumerate(res["params"]):
        sizes = [*n_in, *p["hidden_layer_sizes"], n_out]
        scores = tuple(float(res[f"split{k}_test_score"][i]) for k in range(cv))
        out.append(
            Candidate(
                rank=int(res["rank_test_score"][i]),
                params=dict(p),
                n_parameters=sum((a + 1) * b for a, b in pairwise(sizes)),
                scores=scores,
                mean_score=float(res["mean_test_score"][i]),
                std_score=float(res["std_test_score"][i]),
                mean_fit_time=float(res["mean_fit_time"][i]),
                std_fit_time=float(res["std_fit_time"][i]),
            )
        )
    order = sorted(range(len(out)), key=lambda i: (out[i].rank, i))
    return [out[i] for i in order]


def _model(est: Any, rows: _Rows, result: SearchResult) -> Model:
    """The refitted estimator as a Model with the search's preprocessing and record."""
    net = est.to_network().copy()
    if result.task == "classification" and net.sizes[-1] == 1:
        out = net.layers[-1]  # softmax(0, z) = (1 − σ(z), σ(z)): a zero row for the first class
        W = np.vstack([np.zeros_like(out.W), out.W])
        b = np.concatenate([np.zeros_like(out.b), out.b])
        softmax = Dense(W, b, ACTIVATIONS["softmax"])
        net = Network([*net.layers[:-1], softmax], "categorical_cross_entropy")
    best = result.best
    training: dict[str, Any] = {
        "estimator": type(est).__name__,
        "hidden": list(best.hidden),
        **{k: v for k, v in best.params.items() if k != "hidden_layer_sizes"},
        "epochs": est.max_iter,
        "batch_size": est.batch_size,
        "seed": est.random_state,
        "task": result.task,
        "loss": net.loss.name,
        "output_activation": net.layers[-1].activation.name,
        "search_cv": result.cv,
        "search_scoring": result.scoring,
        "search_candidates": len(result.candidates),
    }
    metrics = {
        f"cv_{result.scoring}_mean": best.mean_score,
        f"cv_{result.scoring}_std": best.std_score,
        "epochs": est.n_iter_,
        "train_loss": est.loss_,
        f"train_{'accuracy' if result.task == 'classification' else 'r2'}": est.score(
            rows.X, rows.y
        ),
    }
    table = rows.table
    data = {"source": table.source, "sha256": table.sha256, "rows": table.n_rows}
    return Model(net, rows.pre, training, metrics, {**data, "rows_used": len(rows.rows)})


def plot_search(
    result: SearchResult, path: str | os.PathLike[str], title: str | None = None
) -> Path:
    """Write a PNG of the mean score (± one standard deviation over folds) against the number
    of network parameters, one line per combination of the other settings, best starred.

    Returns:
        The path written.
    """
    from retroprop.views.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, members in _groups(result).items():
        _plot_group(ax, key, sorted(members, key=lambda c: c.n_parameters))
    best = result.best
    ax.plot(
        best.n_parameters,
        best.mean_score,
        "*",
        color="gold",
        markersize=16,
        markeredgecolor="black",
        zorder=5,
        label="best",
    )
    sizes = sorted({c.n_parameters for c in result.candidates})
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes], minor=False)
    ax.set_xticks([], minor=True)
    ax.set(
        xlabel="network parameters (weights and biases)",
        ylabel=f"{result.scoring}, mean ± std over {result.cv} folds",
        title=title or "Cross-validated score against network size",
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_png(fig, path)


def varied_params(candidates: Sequence[Candidate]) -> list[str]:
    """The estimator parameters, other than the architecture, whose value differs between
    ``candidates``."""
    names = [k for k in candidates[0].params if k != "hidden_layer_sizes"]
    return [k for k in names if len({repr(c.params[k]) for c in candidates}) > 1]


def _groups(result: SearchResult) -> dict[str, list[Candidate]]:
    """The candidates grouped by the settings other than the architecture that vary, each group
    named like ``η=0.1, α=0.0001`` (``score`` when only the architecture varies)."""
    varied = varied_params(result.candidates)
    groups: dict[str, list[Candidate]] = {}
    for c in result.candidates:
        key = ", ".join(f"{SHORT_NAMES.get(k, k)}={c.params[k]}" for k in varied) or "score"
        groups.setdefault(key, []).append(c)
    return groups


def _plot_group(ax: Any, key: str, members: Sequence[Candidate]) -> None:
    """One line of mean score ± std against network parameters, each point named by its
    hidden layer sizes (``none`` without hidden layers)."""
    ax.errorbar(
        [c.n_parameters for c in members],
        [c.mean_score for c in members],
        yerr=[c.std_score for c in members],
        marker="o",
        capsize=3,
        label=key,
    )
    for c in members:
        name = "–".join(map(str, c.hidden)) or "none"
        ax.annotate(
            name,
            (c.n_parameters, c.mean_score),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
