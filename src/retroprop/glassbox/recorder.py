"""The per-epoch health of the network, recorded while it trains.

:class:`Recorder` is a training callback. After every epoch it runs the network's own
``forward`` and ``backward`` on a fixed sample of the training data (at most 1000 rows, drawn
once with a seed) and keeps, for every layer, the mean |δ|, the share of outputs that are
saturated (sigmoid, tanh) and the fraction of units that are dead (ReLU). The report draws
these numbers; it never recomputes them after training, when the weights of the earlier
epochs are gone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.network import ForwardPass, Network
from retroprop.errors import ParameterError
from retroprop.glassbox.diagnostics import dead_units, flat_outputs
from retroprop.train.loop import Callback, History, Logs, as_arrays

Array = NDArray[np.floating]

__all__ = ["MAX_ROWS", "Recorder", "dead_fraction", "history_key", "saturated_fraction"]

MAX_ROWS = 1000
"""The recorder's sample has at most this many rows of the training data."""


def history_key(stat: str, l: int) -> str:
    """Name of a recorded series in the epoch logs and the history.

    ``stat`` is ``"mean_abs_delta"``, ``"saturated"`` or ``"dead"``; ``l`` is the 0-based
    layer index, and the key numbers layers from 1 as the lecture does: ``mean_abs_delta_1``
    is the first hidden layer.
    """
    return f"{stat}_{l + 1}"


def saturated_fraction(activation: str, a: Array) -> float | None:
    """Share of a layer's outputs in the flat part of f; None if f cannot saturate.

    Counted over every (sample, unit) pair: a sigmoid output is saturated where o < 0.02 or
    o > 0.98, a tanh output where |o| > 0.98 (the thresholds of
    :mod:`retroprop.glassbox.diagnostics`).
    There f′(z) is nearly 0, so that sample teaches the unit's weights almost nothing. (A unit
    saturated on *every* sample, the step diagnostics' test, is rare on a large sample; the
    share shows the drift into the flat part long before.)

    Args:
        activation: the layer's activation name.
        a: its outputs o, shape (n_samples, n_units).
    """
    flat = flat_outputs(activation, a)
    if flat is None:
        return None
    return float(np.mean(flat))


def dead_fraction(activation: str, z: Array) -> float | None:
    """Fraction of a ReLU layer's units with z ≤ 0 on every sample; None for other activations.

    Such a unit outputs 0 and has f′(z) = 0 on all the samples: no δ reaches its weights.

    Args:
        activation: the layer's activation name.
        z: its net inputs, shape (n_samples, n_units).
    """
    dead = dead_units(activation, z)
    return None if dead is None else float(np.mean(dead))


class Recorder(Callback):
    """Record mean |δ|, the saturated share and the dead fraction per layer after every epoch.

    Pass it to :func:`retroprop.fit` in ``callbacks``. At each epoch end it adds the keys
    ``mean_abs_delta_l`` for every layer l, ``saturated_l`` for sigmoid and tanh layers and
    ``dead_l`` for ReLU layers (l = 1 is the first hidden layer) to the epoch logs, so later
    callbacks see them, and at the end of training it stores the same series in the
    :class:`~retroprop.train.loop.History`, where :func:`retroprop.views.report.write_report` reads
    them. δ has the lecture's sign and comes from :meth:`Network.backward` with the current
    weights: δₖ = f′(zₖ)(yₖ − oₖ) at the output, δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ below it.

    Args:
        X: training inputs, shape (n_samples, n_inputs).
        Y: their targets, shape (n_samples, n_outputs) (or (n_samples,) for one output).
        max_rows: when X has more rows, a fixed random subset of this many is used.
        seed: seeds the choice of that subset.

    Attributes:
        rows: indices into X of the recorded sample (sorted).
        epochs: the epochs recorded so far.
        mean_abs_delta: per recorded epoch, an array (n_layers,) of mean |δ| (layers 0-based).
        saturated: same, the share of saturated outputs (:func:`saturated_fraction`); NaN for
            layers that are not sigmoid or tanh.
        dead: same, the fraction of dead units (:func:`dead_fraction`); NaN for non-ReLU layers.
    """

    def __init__(self, X: Any, Y: Any, *, max_rows: int = MAX_ROWS, seed: int | None = 0) -> None:
        if not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
            raise ParameterError(f"max_rows must be a positive integer, got {max_rows!r}")
        self._X, self._Y = X, Y
        n = len(np.asarray(X))
        if n > max_rows:
            rng = np.random.default_rng(seed)
            self.rows = np.sort(rng.choice(n, size=int(max_rows), replace=False))
        else:
            self.rows = np.arange(n)
        self.epochs: list[int] = []
        self.mean_abs_delta: list[Array] = []
        self.saturated: list[Array] = []
        self.dead: list[Array] = []

    @property
    def n_rows(self) -> int:
        """Number of samples in the recorded sample."""
        return len(self.rows)

    def on_train_begin(self, network: Network) -> None:
        super().on_train_begin(network)
        X, Y = as_arrays(network, self._X, self._Y, "Recorder")  # checks shapes, finite
        self.X, self.Y = X[self.rows], Y[self.rows]
        self.epochs, self.mean_abs_delta, self.saturated, self.dead = [], [], [], []

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        assert self.network is not None, "on_train_begin was not called"
        net = self.network
        fp: ForwardPass = net.forward(self.X)
        delta = net.backward(fp, self.Y).delta
        L = len(net.layers)
        mad, sat, dead = np.full(L, np.nan), np.full(L, np.nan), np.full(L, np.nan)
        for l, layer in enumerate(net.layers):
            name = layer.activation.name
            mad[l] = float(np.mean(np.abs(delta[l])))
            s = saturated_fraction(name, fp.a[l])
            d = dead_fraction(name, fp.z[l])
            if s is not None:
                sat[l] = logs[history_key("saturated", l)] = s
            if d is not None:
                dead[l] = logs[history_key("dead", l)] = d
            logs[history_key("mean_abs_delta", l)] = float(mad[l])
        self.epochs.append(epoch)
        self.mean_abs_delta.append(mad)
        self.saturated.append(sat)
        self.dead.append(dead)
        return None

    def on_train_end(self, history: History) -> None:
        # History.append ran before the callbacks saw the logs, so the series are stored here;
        # assigning (not appending) keeps this right whatever order fit uses. A resumed run's
        # history starts before the epochs recorded here: those earlier epochs get NaN (not
        # recorded), so that every series has one value per epoch of the history.
        n = max(history.epochs, *self.epochs) if self.epochs else history.epochs
        at = np.asarray(self.epochs, dtype=np.intp) - 1  # epochs count from 1
        for stat, rows in (
            ("mean_abs_delta", self.mean_abs_delta),
            ("saturated", self.saturated),
            ("dead", self.dead),
        ):
            if not rows:
                continue
            table = np.full((n, len(rows[0])), np.nan)  # (epochs, layers)
            table[at] = rows
            for l in range(table.shape[1]):
                if not np.all(np.isnan(table[:, l])):
                    history.metrics[history_key(stat, l)] = [float(v) for v in table[:, l]]
