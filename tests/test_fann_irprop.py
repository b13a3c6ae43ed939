"""retroprop against the real libfann: FANN 2.2's ``fann_train_epoch`` (FANN_TRAIN_RPROP, its
iRprop⁻, and FANN_TRAIN_QUICKPROP, FANN's defaults) and retroprop's full-batch ``irprop-fann``
and ``quickprop`` on ``sigmoid_fann`` layers end on the same weights, epoch after epoch, from the
same initial weights (both engines).

libdoublefann (Debian's libfann-dev) is called through ctypes; without it the test is skipped.
FANN's sigmoid with steepness ½ is the logistic, its FANN_ERRORFUNC_LINEAR error is the squared
error, and its derivative clips the output to [0.01f, 0.99f] first (``fann_activation_derived``):
retroprop's ``sigmoid_fann``. On diabetes (seed 3) no output leaves that interval in the first
20 epochs, where the plain sigmoid agrees with FANN as well; the comparison runs 60, by which
the plain sigmoid is 0.5 away from FANN (checked below, so that the horizon keeps covering the
clip).
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retroprop as rp

FANN = Path(__file__).parent / "data" / "fann"
FANN_SIGMOID, FANN_ERRORFUNC_LINEAR, FANN_TRAIN_RPROP, FANN_TRAIN_QUICKPROP = 3, 0, 2, 3
f32 = lambda v: float(np.float32(v))  # noqa: E731 (FANN keeps its settings as C floats)


class Connection(ctypes.Structure):
    _fields_ = [("from_neuron", ctypes.c_uint), ("to_neuron", ctypes.c_uint),
                ("weight", ctypes.c_double)]  # fmt: skip


def load_libfann() -> Any:
    """libdoublefann through ctypes, its functions typed (skips the test without it)."""
    try:
        lib = ctypes.CDLL("libdoublefann.so.2")
    except OSError:
        pytest.skip("libdoublefann.so.2 not installed (apt-get install libfann-dev)")
    P = ctypes.c_void_p
    lib.fann_create_standard_array.restype = P
    lib.fann_create_standard_array.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_uint)]
    lib.fann_read_train_from_file.restype = P
    lib.fann_read_train_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_get_total_connections.restype = ctypes.c_uint
    lib.fann_get_total_connections.argtypes = [P]
    lib.fann_train_epoch.restype = ctypes.c_float
    lib.fann_train_epoch.argtypes = [P, P]
    for fn, args in {
        "fann_set_activation_function_hidden": [P, ctypes.c_int],
        "fann_set_activation_function_output": [P, ctypes.c_int],
        "fann_set_activation_steepness_hidden": [P, ctypes.c_double],
        "fann_set_activation_steepness_output": [P, ctypes.c_double],
        "fann_set_training_algorithm": [P, ctypes.c_int],
        "fann_set_train_error_function": [P, ctypes.c_int],
        "fann_get_connection_array": [P, ctypes.POINTER(Connection)],
        "fann_set_weight_array": [P, ctypes.POINTER(Connection), ctypes.c_uint],
        "fann_destroy": [P],
        "fann_destroy_train": [P],
    }.items():
        getattr(lib, fn).argtypes = args
        getattr(lib, fn).restype = None
    return lib


def fann_network(lib: Any, net: rp.Network) -> Any:
    """A FANN network of ``net``'s shape: logistic layers, squared error, iRprop⁻ (FANN's
    defaults: η⁺ 1.2, η⁻ 0.5, Δ₀ 0.1, Δ_min 0, Δ_max 50)."""
    sizes = (ctypes.c_uint * len(net.sizes))(*net.sizes)
    ann = lib.fann_create_standard_array(len(net.sizes), sizes)
    lib.fann_set_activation_function_hidden(ann, FANN_SIGMOID)
    lib.fann_set_activation_function_output(ann, FANN_SIGMOID)
    lib.fann_set_activation_steepness_hidden(ann, 0.5)
    lib.fann_set_activation_steepness_output(ann, 0.5)
    lib.fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR)
    lib.fann_set_training_algorithm(ann, FANN_TRAIN_RPROP)
    return ann


def connections(lib: Any, ann: Any, net: rp.Network) -> tuple[Any, list[tuple[int, int, int]]]:
    """FANN's connection array and, for each connection, (layer, j, i) of retroprop's weight
    (i = n_in: the bias). FANN numbers neurons layer after layer, each layer followed by its
    bias neuron."""
    n = lib.fann_get_total_connections(ann)
    conns = (Connection * n)()
    lib.fann_get_connection_array(ann, conns)
    starts = np.cumsum([0] + [s + 1 for s in net.sizes[:-1]])
    where = []
    for c in conns:
        layer = int(np.searchsorted(starts, c.to_neuron, side="right")) - 1
        where.append((layer - 1, c.to_neuron - starts[layer], c.from_neuron - starts[layer - 1]))
    return conns, where


def retroprop_weights(net: rp.Network, where: list[tuple[int, int, int]]) -> np.ndarray:
    """``net``'s weights in FANN's connection order."""
    out = []
    for layer, j, i in where:
        dense = net.layers[layer]
        out.append(dense.b[j] if i == dense.n_in else dense.W[j, i])
    return np.array(out)


def fann_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A FANN ``.data`` file: header ``n n_in n_out``, then input and output lines in turn."""
    numbers = path.read_text().split()
    n, n_in, n_out = (int(v) for v in numbers[:3])
    rows = np.array(numbers[3:], dtype=float).reshape(n, n_in + n_out)
    return rows[:, :n_in], rows[:, n_in:]


class Weights(rp.Callback):
    """Keeps the weights after every epoch, in FANN's connection order."""

    def __init__(self, where: list[tuple[int, int, int]]) -> None:
        super().__init__()
        self.where, self.seen = where, []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        assert self.network is not None
        self.seen.append(retroprop_weights(self.network, self.where))
        return None


def fann_epochs(algorithm: int, activation: str, epochs: int, engine: str) -> np.ndarray:
    """max over the epochs of max |w_retroprop − w_FANN| after each epoch, both started on the
    same weights of a 8-8-2 network on diabetes."""
    lib = load_libfann()
    X, Y = fann_file(FANN / "diabetes.train")
    start = rp.Network.create(
        [X.shape[1], 8, Y.shape[1]], activation=activation, loss="squared_error", seed=3
    )
    ann = fann_network(lib, start)
    lib.fann_set_training_algorithm(ann, algorithm)
    data = lib.fann_read_train_from_file(str(FANN / "diabetes.train").encode())
    conns, where = connections(lib, ann, start)
    for c, w in zip(conns, retroprop_weights(start, where), strict=True):
        c.weight = float(w)
    lib.fann_set_weight_array(ann, conns, len(conns))
    rule = fann_rule(algorithm, len(X))
    seen = Weights(where)
    rp.fit(start.copy(), X, Y, optimizer=rule, batch_size="all", epochs=epochs, engine=engine,
           callbacks=[seen])  # fmt: skip
    gaps = []
    try:
        for ours in seen.seen:
            lib.fann_train_epoch(ann, data)
            lib.fann_get_connection_array(ann, conns)
            gaps.append(np.abs(ours - np.array([c.weight for c in conns])).max())
    finally:
        lib.fann_destroy(ann)
        lib.fann_destroy_train(data)
    assert np.abs(seen.seen[-1] - retroprop_weights(start, where)).max() > 1.0  # it trained
    return np.array(gaps)


def fann_rule(algorithm: int, n: int) -> object:
    """retroprop's rule with FANN's settings as FANN holds them (C floats): iRprop⁻'s η⁺ =
    1.2f, Δ₀ = 0.1f (η⁻ 0.5 and Δ_max 50 are exact); Quickprop's decay −0.0001f and ε = η/n =
    0.7f/n in float32 (FANN steps by ε times the summed slope, retroprop by η times the mean)."""
    if algorithm == FANN_TRAIN_RPROP:
        return rp.Rprop("irprop-fann", learning_rate=f32(0.1), eta_plus=f32(1.2), delta_min=0.0)
    epsilon = float(np.float32(np.float32(0.7) / np.float32(n)))
    return rp.get_optimizer("quickprop", learning_rate=epsilon * n, decay=f32(-0.0001))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_irprop_fann_on_fann_sigmoid_ends_on_libfanns_weights(engine: str) -> None:
    # iRprop⁻ reads only the signs of the slopes: the same weights to the last bit
    gaps = fann_epochs(FANN_TRAIN_RPROP, "sigmoid_fann", 60, engine)
    np.testing.assert_allclose(gaps, 0.0, rtol=0, atol=1e-9)


def test_plain_sigmoid_parts_from_libfann_once_outputs_leave_the_clip() -> None:
    gaps = fann_epochs(FANN_TRAIN_RPROP, "sigmoid", 60, "numba")
    assert gaps[:20].max() <= 1e-9 < 0.1 < gaps[-1]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_quickprop_on_fann_sigmoid_follows_libfann(engine: str) -> None:
    # Quickprop's secant step divides by the change of slope, so the rounding of the sums
    # (their order differs) grows epoch by epoch: 3e−16 after 5 epochs, 4e−11 after 20
    gaps = fann_epochs(FANN_TRAIN_QUICKPROP, "sigmoid_fann", 20, engine)
    np.testing.assert_allclose(gaps, 0.0, rtol=0, atol=1e-9)
