"""retroprop: multilayer perceptrons trained by backpropagation, as the lecture explains them.

>>> import retroprop as rp
>>> net = rp.Network.create([2, 2, 1], seed=0)
>>> data = rp.datasets.xor()
>>> history = rp.fit(net, data.X, data.y, learning_rate=0.5, epochs=10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import datasets
from .activations import ACTIVATIONS, Activation, get_activation
from .compare import ComparisonResult, SolverResult  # the function: retroprop.compare.compare
from .compare_view import plot_comparison
from .genetic import Genetic
from .gradcheck import GradCheckResult, gradcheck
from .losses import LOSSES, Loss, get_loss
from .model import Model
from .modelfile import ModelFileError, load_model, save_model
from .netfile import NetworkFileError, load_network, save_network
from .network import Dense, ForwardPass, Gradients, Network
from .onnx_export import export_onnx  # onnx itself is imported on use
from .optimizers import LBFGS, SGD, Adam, Momentum, Rprop, get_optimizer
from .preprocessing import Preprocessor
from .report import Recorder, write_report
from .search import SearchResult, plot_search  # the function: retroprop.search.search
from .tabular import DataError, DataWarning, Table, read_csv
from .trace import LayerTrace, StepTrace, trace_step, trace_steps
from .training import (
    Callback,
    DivergenceError,
    EarlyStopping,
    History,
    StepResult,
    TrainState,
    accuracy,
    fit,
    train_step,
)

if TYPE_CHECKING:
    from .estimators import MLPClassifier, MLPRegressor

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The scikit-learn estimators import scikit-learn (slow): load them on first use only.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'retroprop' has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "LBFGS",
    "LOSSES",
    "SGD",
    "Activation",
    "Adam",
    "Callback",
    "ComparisonResult",
    "DataError",
    "DataWarning",
    "Dense",
    "DivergenceError",
    "EarlyStopping",
    "ForwardPass",
    "Genetic",
    "GradCheckResult",
    "Gradients",
    "History",
    "LayerTrace",
    "Loss",
    "MLPClassifier",
    "MLPRegressor",
    "Model",
    "ModelFileError",
    "Momentum",
    "Network",
    "NetworkFileError",
    "Preprocessor",
    "Recorder",
    "Rprop",
    "SearchResult",
    "SolverResult",
    "StepResult",
    "StepTrace",
    "Table",
    "TrainState",
    "__version__",
    "accuracy",
    "datasets",
    "export_onnx",
    "fit",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "gradcheck",
    "load_model",
    "load_network",
    "plot_comparison",
    "plot_search",
    "read_csv",
    "save_model",
    "save_network",
    "trace_step",
    "trace_steps",
    "train_step",
    "write_report",
]
