"""A FANN network as a retroprop model, and a model (or network) as a FANN network file.

:func:`import_fann` reads a ``.net`` file (:mod:`retroprop.files.fann_net`) into a
:class:`~retroprop.files.model.Model` whose columns are those :func:`~retroprop.read_fann`
gives a FANN data file: features ``x1 … xn`` taken as they are (no scaling, as ``fann_run``
takes them), and the target ``class`` (several outputs: the classes 0 … k−1, the index of the
largest output), ``y1 … yk`` (several outputs imported as regression targets) or ``y`` (one
output, a regression value). So the imported model evaluates the
network's own FANN test file directly (``retroprop evaluate model.retroprop data.test``).

:func:`export_fann` writes the reverse: the network with the model's input standardisation
folded into its first layer (into every block of a cascade, all of which read the inputs)
(x' = (x − m)/s gives W' = W / s and b' = b − W (m / s)), and a
regression target's (y = o·scale + mean) folded into a linear output layer, so the FANN network
takes the raw columns and answers in the target's units.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Network
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.files.fann_net import FannNetError, fann_to_network, read_fann_net, write_fann_net
from retroprop.files.model import Model

__all__ = ["export_fann", "import_fann"]


def import_fann(path: str | os.PathLike[str], *, regression: bool = False) -> Model:
    """The model of a FANN network file (layered, floating point; see the module docstring);
    ``regression``: several outputs are the regression targets ``y1 … yk`` (the columns
    :func:`~retroprop.read_fann` gives outputs that are not one-hot), not classes.

    Raises:
        FannNetError: the file cannot be read or converted (the message says why).
    """
    path = Path(path)
    network = fann_to_network(read_fann_net(path), path.name)
    n_inputs, n_outputs = network.sizes[0], network.sizes[-1]
    features = tuple(Feature(f"x{j + 1}", "numeric") for j in range(n_inputs))
    if n_outputs == 1:
        target = Target("y", "regression")
    elif regression:
        first, *more = (Target(f"y{k + 1}", "regression") for k in range(n_outputs))
        target = replace(first, more=tuple(more))
    else:
        target = Target("class", "classification", classes=tuple(range(n_outputs)))
    columns = (*(f.name for f in features), *target.names)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Model(
        network,
        Preprocessor(features, target, columns),
        training={"imported_from": "FANN", "file": path.name},
        data={"source": path.name, "sha256": digest},
    )


def export_fann(source: Model | Network | CascadeNetwork, path: str | os.PathLike[str]) -> None:
    """Write a model (its preprocessing folded in) or a bare network as a FANN ``.net`` file.

    Raises:
        FannNetError: categorical features, a regression model without a linear output, or an
            activation FANN does not have.
    """
    network = folded_network(source) if isinstance(source, Model) else source
    write_fann_net(network, path)


def folded_network(model: Model) -> Network | CascadeNetwork:
    """The model's network taking raw columns and returning the target in its own units."""
    pre = model.preprocessor
    categorical = [f.name for f in pre.features if f.kind != "numeric"]
    if categorical:
        raise FannNetError(
            f"categorical column {categorical[0]!r}: a FANN network takes numbers only (its "
            "one-hot encoding cannot be folded into weights)"
        )
    network = model.network
    layers = list(network.layers)
    mean = np.array([f.mean for f in pre.features])
    scale = np.array([f.scale for f in pre.features])
    n = len(scale)
    reading = range(len(layers)) if isinstance(network, CascadeNetwork) else range(1)
    for l in reading:  # every block of a cascade reads the inputs, a layered network's first
        W = layers[l].W.copy()
        W[:, :n] = W[:, :n] / scale
        layers[l] = replace(layers[l], W=W, b=layers[l].b - layers[l].W[:, :n] @ (mean / scale))
    target = pre.target
    if target.kind == "regression":
        last = layers[-1]
        if last.activation.name != "identity":
            raise FannNetError(
                f"the output layer is {last.activation.name}: a regression model's "
                "standardised target folds into a linear (identity) output layer only"
            )
        s, m = target.scales, target.means  # (n_targets,): y_k = s_k o_k + m_k
        layers[-1] = replace(last, W=last.W * s[:, None], b=last.b * s + m)
    if isinstance(network, CascadeNetwork):
        return CascadeNetwork(layers[:-1], layers[-1], network.loss)
    return Network(layers)
