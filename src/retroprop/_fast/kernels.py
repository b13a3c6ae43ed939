"""numba kernels: one call trains one epoch of a dense network, sample by sample.

Layout. The kernels keep all parameters in one flat vector θ, layer after layer, each layer as
Wᵀ (shape (n_in, n_out), row-major) followed by b (n_out,). Row i of Wᵀ holds the weights wⱼᵢ
*out of* input i into every neuron j, so the three hot loops all run over contiguous memory
without a reduction, and so vectorize without reordering any sum:

- forward:   z ← z + wᵢ· xᵢ for each input i (skipped when xᵢ = 0, which adds nothing),
- update:    wᵢ· ← wᵢ· + η (δ xᵢ) for each input i (skipped when xᵢ = 0, which changes nothing),
- backward:  eᵢ = Σⱼ δⱼ wⱼᵢ, one short dot product per row, read just before the row is updated
  (hidden deltas use the weights *before* this step's update, as the delta rule requires).

Layer l reads its input from ``act[a_off[l − 1]:]`` (layer 1 reads X[row] directly) and writes
its output o = f(z) to ``act[a_off[l]:]``. ``delta`` is indexed like ``act`` and holds
δ = −∂E/∂z (the lecture's sign).

Every operation mirrors the NumPy reference (``Network.forward``/``backward``, the optimizers)
in the same order of rounding, so the two agree to rounding: the only systematic difference is
the order of the terms inside dot products, which BLAS chooses freely too.

The activation, loss and optimizer codes and the slots ``C_*`` of the scalars ``c`` are
those of :mod:`.constants`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from retroprop._fast.constants import (
    ABSOLUTE,
    ADAM,
    BCE,
    C_1MB1,
    C_1MB2,
    C_ADAM_EPS,
    C_B1,
    C_B2,
    C_BC1,
    C_BC2,
    C_CLIP_HI,
    C_CLIP_LO,
    C_ETA,
    C_HALF,
    C_LEAK,
    C_MU,
    C_N,
    C_NEG_ETA,
    C_ONE,
    C_P_HI,
    C_P_LO,
    C_WD,
    C_ZERO,
    CCE,
    IDENTITY,
    LEAKY_RELU,
    MOMENTUM,
    NESTEROV,
    RELU,
    SGD,
    SIGMOID,
    SIGMOID_FANN,
    SOFTMAX,
    SQUARED,
    TANH,
)

_U = np.uint64  # unsigned indices: see forward_sample

# All kernels: cache=True (compiled once per machine), fastmath off (IEEE order, as NumPy).


@njit(cache=True, nogil=True)
def activate(act, lo, n, code, c):  # type: ignore[no-untyped-def]
    """o = f(z) in place on act[lo : lo + n], which holds z on entry."""
    one, zero = c[C_ONE], c[C_ZERO]
    if code == SIGMOID or code == SIGMOID_FANN:
        for j in range(lo, lo + n):
            act[j] = one / (one + math.exp(-act[j]))
    elif code == TANH:
        for j in range(lo, lo + n):
            act[j] = math.tanh(act[j])
    elif code == RELU:
        for j in range(lo, lo + n):
            if act[j] <= zero:  # NaN stays NaN, as in np.maximum
                act[j] = zero
    elif code == LEAKY_RELU:
        for j in range(lo, lo + n):
            if not act[j] > zero:
                act[j] = c[C_LEAK] * act[j]
    elif code == SOFTMAX:  # max-shifted, as activations._softmax
        m = act[lo]
        for j in range(lo + 1, lo + n):
            m = max(m, act[j])
        s = zero
        for j in range(lo, lo + n):
            act[j] = math.exp(act[j] - m)
            s += act[j]
        for j in range(lo, lo + n):
            act[j] = act[j] / s


@njit(cache=True, nogil=True)
def derivative(a, code, c):  # type: ignore[no-untyped-def]
    """f′(z) from the output a = f(z), for the element-wise activations."""
    if code == SIGMOID:
        return a * (c[C_ONE] - a)
    if code == SIGMOID_FANN:  # FANN's: a clipped to [0.01, 0.99] first, as np.clip
        p = min(max(a, c[C_CLIP_LO]), c[C_CLIP_HI])
        return p * (c[C_ONE] - p)
    if code == TANH:
        return c[C_ONE] - a * a
    if code == RELU:
        return c[C_ONE] if a > c[C_ZERO] else c[C_ZERO]
    if code == LEAKY_RELU:
        return c[C_ONE] if a > c[C_ZERO] else c[C_LEAK]
    return c[C_ONE]


@njit(cache=True, nogil=True)
def loss_grad(y, a, code, c):  # type: ignore[no-untyped-def]
    """∂E/∂a for one output, with the clipping of ``losses.py``."""
    if code == SQUARED:
        return a - y
    if code == BCE:
        p = min(max(a, c[C_P_LO]), c[C_P_HI])
        return (p - y) / (p * (c[C_ONE] - p))
    if code == CCE:
        return -y / min(max(a, c[C_P_LO]), c[C_ONE])
    d = a - y  # absolute error: sign(a − y), 0 at the kink, NaN stays NaN
    if d > c[C_ZERO]:
        return c[C_ONE]
    if d < c[C_ZERO]:
        return -c[C_ONE]
    return d


@njit(cache=True, nogil=True)
def sample_loss(act, lo, n, Y, row, code, c):  # type: ignore[no-untyped-def]
    """E of one sample from the outputs act[lo : lo + n], as ``losses.py`` (clipped logs)."""
    zero, one, half = c[C_ZERO], c[C_ONE], c[C_HALF]
    e = zero
    for k in range(n):
        y, a = Y[row, k], act[lo + k]
        if code == BCE:
            p = min(max(a, c[C_P_LO]), c[C_P_HI])
            e += y * math.log(p) + (one - y) * math.log1p(-p)
        elif code == CCE:  # y log p is 0 for y = 0 (p ≥ p_lo: log p is finite), so the log of
            if y != zero or a != a:  # the other classes is skipped (same sum); NaN still spreads
                e += y * math.log(min(max(a, c[C_P_LO]), one))
        elif code == ABSOLUTE:
            e += abs(y - a)
        else:
            e += (y - a) * (y - a)
    if code == SQUARED:
        return half * e
    if code == BCE or code == CCE:
        return -e
    return e


@njit(cache=True, nogil=True)
def output_delta(act, delta, lo, n, Y, row, act_code, loss_code, c):  # type: ignore[no-untyped-def]
    """δ = −∂E/∂z of the output layer: ``losses.output_grad_z``, negated.

    Matched pairs (identity + squared error, sigmoid + binary cross-entropy, softmax +
    categorical cross-entropy) take the shortcut ∂E/∂z = a − y; the others the chain rule.
    """
    matched = (
        (act_code == IDENTITY and loss_code == SQUARED)
        or (act_code == SIGMOID and loss_code == BCE)
        or (act_code == SOFTMAX and loss_code == CCE)
    )
    if matched:
        for k in range(n):
            delta[lo + k] = -(act[lo + k] - Y[row, k])
    elif act_code == SOFTMAX:
        # ∂E/∂zₖ = sₖ (gₖ − Σₘ gₘ sₘ) with g = ∂E/∂a (held in delta meanwhile).
        s = c[C_ZERO]
        for k in range(n):
            g = loss_grad(Y[row, k], act[lo + k], loss_code, c)
            delta[lo + k] = g
            s += g * act[lo + k]
        for k in range(n):
            delta[lo + k] = -(act[lo + k] * (delta[lo + k] - s))
    else:
        for k in range(n):
            a = act[lo + k]
            delta[lo + k] = -(derivative(a, act_code, c) * loss_grad(Y[row, k], a, loss_code, c))


@njit(cache=True, nogil=True)
def forward_sample(theta, act, X, row, sizes, w_off, b_off, a_off, acts, c):  # type: ignore[no-untyped-def]
    """Forward pass of sample X[row]: zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ, oⱼ = f(zⱼ), layer by layer.

    The indices are unsigned: numba then tests none for a negative value to wrap around, and
    the loops over a row vectorize (with signed offsets they ran element by element)."""
    zero = c[C_ZERO]
    for l in range(1, len(sizes)):
        n_in, n_out = _U(sizes[l - 1]), _U(sizes[l])
        w, b, ai, ao = _U(w_off[l - 1]), _U(b_off[l - 1]), _U(a_off[l - 1]), _U(a_off[l])
        for j in range(n_out):
            act[ao + j] = zero
        for i in range(n_in):
            xi = X[row, i] if l == 1 else act[ai + i]
            if xi != zero:  # adds nothing (and NaN ≠ 0, so NaN still spreads)
                r = w + i * n_out
                for j in range(n_out):
                    act[ao + j] += theta[r + j] * xi
        for j in range(n_out):
            act[ao + j] = act[ao + j] + theta[b + j]
        activate(act, a_off[l], sizes[l], acts[l - 1], c)


@njit(cache=True, nogil=True)
def backward_sample(theta, G, act, delta, X, row, sizes, w_off, b_off, a_off, acts, c, fused):  # type: ignore[no-untyped-def]
    """Backpropagate δ from the output (already in ``delta``) down to the first hidden layer.

    ``fused``: apply the online delta rule wⱼᵢ ← wⱼᵢ + (η xᵢ) δⱼ to each row of Wᵀ right after
    reading it (η xᵢ once per row, rounded as the kernels :mod:`.codegen` generates round it,
    so that either kernel gives the same weights bit for bit); otherwise add δⱼ xᵢ to the
    gradient sums G (same layout as θ).
    """
    zero, eta, neg_eta = c[C_ZERO], c[C_ETA], c[C_NEG_ETA]
    for l in range(len(sizes) - 1, 0, -1):
        n_in, n_out = sizes[l - 1], sizes[l]
        w, b, ai, ao = w_off[l - 1], b_off[l - 1], a_off[l - 1], a_off[l]
        code = acts[l - 2]
        for i in range(n_in):
            xi = X[row, i] if l == 1 else act[ai + i]
            r = w + i * n_out
            if l > 1:
                # δᵢ (layer below) = f′(zᵢ) Σⱼ δⱼ wⱼᵢ, from the weights before the update.
                e = zero
                for j in range(n_out):
                    e += delta[ao + j] * theta[r + j]
                delta[ai + i] = derivative(xi, code, c) * e
            if xi != zero:  # δⱼ·0 changes nothing
                if fused:
                    u = eta * xi
                    for j in range(n_out):
                        theta[r + j] = theta[r + j] + u * delta[ao + j]
                else:
                    for j in range(n_out):
                        G[r + j] += delta[ao + j] * xi
        if fused:
            for j in range(n_out):
                theta[b + j] = theta[b + j] + neg_eta * -delta[ao + j]
        else:
            for j in range(n_out):
                G[b + j] += delta[ao + j]


@njit(cache=True, nogil=True)
def apply_step(theta, G, lo, hi, decay, opt, c, m, v):  # type: ignore[no-untyped-def]
    """θ[lo:hi] += Δθ from the batch sums G (then cleared): ``optimizers.*.update``.

    g = −G/k (+ λθ for weights), the mean gradient of ``Network.backward``; then, as the
    reference: SGD Δθ = −ηg; momentum v ← μv − ηg, Δθ = v (Nesterov: μv − ηg); Adam m, v, m̂, v̂.
    One loop per optimizer, so that no branch sits inside a loop.
    """
    zero, k, wd = c[C_ZERO], c[C_N], c[C_WD]
    if opt == SGD:
        neg_eta = c[C_NEG_ETA]
        for p in range(lo, hi):
            g = -G[p] / k + wd * theta[p] if decay else -G[p] / k
            G[p] = zero
            theta[p] = theta[p] + neg_eta * g
    elif opt == MOMENTUM or opt == NESTEROV:
        mu, eta = c[C_MU], c[C_ETA]
        nesterov = opt == NESTEROV
        for p in range(lo, hi):
            g = -G[p] / k + wd * theta[p] if decay else -G[p] / k
            G[p] = zero
            m[p] = mu * m[p] - eta * g
            theta[p] = theta[p] + (mu * m[p] - eta * g if nesterov else m[p])
    else:
        b1, b2, omb1, omb2 = c[C_B1], c[C_B2], c[C_1MB1], c[C_1MB2]
        bc1, bc2, neg_eta, eps = c[C_BC1], c[C_BC2], c[C_NEG_ETA], c[C_ADAM_EPS]
        for p in range(lo, hi):
            g = -G[p] / k + wd * theta[p] if decay else -G[p] / k
            G[p] = zero
            m[p] = b1 * m[p] + omb1 * g
            v[p] = b2 * v[p] + omb2 * g * g
            theta[p] = theta[p] + neg_eta * (m[p] / bc1) / (math.sqrt(v[p] / bc2) + eps)


@njit(cache=True, nogil=True)
def visit_batch(  # type: ignore[no-untyped-def]
    theta, X, Y, index, start, stop, layout, work, loss_code, c, fused, classify, tally
):
    """Forward and backward pass of the samples X[index[start:stop]], in order.

    Adds each sample's δ xᵀ to the gradient sums G (or, ``fused``, applies the online SGD step
    at once); when ``tally`` has 3 elements, adds [E, ½‖y − o‖², 1 if right] of each sample
    from its forward pass (before any update of the batch).
    """
    sizes, w_off, b_off, a_off, acts = layout
    act, delta, G = work
    L = len(sizes) - 1
    for s in range(start, stop):
        row = index[s]
        forward_sample(theta, act, X, row, sizes, w_off, b_off, a_off, acts, c)
        if len(tally) == 3:
            tally_sample(act, a_off[L], sizes[L], Y, row, loss_code, classify, c, tally)
        output_delta(act, delta, a_off[L], sizes[L], Y, row, acts[L - 1], loss_code, c)
        backward_sample(theta, G, act, delta, X, row, sizes, w_off, b_off, a_off, acts, c, fused)


@njit(cache=True, nogil=True)
def apply_layers(theta, G, layout, decay, opt, c, m, v):  # type: ignore[no-untyped-def]
    """The optimizer's step on every layer from the batch sums G: weights (with weight decay
    when ``decay``), then biases (never decayed)."""
    sizes, w_off, b_off = layout[0], layout[1], layout[2]
    for l in range(len(sizes) - 1):
        apply_step(theta, G, w_off[l], b_off[l], decay, opt, c, m, v)
        apply_step(theta, G, b_off[l], b_off[l] + sizes[l + 1], False, opt, c, m, v)


@njit(cache=True, nogil=True)
def train_epoch(  # type: ignore[no-untyped-def]
    theta, X, Y, index, k, layout, loss_code, opt, c, betas, m, v, t, work, classify, tally
):
    """One epoch: visit X[index[s]] in order, update θ after every k samples.

    Args:
        theta: parameters in the kernel layout (module docstring), (n_params,), in place.
        X, Y: training inputs (n_samples, n₀) and targets (n_samples, n_L), C-contiguous.
        index: the sample order of this epoch, (n_samples,) int64.
        k: batch size (1 = online).
        layout: (sizes, w_off, b_off, a_off, acts): layer sizes (L + 1,), offsets of Wₗᵀ, bₗ in
            θ and of layer outputs in ``act``, activation code per layer (L,), all int64.
        loss_code, opt: codes of :mod:`.constants`.
        c: scalar slots of θ's dtype (``C_N``, ``C_BC1``, ``C_BC2`` are set here).
        betas: (β₁, β₂) in float64, for Adam's bias corrections 1 − βᵗ.
        m, v: optimizer state (velocity, or Adam's moments), (n_params,), in place.
        t: Adam's step counter, (1,) int64, in place.
        work: (act, delta, G): buffers (Σ sizes,), (Σ sizes,), (n_params,) zeros.
        classify, tally: when ``tally`` has 3 elements, it gets += [Σ E, Σ ½‖y − o‖², number
            right] of every sample from its forward pass, before its batch's update (the
            running epoch logs); a 0-element ``tally`` skips this.
    """
    n = len(index)
    fused = k == 1 and opt == SGD and c[C_WD] == c[C_ZERO]
    for start in range(0, n, k):
        stop = min(start + k, n)
        visit_batch(
            theta, X, Y, index, start, stop, layout, work, loss_code, c, fused, classify, tally
        )
        if fused:
            continue
        c[C_N] = stop - start
        if opt == ADAM:
            t[0] += 1
            c[C_BC1] = 1.0 - betas[0] ** float(t[0])
            c[C_BC2] = 1.0 - betas[1] ** float(t[0])
        apply_layers(theta, work[2], layout, c[C_WD] != c[C_ZERO], opt, c, m, v)


@njit(cache=True, nogil=True)
def tally_sample(act, lo, n_out, Y, row, loss_code, classify, c, out):  # type: ignore[no-untyped-def]
    """out += [E, ½‖y − o‖², 1 if right] of one sample, from its outputs act[lo : lo + n_out].

    E as ``losses.py`` (clipped logs), right as ``metrics.accuracy`` (argmax, or o ≥ ½ for
    one output).
    """
    zero, one, half = c[C_ZERO], c[C_ONE], c[C_HALF]
    sq = zero
    for k in range(n_out):
        sq += (Y[row, k] - act[lo + k]) * (Y[row, k] - act[lo + k])
    out[0] += sample_loss(act, lo, n_out, Y, row, loss_code, c)
    out[1] += half * sq
    if classify and n_out == 1:
        out[2] += (act[lo] >= half) == (Y[row, 0] == one)
    elif classify:
        ka = 0
        ky = 0
        for k in range(1, n_out):
            if act[lo + k] > act[lo + ka]:
                ka = k
            if Y[row, k] > Y[row, ky]:
                ky = k
        out[2] += ka == ky


@njit(cache=True, nogil=True)
def evaluate(theta, X, Y, layout, loss_code, classify, act, c, out):  # type: ignore[no-untyped-def]
    """Epoch logs: out = [Σ loss, Σ ½‖y − o‖², number right] over the samples of X.

    Per-sample losses as ``losses.py`` (clipped logs), accuracy as ``metrics.accuracy``.
    """
    sizes, w_off, b_off, a_off, acts = layout
    L = len(sizes) - 1
    out[:] = 0.0
    for row in range(X.shape[0]):
        forward_sample(theta, act, X, row, sizes, w_off, b_off, a_off, acts, c)
        tally_sample(act, a_off[L], sizes[L], Y, row, loss_code, classify, c, out)


@njit(cache=True, nogil=True)
def count_nonzero_rows(X, P):  # type: ignore[no-untyped-def]
    """P[r + 1] ← P[r] + (nonzero entries of row r) for X (n, m); returns the total."""
    for r in range(X.shape[0]):
        n = 0
        for i in range(X.shape[1]):
            if X[r, i] != 0:
                n += 1
        P[r + 1] = P[r] + n
    return P[X.shape[0]]


@njit(cache=True, nogil=True)
def fill_sparse_rows(X, P, I, V):  # type: ignore[no-untyped-def]
    """The column indices I and values V of the nonzero entries, row after row (P from
    :func:`count_nonzero_rows`)."""
    for r in range(X.shape[0]):
        q = P[r]
        for i in range(X.shape[1]):
            if X[r, i] != 0:
                I[q] = i
                V[q] = X[r, i]
                q += 1
