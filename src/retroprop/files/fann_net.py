"""FANN's network files (``.net``, ``FANN_FLO_2.x``): importing one as a model, exporting one.

A FANN network is a list of neurons, each with ``(num_inputs, activation_function,
activation_steepness)``, and a list of connections ``(connected_to_neuron, weight)``, the first
``num_inputs`` of them feeding neuron 0, the next ones neuron 1, and so on. ``layer_sizes``
counts each layer's neurons *with* its bias neuron (the last one, whose value is 1), and the
output layer has one too; a shortcut network (``network_type=1``) has a bias neuron in the input
layer only. A neuron computes FANN's net input t = s Σᵢ wᵢ xᵢ (s: its steepness) and then

=========================  ===================================  ===========================
FANN                       its output                           retroprop (weights scaled)
=========================  ===================================  ===========================
``SIGMOID`` (3)            1 / (1 + e^(−2t))                    sigmoid, W = 2s·w
``SIGMOID_SYMMETRIC`` (5)  2 / (1 + e^(−2t)) − 1 = tanh(t)      tanh, W = s·w
``LINEAR`` (0)             t                                    identity, W = s·w
``GAUSSIAN`` (7)           e^(−t²)                              gaussian, W = s·w
``SIN_SYMMETRIC`` (14)     sin(t)                               sin, W = s·w
``COS_SYMMETRIC`` (15)     cos(t)                               cos, W = s·w
=========================  ===================================  ===========================

(retroprop's ``sigmoid_fann``, the logistic with FANN's clipped derivative, is exported as
``SIGMOID`` too; an imported ``SIGMOID`` layer becomes ``sigmoid``: the file cannot say which
derivative trained it, the outputs are the same, and a retroprop model read back after
``export --format fann`` keeps its name.)

so s = 0.5 is the logistic sigmoid and the conversion is exact up to the rounding of one
product per weight (outputs agree to about 1e-15). Steepness may differ from neuron to neuron
(it scales that neuron's row); the activation function must be one of these and the same
across a layer. Other FANN activations (threshold, stepwise approximations, symmetric Gaussian,
Elliot, linear-piece, the 0…1 sine and cosine) have no retroprop equivalent and are refused by
name, as are fixed-point files (``FANN_FIX``). A shortcut network (``network_type=1``, what
``fann_cascadetrain_on_data`` grows) becomes a :class:`~retroprop.core.cascade.CascadeNetwork`
(FANN numbers its columns inputs, bias, then the hidden neurons; retroprop keeps the bias apart).
Two differences that cannot show with trained weights: FANN clips t at ±150/s (which changes a
LINEAR neuron's output beyond that), and FANN does not apply the optional input scaling a file
may carry (``scale_included=1``) in ``fann_run``, so neither does the imported model.

Reading is strict about what it uses and lenient about the rest: the keys may come in any order
and only ``layer_sizes``, ``neurons …`` and ``connections …`` are required (FANN's own reader
wants every key of its version in its order). The file may hold at most :data:`MAX_NET_BYTES`.

Writing (:func:`save_fann`) produces the file FANN 2.2's ``fann_create_from_file`` reads: every
key of ``FANN_FLO_2.1`` in FANN's order with FANN's defaults, weights with 20 significant
digits (a double round-trips exactly). A model's standardisation of its numeric inputs is folded
into the first layer's weights (and a regression target's into a linear output layer), so the
FANN network takes the raw columns and returns the target in its own units.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Dense, Network
from retroprop.errors import RetropropError
from retroprop.files.atomic import atomic_path
from retroprop.files.limits import MAX_LAYERS, MAX_UNITS

__all__ = ["FANN_ACTIVATIONS", "MAX_NET_BYTES", "FannNet", "FannNetError", "read_fann_net"]

MAX_NET_BYTES = 64 << 20
"""Largest ``.net`` file read (64 MiB: about two million connections)."""

FANN_ACTIVATIONS = (
    "LINEAR THRESHOLD THRESHOLD_SYMMETRIC SIGMOID SIGMOID_STEPWISE SIGMOID_SYMMETRIC "
    "SIGMOID_SYMMETRIC_STEPWISE GAUSSIAN GAUSSIAN_SYMMETRIC GAUSSIAN_STEPWISE ELLIOT "
    "ELLIOT_SYMMETRIC LINEAR_PIECE LINEAR_PIECE_SYMMETRIC SIN_SYMMETRIC COS_SYMMETRIC SIN COS"
).split()
"""FANN's activation functions, by their number in ``enum fann_activationfunc_enum``."""

CONVERTIBLE = {
    3: ("sigmoid", 2.0),
    5: ("tanh", 1.0),
    0: ("identity", 1.0),
    7: ("gaussian", 1.0),
    14: ("sin", 1.0),
    15: ("cos", 1.0),
}
"""FANN activation number → (retroprop activation, factor c): retroprop's W = c·s·w."""

_NEURONS = "neurons (num_inputs, activation_function, activation_steepness)"
_CONNECTIONS = "connections (connected_to_neuron, weight)"
_NUMBER = r"\s*([-+0-9.eEinfatyINFATY]+)\s*"
_NEURON = re.compile(rf"\({_NUMBER},{_NUMBER},{_NUMBER}\)")
_CONNECTION = re.compile(rf"\({_NUMBER},{_NUMBER}\)")


class FannNetError(RetropropError):
    """A FANN network file that cannot be read or converted; the message names file and key."""


@dataclass(frozen=True)
class FannNet:
    """A FANN network as its file states it (FANN's terms, FANN's neuron numbering).

    Attributes:
        layer_sizes: neurons per layer, bias neurons included; (n_layers,).
        shortcut: whether neurons connect to every earlier layer (``network_type=1``).
        num_inputs: connections into each neuron; (n_neurons,).
        activation: FANN's activation code of each neuron; (n_neurons,).
        steepness: each neuron's steepness; (n_neurons,).
        to: the neuron each connection reads (FANN's connected_to_neuron), in the order of the
            neurons they feed; (n_connections,).
        weight: each connection's weight, in the same order; (n_connections,).
    """

    layer_sizes: tuple[int, ...]
    shortcut: bool
    num_inputs: NDArray[np.int64]
    activation: NDArray[np.int64]
    steepness: NDArray[np.float64]
    to: NDArray[np.int64]
    weight: NDArray[np.float64]


def read_fann_net(path: str | os.PathLike[str]) -> FannNet:
    """Parse a FANN ``.net`` file (keys in any order; see the module docstring).

    Raises:
        FannNetError: unreadable, too large, not a floating-point FANN 2.x file, a required key
            missing, or counts that do not agree (each naming the file, and line or key).
    """
    path = Path(path)
    source = path.name
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_NET_BYTES + 1)
    except OSError as exc:
        raise FannNetError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > MAX_NET_BYTES:
        raise FannNetError(f"{source}: larger than {MAX_NET_BYTES >> 20} MiB, the limit")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FannNetError(f"{source}: not a FANN network file (byte {exc.start + 1})") from None
    keys = _keys(text, source)
    return _net(keys, source)


def _keys(text: str, source: str) -> dict[str, tuple[int, str]]:
    """``key → (line, value)`` of every ``key=value`` line, after the version line."""
    lines = text.splitlines()
    version = lines[0].strip() if lines else ""
    if version.startswith("FANN_FIX"):
        raise FannNetError(
            f"{source}, line 1: a fixed-point FANN network ({version}); its outputs are "
            "stepwise approximations: save it with FANN's floating-point library (fann_save)"
        )
    if not re.fullmatch(r"FANN_FLO_2\.\d+", version):
        raise FannNetError(
            f"{source}, line 1: expected a FANN 2.x floating-point network ('FANN_FLO_2.1'), "
            f"got {version[:40]!r}"
        )
    keys: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise FannNetError(f"{source}, line {number}: expected key=value, got {line[:40]!r}")
        if key.strip() in keys:
            raise FannNetError(f"{source}, line {number}: {key.strip()!r} given twice")
        keys[key.strip()] = (number, value.strip())
    return keys


def _net(keys: dict[str, tuple[int, str]], source: str) -> FannNet:
    """The network the keys describe, its counts checked against each other."""
    for key in ("layer_sizes", _NEURONS, _CONNECTIONS):
        if key not in keys:
            raise FannNetError(f"{source}: no {key!r} line; is it a FANN network file?")
    line, value = keys["layer_sizes"]
    sizes = tuple(_integer(v, source, line, "layer_sizes") for v in value.split())
    if not 2 <= len(sizes) <= MAX_LAYERS or not all(1 <= n <= MAX_UNITS for n in sizes):
        raise FannNetError(
            f"{source}, line {line}: layer_sizes: expected 2 to {MAX_LAYERS} layers of 1 to "
            f"{MAX_UNITS:,} neurons, got {value[:60]!r}"
        )
    shortcut = _shortcut(keys, source)
    neurons = _groups(keys[_NEURONS], _NEURON, 3, source, "neurons")
    connections = _groups(keys[_CONNECTIONS], _CONNECTION, 2, source, "connections")
    if len(neurons) != sum(sizes):
        raise FannNetError(
            f"{source}, line {keys[_NEURONS][0]}: {len(neurons):,} neurons, but layer_sizes "
            f"adds up to {sum(sizes):,}"
        )
    num_inputs = neurons[:, 0].astype(np.int64)
    if np.any(neurons[:, :2] != np.round(neurons[:, :2])) or np.any(neurons[:, :2] < 0):
        raise FannNetError(f"{source}, line {keys[_NEURONS][0]}: neuron counts must be whole")
    if int(num_inputs.sum()) != len(connections):
        raise FannNetError(
            f"{source}, line {keys[_CONNECTIONS][0]}: {len(connections):,} connections, but "
            f"the neurons take {int(num_inputs.sum()):,} inputs"
        )
    to = connections[:, 0]
    if np.any(to != np.round(to)) or np.any(to < 0) or np.any(to >= len(neurons)):
        raise FannNetError(
            f"{source}, line {keys[_CONNECTIONS][0]}: a connection to a neuron that does not exist"
        )
    return FannNet(
        sizes,
        shortcut,
        num_inputs,
        neurons[:, 1].astype(np.int64),
        neurons[:, 2],
        to.astype(np.int64),
        connections[:, 1],
    )


def _integer(text: str, source: str, line: int, key: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise FannNetError(f"{source}, line {line}: {key}: {text[:20]!r} is not a count")
    return int(text)


def _shortcut(keys: dict[str, tuple[int, str]], source: str) -> bool:
    """``network_type`` (FANN 2.1 files) or ``shortcut_connections`` (2.0); layered if neither."""
    for key in ("network_type", "shortcut_connections"):
        if key in keys:
            line, value = keys[key]
            if value not in ("0", "1"):
                raise FannNetError(f"{source}, line {line}: {key}: expected 0 or 1, got {value!r}")
            return value == "1"
    return False


def _groups(
    entry: tuple[int, str], pattern: re.Pattern[str], width: int, source: str, what: str
) -> NDArray[np.float64]:
    """The ``(a, b[, c])`` groups of a value as a (n, width) array of finite numbers."""
    line, value = entry
    matches = pattern.findall(value)
    if pattern.sub("", value).strip():
        raise FannNetError(
            f"{source}, line {line}: {what}: expected groups of {width} numbers like "
            f"({', '.join('x' * width)}), got something else"
        )
    try:
        numbers = np.array(matches, dtype=np.float64).reshape(-1, width)
    except ValueError:
        raise FannNetError(f"{source}, line {line}: {what}: a value is not a number") from None
    if not np.all(np.isfinite(numbers)):
        raise FannNetError(f"{source}, line {line}: {what}: a value is not a finite number")
    return numbers


# -- FANN → retroprop -----------------------------------------------------------------------
def fann_to_network(net: FannNet, source: str) -> Network | CascadeNetwork:
    """The retroprop network computing what ``fann_run`` computes (module docstring): a
    :class:`Network`, or for a shortcut network a
    :class:`~retroprop.core.cascade.CascadeNetwork` (each layer reads every earlier one).

    Raises:
        FannNetError: an activation retroprop does not have, a layer mixing activations, or a
            connection to a neuron the layer cannot read.
    """
    first = np.concatenate([[0], np.cumsum(net.num_inputs)])  # each neuron's first connection
    starts = [int(n) for n in np.concatenate([[0], np.cumsum(net.layer_sizes)])]
    blocks = []
    for l in range(1, len(net.layer_sizes)):
        if net.shortcut:  # everything before the layer; only the input layer has a bias
            reads, bias, neurons = range(starts[l]), starts[1] - 1, range(starts[l], starts[l + 1])
        else:  # the layer before, whose last neuron is its bias; this one's last is unused
            reads, bias = range(starts[l - 1], starts[l]), starts[l] - 1
            neurons = range(starts[l], starts[l + 1] - 1)
        blocks.append(_layer(net, first, reads, bias, neurons, l, source))
    if net.shortcut:
        return CascadeNetwork(blocks[:-1], blocks[-1], loss="squared_error")
    return Network(blocks, loss="squared_error")


def _layer(
    net: FannNet,
    first: NDArray[np.int64],
    reads: range,
    bias: int,
    neurons: range,
    l: int,
    source: str,
) -> Dense:
    """Layer ``l``: dense weights from the neurons it reads but the bias neuron, the bias from
    that one, each neuron's row scaled by c·s (a missing connection is a zero weight)."""
    activation, c = _activation(net, neurons, l, source)
    W = np.zeros((len(neurons), len(reads) - 1))
    b = np.zeros(len(neurons))
    for row, j in enumerate(neurons):
        span = slice(int(first[j]), int(first[j + 1]))
        to, w = net.to[span], net.weight[span] * (c * net.steepness[j])
        if np.any((to < reads.start) | (to >= reads.stop)):
            raise FannNetError(f"{source}: neuron {j} of layer {l} connects past what it reads")
        is_bias = to == bias
        b[row] = w[is_bias].sum()
        column = to[~is_bias] - reads.start - (to[~is_bias] > bias)  # the bias has no column
        np.add.at(W[row], column, w[~is_bias])
    return Dense(W, b, get_activation(activation))


def _activation(net: FannNet, neurons: range, l: int, source: str) -> tuple[str, float]:
    """The retroprop activation and factor c of the layer's neurons (one FANN activation)."""
    codes = {int(net.activation[j]) for j in neurons}
    if len(codes) != 1:
        names = ", ".join(FANN_ACTIVATIONS[c] for c in sorted(codes) if c < len(FANN_ACTIVATIONS))
        raise FannNetError(f"{source}: layer {l} mixes FANN activations ({names})")
    code = codes.pop()
    if code not in CONVERTIBLE:
        name = FANN_ACTIVATIONS[code] if code < len(FANN_ACTIVATIONS) else f"number {code}"
        raise FannNetError(
            f"{source}: layer {l} uses FANN's {name} activation, which retroprop does not have "
            f"(it converts {', '.join(FANN_ACTIVATIONS[c] for c in sorted(CONVERTIBLE))})"
        )
    return CONVERTIBLE[code]


# -- retroprop → FANN -----------------------------------------------------------------------
_EXPORTED = {
    "sigmoid": (3, 0.5),
    "sigmoid_fann": (3, 0.5),  # FANN's own sigmoid, clipped derivative and all
    "tanh": (5, 1.0),
    "identity": (0, 1.0),
    "gaussian": (7, 1.0),
    "sin": (14, 1.0),
    "cos": (15, 1.0),
}
"""retroprop activation → (FANN activation number, steepness) that computes it unscaled."""

_DEFAULTS = """\
learning_rate=0.700000
connection_rate=1.000000
network_type=0
learning_momentum=0.000000
training_algorithm=2
train_error_function=1
train_stop_function=0
cascade_output_change_fraction=0.010000
quickprop_decay=-0.000100
quickprop_mu=1.750000
rprop_increase_factor=1.200000
rprop_decrease_factor=0.500000
rprop_delta_min=0.000000
rprop_delta_max=50.000000
rprop_delta_zero=0.100000
cascade_output_stagnation_epochs=12
cascade_candidate_change_fraction=0.010000
cascade_candidate_stagnation_epochs=12
cascade_max_out_epochs=150
cascade_min_out_epochs=50
cascade_max_cand_epochs=150
cascade_min_cand_epochs=50
cascade_num_candidate_groups=2
bit_fail_limit=3.49999999999999977796e-01
cascade_candidate_limit=1.00000000000000000000e+03
cascade_weight_multiplier=4.00000000000000022204e-01
cascade_activation_functions_count=10
cascade_activation_functions=3 5 7 8 10 11 14 15 16 17
cascade_activation_steepnesses_count=4
cascade_activation_steepnesses=2.50000000000000000000e-01 5.00000000000000000000e-01 \
7.50000000000000000000e-01 1.00000000000000000000e+00
"""
"""The keys FANN 2.2's reader requires before ``layer_sizes``, with its defaults."""


def fann_text(network: Network | CascadeNetwork) -> str:
    """A network as a ``FANN_FLO_2.1`` file's text (FANN's key order and defaults); a cascade
    as a shortcut network (``network_type=1``: one bias neuron, in the input layer, and each
    layer connected to every neuron before it).

    Raises:
        FannNetError: an activation FANN does not have (softmax, ReLU, …).
    """
    for l, layer in enumerate(network.layers):
        if layer.activation.name not in _EXPORTED:
            raise FannNetError(
                f"layer {l + 1} uses {layer.activation.name}, which FANN does not have (it "
                f"takes {', '.join(_EXPORTED)}); a classifier exported to FANN needs "
                "sigmoid outputs (train --output-activation sigmoid --loss squared_error)"
            )
    shortcut = isinstance(network, CascadeNetwork)
    n_in = network.sizes[0]
    extra = 0 if shortcut else 1  # a layered network's layers end with a bias neuron
    sizes = [n_in + 1] + [layer.n_out + extra for layer in network.layers]
    neurons = ["(0, 0, 0.00000000000000000000e+00)"] * sizes[0]
    connections = []
    start = 0  # the first neuron the layer reads
    for layer in network.layers:
        code, s = _EXPORTED[layer.activation.name]
        neurons += [f"({layer.n_in + 1}, {code}, {s:.20e})"] * layer.n_out
        if not shortcut:
            neurons.append(f"(0, {code}, {s:.20e})")  # the layer's bias neuron
        for j in range(layer.n_out):
            W, b = layer.W[j], layer.b[j]  # FANN's order: inputs, bias, then (shortcut) units
            row = [*W, b] if not shortcut else [*W[:n_in], b, *W[n_in:]]
            connections += [f"({start + i}, {float(w):.20e})" for i, w in enumerate(row)]
        start += 0 if shortcut else layer.n_in + 1
    defaults = _DEFAULTS.replace("network_type=0", f"network_type={int(shortcut)}")
    return (
        f"FANN_FLO_2.1\nnum_layers={len(sizes)}\n{defaults}"
        f"layer_sizes={' '.join(map(str, sizes))} \nscale_included=0\n"
        f"{_NEURONS}={' '.join(neurons)} \n{_CONNECTIONS}={' '.join(connections)} \n"
    )


def write_fann_net(network: Network | CascadeNetwork, path: str | os.PathLike[str]) -> None:
    """Write :func:`fann_text` of ``network`` to ``path`` atomically."""
    text = fann_text(network)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="ascii")
