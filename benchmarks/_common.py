"""What the workloads share: the data, the peers, and interleaved timing.

Interleaving: this machine (a 2-core VM) runs everything 1.5–2× slower for windows from a
tenth of a second to minutes. Timing each contender in one block lets such a window hit one
contender and spare the next, and the ratio swings with it. So every comparison runs in
rounds: each round runs every contender in turn (the order rotates, so nobody always goes
first), each for its share of the epochs; the statistics pool all rounds, and each ratio also
comes as the median of the per-round ratios, which a slow window shifts far less.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # run from a clone without installing, too

import retroprop as rp  # noqa: E402
from retroprop._fast import background  # noqa: E402

# The workloads time the kernels generated for their architectures: each warm-up waits for its
# compile (in the background, users' runs train on the generic kernels meanwhile).
background.WAIT = True

Row = dict[str, Any]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """threadpoolctl's limit on the BLAS threads (a no-op for n = None)."""
    if n is None:
        yield
        return
    import scipy.linalg.blas  # noqa: F401  # SciPy's BLAS (retroprop's BLAS engine): loaded first
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=n):
        yield


# -- interleaved timing --------------------------------------------------------------------
@dataclass
class Contender:
    """One side of a comparison.

    ``run(k)`` does ``k`` more epochs (or calls) on the contender's one model, which lives
    across the rounds, and returns the seconds of each; ``total`` is the number over all
    rounds; ``finish()`` afterwards gives what else to report (accuracy, loss, …).
    """

    run: Callable[[int], list[float]]
    total: int
    finish: Callable[[], Row] = field(default=dict)


def shares(total: int, rounds: int) -> list[int]:
    """``total`` epochs dealt out over ``rounds`` rounds as evenly as possible."""
    q, r = divmod(total, rounds)
    return [q + (i < r) for i in range(rounds)]


def timed(fn: Callable[[], Any]) -> Callable[[int], list[float]]:
    """``run(k)`` for a :class:`Contender` that calls ``fn()`` k times: the seconds of each."""

    def run(k: int) -> list[float]:
        times = []
        for _ in range(k):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return times

    return run


def interleave(
    contenders: dict[str, Contender], rounds: int, key: str = "epoch", settle: float = 0.0
) -> dict[str, Row]:
    """Run the contenders round by round: each one's ``{key: stats(...), **finish()}`` and
    ``turns``, its place in each round's order (0 = first).

    ``settle``: seconds to sleep before each turn. BLAS and OpenMP worker threads spin for up
    to about 0.1 s after their last call (OpenBLAS, libgomp); without the pause they would
    compete for the two cores with the next contender's threads.
    """
    names = list(contenders)
    deal = {name: shares(c.total, rounds) for name, c in contenders.items()}
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    turns: dict[str, list[int]] = {name: [] for name in names}
    for r in range(rounds):
        for turn, name in enumerate(names[r % len(names) :] + names[: r % len(names)]):
            k = deal[name][r]
            if k and settle:
                time.sleep(settle)
            times[name].append(contenders[name].run(k) if k else [])
            turns[name].append(turn)
    return {
        name: {key: stats(times[name]), "turns": turns[name], **c.finish()}
        for name, c in contenders.items()
    }


def stats(rounds: Sequence[Sequence[float]]) -> Row:
    """Median, min and max over all rounds' seconds, and the seconds of each round."""
    a = np.concatenate([np.asarray(r, dtype=float) for r in rounds])
    return {
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": len(a),
        "rounds": [list(map(float, r)) for r in rounds],
    }


def versus(other: Row | None, ours: Row | None) -> Row | None:
    """How many times slower ``other`` is than ``ours`` (two :func:`stats`).

    ``of_medians`` divides the medians over all rounds (the headline ratio);
    ``median_of_rounds`` is the median over the rounds of the ratio of that round's medians
    (rounds where either side did not run are left out); ``of_mins`` divides the minima.
    """
    if not other or not ours:
        return None
    per_round = [
        float(np.median(o) / np.median(u))
        for o, u in zip(other["rounds"], ours["rounds"], strict=True)
        if len(o) and len(u)
    ]
    return {
        "of_medians": other["median"] / ours["median"],
        "median_of_rounds": float(np.median(per_round)),
        "of_mins": other["min"] / ours["min"],
        "rounds": per_round,
    }


class _Laps(rp.Callback):
    """The seconds of each epoch of one ``fit`` call and the state to resume after ``last``.

    The clock starts in ``on_train_begin``, after fit's setup (engine choice, buffers), so that
    splitting the run into rounds does not charge that setup to one epoch per round.
    """

    def __init__(self, last: int) -> None:
        self.last = last
        self.times: list[float] = []
        self.state: rp.TrainState | None = None
        self.t = 0.0

    def on_train_begin(self, network: rp.Network) -> None:
        super().on_train_begin(network)
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        now = time.perf_counter()
        self.times.append(now - self.t)
        self.t = now
        return None

    def on_epoch_state(self, epoch: int, state: Callable[[], rp.TrainState]) -> None:
        if epoch == self.last:  # after the round's last lap: not timed
            self.state = state()


def resumed_fit(
    net: rp.Network, X: np.ndarray, Y: np.ndarray, engine: Literal["numba", "numpy"], **kw: Any
) -> tuple[Callable[[int], list[float]], Callable[[], rp.History]]:
    """``run(k)``: k more epochs of ``rp.fit(net, X, Y, **kw)``, resumed where the last stopped;
    ``history()``: the run's history so far.

    ``engine`` is given explicitly: "auto" would judge each round's few epochs too short to
    compile for, and a resumed run that cannot keep the compiled engine should fail loudly.
    """
    state: list[rp.TrainState | None] = [None]

    def run(k: int) -> list[float]:
        done = 0 if state[0] is None else state[0].epoch
        laps = _Laps(done + k)
        rp.fit(
            net,
            X,
            Y,
            epochs=done + k,
            engine=engine,
            callbacks=[laps],
            initial_state=state[0],
            **kw,
        )
        state[0] = laps.state
        return laps.times

    def history() -> rp.History:
        assert state[0] is not None
        return state[0].history

    return run, history


# -- data ----------------------------------------------------------------------------------
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    d = rp.datasets.load_digits()
    Xtr, Xte, Ytr, Yte = train_test_split(
        d.X, d.y, test_size=360, random_state=0, stratify=d.labels
    )
    return Xtr, Xte, Ytr, Yte


def mnist_like(n: int = 60_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic MNIST-shaped data: 784 features in [0, 1], 10 learnable classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centers = rng.random((10, 784), dtype=np.float32)
    X: np.ndarray = rng.random((n, 784), dtype=np.float32)
    X *= 0.5
    for s in range(0, n, 4096):  # in blocks: no temporary as large as X
        X[s : s + 4096] += 0.5 * centers[labels[s : s + 4096]]
    return X, np.eye(10, dtype=np.float32)[labels]


W2_SIZES = [784, 256, 128, 10]
W2_ETA = 0.05


def w2_network() -> rp.Network:
    return rp.Network.create(
        W2_SIZES,
        activation="relu",
        output_activation="softmax",
        loss="categorical_cross_entropy",
        init="he",
        seed=0,
        dtype=np.float32,
    )


def write_fann_data(path: Path, X: np.ndarray, Y: np.ndarray) -> None:
    with path.open("w") as f:
        f.write(f"{len(X)} {X.shape[1]} {Y.shape[1]}\n")
        for x, y in zip(X, Y, strict=True):
            f.write(" ".join(f"{v:.9g}" for v in x) + "\n" + " ".join(f"{v:g}" for v in y) + "\n")


# -- peers ---------------------------------------------------------------------------------
def ensure_fann() -> Path | None:
    """Compile the FANN harness (installing libfann-dev first if needed); its folder or None."""
    if not Path("/usr/include/doublefann.h").exists() and shutil.which("apt-get"):
        say("FANN: apt-get install -y libfann-dev")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "libfann-dev"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
    if not Path("/usr/include/doublefann.h").exists() or not shutil.which("gcc"):
        say("FANN: not available (no libfann-dev or no gcc): skipped")
        return None
    out = Path(tempfile.mkdtemp(prefix="retroprop-fann-"))
    for suffix, define, lib in (("d", ["-DUSE_DOUBLE"], "-ldoublefann"), ("f", [], "-lfloatfann")):
        exe = str(out / f"fann_w1_{suffix}")
        cmd = ["gcc", "-O2", *define, "-o", exe, str(HERE / "fann_w1.c"), lib, "-lm"]
        subprocess.run(cmd, check=True)
    return out


def ensure_torch() -> Any:
    try:
        import torch
    except ImportError:
        say("PyTorch: pip install torch==2.13.0")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "torch==2.13.0"], check=False)
        try:
            import torch
        except ImportError:
            say("PyTorch: not available: skipped")
            return None
    return torch
