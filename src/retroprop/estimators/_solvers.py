"""The estimators' training: scikit-learn's epoch loop, its L-BFGS call, and the GA.

These follow ``sklearn/neural_network/_multilayer_perceptron.py`` statement by statement (the
same random draws in the same order, the same stopping rules, messages and warnings) but every
number comes from the core: :meth:`Network.forward`, :meth:`Network.backward` and the core
optimizer objects. What scikit-learn's loop needs and :func:`retroprop.fit` does not offer —
per-sample weights, an L2 term divided by the batch's weight, ``loss_curve_`` as the running
mean of the batch objectives, optimizer state kept across ``partial_fit`` calls — is why the
estimators drive the core here instead of calling :func:`retroprop.fit`. For 'sgd' and
'adam' the batches of an epoch may instead run in one call of a compiled trainer (numba
kernels, or BLAS for wide batches) with the same arithmetic, and the whole set's objective
and gradient — L-BFGS's, and the full-batch rules' one step per epoch — on BLAS (``engine``;
:mod:`._compiled`); everything between epochs stays here.

The objective is scikit-learn's, over the training set with sample weights s (all 1 without):

    J = Σᵢ sᵢ Eᵢ / Σᵢ sᵢ  +  (α / 2) Σ‖W‖² / Σᵢ sᵢ

with Eᵢ the core's per-sample loss (½ Σₖ (yₖ − oₖ)² for squared error, the cross-entropies for
log-loss). A batch of k samples uses the same expression with the sums over the batch and the
normaliser S = k (unweighted) or S = k s̄, s̄ the mean weight of the training set, so that the
batch gradient is an unbiased estimate of ∇J. That is scikit-learn's arithmetic exactly when
there are no weights or the batch is the whole set (L-BFGS, the Rprops, n ≤ 200 with 'auto').
With weights *and* mini-batches scikit-learn divides each batch by its own total weight, which
biases the estimate and, at ``batch_size=1``, cancels the weights altogether.

``loss_curve_`` reports J with the data term averaged over the outputs for squared and absolute
error, as scikit-learn does; the gradient is that of J, as in scikit-learn.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches

from retroprop.core.losses import output_grad_z
from retroprop.core.network import Network
from retroprop.core.optimizers import step_updates
from retroprop.errors import ParameterError
from retroprop.estimators._compiled import epoch_kernel, whole_set_objective
from retroprop.estimators._spec import FULL_BATCH_SOLVERS, MLPState
from retroprop.train.loop import Callback, History
from retroprop.train.solvers.genetic import Genetic, evolve

Array = NDArray[np.floating]
Logs = dict[str, float]


def _dense(X: Any) -> Any:
    return X.toarray() if sp.issparse(X) else X


def objective(
    net: Network,
    X: Any,
    Y: Array,
    sw: Array | None,
    alpha: float,
    scale: float,
    mean_weight: float = 1.0,
    masks: list[Array] | None = None,
) -> tuple[float, float, list[Array]]:
    """J, the reported loss and ∂J/∂θ (in the order of ``net.params()``) for one batch.

    With sample weights sᵢ the batch's normaliser is S = k s̄ (k samples, s̄ = ``mean_weight``,
    the mean weight of the training set), else S = k; see the module docstring.

    ``masks`` (one (k, n_out) array per hidden layer, from :func:`dropout_masks`) multiply the
    hidden layers' outputs: J and ∂J/∂θ are then those of the thinned network (dropout).
    """
    if masks is not None:
        return _masked_objective(net, _dense(X), Y, sw, alpha, scale, mean_weight, masks)
    fp = net.forward(_dense(X))
    E = net.loss.value(Y, fp.output)  # per-sample loss, (k,)
    if sw is None:
        S = float(len(E))
        data = float(np.mean(E))
        grads = net.backward(fp, Y, alpha / S).flat()
    else:
        S = len(E) * mean_weight
        data = float(np.dot(sw, E)) / S
        g = net.backward(fp, Y)
        grads = []
        for l, layer in enumerate(net.layers):
            # δ is linear in the output error, so weighting sample i's δ in every layer by sᵢ
            # is the gradient of the weighted loss: ∂J/∂W = −Σᵢ sᵢ δᵢ xᵢᵀ / S + (α/S) W.
            d = g.delta[l] * sw[:, None]
            grads.append(-(d.T @ fp.layer_input(l)) / S + (alpha / S) * layer.W)
            grads.append(-d.sum(axis=0) / S)
    l2 = 0.5 * alpha / S * sum(float(np.sum(ly.W * ly.W)) for ly in net.layers)
    return data + l2, data * scale + l2, grads


def dropout_masks(est: MLPState, net: Network, k: int) -> list[Array] | None:
    """Inverted-dropout masks for a batch of k samples, or None when ``est.dropout`` is 0.

    One (k, n_out) mask per hidden layer, entries 0 with probability p and 1 / (1 − p) else,
    drawn from the estimator's RandomState (so ``random_state`` makes training reproducible).
    """
    p = float(est.dropout)
    if p == 0.0:
        return None
    keep = 1.0 - p
    rs = est._random_state
    return [
        (rs.random_sample((k, layer.n_out)) < keep).astype(net.dtype) / net.dtype.type(keep)
        for layer in net.layers[:-1]
    ]


def _masked_objective(
    net: Network,
    X: Array,
    Y: Array,
    sw: Array | None,
    alpha: float,
    scale: float,
    mean_weight: float,
    masks: list[Array],
) -> tuple[float, float, list[Array]]:
    """:func:`objective` with the hidden outputs multiplied by ``masks`` (dropout).

    Forward: layer l + 1 gets mₗ ⊙ oₗ as input. Backward: the same chain rule with the mask in
    it, δₗ = f′(zₗ) ⊙ mₗ ⊙ (δₗ₊₁ Wₗ₊₁), and ∂J/∂Wₗ₊₁ uses the masked input.
    """
    layers = net.layers
    L = len(layers)
    inputs: list[Array] = []
    zs: list[Array] = []
    acts: list[Array] = []
    a = np.asarray(X)
    for l, layer in enumerate(layers):
        inputs.append(a)
        z = a @ layer.W.T + layer.b
        a = layer.activation(z)
        zs.append(z)
        acts.append(a)
        if l < L - 1:
            a = a * masks[l]
    E = net.loss.value(Y, acts[-1])
    delta: list[Array] = [acts[0]] * L  # placeholders, every entry is overwritten below
    delta[-1] = -output_grad_z(net.loss, layers[-1].activation, zs[-1], acts[-1], Y)
    for l in range(L - 2, -1, -1):
        upstream = (delta[l + 1] @ layers[l + 1].W) * masks[l]
        delta[l] = layers[l].activation.backprop(zs[l], acts[l], upstream)
    if sw is None:
        S = float(len(E))
        data = float(np.mean(E))
    else:
        S = len(E) * mean_weight
        data = float(np.dot(sw, E)) / S
    grads: list[Array] = []
    for l, layer in enumerate(layers):
        d = delta[l] if sw is None else delta[l] * sw[:, None]
        grads.append(-(d.T @ inputs[l]) / S + (alpha / S) * layer.W)
        grads.append(-d.sum(axis=0) / S)
    l2 = 0.5 * alpha / S * sum(float(np.sum(ly.W * ly.W)) for ly in layers)
    return data + l2, data * scale + l2, grads


def _weighted_loss(net: Network, O: Array, Y: Array, sw: Array | None, scale: float) -> float:
    E = net.loss.value(Y, O)
    return float(np.average(E, weights=sw)) * scale


class _Epochs:
    """scikit-learn's end-of-epoch bookkeeping, shared by the epoch loop and the GA."""

    def __init__(self, est: MLPState, net: Network, X_val: Any, Y_val: Any, sw_val: Any) -> None:
        self.est, self.net = est, net
        self.early = X_val is not None
        self.X_val, self.Y_val, self.sw_val = X_val, Y_val, sw_val
        self.y_val = est._validation_targets(Y_val) if self.early else None
        self.callbacks = list(est.callbacks or ())
        self.history = History()
        for cb in self.callbacks:
            if isinstance(cb, Callback):
                cb.on_train_begin(net)

    def end(self, loss: float, learning_rate: float) -> bool:
        """Record one epoch with training objective ``loss``; True asks to stop."""
        est = self.est
        est.n_iter_ += 1
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        logs: Logs = {"epoch": est.n_iter_, "loss": loss, "learning_rate": learning_rate}
        self._update_no_improvement_count(logs)
        self.history.append(logs)
        stop = False
        for cb in self.callbacks:  # every callback sees every epoch
            asked = (
                cb.on_epoch_end(est.n_iter_, logs)
                if isinstance(cb, Callback)
                else cb(est.n_iter_, logs)
            )
            stop = stop or bool(asked)
        return stop

    def _update_no_improvement_count(self, logs: Logs) -> None:
        est = self.est
        if self.early:
            with np.errstate(all="ignore"):
                O = self.net.predict(self.X_val)
                finite = bool(np.isfinite(O).all())
                score = est._score_output(O, self.y_val, self.sw_val) if finite else np.nan
                val_loss = _weighted_loss(self.net, O, self.Y_val, self.sw_val, est._loss_scale())
            assert est.validation_scores_ is not None and est.validation_loss_curve_ is not None
            assert est.best_validation_score_ is not None
            est.validation_scores_.append(float(score))
            est.validation_loss_curve_.append(val_loss)
            logs.update(val_score=float(score), val_loss=val_loss)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = float(score)
                est._best_coefs = [c.copy() for c in est.coefs_]
                est._best_intercepts = [b.copy() for b in est.intercepts_]
        else:
            assert est.best_loss_ is not None
            if est.loss_curve_[-1] > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if est.loss_curve_[-1] < est.best_loss_:
                est.best_loss_ = est.loss_curve_[-1]

    def finish(self) -> None:
        for cb in self.callbacks:
            if isinstance(cb, Callback):
                cb.on_train_end(self.history)
        if self.early:  # restore the best weights, in place (coefs_ stays the same arrays)
            est = self.est
            for p, best in zip(est.coefs_, est._best_coefs, strict=True):
                p[...] = best
            for p, best in zip(est.intercepts_, est._best_intercepts, strict=True):
                p[...] = best

    def stagnated(self, adaptive: bool) -> bool:
        """scikit-learn's reaction to ``n_iter_no_change`` epochs without progress.

        Stop, unless the schedule is 'adaptive': then divide η by 5, and stop once η ≤ 1e-6.
        """
        est = self.est
        if est._no_improvement_count <= est.n_iter_no_change:
            return False
        what = "Validation score" if self.early else "Training loss"
        msg = (
            f"{what} did not improve more than tol={est.tol:f} for "
            f"{est.n_iter_no_change:d} consecutive epochs."
        )
        if not adaptive or est._optimizer.learning_rate <= 1e-6:
            if est.verbose:
                print(msg + (" Learning rate too small." if adaptive else "") + " Stopping.")
            return True
        est._optimizer.learning_rate /= 5.0
        if est.verbose:
            print(msg + f" Setting learning rate to {est._optimizer.learning_rate:f}")
        est._no_improvement_count = 0
        return False


def _split(est: MLPState, X: Any, Y: Array, sw: Array | None) -> tuple[Any, ...]:
    """Hold out ``validation_fraction`` for early stopping, as scikit-learn does."""
    if not est.early_stopping:
        return X, Y, sw, None, None, None
    # stratified for single-output classification (on the 0/1 column, as scikit-learn)
    stratify = Y.astype(bool) if is_classifier(est) and est.n_outputs_ == 1 else None
    arrays = (X, Y) if sw is None else (X, Y, sw)
    parts = train_test_split(
        *arrays,
        random_state=est._random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    X_train, X_val, Y_train, Y_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ParameterError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return X_train, Y_train, sw_train, _dense(X_val), Y_val, sw_val


def _batch_size(est: MLPState, n: int) -> int:
    if est.solver not in ("sgd", "adam"):
        return n  # the Rprop family, Quickprop and SARPROP are full-batch methods
    if est.batch_size == "auto":
        return min(200, n)
    if int(est.batch_size) > n:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=6,  # the caller of fit (via _EpochSteps, fit_epochs, _fit, fit)
        )
    return int(np.clip(est.batch_size, 1, n))


def shuffled(index: NDArray[np.intp], random_state: np.random.RandomState) -> NDArray[np.intp]:
    """``sklearn.utils.shuffle(index, random_state=random_state)``: the same draws and order,
    without its input checks (≈ 0.1 ms per call, a tenth of an online epoch on digits)."""
    order = np.arange(len(index))
    random_state.shuffle(order)
    return index[order]


def fit_epochs(est: MLPState, X: Any, Y: Array, sw: Array | None, incremental: bool) -> None:
    """scikit-learn's ``_fit_stochastic`` over the core, for 'sgd', 'adam' and the Rprops.

    The optimizer (and its state) is kept across ``partial_fit`` calls; early stopping holds
    out its validation part first; then :func:`_epoch_loop` runs, and the best weights are
    restored when early stopping asks for it.
    """
    net = est._network()
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = est._make_optimizer()
        est._optimizer_state = est._optimizer.init(net.params())
    if est.early_stopping and incremental:
        raise ParameterError("partial_fit does not support early_stopping=True")
    X_train, Y_train, sw_train, X_val, Y_val, sw_val = _split(est, X, Y, sw)
    epochs = _Epochs(est, net, X_val, Y_val, sw_val)
    steps = _EpochSteps(est, net, X_train, Y_train, sw_train, incremental)
    try:
        _epoch_loop(est, epochs, steps, incremental)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=4)
    epochs.finish()


def _epoch_loop(est: MLPState, epochs: _Epochs, steps: _EpochSteps, incremental: bool) -> None:
    """Up to ``max_iter`` epochs (one for ``partial_fit``) with scikit-learn's stopping rules.

    Per epoch: shuffle the sample order, take the steps, record the epoch, update η for
    'invscaling', and stop on ``n_iter_no_change`` (or divide η by 5 for 'adaptive'), on a
    callback's request, or after ``max_iter`` epochs with a ConvergenceWarning.
    """
    opt = est._optimizer
    adaptive = est.solver == "sgd" and est.learning_rate == "adaptive"
    index = np.arange(steps.n, dtype=int)
    est.n_iter_ = 0
    for _ in range(est.max_iter):
        if est.shuffle:
            index = shuffled(index, est._random_state)
        loss = steps.run_epoch(index)
        est.t_ += steps.n
        stop = epochs.end(loss, opt.learning_rate)
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            opt.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if epochs.stagnated(adaptive) or stop or incremental:
            break
        if est.n_iter_ == est.max_iter:
            _warn_not_converged("Stochastic Optimizer", est.max_iter, stacklevel=5)


def _warn_not_converged(what: str, max_iter: int, stacklevel: int) -> None:
    """scikit-learn's ConvergenceWarning after ``max_iter`` epochs; ``stacklevel`` as if the
    caller had warned (so that the warning points at the caller of fit)."""
    warnings.warn(
        f"{what}: Maximum iterations ({max_iter}) reached and the optimization hasn't "
        "converged yet.",
        ConvergenceWarning,
        stacklevel=stacklevel + 1,
    )


class _EpochSteps:
    """The steps of one epoch on the training part: mini-batches of ``batch_size`` in a given
    sample order, in the NumPy loop or, when the engine allows, in one compiled call; for the
    full-batch rules, one step from the whole set's gradient on BLAS when the engine allows."""

    def __init__(
        self,
        est: MLPState,
        net: Network,
        X: Any,
        Y: Array,
        sw: Array | None,
        incremental: bool,
    ) -> None:
        self.est, self.net, self.X, self.Y, self.sw = est, net, X, Y, sw
        self.n = X.shape[0]
        self.k = _batch_size(est, self.n)
        self.params = net.params()
        self.alpha, self.scale = float(est.alpha), est._loss_scale()
        self.mean_weight = 1.0 if sw is None else float(np.mean(sw))
        # the same epochs in one numba call each, when engine and run allow (see _compiled)
        if incremental:  # partial_fit: the samples of the calls so far count for "auto"
            est._partial_visits = getattr(est, "_partial_visits", 0) + self.n
            visits = est._partial_visits
        else:
            est._partial_visits = 0
            visits = self.n * est.max_iter
        self.kernel, self.whole_set = None, None
        if est.solver in FULL_BATCH_SOLVERS:
            self.whole_set = whole_set_objective(est, net, X, Y, sw)
        else:
            self.kernel = epoch_kernel(est, net, X, Y, sw, self.k, visits)

    def run_epoch(self, index: NDArray[np.intp]) -> float:
        """One epoch in the sample order ``index``; the reported loss (mean over the samples)."""
        if self.whole_set is not None:
            return self._whole_set_step() / self.n
        if self.kernel is None:
            return self._numpy_epoch(index) / self.n
        accumulated = self.kernel.run_objective_epoch(index, self.est._optimizer.learning_rate)
        self.est._optimizer_state = self.kernel.optimizer_state()
        return accumulated / self.n

    def _whole_set_step(self) -> float:
        """A full-batch rule's step from the whole set's J and ∂J/∂θ on BLAS (the order of the
        samples does not change a full batch's sums but for rounding); the core optimizer takes
        the step, as in :meth:`_numpy_epoch`. Returns the reported loss × n."""
        assert self.whole_set is not None
        est, dtype = self.est, self.net.dtype
        J, reported, flat = self.whole_set(self.net.get_flat().astype(np.float64))
        grads, start = [], 0
        for p in self.params:  # ∂J/∂θ was computed in the network's dtype: the cast is exact
            grads.append(flat[start : start + p.size].reshape(p.shape).astype(dtype))
            start += p.size
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            updates, est._optimizer_state = step_updates(
                est._optimizer, grads, est._optimizer_state, J, self.params, self.n
            )
            for p, u in zip(self.params, updates, strict=True):
                p += u
        return reported * self.n

    def _numpy_epoch(self, index: NDArray[np.intp]) -> float:
        """The NumPy loop of one epoch: Σ over the batches of reported loss × batch size."""
        est, opt = self.est, self.est._optimizer
        accumulated = 0.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for batch in gen_batches(self.n, self.k):
                idx = index[batch] if est.shuffle else batch
                m = batch.stop - batch.start
                sw = None if self.sw is None else self.sw[idx]
                masks = dropout_masks(est, self.net, m)
                J, reported, grads = objective(
                    self.net, self.X[idx], self.Y[idx], sw, self.alpha, self.scale,
                    self.mean_weight, masks,
                )  # fmt: skip
                updates, est._optimizer_state = step_updates(
                    opt, grads, est._optimizer_state, J, self.params, m
                )
                for p, u in zip(self.params, updates, strict=True):
                    p += u
                accumulated += reported * m
        return accumulated


def fit_lbfgs(est: MLPState, X: Any, Y: Array, sw: Array | None) -> None:
    """scikit-learn's ``_fit_lbfgs``: scipy's L-BFGS-B on the whole (weighted) training set."""
    from scipy.optimize import minimize
    from sklearn.utils.optimize import _check_optimize_result

    net = est._network()
    X = _dense(X)
    alpha, scale = float(est.alpha), est._loss_scale()
    mean_weight = 1.0 if sw is None else float(np.mean(sw))
    last: dict[str, Any] = {}
    compiled = whole_set_objective(est, net, X, Y, sw)

    def fun(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        if compiled is not None:
            J, reported, gradient = compiled(theta)
            last.update(theta=theta.copy(), loss=reported)
            return J, gradient
        net.set_flat(theta.astype(net.dtype, copy=False))
        J, reported, grads = objective(net, X, Y, sw, alpha, scale, mean_weight)
        last.update(theta=theta.copy(), loss=reported)
        return J, np.concatenate([g.ravel() for g in grads]).astype(np.float64)

    def reported_loss(theta: NDArray[np.float64]) -> float:
        if "theta" not in last or not np.array_equal(last["theta"], theta):
            fun(theta)
        return float(last["loss"])

    epochs = _Epochs(est, net, None, None, None)
    est.n_iter_ = 0
    stopped = False

    def callback(intermediate_result: Any) -> None:
        nonlocal stopped
        if epochs.end(reported_loss(intermediate_result.x), 1.0):
            stopped = True
            raise StopIteration

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            fun,
            net.get_flat().astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        )
        est.loss_ = reported_loss(result.x)
    net.set_flat(result.x.astype(net.dtype))
    est.n_iter_ = (
        int(result.nit) if stopped else _check_optimize_result("lbfgs", result, est.max_iter)
    )
    epochs.finish()


def fit_genetic(est: MLPState, X: Any, Y: Array, sw: Array | None) -> None:
    """The core's genetic algorithm (one generation per epoch) with scikit-learn's stopping."""
    if sw is not None:
        raise ParameterError("solver='genetic' does not support sample_weight or class_weight")
    net = est._network()
    X_train, Y_train, _, X_val, Y_val, sw_val = _split(est, _dense(X), Y, None)
    alpha, scale = float(est.alpha), est._loss_scale()
    epochs = _Epochs(est, net, X_val, Y_val, sw_val)
    ga = Genetic()

    def end_generation(generation: int) -> bool:
        reported = objective(net, X_train, Y_train, None, alpha, scale)[1]
        stop = epochs.end(reported, ga.sigma(generation))
        est.t_ += len(X_train)
        return epochs.stagnated(False) or stop

    est.n_iter_ = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        evolve(
            net,
            ga,
            X_train,
            Y_train,
            est.max_iter,
            end_generation,
            weight_decay=alpha / len(X_train),
            seed=int(est._random_state.randint(np.iinfo(np.int32).max)),
        )
    if est.n_iter_ == est.max_iter:
        _warn_not_converged("Genetic algorithm", est.max_iter, stacklevel=4)
    epochs.finish()
