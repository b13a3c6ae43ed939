"""The floor under W5's online cells: how fast could *any* implementation of scikit-learn's
online step run on this machine?

    python benchmarks/w5_floor.py              # digits and the MNIST-shaped set, 3 rounds
    python benchmarks/w5_floor.py --rounds 5 --data mnist

With ``batch_size=1``, scikit-learn's loop (``_fit_stochastic``) takes one optimizer step per
sample over every parameter: weight decay α·W, the momentum velocity and Adam's moments touch
every weight even where the sample's gradient is 0. So any implementation with its arithmetic
reads and writes every parameter and its optimizer state (θ and the velocity for 'sgd'; θ, m
and v for 'adam') at least once per sample, and computes Adam's square root and division once
per parameter, in the data's dtype, as NumPy does.

This script times exactly that and nothing else: the update loop over arrays with as many
parameters as the W5 network (a constant gradient; no forward pass, no backpropagation, no
loss), compiled by numba for this processor, on one thread, and on two threads each updating
half of the parameters with no synchronisation at all (an optimistic floor: a real two-thread
step would also wait for the other thread every sample). Beside it: scikit-learn's own time per
sample and retroprop's (``MLPClassifier.fit``, one epoch, the same settings as W5), and the
largest ratio to scikit-learn any implementation could reach here, scikit-learn's time ÷ the
floor. The target of issue 18 for batch 1 is 50×.
"""

from __future__ import annotations

import argparse
import itertools
import math
import threading
import time
from typing import Any

import numpy as np
from _common import digits, mnist_like, say
from _w5 import _epochs, _fit_contender
from numba import njit

import retroprop as rp

# error_model="numpy": no division check in the loops, so that LLVM vectorizes them. The
# arithmetic is scikit-learn's per parameter (retroprop's _fast/objective_online.py rows).


@njit(cache=True, nogil=True, error_model="numpy")
def nesterov_steps(theta, m, g0, wd, mu, eta, reps):  # type: ignore[no-untyped-def]
    """``reps`` Nesterov steps over θ, velocity m: g = g0 + wd θ, m ← μm − ηg, θ += μm − ηg."""
    for _ in range(reps):
        for p in range(theta.size):
            g = g0 + wd * theta[p]
            m_p = mu * m[p] - eta * g
            m[p] = m_p
            theta[p] = theta[p] + (mu * m_p - eta * g)


@njit(cache=True, nogil=True, error_model="numpy")
def adam_steps(theta, m, v, g0, wd, b1, b2, omb1, omb2, eps, eta, reps):  # type: ignore[no-untyped-def]
    """``reps`` steps of scikit-learn's Adam over θ, m, v (ηₜ fixed: its cost is per step)."""
    for _ in range(reps):
        for p in range(theta.size):
            g = g0 + wd * theta[p]
            m_p = b1 * m[p] + omb1 * g
            v_p = b2 * v[p] + omb2 * g * g
            m[p], v[p] = m_p, v_p
            theta[p] = theta[p] + -eta * m_p / (math.sqrt(v_p) + eps)


def _state(n: int, dtype: Any, parts: int) -> list[list[np.ndarray]]:
    """θ, m, v of n parameters in ``parts`` separate pieces (one per thread)."""
    rng = np.random.default_rng(0)
    sizes = [n // parts + (i < n % parts) for i in range(parts)]
    return [[rng.normal(0, 0.05, s).astype(dtype), np.zeros(s, dtype), np.full(s, 1e-6, dtype)]
            for s in sizes]  # fmt: skip


def _step(solver: str, arrays: list[np.ndarray], reps: int) -> None:
    theta, m, v = arrays
    one = theta.dtype.type
    if solver == "sgd":
        nesterov_steps(theta, m, one(1e-4), one(1e-4), one(0.9), one(0.01), reps)
    else:
        adam_steps(theta, m, v, one(1e-4), one(1e-4), one(0.9), one(0.999), one(0.1),
                   one(0.001), one(1e-8), one(1e-3), reps)  # fmt: skip


def floor(solver: str, n: int, dtype: Any, threads: int, rounds: int) -> float:
    """Seconds per step over n parameters on ``threads`` threads (best of ``rounds``)."""
    pieces = _state(n, dtype, threads)
    _step(solver, pieces[0], 1)  # compile (or load from numba's cache)
    reps = max(20, int(2e7 // n))  # ~0.1-1 s per measurement
    best = math.inf
    for _ in range(rounds):
        if threads == 1:
            t0 = time.perf_counter()
            _step(solver, pieces[0], reps)
        else:
            workers = [threading.Thread(target=_step, args=(solver, p, reps)) for p in pieces]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def per_sample(Estimator: Any, X: np.ndarray, y: np.ndarray, settings: dict[str, Any],
               epochs: int, rounds: int) -> float:  # fmt: skip
    """Median seconds per sample of fits of ``epochs`` epochs, set-up included, as W5 times
    them (its own timing of a fit)."""
    return float(np.median(_fit_contender(Estimator, X, y, epochs, settings).run(rounds))) / len(X)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", nargs="*", choices=["digits", "mnist"],
                        default=["digits", "mnist"])  # fmt: skip
    args = parser.parse_args()
    from sklearn.neural_network import MLPClassifier as SkMLP

    header = ("data", "solver", "dtype", "params", "scikit-learn µs", "retroprop µs", "ratio",
              "floor 1 thr µs", "floor 2 thr µs", "best possible", "50× needs µs")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in args.data:
        if name == "digits":
            X, _, Y, _ = digits()
            hidden: tuple[int, ...] = (100,)
        else:
            X, Y = mnist_like(3_000)  # W5's online MNIST-shaped cells: its first 3,000 rows
            hidden = (256, 128)
        y = Y.argmax(1)
        sizes = [X.shape[1], *hidden, 10]
        n = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
        for solver in ("sgd", "adam"):
            for dtype in (np.float32, np.float64):
                Xd = X.astype(dtype)
                settings = {"hidden_layer_sizes": hidden, "solver": solver, "batch_size": 1,
                            "random_state": 0,
                            "learning_rate_init": 0.01 if solver == "sgd" else 0.001}  # fmt: skip
                epochs = _epochs(name, solver, 1, False)  # W5's: digits 15, MNIST-shaped 7
                warm = {**settings, "engine": "numba"}  # loads (or compiles) the kernels
                per_sample(rp.MLPClassifier, Xd[:64], y[:64], warm, 1, 1)
                ours = per_sample(rp.MLPClassifier, Xd, y, settings, epochs, args.rounds)
                theirs = per_sample(SkMLP, Xd, y, settings, epochs, args.rounds)
                f1 = floor(solver, n, dtype, 1, args.rounds)
                f2 = floor(solver, n, dtype, 2, args.rounds)
                cells = (name, solver, np.dtype(dtype).name, f"{n:,}", f"{theirs * 1e6:.1f}",
                         f"{ours * 1e6:.2f}", f"{theirs / ours:.1f}×", f"{f1 * 1e6:.2f}",
                         f"{f2 * 1e6:.2f}", f"{theirs / min(f1, f2):.0f}×",
                         f"{theirs / 50 * 1e6:.2f}")  # fmt: skip
                print("| " + " | ".join(cells) + " |", flush=True)
                say(f"W5 floor {name} {solver} {cells[2]} done")


if __name__ == "__main__":
    main()
