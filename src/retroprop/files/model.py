"""A trained model: a network, its preprocessing and the record of how it was made.

:class:`Model` applies the network to raw tabular rows — a pandas DataFrame, columns
``{name: values}``, a 2-D array with the feature columns in the model's order, or a
:class:`~retroprop.data.tabular.Table` from :func:`~retroprop.read_csv`: columns are matched by
name, preprocessed as in training (missing values as the model's policy says, see
:mod:`retroprop.data.preprocessing`), and the outputs decoded into class labels, class
probabilities or values in the target's units.
:mod:`retroprop.files.model_file` saves and loads it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Network
from retroprop.data.preprocessing import Label, Preprocessor
from retroprop.data.tabular import Table
from retroprop.errors import ParameterError

__all__ = ["Model", "library_versions"]

FORMAT_VERSION = 1
"""The model-file format version this retroprop writes (readers accept 1 to this)."""

Array = NDArray[np.floating]


def library_versions() -> dict[str, str]:
    """Versions of retroprop, Python and the libraries it computes with."""
    out = {"python": sys.version.split()[0]}
    for dist in ("retroprop", "numpy", "scipy", "scikit-learn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Model:
    """A trained network with its preprocessing and the record of how it was made.

    Attributes:
        network: the trained :class:`~retroprop.core.network.Network` (or a
            :class:`~retroprop.core.cascade.CascadeNetwork` grown by cascade-correlation).
        preprocessor: turns raw rows into network inputs and outputs into predictions.
        training: training settings (solver, learning rate, epochs, batch size, seed, …).
        metrics: final training and validation numbers.
        data: ``sha256`` of the training file, ``rows``, ``source`` (its name).
        versions: library versions at training time.
        created: ISO 8601 UTC time the model was made.
        format_version: the model-file format version it was read from (or will be written
            as).
    """

    network: Network | CascadeNetwork
    preprocessor: Preprocessor
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = field(default_factory=_now)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        sizes, pre = self.network.sizes, self.preprocessor
        if (sizes[0], sizes[-1]) != (pre.n_inputs, pre.n_outputs):
            raise ParameterError(
                f"the network has {sizes[0]} inputs and {sizes[-1]} outputs, but the "
                f"preprocessing makes {pre.n_inputs} inputs and {pre.n_outputs} outputs"
            )

    @property
    def task(self) -> Literal["classification", "regression"]:
        return self.preprocessor.target.kind

    @property
    def missing(self) -> str:
        """What predictions do with missing cells: ``"mean"`` fills them (a number with its
        training mean, a category with its most frequent one); ``"error"`` and ``"drop"``
        (trained on complete rows) refuse them. Set in training; ``missing=`` overrides it."""
        return self.preprocessor.missing

    def outputs(
        self,
        data: Any,
        *,
        missing: Literal["error", "mean"] | None = None,
        unknown: Literal["error", "ignore"] = "error",
    ) -> Array:
        """Network outputs for raw rows, shape (n_rows, n_outputs).

        Args:
            data: a pandas (or polars) DataFrame, columns ``{name: values}`` (lists, arrays or
                Series), a 2-D array or list of rows (the model's feature columns in their
                order, see :attr:`feature_names`), or a :class:`~retroprop.data.tabular.Table`
                (from :func:`~retroprop.read_csv`). Named columns are matched by name; extra
                ones are ignored with a warning, missing ones are an error.
            missing: the model's own policy when None (:attr:`missing`); ``"mean"`` fills
                missing cells, ``"error"`` refuses them.
            unknown: ``"ignore"`` encodes unseen categories as all zeros (with a warning).

        Raises:
            DataError: the data is not a table, lacks a feature column, or has a value the
                model cannot take (named by column and row).
        """
        if missing not in (None, "error", "mean"):
            raise ParameterError(
                f"missing: expected 'mean' (fill) or 'error' (refuse), got {missing!r}; "
                f"predictions answer every row, so rows cannot be dropped"
            )
        table = self.preprocessor.align(Table.from_data(data))
        X = self.preprocessor.transform(table, missing=missing, unknown=unknown)
        return self.network.predict(X)

    def predict(self, data: Any, **options: Any) -> list[Label] | Array:
        """Class labels (a list) or regression values in the target's units, one per row:
        shape (n_rows,), or (n_rows, n_targets) for several target columns (``data`` and
        ``options`` as for :meth:`outputs`)."""
        return self.preprocessor.decode(self.outputs(data, **options))

    def predict_proba(self, data: Any, **options: Any) -> Array:
        """Class probabilities (n_rows, n_classes), columns in the order of ``classes``.

        For a softmax output these are the outputs; for other output activations (sigmoid with
        squared error, the lecture's) they are the outputs clipped at 0 and scaled to sum to 1.
        """
        if self.task != "classification":
            raise ParameterError("predict_proba: the model is a regression model")
        return self.probabilities(self.outputs(data, **options))

    def probabilities(self, O: Array) -> Array:
        """Class probabilities from network outputs O (n_rows, n_classes); see predict_proba."""
        if self.network.layers[-1].activation.name == "softmax":
            return O
        O = np.clip(O, 0.0, None)
        total = O.sum(axis=1, keepdims=True)
        uniform = np.full_like(O, 1.0 / O.shape[1])
        return np.where(total > 0, O / np.where(total > 0, total, 1.0), uniform)

    @property
    def classes(self) -> tuple[Label, ...]:
        return self.preprocessor.target.classes

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature columns, in the order a 2-D array passed to :meth:`predict` has them."""
        return tuple(f.name for f in self.preprocessor.features)
