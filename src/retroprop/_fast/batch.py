"""numba kernels for the element-wise passes of mini-batch training on BLAS (:mod:`.blas`).

Between two matrix products, a batch needs a few passes over arrays of shape (m, n): gather the
rows of the batch, add the bias and apply the activation, form the output δ, multiply δ by f′,
sum δ over the batch for the bias. NumPy does each of these as several whole-array operations
(a temporary, a mask, a second pass); here each is one pass in compiled code, on one thread
(the arrays of a batch are small; the BLAS threads do the heavy lifting).

Same arithmetic as the reference (``Network.forward``/``backward``, ``optimizers.SGD``) in the
same order of rounding; the scalars come in ``c`` as in :mod:`.kernels`.
"""

from __future__ import annotations

from numba import njit

from retroprop._fast.constants import C_N, C_NEG_ETA, C_ONE, C_ZERO, RELU
from retroprop._fast.kernels import activate, derivative, tally_sample

# All kernels: cache=True (compiled once per machine), fastmath off (IEEE order, as NumPy).


@njit(cache=True, nogil=True)
def gather(X, index, out):  # type: ignore[no-untyped-def]
    """out[r] ← X[index[r]] for r < len(index): the rows of a batch, in the shuffled order.

    Shapes: X (n_samples, n), index (m,), out (≥ m, n); all C-contiguous.
    """
    for r in range(len(index)):
        src = X[index[r]]
        dst = out[r]
        for i in range(src.shape[0]):
            dst[i] = src[i]


@njit(cache=True, nogil=True)
def bias_activate(Z, b, code, c):  # type: ignore[no-untyped-def]
    """Z ← f(Z + b) in place, row by row: Z (m, n) holds a·Wᵀ on entry, b is (n,)."""
    m, n = Z.shape
    flat = Z.reshape(m * n)
    if code == RELU:  # one select per element, which the compiler vectorizes
        zero = c[C_ZERO]
        for r in range(m):
            lo = r * n
            for j in range(n):
                z = flat[lo + j] + b[j]
                flat[lo + j] = zero if z <= zero else z  # NaN stays NaN, as in np.maximum
        return
    for r in range(m):
        lo = r * n
        for j in range(n):
            flat[lo + j] = flat[lo + j] + b[j]
        activate(flat, lo, n, code, c)


@njit(cache=True, nogil=True)
def matched_delta(Y, A, D):  # type: ignore[no-untyped-def]
    """D ← −(A − Y): the output δ of a matched pair (identity + squared error, sigmoid + binary
    cross-entropy, softmax + categorical cross-entropy), all (m, n)."""
    m, n = A.shape
    for r in range(m):
        for j in range(n):
            D[r, j] = -(A[r, j] - Y[r, j])


@njit(cache=True, nogil=True)
def bias_sgd(b, D, acc, c):  # type: ignore[no-untyped-def]
    """b ← b − η g with g = −Σᵣ δᵣ / m (plain SGD on the bias; ``acc`` (n,) is scratch).

    The sum runs over the rows in order, as NumPy's ``D.sum(axis=0)``.
    """
    m, n = D.shape
    zero = c[C_N] * 0
    for j in range(n):
        acc[j] = zero
    for r in range(m):
        for j in range(n):
            acc[j] += D[r, j]
    k, neg_eta = c[C_N], c[C_NEG_ETA]
    for j in range(n):
        b[j] = b[j] + neg_eta * (-acc[j] / k)


@njit(cache=True, nogil=True)
def times_derivative(D, A, code, c):  # type: ignore[no-untyped-def]
    """D ← f′(z) ⊙ D in place, f′ from the outputs A (both (m, n), C-contiguous)."""
    d, a = D.reshape(D.size), A.reshape(A.size)
    if code == RELU:  # a select and a product per element, which the compiler vectorizes
        one, zero = c[C_ONE], c[C_ZERO]
        for i in range(d.size):
            d[i] = (one if a[i] > zero else zero) * d[i]
        return
    for i in range(d.size):
        d[i] = derivative(a[i], code, c) * d[i]


@njit(cache=True, nogil=True)
def tally(Y, O, loss_code, classify, c, sums):  # type: ignore[no-untyped-def]
    """sums += [Σ E, Σ ½‖y − o‖², number right] of the rows of a batch: Y, O (m, n_L)."""
    for r in range(O.shape[0]):
        tally_sample(O[r], 0, O.shape[1], Y, r, loss_code, classify, c, sums)
