"""Compiled accelerators for the training loop, checked against the NumPy reference.

:func:`~.engine.make_trainer` looks at a network, an optimizer and a batch size and returns an
object whose ``run_epoch(index)`` does what the NumPy loop of :func:`retroprop.train.loop.fit`
does for one epoch (same sample order, same arithmetic, equal to rounding), or explains why it
cannot; :func:`~.engine.select_engine` decides for ``fit(engine="auto")``.

- :mod:`.constants`: activation, loss and optimizer codes, the scalar slots, the θ layout;
- :mod:`.kernels`: numba kernels that train an epoch sample by sample (small layers, online and
  small mini-batches), with preallocated buffers; :mod:`.trainer` is their host side;
- :mod:`.codegen`: for online SGD and every epoch's logs, a kernel generated for the
  architecture, with sizes and formulas written out; :mod:`.background` has it compiled by a
  worker process (:mod:`.compile_worker`) while the generic kernels, which give the same numbers
  bit for bit, train, and swaps it in at an epoch boundary: a new architecture never waits;
- :mod:`.blas` (with :mod:`.batch`): BLAS matrix products into preallocated buffers, for large
  layers with mini-batches;
- :mod:`.objective`: the scikit-learn estimators' epochs (their per-batch objective and Adam
  form), sample by sample; :mod:`.objective_online` their online epochs with momentum, weight
  decay or Adam, the step fused into the backward sweep (subnormals flushed meanwhile,
  :mod:`.flush`); :mod:`.objective_blas` the same on BLAS for wide batches, and L-BFGS's
  objective and gradient; all chosen by :mod:`retroprop.estimators._compiled`.
- :mod:`.fullbatch` (with :mod:`.codegen_batch`, its pass generated per architecture): full
  batches, one call per epoch, for every step rule including the Rprop family, Quickprop and
  SARPROP; the pass that gives the next gradient also gives the epoch's final error;
  :mod:`.batch_chunks` runs several such epochs per call when nothing happens between them.

Supported: the built-in activations and losses (the registry objects themselves, not custom
ones) and the optimizers SGD, momentum (classic and Nesterov) and Adam, with weight decay; on
the full batch also Rprop⁺, Rprop⁻, iRprop⁺, iRprop⁻, Quickprop and SARPROP. The Rprops on
mini-batches and the whole-run solvers stay on the NumPy path. The whole package is private to
retroprop; its modules have plain names.

- :mod:`.dense`: inference's products z = a·Wᵀ + b compiled for the host's instruction set,
  handed to :func:`retroprop.core.inference.accelerate` when this package is imported.

May import: :mod:`retroprop.core` (and numba, SciPy's BLAS) — never training, files or views.
"""

from retroprop._fast import dense as _dense

_dense.register()
