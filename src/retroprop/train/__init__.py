"""Training: the one loop (:func:`~retroprop.train.loop.fit`, where the mode is only the batch
size), :func:`~retroprop.train.loop.train_step`, callbacks and early stopping, the train state
that makes a run resumable, and the whole-run solvers (L-BFGS, the genetic algorithm) behind one
small ``Solver`` protocol.

May import: :mod:`retroprop.core` and :mod:`retroprop._fast` (the compiled accelerators).
"""
