"""retroprop: multilayer perceptrons trained by backpropagation, as the lecture explains them.

>>> import retroprop as rp
>>> net = rp.Network.create([2, 2, 1], seed=0)
>>> data = rp.datasets.xor()
>>> history = rp.fit(net, data.X, data.y, learning_rate=0.5, epochs=10)
"""

from __future__ import annotations

from . import datasets
from .activations import ACTIVATIONS, Activation, get_activation
from .gradcheck import GradCheckResult, gradcheck
from .losses import LOSSES, Loss, get_loss
from .network import Dense, ForwardPass, Gradients, Network
from .optimizers import LBFGS, SGD, Adam, Momentum, Rprop, get_optimizer
from .training import (
    Callback,
    DivergenceError,
    EarlyStopping,
    History,
    StepResult,
    accuracy,
    fit,
    train_step,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LBFGS",
    "LOSSES",
    "SGD",
    "Activation",
    "Adam",
    "Callback",
    "Dense",
    "DivergenceError",
    "EarlyStopping",
    "ForwardPass",
    "GradCheckResult",
    "Gradients",
    "History",
    "Loss",
    "Momentum",
    "Network",
    "Rprop",
    "StepResult",
    "__version__",
    "accuracy",
    "datasets",
    "fit",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "gradcheck",
    "train_step",
]
