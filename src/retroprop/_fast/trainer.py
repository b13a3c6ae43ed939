"""Host side of the numba kernels: flat buffers, constants and per-epoch calls."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop._fast import codegen
from retroprop._fast import constants as K
from retroprop._fast.constants import ACT_CODES, LOSS_CODES, layer_offsets
from retroprop._fast.kernels import evaluate, train_epoch
from retroprop._fast.run import Order, Tally, TrainingRun
from retroprop.core.activations import FANN_CLIP, LEAKY_SLOPE
from retroprop.core.metrics import logs_from_sums
from retroprop.core.network import Network
from retroprop.core.optimizers import SGD, Adam, Momentum, State

Array = NDArray[np.floating]

__all__ = ["CompiledTrainer", "KernelTrainer", "numpy_state", "scalar_slots"]


def scalar_slots(network: Network, optimizer: Any, weight_decay: float) -> tuple[Array, Array, int]:
    """The kernel's scalar slots (in the network's dtype), (β₁, β₂) in float64, optimizer code."""
    dtype = network.dtype
    eps = float(np.finfo(dtype).eps)
    c = np.zeros(K.N_CONSTANTS, dtype=dtype)
    c[K.C_ONE], c[K.C_HALF] = 1.0, 0.5
    c[K.C_LEAK] = LEAKY_SLOPE
    c[K.C_CLIP_LO], c[K.C_CLIP_HI] = FANN_CLIP
    c[K.C_P_LO], c[K.C_P_HI] = eps, 1.0 - eps
    c[K.C_ETA], c[K.C_NEG_ETA] = optimizer.learning_rate, -optimizer.learning_rate
    c[K.C_WD] = weight_decay
    betas = np.zeros(2)
    if isinstance(optimizer, SGD):
        code = K.SGD
    elif isinstance(optimizer, Momentum):
        code = K.NESTEROV if optimizer.nesterov else K.MOMENTUM
        c[K.C_MU] = optimizer.momentum
    else:
        assert isinstance(optimizer, Adam)
        code = K.ADAM
        b1, b2 = optimizer.beta_1, optimizer.beta_2
        c[K.C_B1], c[K.C_B2], c[K.C_1MB1], c[K.C_1MB2] = b1, b2, 1 - b1, 1 - b2
        c[K.C_ADAM_EPS] = optimizer.epsilon
        betas[:] = b1, b2
    return c, betas, code


def numpy_state(opt: int, m: list[Array], v: list[Array], t: int, betas: Array) -> State:
    """The optimizer state in the form of the NumPy optimizer's ``init``/``update``, from the
    compiled engine's moments (per parameter, network shapes; the caller's copies).

    Adam's m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ) are divided by Python floats, as the
    reference does, so they keep the dtype of m and v.
    """
    if opt == K.SGD:
        return {}
    if opt in (K.MOMENTUM, K.NESTEROV):
        return {"velocity": m}
    if t == 0:
        return {"t": 0, "m": m, "v": v, "m_hat": None, "v_hat": None}
    b1, b2 = (float(b) for b in betas)
    m_hat = [mi / (1 - b1**t) for mi in m]
    v_hat = [vi / (1 - b2**t) for vi in v]
    return {"t": t, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}


class CompiledTrainer:
    """The setup both compiled trainers share: the run's data, batch size and weight decay,
    the loss code and the kernels' scalar slots (:func:`scalar_slots`)."""

    def __init__(self, run: TrainingRun) -> None:
        self.network = run.network
        self.X, self.Y = run.X, run.Y
        self.k = run.batch_size
        self.weight_decay = run.weight_decay
        self.loss_code = LOSS_CODES[run.network.loss.name]
        self.c, self.betas, self.opt = scalar_slots(run.network, run.optimizer, run.weight_decay)


class KernelTrainer(CompiledTrainer):
    """Trains one epoch per kernel call; optimizer state persists across epochs.

    ``generated=False`` skips the kernels generated per architecture (only the generic ones
    are then used, e.g. by the estimators, whose epochs never take the fused path).
    """

    def __init__(self, run: TrainingRun, *, generated: bool = True) -> None:
        super().__init__(run)
        network, dtype = self.network, self.network.dtype
        self.sizes, self.w_off, self.b_off, self.a_off = layer_offsets(network.sizes)
        self.acts = np.array([ACT_CODES[ly.activation.name] for ly in network.layers])
        n_params, n_units = network.get_flat().size, int(self.sizes.sum())
        self.theta = np.zeros(n_params, dtype=dtype)
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)
        self.t = np.zeros(1, dtype=np.int64)
        self.act = np.zeros(n_units, dtype=dtype)
        self.delta = np.zeros(n_units, dtype=dtype)
        self.G = np.zeros(n_params, dtype=dtype)
        self.layout = (self.sizes, self.w_off, self.b_off, self.a_off, self.acts)
        self.work = (self.act, self.delta, self.G)
        self.out = np.zeros(3)
        self.no_tally = np.zeros(0)
        self._pull()
        self.params = [p for WT_b in self._views() for p in WT_b[2:]]  # W₁ᵀ, b₁, … inside θ
        # Online SGD without weight decay and every epoch's logs: the kernels generated for
        # this architecture once they are compiled (numba's cache, or a worker compiling them
        # meanwhile), else the generic ones, which give the same numbers bit for bit.
        self.fused = self.k == 1 and self.opt == K.SGD and self.weight_decay == 0
        self._csr: dict[int, tuple[Array, tuple[Any, Any, Any]]] = {}
        self.special = self._generated() if generated else None
        self._ready: set[str] = set()
        if self.special is not None:
            names = ("train", "train_tallied", "evaluate") if self.fused else ("evaluate",)
            self._ready = self.special.ready({name: self._arguments(name) for name in names})

    def _generated(self) -> codegen.Generated | None:
        """The kernels generated for this architecture, or None (outputs too wide to unroll, or
        no writable cache directory: the generic kernels will do)."""
        if not codegen.applies(self.network.sizes):
            return None
        try:
            return codegen.load(self.network.sizes, self.acts.tolist(), self.loss_code)
        except OSError:
            return None

    def _arguments(
        self,
        name: str,
        X: Array | None = None,
        Y: Array | None = None,
        index: Order | None = None,
        tally: Tally | None = None,
        classify: bool = False,
    ) -> tuple[Any, ...]:
        """The arguments of generated function ``name`` (:func:`.codegen.source`) for the
        training data (or X, Y), the sample order ``index`` and the sums ``tally``; the
        defaults have the types of a run's, to compile ahead."""
        csr = self._sparse(self.X if X is None else X)
        Y = self.Y if Y is None else Y
        if name == "evaluate":
            return (*csr, Y, self.c, classify, self.out, *self.params)
        index = np.zeros(0, dtype=np.intp) if index is None else index
        if name == "train":
            return (*csr, Y, index, self.c, *self.params)
        tally = self.out if tally is None else tally
        return (*csr, Y, index, self.c, classify, tally, *self.params)

    def _run_generated(self, name: str, args: tuple[Any, ...]) -> bool:
        """Run generated function ``name`` on ``args`` if its machine code is ready (it can
        become ready between two calls: an epoch boundary); returns whether it ran."""
        return self.special is not None and codegen.run_generated(
            self.special, self._ready, name, args
        )

    def reuse(self, X: Array, Y: Array) -> None:
        """Train on new data X, Y (the same numbers of inputs and outputs) from now on, keeping
        the buffers, kernels and optimizer state: what successive ``partial_fit`` calls of the
        estimators share. The sparse rows of the old data are dropped."""
        dtype = self.network.dtype
        self.X = np.ascontiguousarray(X, dtype=dtype)
        self.Y = np.ascontiguousarray(Y, dtype=dtype)
        self._csr.clear()

    def _views(self) -> list[tuple[Array, Array, Array, Array]]:
        """(W, b) of each layer with their places in θ: Wᵀ (n_in, n_out) and b."""
        views = []
        for l, layer in enumerate(self.network.layers):
            w, b = int(self.w_off[l]), int(self.b_off[l])
            WT = self.theta[w:b].reshape(layer.n_in, layer.n_out)
            views.append((layer.W, layer.b, WT, self.theta[b : b + layer.n_out]))
        return views

    def _pull(self) -> None:
        """θ ← the network's weights (a callback may have changed them between epochs)."""
        for W, b, WT, theta_b in self._views():
            WT[...] = W.T
            theta_b[...] = b

    def _push(self) -> None:
        """The network's weights ← θ."""
        for W, b, WT, theta_b in self._views():
            W[...] = WT.T
            b[...] = theta_b

    def optimizer_state(self) -> dict[str, Any]:
        """The optimizer state in the form of the optimizer's ``init``/``update`` (copies)."""
        m, v = self._unflatten(self.m), self._unflatten(self.v)
        return numpy_state(self.opt, m, v, int(self.t[0]), self.betas)

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        """Resume from a state made by the NumPy loop or by :meth:`optimizer_state`."""
        if self.opt in (K.MOMENTUM, K.NESTEROV):
            self._flatten(state["velocity"], self.m)
        elif self.opt in (K.ADAM, K.SKLEARN_ADAM):
            self._flatten(state["m"], self.m)
            self._flatten(state["v"], self.v)
            self.t[0] = int(state["t"])

    def _unflatten(self, flat: Array) -> list[Array]:
        """Per-parameter arrays [W₁, b₁, …] (network shapes) from a vector in θ's layout."""
        out: list[Array] = []
        for l, layer in enumerate(self.network.layers):
            w, b = int(self.w_off[l]), int(self.b_off[l])
            out.append(flat[w:b].reshape(layer.n_in, layer.n_out).T.copy())
            out.append(flat[b : b + layer.n_out].copy())
        return out

    def _flatten(self, arrays: list[Array], flat: Array) -> None:
        for l, layer in enumerate(self.network.layers):
            w, b = int(self.w_off[l]), int(self.b_off[l])
            flat[w:b].reshape(layer.n_in, layer.n_out)[...] = arrays[2 * l].T
            flat[b : b + layer.n_out] = arrays[2 * l + 1]

    def _sparse(self, X: Array) -> tuple[Any, Any, Any]:
        """X in compressed sparse rows, made once per array (training and validation set)."""
        key = id(X)
        if key not in self._csr:
            self._csr[key] = (X, codegen.sparse_rows(X))  # keep X alive: ids stay unique
        return self._csr[key][1]

    def run_epoch(self, index: Order, tally: Tally | None = None, classify: bool = False) -> int:
        """One epoch: as :meth:`retroprop._fast.engine.EpochTrainer.run_epoch`."""
        self._pull()
        if self.fused and self.special is not None:
            name = "train" if tally is None else "train_tallied"
            if self._run_generated(name, self._arguments(name, index=index, tally=tally,
                                                         classify=classify)):  # fmt: skip
                self._push()
                return len(index)
        train_epoch(
            self.theta, self.X, self.Y, index, self.k, self.layout, self.loss_code, self.opt,
            self.c, self.betas, self.m, self.v, self.t, self.work, classify,
            self.no_tally if tally is None else tally,
        )  # fmt: skip
        self._push()
        return -(-len(index) // self.k)

    def epoch_logs(
        self, network: Network, X: Array, Y: Array, prefix: str, classify: bool
    ) -> dict[str, float]:
        self._pull()
        done = self.special is not None and self._run_generated(
            "evaluate", self._arguments("evaluate", X, Y, classify=classify)
        )
        if not done:
            evaluate(
                self.theta, X, Y, self.layout, self.loss_code, classify, self.act, self.c, self.out
            )
        return logs_from_sums(self.out, len(X), prefix, classify)
