"""W4 full batch: FANN's own ground — iRprop⁻ and Quickprop with FANN's settings, epoch by epoch.

FANN 2.2 (Debian's libfann) is called through ctypes: ``fann_train_epoch`` on the same network
(sigmoid layers: FANN_SIGMOID with steepness 0.5 is the logistic 1/(1 + e^(−z))), the same data
and the same initial weights (copied into FANN with ``fann_set_weight_array``). retroprop's
layers are ``sigmoid_fann``: the logistic with FANN's derivative, which clips the output to
[0.01, 0.99] first (``fann_activation_derived``), so that both train the same function of the
weights (with the plain sigmoid′ a saturated unit stops learning, in FANN it never does).
FANN's error function is set to FANN_ERRORFUNC_LINEAR (squared error, as retroprop's); its
default, a tanh-shaped error, trains a different objective. FANN's settings: iRprop⁻ with
η⁺ 1.2, η⁻ 0.5, Δ_min 0, Δ_max 50, Δ₀ 0.1 (C floats: retroprop is given the same float32
values), which retroprop runs as FANN computes it, ``Rprop("irprop-fann")`` (its step rule
differs from Igel & Hüsken's iRprop⁻, ``"irprop-"``: the row is labelled "irprop- (FANN's)");
Quickprop with η 0.7, μ 1.75, decay −0.0001 (retroprop's defaults for ``"quickprop"``), given
as FANN holds them: the decay as the C float −0.0001f, and η such that η/n is FANN's
ε = 0.7f/n in float32. retroprop runs ``fit(..., batch_size="all")`` with its default training
error (the lecture's MSE of each epoch's final weights; on the full batch it costs no extra
pass), float64 against libdoublefann.

Timing: each round, retroprop runs one plain ``fit`` call (no per-epoch callback, so its epochs
run several per compiled call, as a user's ``fit`` runs them) resumed where the last stopped,
and FANN as many ``fann_train_epoch`` calls; an epoch's seconds are the round's mean on both
sides (retroprop's from the history's time stamps, fit's setup and first pass left out).

Data: FANN's own files ``diabetes`` (PROBEN1, 8-8-2), ``parity8`` (8-16-1) and ``two-spiral``
(2-32-1) from ``../shared/data/fann`` (or ``$RETROPROP_FANN_DATA``), and three generated sets
of the shapes of PROBEN1's ``thyroid`` (21-8-3, 3,600 training samples, 6 continuous and 15
binary inputs), ``gene`` (120-16-3, 1,588 samples, one-hot coded bases) and ``mushroom``
(125-8-2, 4,062 samples, one-hot attributes), labelled by a random teacher network so that
they can be learnt.

Test error: the percentage of misclassified test samples (arg max, or o ≥ ½ for one output) and
FANN's MSE (mean of (y − o)² over samples and outputs), after all epochs.
"""

from __future__ import annotations

import argparse
import ctypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import HERE, Contender, Row, _Laps, interleave, say, timed, versus

import retroprop as rp


def fann_data_dir() -> Path:
    """``$RETROPROP_FANN_DATA``, else ``shared/data/fann`` beside the clone (or beside the
    folder of worktrees it sits in)."""
    if os.environ.get("RETROPROP_FANN_DATA"):
        return Path(os.environ["RETROPROP_FANN_DATA"])
    for up in (HERE.parent.parent, HERE.parent.parent.parent):
        if (up / "shared" / "data" / "fann").is_dir():
            return up / "shared" / "data" / "fann"
    return HERE.parent.parent / "shared" / "data" / "fann"


LIB = "libdoublefann.so.2"
FANN_SIGMOID, FANN_ERRORFUNC_LINEAR = 3, 0
FANN_TRAIN = {"irprop- (FANN's)": 2, "quickprop": 3}
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Connection(ctypes.Structure):
    _fields_ = [("from_neuron", ctypes.c_uint), ("to_neuron", ctypes.c_uint),
                ("weight", ctypes.c_double)]  # fmt: skip


def read_fann(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A FANN ``.data`` file: header ``n n_in n_out``, then input and output lines in turn."""
    numbers = path.read_text().split()
    n, n_in, n_out = (int(v) for v in numbers[:3])
    rows = np.array(numbers[3:], dtype=float).reshape(n, n_in + n_out)
    return rows[:, :n_in], rows[:, n_in:]


def teacher_labels(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """One-hot labels of a random 16-unit tanh teacher (learnable, not linearly separable)."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0, 1.5 / np.sqrt(X.shape[1]), (X.shape[1], 16))
    W2 = rng.normal(0, 1.0, (16, k))
    scores = np.tanh((X - X.mean(0)) @ W1) @ W2 + rng.normal(0, 0.3, (len(X), k))
    if k == 2:
        return np.eye(2)[(scores[:, 0] > np.median(scores[:, 0])).astype(int)]
    return np.eye(k)[scores.argmax(1)]


def one_hot_columns(rng: np.random.Generator, n: int, levels: list[int]) -> np.ndarray:
    return np.hstack([np.eye(m)[rng.integers(0, m, n)] for m in levels])


def generated(name: str) -> Split:
    """thyroid-, gene- or mushroom-shaped data (train, test) with teacher labels."""
    rng = np.random.default_rng({"thyroid": 1, "gene": 2, "mushroom": 3}[name])
    if name == "thyroid":  # 3,600 + 1,800; 6 continuous in [0, 1], 15 binary; 3 classes
        n_tr, n_te, k = 3600, 1800, 3
        X = np.hstack([rng.random((n_tr + n_te, 6)), rng.random((n_tr + n_te, 15)) < 0.2])
    elif name == "gene":  # 1,588 + 795; 60 bases, 2 bits each; 3 classes
        n_tr, n_te, k = 1588, 795, 3
        X = rng.integers(0, 2, (n_tr + n_te, 120)).astype(float)
    else:  # 4,062 + 2,031; 22 categorical attributes, 125 one-hot columns; 2 classes
        n_tr, n_te, k = 4062, 2031, 2
        levels = [6, 4, 10, 2, 9, 2, 2, 2, 12, 2, 5, 4, 4, 9, 9, 2, 4, 3, 5, 9, 6, 14]
        X = one_hot_columns(rng, n_tr + n_te, levels)
    Y = teacher_labels(X.astype(float), k, seed=7)
    return X[:n_tr], X[n_tr:], Y[:n_tr], Y[n_tr:]


def fann_file(name: str) -> Split:
    Xtr, Ytr = read_fann(fann_data_dir() / f"{name}.train")
    Xte, Yte = read_fann(fann_data_dir() / f"{name}.test")
    return Xtr, Xte, Ytr, Yte


SETS: dict[str, tuple[int, Any]] = {
    "diabetes": (8, lambda: fann_file("diabetes")),
    "parity8": (16, lambda: fann_file("parity8")),
    "two-spiral": (32, lambda: fann_file("two-spiral")),
    "thyroid (generated)": (8, lambda: generated("thyroid")),
    "gene (generated)": (16, lambda: generated("gene")),
    "mushroom (generated)": (8, lambda: generated("mushroom")),
}


def test_error(O: np.ndarray, Y: np.ndarray) -> Row:
    wrong = (O[:, 0] >= 0.5) != (Y[:, 0] >= 0.5) if Y.shape[1] == 1 else O.argmax(1) != Y.argmax(1)
    return {
        "test_error_pct": 100.0 * float(np.mean(wrong)),
        "test_mse": float(np.mean((Y - O) ** 2)),
    }


def load_fann() -> Any:
    try:
        lib = ctypes.CDLL(LIB)
    except OSError:
        say(f"FANN: {LIB} not found (apt-get install libfann-dev): W4 skipped")
        return None
    P = ctypes.c_void_p
    lib.fann_create_standard_array.restype = P
    lib.fann_create_standard_array.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_uint)]
    for fn, args in {
        "fann_set_activation_function_hidden": [P, ctypes.c_int],
        "fann_set_activation_function_output": [P, ctypes.c_int],
        "fann_set_activation_steepness_hidden": [P, ctypes.c_double],
        "fann_set_activation_steepness_output": [P, ctypes.c_double],
        "fann_set_training_algorithm": [P, ctypes.c_int],
        "fann_set_train_error_function": [P, ctypes.c_int],
        "fann_set_rprop_delta_min": [P, ctypes.c_float],
        "fann_get_connection_array": [P, ctypes.POINTER(Connection)],
        "fann_set_weight_array": [P, ctypes.POINTER(Connection), ctypes.c_uint],
        "fann_destroy": [P],
        "fann_destroy_train": [P],
    }.items():
        getattr(lib, fn).argtypes = args
        getattr(lib, fn).restype = None
    lib.fann_get_total_connections.argtypes = [P]
    lib.fann_get_total_connections.restype = ctypes.c_uint
    lib.fann_read_train_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_read_train_from_file.restype = P
    lib.fann_train_epoch.argtypes = [P, P]
    lib.fann_train_epoch.restype = ctypes.c_float
    lib.fann_run.argtypes = [P, ctypes.POINTER(ctypes.c_double)]
    lib.fann_run.restype = ctypes.POINTER(ctypes.c_double)
    return lib


def fann_weights(lib: Any, ann: int, net: rp.Network) -> None:
    """Copy the network's weights into FANN: neurons are numbered layer after layer, each layer
    followed by its bias neuron; a neuron's connections come from the previous layer's neurons
    and bias."""
    n = lib.fann_get_total_connections(ann)
    conns = (Connection * n)()
    lib.fann_get_connection_array(ann, conns)
    starts = np.cumsum([0] + [s + 1 for s in net.sizes[:-1]])  # first neuron of each layer
    for c in conns:
        l = int(np.searchsorted(starts, c.to_neuron, side="right")) - 1  # layer of the target
        j, i = c.to_neuron - starts[l], c.from_neuron - starts[l - 1]
        layer = net.layers[l - 1]
        c.weight = float(layer.b[j] if i == layer.n_in else layer.W[j, i])
    lib.fann_set_weight_array(ann, conns, n)


def write_data(path: Path, X: np.ndarray, Y: np.ndarray) -> None:
    with path.open("w") as f:
        f.write(f"{len(X)} {X.shape[1]} {Y.shape[1]}\n")
        for x, y in zip(X, Y, strict=True):
            f.write(
                " ".join(repr(float(v)) for v in x) + "\n" + " ".join(f"{v:g}" for v in y) + "\n"
            )


def w4_fann(lib: Any, net: rp.Network, split: Split, rule: str, total: int, tmp: Path) -> Contender:
    Xtr, Xte, Ytr, Yte = split
    write_data(tmp / "train.data", Xtr, Ytr)
    data = lib.fann_read_train_from_file(str(tmp / "train.data").encode())
    sizes = (ctypes.c_uint * len(net.sizes))(*net.sizes)
    ann = lib.fann_create_standard_array(len(net.sizes), sizes)
    lib.fann_set_activation_function_hidden(ann, FANN_SIGMOID)
    lib.fann_set_activation_function_output(ann, FANN_SIGMOID)
    lib.fann_set_activation_steepness_hidden(ann, 0.5)
    lib.fann_set_activation_steepness_output(ann, 0.5)
    lib.fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR)
    lib.fann_set_training_algorithm(ann, FANN_TRAIN[rule])
    fann_weights(lib, ann, net)
    train_epoch = lib.fann_train_epoch

    def finish() -> Row:
        O = np.empty_like(Yte)
        for s, x in enumerate(np.ascontiguousarray(Xte, dtype=np.float64)):
            out = lib.fann_run(ann, x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
            O[s] = out[: Yte.shape[1]]
        lib.fann_destroy(ann)
        lib.fann_destroy_train(data)
        return {"epochs": total, **test_error(O, Yte)}

    return Contender(round_mean(timed(lambda: train_epoch(ann, data))), total, finish)


def round_mean(run: Callable[[int], list[float]]) -> Callable[[int], list[float]]:
    """``run`` with each epoch's seconds replaced by the round's mean, as :func:`plain_fit`
    measures retroprop: on a loaded machine a preemption then weighs alike on both sides
    (a median over single epochs would drop FANN's and not retroprop's)."""

    def mean_of(k: int) -> list[float]:
        seconds = run(k)
        return [sum(seconds) / len(seconds)] * len(seconds) if seconds else seconds

    return mean_of


def optimizer(rule: str, n_samples: int) -> Any:
    if rule == "irprop- (FANN's)":
        f32 = np.float32  # FANN keeps its settings as C floats: η⁺ = 1.2f, Δ₀ = 0.1f
        return rp.Rprop("irprop-fann", learning_rate=float(f32(0.1)), eta_plus=float(f32(1.2)),
                        delta_min=0.0, delta_max=50.0)  # fmt: skip
    return fann_quickprop(n_samples)


def fann_quickprop(n_samples: int) -> Any:
    """Quickprop with FANN's defaults as FANN holds them: it steps by ε·S with S the slope
    summed over the epoch and ε = η/n a C float (0.7f/n in float32), and adds the decay
    −0.0001f; retroprop steps by η·S/n (the mean slope), so η = n·float32(0.7f/n). Without
    this the two runs part at 1e-10 after 5 epochs on diabetes (Quickprop's secant step
    amplifies any difference) instead of at rounding."""
    f32 = np.float32
    epsilon = float(f32(f32(0.7) / f32(n_samples)))
    return rp.get_optimizer("quickprop", learning_rate=epsilon * n_samples,
                            decay=float(f32(-0.0001)))  # fmt: skip


def plain_fit(
    net: rp.Network, X: np.ndarray, Y: np.ndarray, **settings: Any
) -> Callable[[int], list[float]]:
    """``run(k)``: k more epochs of one plain ``fit`` call on ``net`` (no callback: the epochs
    run several per compiled call, as a user's ``fit`` runs them), resumed where the last
    stopped. Each epoch's seconds are the mean over the call's epochs of the ``time`` column
    of its history, from the first epoch's end to the last's: fit's setup and resuming, paid
    once per call, are not charged to the epochs (as :func:`_common.resumed_fit` does).

    The state to resume from comes from replaying the same epochs untimed on a copy, with
    ``_Laps`` (a callback after every epoch); the two must end on the same weights, bit for
    bit."""
    shadow = net.copy()
    states: list[rp.TrainState | None] = [None]

    def run(k: int) -> list[float]:
        laps = _Laps((0 if states[-1] is None else states[-1].epoch) + k)
        history = rp.fit(net, X, Y, epochs=laps.last, engine="numba", initial_state=states[-1],
                         **settings)  # fmt: skip
        rp.fit(shadow, X, Y, epochs=laps.last, engine="numba", callbacks=[laps],
               initial_state=states[-1], **settings)  # fmt: skip
        states.append(laps.state)
        assert np.array_equal(net.get_flat(), shadow.get_flat()), "the replay differs"
        stamps = history["time"][-k:]
        return [(stamps[-1] - stamps[0]) / max(k - 1, 1)] * k

    return run


def w4_retroprop(net: rp.Network, split: Split, rule: str, total: int) -> Contender:
    Xtr, Xte, Ytr, Yte = split
    settings: dict[str, Any] = {
        "optimizer": optimizer(rule, len(Xtr)), "batch_size": "all", "seed": 0,
    }  # fmt: skip
    rp.fit(net.copy(), Xtr, Ytr, epochs=2, engine="numba", **settings)  # compile outside
    run = plain_fit(net, Xtr, Ytr, **settings)

    def finish() -> Row:
        return {"epochs": total, **test_error(net.predict(Xte), Yte)}

    return Contender(run, total, finish)


def run_w4(args: argparse.Namespace) -> list[Row]:
    import tempfile

    lib = load_fann()
    rows: list[Row] = []
    epochs = 60 if args.quick else 300
    for name, (hidden, load) in SETS.items():
        split = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in load())
        Xtr, Ytr = split[0], split[2]
        sizes = [Xtr.shape[1], hidden, Ytr.shape[1]]
        for rule in FANN_TRAIN:
            say(f"W4 {name} {sizes} {rule}")
            net = rp.Network.create(sizes, activation="sigmoid_fann", seed=0)
            contenders = {"retroprop": w4_retroprop(net.copy(), split, rule, epochs)}
            with tempfile.TemporaryDirectory() as tmp:
                if lib is not None:
                    contenders["fann"] = w4_fann(lib, net.copy(), split, rule, epochs, Path(tmp))
                res = interleave(contenders, args.rounds)
            ours, fann = res["retroprop"], res.get("fann")
            rows.append({
                "set": name, "sizes": sizes, "n_train": len(Xtr), "rule": rule,
                "retroprop": ours, "fann": fann,
                "vs_fann": versus(fann["epoch"] if fann else None, ours["epoch"]),
            })  # fmt: skip
    return rows
