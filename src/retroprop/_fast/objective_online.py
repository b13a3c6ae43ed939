"""scikit-learn's online epochs (``batch_size=1``) on the compiled engine, gradient and step fused.

With batches of one sample, scikit-learn's loop takes one optimizer step per sample over every
parameter: momentum and Nesterov move every weight by its velocity, weight decay (α/m)·W
touches every weight, Adam every moment. :func:`.objective.train_epoch_objective` does it as
any batch: the sample's gradient summed into G, then one pass of the step over θ, G, m (and
v), then G cleared, and Σ‖W‖² in one more pass for the reported loss. Here the step is taken
row by row of Wᵀ during the backward sweep, from δⱼ xᵢ directly (the gradient is never
stored), in loops without branches or checks that the compiler vectorizes; Σ‖W‖² is one
vectorized pass. Each parameter gets the arithmetic of :func:`.kernels.apply_step` (momentum,
Nesterov) or :func:`.objective.sklearn_adam_loop` (scikit-learn's Adam) with m = 1, so the
weights, the moments and the reported loss are those of the batch path: the gradient of one
sample, (0 + δⱼ xᵢ)/1, is δⱼ xᵢ exactly.

The forward pass is :func:`.kernels.forward_sample`'s sums in its order (the same bits), with
the zero inputs of a layer dropped from a list before summing (no branch per input, whose
outcome ReLU makes random), the wide layers' z added four rows of Wᵀ per sweep (z loaded and
stored once per four inputs, each sum still in input order) and the narrow layers (the 10
classes) summed eight units at a time in registers rather than a 10-long row at a time.
During the epoch a narrow layer's weights (and m, v) are stored transposed, n_out rows of n_in
(:func:`_transpose_narrow`, undone before returning): its step then runs along rows of 100
rather than 10, and its δ backpropagation as a loop over i inside the loop over j. Every sum
keeps its order, so the numbers are the same.

Plain online SGD (momentum 0, α = 0) keeps its own kernels (:mod:`.objective`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from retroprop._fast import constants as C
from retroprop._fast.flush import flush_subnormals, restore
from retroprop._fast.kernels import activate, derivative, output_delta, sample_loss

U = np.uint64

# error_model="numpy": no ZeroDivisionError branch in the loops (which would stop LLVM from
# vectorizing them); nothing here divides by a value that can be 0 except where IEEE is wanted.


@njit(cache=True, nogil=True, error_model="numpy")
def train_online_objective(  # type: ignore[no-untyped-def]
    theta, X, Y, index, k, layout, loss_code, opt, c, betas, m, v, t, work, alpha, scale, eta
):
    """One online epoch of scikit-learn's ``_fit_stochastic``; returns Σ of the reported losses.

    Arguments as :func:`.objective.train_epoch_objective`, with k = 1 (``work``'s G is not
    used). Per sample, with the weights before its step: reported = E·scale + ½ α Σ‖W‖²; then
    the step with g = −δ xᵀ + α W (weights), −δ (biases).

    Returns:
        Σ over the samples of the reported loss, in float64.
    """
    sizes, a_off = layout[0], layout[3]
    act, delta = work[0], work[1]
    L = len(sizes) - 1
    decay = alpha != 0.0
    c[C.C_N] = 1
    c[C.C_WD] = alpha / 1
    mode = flush_subnormals()  # see .flush: parameters decaying to 0 would slow every step
    ssq = _sum_of_squared_weights(theta, layout) if decay else 0.0
    accumulated = 0.0
    nz = np.empty(sizes.max(), dtype=np.uint64)
    for a in (theta, m, v):
        _transpose_narrow(a, layout, True)
    for s in range(len(index)):
        row = index[s]
        l2 = 0.5 * alpha / 1 * ssq if decay else 0.0
        _forward(theta, act, X, row, layout, c, nz)
        e = sample_loss(act, a_off[L], sizes[L], Y, row, loss_code, c)
        accumulated += (0.0 + e) / 1 * scale + l2
        output_delta(act, delta, a_off[L], sizes[L], Y, row, layout[4][L - 1], loss_code, c)
        eta_t = 0.0
        if opt == C.SKLEARN_ADAM:
            t[0] += 1
            tt = float(t[0])
            eta_t = eta * math.sqrt(1.0 - betas[1] ** tt) / (1.0 - betas[0] ** tt)
        _backward_step(theta, X, row, layout, act, delta, c, m, v, opt, decay, eta_t)
        if decay:
            ssq = _sum_of_squared_weights(theta, layout)
    for a in (theta, m, v):
        _transpose_narrow(a, layout, False)
    restore(mode)
    return accumulated


@njit(cache=True, error_model="numpy", inline="always")
def _narrow(n_in, n_out):  # type: ignore[no-untyped-def]
    """Whether a layer's Wᵀ is kept transposed during the epoch: rows of under 16 outputs are
    too short to vectorize well, rows of n_in > n_out are longer (digits 64-100-10: the step of
    the 1,010 output parameters took 0.6-1.3 ms of a 5-9 ms epoch, row by row of 10)."""
    return n_out < 16 and n_in > n_out


@njit(cache=True, nogil=True, error_model="numpy")
def _transpose_narrow(a, layout, inward):  # type: ignore[no-untyped-def]
    """Store each narrow layer's weights (n_in rows of n_out) as n_out rows of n_in
    (``inward``), or back: the layout θ, m and v have outside the epoch is unchanged."""
    sizes, w_off = layout[0], layout[1]
    for l in range(1, len(sizes)):
        n_in, n_out, w = sizes[l - 1], sizes[l], w_off[l - 1]
        if _narrow(n_in, n_out):
            block = a[w : w + n_in * n_out].copy()
            for i in range(n_in):
                for j in range(n_out):
                    if inward:
                        a[w + j * n_in + i] = block[i * n_out + j]
                    else:
                        a[w + i * n_out + j] = block[j * n_in + i]


@njit(cache=True, nogil=True, error_model="numpy")
def _forward(theta, act, X, row, layout, c, nz):  # type: ignore[no-untyped-def]
    """:func:`.kernels.forward_sample` (the same sums in the same order: the same bits), with
    the inputs xᵢ ≠ 0 of each layer listed first (``nz``), so the sums skip the zeros without a
    branch per input, and each narrow layer (under 16 units) summed eight units at a time in
    registers."""
    sizes, w_off, b_off, a_off, acts = layout
    zero = c[C.C_ZERO]
    for l in range(1, len(sizes)):
        n_in, n_out = U(sizes[l - 1]), U(sizes[l])
        w, b, ai, ao = U(w_off[l - 1]), U(b_off[l - 1]), U(a_off[l - 1]), U(a_off[l])
        k = U(0)
        for i in range(n_in):
            nz[k] = i
            k += U(1) if (X[row, i] if l == 1 else act[ai + i]) != zero else U(0)
        if _narrow(n_in, n_out):  # element (i, j) at w + j n_in + i
            _narrow_z(theta, act, X, row, l, nz, k, w, ai, ao, n_out, U(1), n_in, zero)
        elif n_out < U(16):
            _narrow_z(theta, act, X, row, l, nz, k, w, ai, ao, n_out, n_out, U(1), zero)
        else:
            _wide_z(theta, act, X, row, l, nz, k, w, ai, ao, n_out, zero)
        for j in range(n_out):
            act[ao + j] = act[ao + j] + theta[b + j]
        activate(act, a_off[l], sizes[l], acts[l - 1], c)


@njit(cache=True, error_model="numpy", inline="always")
def _wide_z(theta, act, X, row, l, nz, k, w, ai, ao, n_out, zero):  # type: ignore[no-untyped-def]
    """z ← Σ over the listed inputs of xᵢ times row i of Wᵀ, four rows per sweep over z (then
    one at a time; vectorized along the row): ((z + w₁x₁) + w₂x₂) + … keeps each sum's order,
    and z is loaded and stored once per four rows."""
    for j in range(n_out):
        act[ao + j] = zero
    t = U(0)
    while t + U(4) <= k:
        i0, i1, i2, i3 = nz[t], nz[t + U(1)], nz[t + U(2)], nz[t + U(3)]
        x0 = X[row, i0] if l == 1 else act[ai + i0]
        x1 = X[row, i1] if l == 1 else act[ai + i1]
        x2 = X[row, i2] if l == 1 else act[ai + i2]
        x3 = X[row, i3] if l == 1 else act[ai + i3]
        r0, r1, r2, r3 = w + i0 * n_out, w + i1 * n_out, w + i2 * n_out, w + i3 * n_out
        for j in range(n_out):
            z = act[ao + j] + theta[r0 + j] * x0 + theta[r1 + j] * x1
            act[ao + j] = z + theta[r2 + j] * x2 + theta[r3 + j] * x3
        t += U(4)
    while t < k:
        i = nz[t]
        xi = X[row, i] if l == 1 else act[ai + i]
        r = w + i * n_out
        for j in range(n_out):
            act[ao + j] += theta[r + j] * xi
        t += U(1)


@njit(cache=True, error_model="numpy", inline="always")
def _narrow_z(theta, act, X, row, l, nz, k, w, ai, ao, n_out, si, sj, zero):  # type: ignore[no-untyped-def]
    """z ← Σ over the listed inputs of xᵢ wᵢⱼ (at w + i sᵢ + j sⱼ), eight units j at a time in
    registers, then two, then one (a row of under 16 is too short to vectorize well)."""
    j = U(0)
    while j + U(8) <= n_out:
        _z8(theta, act, X, row, l, nz, k, w + j * sj, ai, ao + j, si, sj, zero)
        j += U(8)
    while j + U(2) <= n_out:
        z0, z1 = zero, zero
        for t in range(k):
            i = nz[t]
            xi = X[row, i] if l == 1 else act[ai + i]
            r = w + i * si + j * sj
            z0 += theta[r] * xi
            z1 += theta[r + sj] * xi
        act[ao + j], act[ao + j + 1] = z0, z1
        j += U(2)
    if j < n_out:
        z = zero
        for t in range(k):
            i = nz[t]
            z += theta[w + i * si + j * sj] * (X[row, i] if l == 1 else act[ai + i])
        act[ao + j] = z


@njit(cache=True, error_model="numpy", inline="always")
def _z8(theta, act, X, row, l, nz, k, w, ai, ao, si, sj, zero):  # type: ignore[no-untyped-def]
    """Eight units' z (from w, into act[ao : ao + 8]) in one pass over the listed inputs."""
    z0, z1, z2, z3, z4, z5, z6, z7 = zero, zero, zero, zero, zero, zero, zero, zero
    for t in range(k):
        i = nz[t]
        xi = X[row, i] if l == 1 else act[ai + i]
        r = w + i * si
        z0 += theta[r] * xi
        z1 += theta[r + sj] * xi
        z2 += theta[r + 2 * sj] * xi
        z3 += theta[r + 3 * sj] * xi
        z4 += theta[r + 4 * sj] * xi
        z5 += theta[r + 5 * sj] * xi
        z6 += theta[r + 6 * sj] * xi
        z7 += theta[r + 7 * sj] * xi
    act[ao], act[ao + 1], act[ao + 2], act[ao + 3] = z0, z1, z2, z3
    act[ao + 4], act[ao + 5], act[ao + 6], act[ao + 7] = z4, z5, z6, z7


@njit(cache=True, nogil=True, error_model="numpy")
def _backward_step(theta, X, row, layout, act, delta, c, m, v, opt, decay, eta_t):  # type: ignore[no-untyped-def]
    """Backpropagate δ from the output layer down, stepping each layer once the δ of the layer
    below has been read from its weights (before the step, as the delta rule wants).

    The optimizer is chosen per layer, outside the loops: a branch inside them (even one that
    never changes) keeps LLVM from vectorizing the rows, at a cost of 4× per epoch. A narrow
    layer (:func:`_narrow`, stored transposed) is stepped by rows of n_in, δⱼ the scalar."""
    sizes, w_off, b_off, a_off, acts = layout
    wd = c[C.C_WD] if decay else c[C.C_ZERO]
    zero, one = c[C.C_ZERO], c[C.C_ONE]
    mu, eta = c[C.C_MU], c[C.C_ETA]
    b1, b2, omb1, omb2, eps = c[C.C_B1], c[C.C_B2], c[C.C_1MB1], c[C.C_1MB2], c[C.C_ADAM_EPS]
    for l in range(len(sizes) - 1, 0, -1):
        n_in, n_out = U(sizes[l - 1]), U(sizes[l])
        w, b, ai, ao = U(w_off[l - 1]), U(b_off[l - 1]), U(a_off[l - 1]), U(a_off[l])
        narrow = _narrow(n_in, n_out)
        if l > 1:  # δᵢ (layer below) = f′(zᵢ) Σⱼ δⱼ wⱼᵢ, before the step
            if narrow:
                _delta_below_narrow(theta, act, delta, w, ai, ao, n_in, n_out, acts[l - 2], c)
            else:
                _delta_below(theta, act, delta, w, ai, ao, n_in, n_out, acts[l - 2], c)
        xs = X[row] if l == 1 else act[ai:]
        if narrow:  # rows of n_in: the roles of δⱼ and xᵢ swap (δⱼ xᵢ = xᵢ δⱼ, the same bits)
            if opt == C.SKLEARN_ADAM:
                for j in range(n_out):
                    r, dj = w + j * n_in, delta[ao + j]
                    _adam_row(
                        theta, m, v, r, xs, U(0), n_in, dj, wd, b1, b2, omb1, omb2, eps, eta_t
                    )
            elif opt == C.NESTEROV:
                for j in range(n_out):
                    r, dj = w + j * n_in, delta[ao + j]
                    _momentum_row(theta, m, r, xs, U(0), n_in, dj, wd, mu, eta, True)
            else:
                for j in range(n_out):
                    r, dj = w + j * n_in, delta[ao + j]
                    _momentum_row(theta, m, r, xs, U(0), n_in, dj, wd, mu, eta, False)
        elif opt == C.SKLEARN_ADAM:
            for i in range(n_in):
                r = w + i * n_out
                _adam_row(
                    theta, m, v, r, delta, ao, n_out, xs[i], wd, b1, b2, omb1, omb2, eps, eta_t
                )
        elif opt == C.NESTEROV:
            for i in range(n_in):
                _momentum_row(theta, m, w + i * n_out, delta, ao, n_out, xs[i], wd, mu, eta, True)
        else:
            for i in range(n_in):
                _momentum_row(theta, m, w + i * n_out, delta, ao, n_out, xs[i], wd, mu, eta, False)
        if opt == C.SKLEARN_ADAM:
            _adam_row(theta, m, v, b, delta, ao, n_out, one, zero, b1, b2, omb1, omb2, eps, eta_t)
        elif opt == C.NESTEROV:
            _momentum_row(theta, m, b, delta, ao, n_out, one, zero, mu, eta, True)
        else:
            _momentum_row(theta, m, b, delta, ao, n_out, one, zero, mu, eta, False)


@njit(cache=True, error_model="numpy", inline="always")
def _delta_below(theta, act, delta, w, ai, ao, n_in, n_out, code, c):  # type: ignore[no-untyped-def]
    """δᵢ = f′(oᵢ) Σⱼ δⱼ wⱼᵢ for the n_in units below a layer stored as n_in rows of n_out."""
    for i in range(n_in):
        e = c[C.C_ZERO]
        for j in range(n_out):
            e += delta[ao + j] * theta[w + i * n_out + j]
        delta[ai + i] = derivative(act[ai + i], code, c) * e


@njit(cache=True, error_model="numpy", inline="always")
def _delta_below_narrow(theta, act, delta, w, ai, ao, n_in, n_out, code, c):  # type: ignore[no-untyped-def]
    """:func:`_delta_below` for a layer stored as n_out rows of n_in: every sum adds j = 0, 1, …
    in the same order, all n_in sums at once (a loop over i, vectorized, inside the loop over j)."""
    for i in range(n_in):
        delta[ai + i] = c[C.C_ZERO]
    for j in range(n_out):
        d = delta[ao + j]
        for i in range(n_in):
            delta[ai + i] += d * theta[w + j * n_in + i]
    for i in range(n_in):
        delta[ai + i] = derivative(act[ai + i], code, c) * delta[ai + i]


@njit(cache=True, error_model="numpy", inline="always")
def _momentum_row(theta, m, r, delta, ao, n, xi, wd, mu, eta, nesterov):  # type: ignore[no-untyped-def]
    """Momentum: v ← μv − ηg, θ ← θ + v; Nesterov: θ ← θ + (μv − ηg). ``nesterov`` is a
    constant at every call, so the choice is made at compile time, not in the loop."""
    for j in range(n):
        p = r + j
        g = -(delta[ao + j] * xi) + wd * theta[p]
        m_p = mu * m[p] - eta * g
        m[p] = m_p
        theta[p] = theta[p] + (mu * m_p - eta * g if nesterov else m_p)


@njit(cache=True, error_model="numpy", inline="always")
def _adam_row(theta, m, v, r, delta, ao, n, xi, wd, b1, b2, omb1, omb2, eps, eta_t):  # type: ignore[no-untyped-def]
    """scikit-learn's Adam: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − ηₜ m/(√v + ε)."""
    for j in range(n):
        p = r + j
        g = -(delta[ao + j] * xi) + wd * theta[p]
        m_p = b1 * m[p] + omb1 * g
        v_p = b2 * v[p] + omb2 * g * g
        m[p], v[p] = m_p, v_p
        theta[p] = theta[p] + -eta_t * m_p / (math.sqrt(v_p) + eps)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _sum_of_squared_weights(theta, layout):  # type: ignore[no-untyped-def]
    """Σ‖W‖² over the layers (biases excluded), in float64.

    ``reassoc`` lets LLVM sum in vector lanes (2-3× faster than in order); the order of a sum
    of squares is free anyway (NumPy's pairwise sum has its own), and nothing else here is
    reassociated."""
    w_off, b_off = layout[1], layout[2]
    s = 0.0
    for l in range(len(w_off)):
        for p in range(U(w_off[l]), U(b_off[l])):
            s += np.float64(theta[p]) * theta[p]
    return s
