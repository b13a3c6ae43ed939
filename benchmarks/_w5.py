"""W5, the drop-in: ``retroprop.MLPClassifier`` beside ``sklearn.neural_network.MLPClassifier``.

The same constructor arguments on both sides (scikit-learn's defaults otherwise: ReLU, softmax
output, ``alpha=1e-4``, momentum 0.9 with Nesterov for 'sgd', ``random_state=0``), the same data,
interleaved round by round (``_common.interleave``):

- epochs: a fresh ``fit`` per round, ``max_iter`` epochs (``n_iter_no_change`` large enough
  that none stops early), timed whole — set-up included — and divided by the epochs; for every
  solver ('sgd', 'adam', 'lbfgs', whose "epoch" is one L-BFGS iteration), float32 and float64,
  and ``batch_size`` 1, 32, 128, 512 and "auto" (L-BFGS has none: one cell);
- ``partial_fit``: one call on a chunk of 100 samples of digits (the caller's stream);
- predictions: ``predict_proba`` of the two estimators and ``Network.predict`` on the W2
  network (784-256-128-10, 60,000 rows), float32 and float64, two threads and one (each
  contender's untimed first call compiles retroprop's product: ``_common`` waits for workers).

Data: digits scaled to [0, 1] (1,437 training rows, 64 features; hidden (100,), scikit-learn's
default) and the MNIST-shaped set of ``_common.mnist_like`` (784 features, 10 classes; hidden
(256, 128)); online epochs of the latter run on its first 3,000 rows (a full online epoch of
60,000 takes minutes on either side). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from typing import Any

import numpy as np
from _common import Contender, Row, digits, interleave, mnist_like, say, thread_limit, versus
from _w2 import calls

import retroprop as rp

BATCHES: list[int | str] = [1, 32, 128, 512, "auto"]
SOLVERS = ("sgd", "adam", "lbfgs")


def _data(name: str, quick: bool) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    if name == "digits":
        X, _, Y, _ = digits()
        return X, Y.argmax(1), (100,)
    X, Y = mnist_like(10_000 if quick else 60_000)
    return X, Y.argmax(1), (256, 128)


def _epochs(name: str, solver: str, batch: int | str, quick: bool) -> int:
    """Epochs per timed fit: enough for ``engine="auto"``'s 20,000 visits online, few for the
    MNIST-shaped set (each epoch there is seconds)."""
    if name == "digits":
        return 15 if batch == 1 else (5 if quick else 10)
    return 7 if batch == 1 else (3 if solver == "lbfgs" else 1)


def _fit_contender(
    Estimator: type, X: np.ndarray, y: np.ndarray, epochs: int, settings: dict[str, Any]
) -> Contender:
    """``run(k)``: k fresh fits of ``epochs`` epochs each; seconds per epoch of each."""
    import time

    def run(k: int) -> list[float]:
        times = []
        for _ in range(k):
            est = Estimator(max_iter=epochs, n_iter_no_change=epochs + 1, **settings)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                est.fit(X, y)
                times.append((time.perf_counter() - t0) / epochs)
            last[0] = est
        return times

    last: list[Any] = [None]
    return Contender(run, 0, lambda: {"loss": float(last[0].loss_)})


def _cells(datasets: list[str], batches: list[str] | None) -> list[tuple[str, str, Any, int | str]]:
    chosen = [b for b in BATCHES if batches is None or str(b) in batches]
    cells = []
    for name in datasets:
        for solver in SOLVERS:
            for dtype in (np.float32, np.float64):
                for batch in ["auto"] if solver == "lbfgs" else chosen:
                    cells.append((name, solver, dtype, batch))
    return cells


def run_epochs(args: argparse.Namespace) -> list[Row]:
    """The epoch table: one row per (data, solver, dtype, batch size)."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    from retroprop._fast.gemm import HostProducts

    for dtype in (np.float32, np.float64):  # the products' kernel, compiled before any timing
        HostProducts(dtype).ready(1)
    rows = []
    datasets = args.w5_data or ["digits", "mnist"]
    data = {name: _data(name, args.quick) for name in datasets}
    for name, solver, dtype, batch in _cells(datasets, args.w5_batches):
        X, y, hidden = data[name]
        if name == "mnist" and batch == 1:
            X, y = X[:3_000], y[:3_000]
        X = X.astype(dtype)
        epochs = _epochs(name, solver, batch, args.quick)
        settings = {
            "hidden_layer_sizes": hidden,
            "solver": solver,
            "batch_size": batch,
            "random_state": 0,
            "learning_rate_init": 0.01 if solver == "sgd" else 0.001,
        }
        contenders = {
            "retroprop": _fit_contender(rp.MLPClassifier, X, y, epochs, settings),
            "sklearn": _fit_contender(SkMLP, X, y, epochs, settings),
        }
        for c in contenders.values():
            c.total = args.rounds
        warm = {**settings, "engine": "numba"}  # compiles (or loads) this cell's kernels
        _fit_contender(rp.MLPClassifier, X[:256], y[:256], 1, warm).run(1)
        got = interleave(contenders, args.rounds, settle=0.2)
        row = {
            "data": name,
            "rows": len(X),
            "solver": solver,
            "dtype": np.dtype(dtype).name,
            "batch_size": batch,
            "epochs": epochs,
            **got,
            "vs": versus(got["sklearn"]["epoch"], got["retroprop"]["epoch"]),
        }
        say(
            f"W5 {name} {solver} {row['dtype']} batch {batch}: "
            f"{row['vs']['of_medians']:.2f}× scikit-learn"  # type: ignore[index]
        )
        rows.append(row)
    return rows


def run_partial_fit(args: argparse.Namespace) -> Row:
    """``partial_fit`` per call on chunks of 100 digits samples, 'sgd' and 'adam'."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, _, Y, _ = digits()
    y = Y.argmax(1)
    out: Row = {}
    for solver in ("sgd", "adam"):
        ests = {
            "retroprop": rp.MLPClassifier(solver=solver, random_state=0),
            "sklearn": SkMLP(solver=solver, random_state=0),
        }
        contenders = {}
        for key, est in ests.items():
            chunks = [(X[s : s + 100], y[s : s + 100]) for s in range(0, len(X) - 100, 100)]
            est.partial_fit(*chunks[0], classes=np.arange(10))
            state = {"i": 0}

            def call(est: Any = est, chunks: Any = chunks, state: Any = state) -> None:
                est.partial_fit(*chunks[state["i"] % len(chunks)])
                state["i"] += 1

            contenders[key] = calls(call, 30 * args.rounds)
        got = interleave(contenders, args.rounds, key="call")
        out[solver] = {**got, "vs": versus(got["sklearn"]["call"], got["retroprop"]["call"])}
        say(f"W5 partial_fit {solver}: {out[solver]['vs']['of_medians']:.2f}× scikit-learn")
    return out


def run_predict(args: argparse.Namespace) -> list[Row]:
    """Predictions of the W2 network on 60,000 rows, float32 and float64, two threads and one:
    the estimators and ``Network.predict``."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X32, Y = mnist_like()
    y = Y.argmax(1)
    settings = {"hidden_layer_sizes": (256, 128), "random_state": 0, "max_iter": 1}
    classes = np.arange(10)
    rows = []
    for dtype in (np.float32, np.float64):
        X = X32.astype(dtype, copy=False)
        ours = rp.MLPClassifier(**settings).partial_fit(X[:2_000], y[:2_000], classes=classes)
        theirs = SkMLP(**settings).partial_fit(X[:2_000], y[:2_000], classes=classes)
        predictors = {
            "retroprop": ours.predict_proba,
            "network": ours.to_network().predict,
            "sklearn": theirs.predict_proba,
        }
        for threads in (2, 1):
            rows.append(_predict_row(predictors, X, threads, args.rounds))
    return rows


def _predict_row(predictors: dict[str, Any], X: np.ndarray, threads: int, rounds: int) -> Row:
    """One row of the prediction table: each predictor on X, interleaved, at ``threads``."""
    with thread_limit(threads):
        contenders = {k: calls(functools.partial(f, X), rounds) for k, f in predictors.items()}
        got = interleave(contenders, rounds, key="call", settle=0.2)
    sk = got["sklearn"]["call"]
    row = {
        "threads": f"{X.dtype.name}, {threads} thread{'s' if threads > 1 else ''}",
        **got,
        "vs": {k: versus(sk, got[k]["call"]) for k in ("retroprop", "network")},
    }
    say(f"W5 predict {row['threads']}: {row['vs']['retroprop']['of_medians']:.2f}× sklearn")  # type: ignore[index]
    return row


def run_w5(args: argparse.Namespace) -> Row:
    """W5: epochs, ``partial_fit`` per call and predictions (``--w5 epochs partial predict``)."""
    parts = set(args.w5 or ["epochs", "partial", "predict"])
    out: Row = {}
    if "predict" in parts:
        out["predict"] = run_predict(args)
    if "partial" in parts:
        out["partial_fit"] = run_partial_fit(args)
    if "epochs" in parts:
        with thread_limit(args.w5_threads):
            out["epochs"] = run_epochs(args)
        out["epochs_threads"] = args.w5_threads or "default"
    return out
