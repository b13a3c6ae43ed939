"""W2 mini-batch training and W3 inference on 60,000 MNIST-shaped samples, and the GEMM peak.

W2 interleaves, one epoch per round each: retroprop's ``fit`` with ``train_error="running"``
(the training error as the running mean over the batches, as scikit-learn and PyTorch loops
report it) and with its default end-of-epoch evaluation of the whole training set (both
resumed round after round), scikit-learn's ``partial_fit`` and a PyTorch epoch, every one on
its own model that lives across the rounds. W3 then interleaves one prediction of the 60,000
samples per predictor and round, on the models W2 trained.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import (
    W2_ETA,
    W2_SIZES,
    Contender,
    Row,
    interleave,
    mnist_like,
    resumed_fit,
    say,
    thread_limit,
    timed,
    versus,
    w2_network,
)

import retroprop as rp


def w2_flops(n: int, with_eval: bool) -> float:
    """Multiply-adds × 2 of one epoch: forward, weight gradients, deltas below the output."""
    pairs = list(itertools.pairwise(W2_SIZES))
    macs = sum(a * b for a, b in pairs)
    total = 2 * macs + sum(a * b for a, b in pairs[1:])
    if with_eval:
        total += macs  # fit's end-of-epoch evaluation of the training set
    return 2.0 * n * total


def gemm_peak(torch: Any, repeats: int = 3) -> dict[str, float]:
    """float32 GEMM GFLOP/s on 2048 × 2048 matrices (best of ``repeats``), per library.

    NumPy's BLAS (under the caller's threadpoolctl limit) and PyTorch's (MKL here; under
    ``torch.set_num_threads``) reach different peaks on the same machine: the machine's peak
    is the better one.
    """
    rng = np.random.default_rng(0)
    A = rng.random((2048, 2048), dtype=np.float32)
    B = rng.random((2048, 2048), dtype=np.float32)
    C = np.empty_like(A)
    gemms: dict[str, Callable[[], Any]] = {"NumPy": lambda: np.matmul(A, B, out=C)}
    if torch is not None:
        tA, tB, tC = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
        gemms["PyTorch"] = lambda: torch.mm(tA, tB, out=tC)
    peaks = {}
    for name, gemm in gemms.items():
        time.sleep(0.2)  # the other library's worker threads stop spinning (see interleave)
        gemm()
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            gemm()
            best = min(best, time.perf_counter() - t0)
        peaks[name] = 2 * 2048**3 / best / 1e9
    return peaks


GEMM_SIDE = 2048


def gemm_contender(library: str, torch: Any, rounds: int) -> Contender:
    """One 2048² float32 GEMM of ``library`` ("NumPy" or "PyTorch") per call, 3 calls a
    round: the GEMM timed side by side with the W2 epochs, each call on its own (no best-of),
    so that its median meets the epochs' median under the same slow windows."""
    rng = np.random.default_rng(0)
    A = rng.random((GEMM_SIDE, GEMM_SIDE), dtype=np.float32)
    B = rng.random((GEMM_SIDE, GEMM_SIDE), dtype=np.float32)
    C = np.empty_like(A)
    if library == "PyTorch":
        tA, tB, tC = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
        return calls(lambda: torch.mm(tA, tB, out=tC), 3 * rounds)
    return calls(lambda: np.matmul(A, B, out=C), 3 * rounds)


def calls(fn: Callable[[], Any], total: int) -> Contender:
    """A contender that times ``fn()`` calls (after one untimed warm-up call)."""
    fn()
    return Contender(timed(fn), total)


def w2_contenders(torch: Any, X: np.ndarray, Y: np.ndarray, epochs: int) -> dict[str, Contender]:
    from sklearn.neural_network import MLPClassifier

    # compiles (or loads) the kernels outside the timing
    rp.fit(w2_network(), X[:2048], Y[:2048], learning_rate=W2_ETA, batch_size=128, epochs=1)
    net_running, net_fit = w2_network(), w2_network()
    # "numba" is what engine="auto" picks here (batches wide enough for the BLAS trainer)
    settings: dict[str, Any] = {"learning_rate": W2_ETA, "batch_size": 128, "seed": 0}
    running_run, _ = resumed_fit(net_running, X, Y, "numba", train_error="running", **settings)
    fit_run, history = resumed_fit(net_fit, X, Y, "numba", **settings)

    def fit_finish() -> Row:
        h = history()
        return {"network": net_fit, "loss": h["loss"][-1], "accuracy": h["accuracy"][-1]}

    clf = MLPClassifier(
        hidden_layer_sizes=(256, 128),
        solver="sgd",
        batch_size=128,
        momentum=0.0,
        learning_rate_init=W2_ETA,
        alpha=0.0,
        random_state=0,
    )
    y = Y.argmax(1)

    def sk_epoch() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X, y, classes=np.arange(10))

    # next to PyTorch: adjacent in all but one of the rotated orders
    out = {"retroprop": Contender(running_run, epochs)}
    if torch is not None:
        out["torch"] = w2_torch(torch, X, Y, epochs)
    out["sklearn"] = Contender(timed(sk_epoch), epochs, lambda: {"model": clf})
    out["retroprop_fit"] = Contender(fit_run, epochs, fit_finish)
    return out


def w2_torch(torch: Any, X: np.ndarray, Y: np.ndarray, epochs: int) -> Contender:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=W2_ETA)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(Y.argmax(1))
    lossf = torch.nn.CrossEntropyLoss()

    def run(k: int) -> list[float]:
        times = []
        for _ in range(k):
            order = torch.randperm(len(Xt))
            t0 = time.perf_counter()
            for s in range(0, len(Xt), 128):
                b = order[s : s + 128]
                opt.zero_grad()
                lossf(model(Xt[b]), yt[b]).backward()
                opt.step()
            times.append(time.perf_counter() - t0)
        return times

    return Contender(run, epochs, lambda: {"model": model})


def w3_contenders(torch: Any, X: np.ndarray, w2: dict[str, Row], n: int) -> dict[str, Contender]:
    net, clf = w2["retroprop_fit"].pop("network"), w2["sklearn"].pop("model")
    out = {
        "retroprop": calls(lambda: net.predict(X), n),
        "sklearn": calls(lambda: clf.predict_proba(X), n),
    }
    if torch is not None:
        model = w2["torch"].pop("model")

        def torch_predict() -> Any:
            with torch.inference_mode():
                return torch.softmax(model(torch.from_numpy(X)), dim=1)

        out["torch"] = calls(torch_predict, n)
    return out


def run_w2_w3(args: argparse.Namespace, torch: Any) -> tuple[list[Row], list[Row]]:
    """Per thread setting: the W2 row (stats, ratios, GEMM peaks) and the W3 row."""
    X, Y = mnist_like()
    w2_rows, w3_rows = [], []
    for threads in (None, 1):
        label = "default threads" if threads is None else "1 thread"
        with thread_limit(threads):
            if torch is not None:
                torch.set_num_threads(threads or os.cpu_count() or 1)
            before = gemm_peak(torch)
            gflops = ", ".join(f"{lib} {v:.0f}" for lib, v in before.items())
            say(f"W2 {label}: GEMM peak {gflops} GFLOP/s")
            contenders = w2_contenders(torch, X, Y, args.rounds)
            contenders["gemm"] = gemm_contender(
                max(before, key=before.__getitem__), torch, args.rounds
            )
            w2 = interleave(contenders, args.rounds, settle=0.2)
            gemm_median = 2 * GEMM_SIDE**3 / w2.pop("gemm")["epoch"]["median"] / 1e9
            after = gemm_peak(torch)  # the machine's speed drifts: its best moment counts
            say(f"W3 {label}")
            w3 = interleave(w3_contenders(torch, X, w2, args.rounds), args.rounds, "call", 0.2)
        measured = {lib: [before[lib], after[lib]] for lib in before}
        best_lib = max(measured, key=lambda lib: max(measured[lib]))
        peak = max(measured[best_lib])
        for name, flops in (
            ("retroprop", w2_flops(len(X), with_eval=False)),
            ("retroprop_fit", w2_flops(len(X), with_eval=True)),
            ("sklearn", w2_flops(len(X), with_eval=False)),
            ("torch", w2_flops(len(X), with_eval=False)),
        ):
            if name in w2:
                gflops = flops / w2[name]["epoch"]["median"] / 1e9
                w2[name]["peak_fraction"] = gflops / peak
                w2[name]["gemm_median_fraction"] = gflops / gemm_median
        ours = w2["retroprop"]["epoch"]
        vs = {p: versus((w2.get(p) or {}).get("epoch"), ours) for p in ("torch", "sklearn")}
        gemm = {"gflops": peak, "library": best_lib, "measured": measured, "median": gemm_median}
        w2_rows.append({"threads": label, "gemm_peak": gemm, **w2, "vs": vs})
        t = (w3.get("torch") or {}).get("call")
        w3_rows.append(
            {
                "threads": label,
                **{name: {**row, "vs_torch": versus(t, row["call"])} for name, row in w3.items()},
            }
        )
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    return w2_rows, w3_rows
