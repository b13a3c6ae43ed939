"""retroprop: multilayer perceptrons trained by backpropagation, as the lecture explains them.

>>> import retroprop as rp
>>> net = rp.Network.create([2, 2, 1], seed=0)
>>> data = rp.datasets.xor()
>>> history = rp.fit(net, data.X, data.y, learning_rate=0.5, epochs=10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retroprop import datasets
from retroprop.apps.compare import ComparisonResult, SolverResult, compare
from retroprop.apps.compare_view import plot_comparison
from retroprop.apps.search import SearchResult, plot_search, search
from retroprop.core.activations import ACTIVATIONS, Activation, get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.gradcheck import GradCheckResult, gradcheck
from retroprop.core.losses import LOSSES, Loss, get_loss
from retroprop.core.metrics import accuracy
from retroprop.core.network import Dense, ForwardPass, Gradients, Network
from retroprop.core.optimizers import SGD, Adam, Momentum, Rprop
from retroprop.data.fann import read_data, read_fann
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.tabular import DataError, DataWarning, Table, read_csv
from retroprop.files.loader import load_model
from retroprop.files.model import Model
from retroprop.files.model_file import ModelFileError, save_model
from retroprop.files.network_file import NetworkFileError, load_network, save_network
from retroprop.files.onnx_export import export_onnx  # onnx itself is imported on use
from retroprop.glassbox.trace import LayerTrace, StepTrace, trace_step, trace_steps
from retroprop.train.cascade import CascadeResult, CascadeStep, cascade_fit
from retroprop.train.loop import (
    Callback,
    DivergenceError,
    EarlyStopping,
    History,
    StepResult,
    TrainState,
    fit,
    train_step,
)
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import LBFGS, Genetic
from retroprop.views.report import Recorder, write_report

if TYPE_CHECKING:
    from retroprop.estimators import MLPClassifier, MLPRegressor

from retroprop._version import __version__


def __getattr__(name: str) -> Any:
    # The scikit-learn estimators import scikit-learn (slow): load them on first use only.
    if name in ("MLPClassifier", "MLPRegressor"):
        from retroprop import estimators

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
    "CascadeNetwork",
    "CascadeResult",
    "CascadeStep",
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
    "cascade_fit",
    "compare",
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
    "read_data",
    "read_fann",
    "save_model",
    "save_network",
    "search",
    "trace_step",
    "trace_steps",
    "train_step",
    "write_report",
]
