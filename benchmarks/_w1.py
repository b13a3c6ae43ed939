"""W1 online: digits, sigmoid, squared error, plain SGD, batch size 1, η = 0.3.

Every contender keeps one model across the rounds, so its accuracy is the one after all of
its epochs: retroprop resumes ``fit`` from the ``TrainState`` of the previous round (with the
same seed, the rounds together are the uninterrupted run, bit for bit), the FANN harness is
one process that trains on as epoch counts arrive on its stdin, scikit-learn calls
``partial_fit`` on one classifier and PyTorch steps one model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from _common import (
    Contender,
    Row,
    digits,
    interleave,
    resumed_fit,
    say,
    timed,
    versus,
    write_fann_data,
)

import retroprop as rp

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
ETA = 0.3


def accuracy(P: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean(P.argmax(1) == Y.argmax(1)))


def w1_retroprop(
    hidden: Sequence[int],
    dtype: type,
    data: Data,
    total: int,
    engine: Literal["numba", "numpy"],
    train_error: Literal["final", "running"] = "final",
) -> Contender:
    """``retroprop.fit``, resumed round after round. ``train_error="running"``: each epoch's
    training error is the running mean over the samples before their updates (as FANN's MSE);
    ``"final"``: the whole training set is evaluated after each epoch (one more forward pass)."""
    Xtr, Xte, Ytr, Yte = data
    net = rp.Network.create([64, *hidden, 10], seed=0, dtype=dtype)
    settings: dict[str, Any] = {"learning_rate": ETA, "seed": 0, "train_error": train_error}
    if engine == "numba":  # compile (or load) outside the timing
        rp.fit(net.copy(), Xtr, Ytr, epochs=1, engine="numba", **settings)
    run, _ = resumed_fit(net, Xtr, Ytr, engine, **settings)

    def finish() -> Row:
        return {"epochs": total, "accuracy": accuracy(net.predict(Xte), Yte)}

    return Contender(run, total, finish)


def w1_fann(exe: Path, files: tuple[Path, Path], hidden: Sequence[int], total: int) -> Contender:
    """The C harness as one process for all rounds (epoch counts in, epoch seconds out)."""
    cmd = [str(exe), str(files[0]), str(files[1]), "0", *map(str, hidden)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def run(k: int) -> list[float]:
        stdin.write(f"{k}\n")
        stdin.flush()
        times: list[float] = json.loads(stdout.readline())
        return times

    run(0)  # waits until the harness has read its data

    def finish() -> Row:
        out, _ = proc.communicate()
        result: Row = json.loads(out)
        return {"epochs": result["epochs"], "accuracy": result["accuracy"]}

    return Contender(run, total, finish)


def sklearn_settings(hidden: Sequence[int]) -> dict[str, Any]:
    """W1 as scikit-learn's MLPClassifier says it (also for retroprop's MLPClassifier)."""
    return {
        "hidden_layer_sizes": tuple(hidden),
        "activation": "logistic",
        "solver": "sgd",
        "batch_size": 1,
        "momentum": 0.0,
        "learning_rate_init": ETA,
        "alpha": 0.0,
        "random_state": 0,
    }


def w1_estimator(hidden: Sequence[int], dtype: type, data: Data, total: int) -> Contender:
    """retroprop's MLPClassifier with scikit-learn's settings (below), on its compiled engine.

    Each round is one ``fit`` with ``warm_start=True`` and ``max_iter`` = the round's epochs,
    timed epoch by epoch by a callback (a ``partial_fit`` per epoch would time scikit-learn's
    input validation, a few ms per call, more than the epoch). ``engine="numba"``: what
    ``"auto"`` picks for the uninterrupted 30 epochs. Each fit restarts the sample order from
    ``random_state``, so the accuracy is that of 5 warm-started fits, not of one run.
    """
    Xtr, Xte, Ytr, Yte = data
    laps: list[float] = []
    clock = [0.0]

    def lap(epoch: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        laps.append(now - clock[0])
        clock[0] = now

    clf = rp.MLPClassifier(
        **sklearn_settings(hidden),
        engine="numba",
        warm_start=True,
        callbacks=[lap],
    )
    X: np.ndarray = Xtr.astype(dtype)
    y = Ytr.argmax(1)
    rp.MLPClassifier(**{**clf.get_params(), "max_iter": 1, "callbacks": None}).fit(X, y)  # compile

    def run(k: int) -> list[float]:
        laps.clear()
        clf.set_params(max_iter=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clock[0] = time.perf_counter()
            clf.fit(X, y)
        return list(laps)

    def finish() -> Row:
        return {"epochs": total, "accuracy": accuracy(clf.predict_proba(Xte.astype(dtype)), Yte)}

    return Contender(run, total, finish)


def w1_sklearn(hidden: Sequence[int], dtype: type, data: Data, total: int) -> Contender:
    from sklearn.neural_network import MLPClassifier

    Xtr, Xte, Ytr, Yte = data
    clf = MLPClassifier(**sklearn_settings(hidden))
    X: np.ndarray = Xtr.astype(dtype)
    y = Ytr.argmax(1)

    def epoch() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X, y, classes=np.arange(10))

    def finish() -> Row:
        return {"epochs": total, "accuracy": accuracy(clf.predict_proba(Xte.astype(dtype)), Yte)}

    return Contender(timed(epoch), total, finish)


def w1_torch(torch: Any, hidden: Sequence[int], dtype: type, data: Data, total: int) -> Contender:
    Xtr, Xte, Ytr, Yte = data
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    layers: list[Any] = []
    for n_in, n_out in itertools.pairwise([64, *hidden, 10]):
        lin = torch.nn.Linear(n_in, n_out).to(tdt)
        torch.nn.init.uniform_(lin.weight, -0.5, 0.5)
        torch.nn.init.uniform_(lin.bias, -0.5, 0.5)
        layers += [lin, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=ETA)
    X, Y = torch.tensor(Xtr, dtype=tdt), torch.tensor(Ytr, dtype=tdt)

    def run(k: int) -> list[float]:
        times = []
        for _ in range(k):
            order = torch.randperm(len(X))
            t0 = time.perf_counter()
            for i in order:
                opt.zero_grad()
                loss = 0.5 * ((model(X[i]) - Y[i]) ** 2).sum()
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - t0)
        return times

    def finish() -> Row:
        with torch.no_grad():
            P = model(torch.tensor(Xte, dtype=tdt)).numpy()
        return {"epochs": total, "accuracy": accuracy(P, Yte)}

    return Contender(run, total, finish)


def run_w1(args: argparse.Namespace, fann: Path | None, torch: Any) -> list[Row]:
    """One row per case: each contender's per-epoch stats and accuracy, and the ratios."""
    data = digits()
    peer_epochs = min(args.epochs, 2 * args.rounds) if args.quick else args.epochs
    rows = []
    with tempfile.TemporaryDirectory(prefix="retroprop-w1-") as tmp:
        files = (Path(tmp) / "train.data", Path(tmp) / "test.data")
        write_fann_data(files[0], data[0], data[2])
        write_fann_data(files[1], data[1], data[3])
        for hidden, dtype in itertools.product(([10, 5], [64]), (np.float64, np.float32)):
            name = f"64-{'-'.join(map(str, hidden))}-10 {np.dtype(dtype).name}"
            say(f"W1 {name}")
            # retroprop next to FANN: adjacent in all but one of the rotated orders
            # "numba": what engine="auto" picks for the uninterrupted run of 30 epochs
            contenders = {
                "retroprop": w1_retroprop(hidden, dtype, data, args.epochs, "numba", "running")
            }
            if fann is not None:
                exe = fann / ("fann_w1_d" if dtype == np.float64 else "fann_w1_f")
                contenders["fann"] = w1_fann(exe, files, hidden, args.epochs)
            contenders["retroprop_final"] = w1_retroprop(hidden, dtype, data, args.epochs, "numba")
            contenders["retroprop_numpy"] = w1_retroprop(hidden, dtype, data, 3, "numpy")
            contenders["retroprop_estimator"] = w1_estimator(hidden, dtype, data, args.epochs)
            contenders["sklearn"] = w1_sklearn(hidden, dtype, data, peer_epochs)
            if torch is not None:
                contenders["torch"] = w1_torch(torch, hidden, dtype, data, peer_epochs)
            got = interleave(contenders, args.rounds)
            row: Row = {"case": name, **{k: got.get(k) for k in (*contenders, "fann", "torch")}}
            ours = got["retroprop"]["epoch"]
            row["vs"] = {
                peer: versus((got.get(peer) or {}).get("epoch"), ours)
                for peer in ("fann", "sklearn", "torch")
            }
            for variant in ("final", "estimator"):
                row["vs"][f"{variant}_vs_fann"] = versus(
                    (got.get("fann") or {}).get("epoch"), got[f"retroprop_{variant}"]["epoch"]
                )
            rows.append(row)
    return rows
