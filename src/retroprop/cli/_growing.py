"""``retroprop train --grow``: the hidden layer grown by cascade-correlation.

The same recipe as :func:`~._training.train_table` (preprocessing, test and validation rows,
output activation and loss, the model's record of how it was made), with
:func:`~retroprop.cascade_fit` in place of a fixed hidden layer: neurons are installed one at a
time until every training output is within FANN's bit-fail limit (0.35) of its target or
``max_hidden`` neurons are in. The run's history has one row per number of hidden neurons
(``hidden_neurons``, and the losses of the training and validation rows after the outputs were
trained), which is what the training report draws: error against the number of hidden neurons.
"""

from __future__ import annotations

from collections.abc import Sequence

from retroprop.cli._test_set import hold_out_test, test_data
from retroprop.cli._training import (
    Split,
    TrainResult,
    TrainSettings,
    _metrics,
    _output,
    _result,
    _split,
    _untrained_model,
    target_names,
)
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.tabular import Table
from retroprop.train.cascade import CascadeResult, CascadeStep, cascade_fit
from retroprop.train.loop import Callback, History

__all__ = ["grow_table", "growth_history"]


def grow_table(
    table: Table, s: TrainSettings, callbacks: Sequence[Callback] = (), *, record: bool = False
) -> TrainResult:
    """Fit the preprocessing and grow a cascade network on ``table`` (the module docstring).

    ``callbacks`` hear ``on_epoch_end(n_hidden, logs)`` after every step (a progress bar).
    """
    fitting, held_out = hold_out_test(table, s)
    pre, rows = Preprocessor.fit(
        fitting, target_names(s.target), task=s.task, categorical=s.categorical, ignore=s.ignore,
        missing=s.missing,
    )  # fmt: skip
    split = _split(pre, fitting, rows, s)
    test = None if held_out is None else test_data(pre, held_out, s)
    output = _output(pre.target.kind, s)
    grown = _grow(split, output, s, callbacks)
    n_test = 0 if test is None else len(test[0])
    model = _untrained_model(grown.network, output, pre, table, len(rows) + n_test, s)
    model.training.update(solver="cascade", learning_rate=None, batch_size="all", hidden=[])
    history = growth_history(grown.history)
    model.metrics = {
        **_metrics(model, history, split, test),
        "hidden_neurons": grown.network.n_hidden,
    }
    return _result(model, history, split, test, record)


def _grow(
    split: Split, output: tuple[str, str], s: TrainSettings, callbacks: Sequence[Callback]
) -> CascadeResult:
    """:func:`cascade_fit` on the training rows, recording the validation rows' error."""
    Xt, Yt, Xv, Yv = split

    def report(step: CascadeStep) -> None:
        for cb in callbacks:
            cb.on_epoch_end(step.n_hidden, step.logs)

    return cascade_fit(
        Xt, Yt, max_hidden=s.max_hidden, output_activation=output[0], loss=output[1],
        validation=(Xv, Yv) if len(Xv) else None, seed=s.seed, callback=report,
    )  # fmt: skip


def growth_history(steps: Sequence[CascadeStep]) -> History:
    """A :class:`~retroprop.train.loop.History` with one row per number of hidden neurons."""
    history = History()
    for step in steps:
        history.append({"hidden_neurons": step.n_hidden, **step.logs, "time": step.seconds})
    return history
