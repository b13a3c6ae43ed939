"""What ``retroprop explain --model`` takes from the model besides its network: the optimizer and
η it was trained with (the step's defaults), and the names of its inputs and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from retroprop.data.preprocessing import Preprocessor
    from retroprop.files.model import Model

__all__ = ["optimizer_choice", "step_names"]


def optimizer_choice(
    model: Model | None, optimizer: str | None, learning_rate: float | None
) -> tuple[str, float | None]:
    """The step rule to explain and its η (None: ``explain``'s default).

    A trained model's step uses the optimizer and η it was trained with, as stored in its
    training settings; ``--optimizer`` and ``--learning-rate`` override them (a different
    optimizer takes its own default η). A model trained by a whole-run solver (L-BFGS, the
    genetic algorithm) takes no single step: its step is explained as sgd's, and a note on
    stderr says so.
    """
    from retroprop.core.optimizers import Optimizer
    from retroprop.train.registry import get_optimizer
    from retroprop.views.terminal import visible

    chosen = None if optimizer is None else optimizer.lower()
    if model is None:
        return chosen or "sgd", learning_rate
    solver = str(model.training.get("solver", "sgd")).lower()
    own_eta = model.training.get("learning_rate")
    try:
        steps = isinstance(get_optimizer(solver), Optimizer)
    except (ValueError, TypeError):
        steps = False
    if chosen is None and not steps:
        typer.echo(
            f"note: the model was trained with {visible(solver)}, which takes no single step; "
            "explaining an sgd step (choose with --optimizer and --learning-rate)",
            err=True,
        )
        return "sgd", learning_rate
    name = chosen or solver
    if learning_rate is None and name == solver and isinstance(own_eta, (int, float)):
        return name, float(own_eta)
    return name, learning_rate


def step_names(pre: Preprocessor) -> dict[str, Any]:
    """What the model's inputs and outputs are, for the trace: every input's column (one-hot
    inputs as ``column=category``), the class labels or the target column, and the
    standardisation of a regression target."""
    from retroprop.glassbox.records import TargetScaling

    inputs = list(pre.input_names)
    t = pre.target
    if t.kind == "classification":
        return {"input_names": inputs, "output_names": [str(c) for c in t.classes]}
    scaling = [TargetScaling(m.name, float(m.mean), float(m.scale)) for m in (t, *t.more)]
    return {
        "input_names": inputs,
        "output_names": list(t.names),
        "target_scaling": scaling[0] if len(scaling) == 1 else scaling,
    }
