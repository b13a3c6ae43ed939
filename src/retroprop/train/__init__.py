"""Training: the one loop (:func:`~retroprop.train.loop.fit`, where the mode is only the batch
size: argument checks, engine choice, epochs), its checked inputs (:mod:`.inputs`: data,
validation split, settings, callbacks), what happens in and after each epoch (:mod:`.epochs`:
:func:`~.epochs.train_step`, the step rule's epochs, the bookkeeping), callbacks and early
stopping, the train state that makes a run resumable, and the whole-run solvers (L-BFGS, the
genetic algorithm) behind one small ``Solver`` protocol, and :mod:`.cascade`, which grows a
:class:`~retroprop.core.cascade.CascadeNetwork` (cascade-correlation) instead of fitting a given
network. :mod:`.loop` re-exports what callers use (``fit``, ``train_step``, ``as_arrays``,
``History``, ``Callback``, …).

May import: :mod:`retroprop.core` and :mod:`retroprop._fast` (the compiled accelerators).
"""
