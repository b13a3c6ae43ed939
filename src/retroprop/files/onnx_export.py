"""ONNX export: a trained network as a graph that onnxruntime, Triton and friends can serve.

What the graph computes depends on what is exported:

- a :class:`~retroprop.files.model.Model` (a ``.retroprop`` file): the model's whole recipe. Inputs
  are the raw feature columns — either one input per column (``inputs="columns"``: numeric
  columns float (n, 1), categorical columns string (n, 1)) or, when every feature is numeric,
  one matrix ``X`` (n, n_features) with the columns in the model's feature order
  (``inputs="matrix"``). The graph standardises numbers, x' = (x − mean) / scale (Sub, Div),
  one-hot encodes categories (Equal against the known categories; an unknown category becomes
  all zeros, as ``--ignore-unknown`` does), runs the network and decodes. Missing values are
  filled by retroprop's one rule (:mod:`retroprop.data.preprocessing`), the model's
  ``missing="mean"``: a NaN becomes the training mean, a missing category — an empty string or
  one of the CSV reader's missing tokens (``NA``, ``NaN``, ``null``, ``None``, …, in any case)
  — the most frequent category in training. A graph cannot refuse a row, so it fills them also
  for a model trained without missing values (whose ``predict`` refuses them unless asked to
  fill). A classifier has outputs
  ``label`` (n,) (ArgMax, then Gather from the class labels: string, int64 or double) and
  ``probabilities`` (n, n_classes) (the model's ``predict_proba``); a regressor has
  ``prediction`` (n,) in the target's units, o · scale + mean computed in double as retroprop
  does.
- a :class:`~retroprop.core.network.Network` (or a
  :class:`~retroprop.core.cascade.CascadeNetwork`): input ``X`` (n, n_inputs), output
  ``output`` (n, n_outputs), nothing else.
- a fitted :class:`~retroprop.MLPClassifier` / :class:`~retroprop.MLPRegressor`: input ``X``
  (n, n_features_in_) and the outputs of ``predict`` (``label`` or ``prediction``) and, for a
  classifier, ``predict_proba`` (``probabilities``).

Each layer is one Gemm, z = x Wᵀ + b (``transB=1``: the core's (n_out, n_in) weights are stored
as they are), followed by its activation: Sigmoid, Tanh, Relu, LeakyRelu (α = 0.01, retroprop's
slope), Identity, Softmax (over axis 1) or Exp. The graph computes in the network's dtype
(float32 or float64); onnxruntime has no float64 LeakyRelu, so a float64 leaky ReLU is written
as Where(z > 0, z, α z), retroprop's own formula. A cascade (cascade-correlation's shortcut
connections) keeps its columns in one tensor h: each hidden block's Gemm reads h and Concat
appends its output; the output block reads all of h.

onnx (and onnxruntime, to run the result) are optional: ``pip install 'retroprop[onnx]'``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from retroprop._version import __version__
from retroprop.core.activations import LEAKY_SLOPE
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Network
from retroprop.data.encoders import Target
from retroprop.data.tabular import MISSING_TOKENS
from retroprop.errors import ParameterError, spelled
from retroprop.files.atomic import atomic_path
from retroprop.files.model import Model

if TYPE_CHECKING:
    from onnx import ModelProto

__all__ = ["DEFAULT_OPSET", "export_onnx", "to_onnx"]

DEFAULT_OPSET = 19
"""ONNX opset of the exported graphs (19: the first with string Equal, for one-hot encoding)."""

Inputs = Literal["auto", "columns", "matrix"]
_ELEMENTWISE = {
    "sigmoid": "Sigmoid",
    "sigmoid_fann": "Sigmoid",  # the same function (only its derivative differs)
    "tanh": "Tanh",
    "relu": "Relu",
    "identity": "Identity",
    "exp": "Exp",
    "sin": "Sin",
    "cos": "Cos",
}
_OUTPUT_NAMES = ("label", "probabilities", "prediction", "output")


def _spellings(token: str) -> list[str]:
    """Every upper/lower-case spelling of ``token`` ("na" → na, nA, Na, NA)."""
    return sorted({"".join(t) for t in itertools.product(*({c.lower(), c.upper()} for c in token))})


_MISSING_SPELLINGS = sorted({s for t in (*MISSING_TOKENS, "+nan") for s in _spellings(t)})
"""The strings the graph reads as a missing category: those the CSV reader reads as missing
(:data:`MISSING_TOKENS`, and ``+nan``, which Python's float parses as NaN), compared in lower
case there; ONNX has no case-insensitive Equal (StringNormalizer depends on a locale), so every
spelling is listed. Cells are compared as given: the reader strips spaces, the graph does not."""


def _onnx() -> Any:
    """The onnx module, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package: pip install 'retroprop[onnx]'"
        ) from None
    return onnx


class _Graph:
    """Collects nodes, constants, inputs and outputs; names every intermediate value."""

    def __init__(self, onnx: Any, dtype: np.dtype[Any]) -> None:
        self.onnx, self.h = onnx, onnx.helper
        self.dtype = dtype
        self.elem = self.h.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list[Any] = []
        self.constants: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"retroprop/{self._count}/{hint}"

    def const(self, value: Any, hint: str, dtype: Any = None) -> str:
        """A constant tensor (numbers in ``dtype``, default the graph's; strings as they are)."""
        arr = np.asarray(value, dtype=object if dtype is str else dtype or self.dtype)
        name = self._name(hint)
        self.constants.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        """Add one node; returns the name of its (single) output."""
        name = out or self._name(op_type)
        self.nodes.append(self.h.make_node(op_type, list(inputs), [name], **attrs))
        return name

    def add_input(self, name: str, elem: int, width: int) -> str:
        self.inputs.append(self.h.make_tensor_value_info(name, elem, ["n", width]))
        return name

    def add_output(self, name: str, elem: int, shape: Sequence[str | int]) -> None:
        self.outputs.append(self.h.make_tensor_value_info(name, elem, list(shape)))


# -- the network ----------------------------------------------------------------------------
def _network(g: _Graph, net: Network | CascadeNetwork, x: str) -> str:
    """Gemm + activation for every layer; returns the name of the output o (n, n_outputs).
    A cascade's blocks read the columns so far, h ← Concat(h, a) after each hidden block."""
    if isinstance(net, CascadeNetwork):
        return _cascade(g, net, x)
    for l, layer in enumerate(net.layers):
        W = g.const(layer.W, f"W{l}")  # (n_out, n_in): the core's orientation, hence transB
        b = g.const(layer.b, f"b{l}")
        z = g.op("Gemm", x, W, b, transB=1)
        x = _activation(g, layer.activation.name, z, l)
    return x


def _cascade(g: _Graph, net: CascadeNetwork, x: str) -> str:
    """The cascade's graph: every block reads h = [x | a₁ | …], the output block all of it."""
    h = x
    for l, layer in enumerate(net.layers):
        W = g.const(layer.W, f"W{l}")
        z = g.op("Gemm", h, W, g.const(layer.b, f"b{l}"), transB=1)
        a = _activation(g, layer.activation.name, z, l)
        if layer is net.output:
            return a
        h = g.op("Concat", h, a, axis=1)
    raise AssertionError("unreachable: the output block returns")


def _activation(g: _Graph, name: str, z: str, l: int) -> str:
    """o = f(z) for layer l's activation ``name``; refused if ONNX has no equivalent."""
    if name in _ELEMENTWISE:
        return g.op(_ELEMENTWISE[name], z)
    if name == "softmax":
        return g.op("Softmax", z, axis=1)
    if name == "leaky_relu":
        if g.dtype == np.float32:
            return g.op("LeakyRelu", z, alpha=LEAKY_SLOPE)
        positive = g.op("Greater", z, g.const(0.0, "zero"))
        return g.op("Where", positive, z, g.op("Mul", z, g.const(LEAKY_SLOPE, "slope")))
    if name == "gaussian":  # e^(−z²)
        return g.op("Exp", g.op("Neg", g.op("Mul", z, z)))
    exportable = ", ".join([*_ELEMENTWISE, "softmax", "leaky_relu", "gaussian"])
    raise ParameterError(
        f"layers[{l}]: activation {name!r} has no ONNX equivalent here; exportable: {exportable}"
    )


# -- preprocessing and decoding of a Model --------------------------------------------------
def _matrix_words() -> str:
    """``inputs='matrix'`` as a message names it (``--inputs matrix`` on the command line)."""
    return spelled("inputs='matrix'", "--inputs matrix")


def _model_inputs(g: _Graph, model: Model, inputs: Inputs) -> str:
    """Graph inputs for the raw features and the nodes making network inputs (n, n_inputs)."""
    features = model.preprocessor.features
    numeric = all(f.kind == "numeric" for f in features)
    if inputs == "matrix" and not numeric:
        names = ", ".join(repr(f.name) for f in features if f.kind != "numeric")
        matrix, columns = _matrix_words(), spelled("inputs='columns'", "--inputs columns")
        raise ParameterError(
            f"{matrix} needs numeric features only, but {names} are categorical; use {columns}"
        )
    if inputs == "matrix" or (inputs == "auto" and numeric):
        X = g.add_input("X", g.elem, len(features))
        return _standardise(g, X, [f.mean for f in features], [f.scale for f in features])
    blocks = []
    for f in features:
        if f.name in _OUTPUT_NAMES:
            hint = f" or use {_matrix_words()}" if numeric else ""
            raise ParameterError(
                f"feature column {f.name!r} has the name of a graph output; rename it{hint}"
            )
        if f.kind == "numeric":
            x = g.add_input(f.name, g.elem, 1)
            blocks.append(_standardise(g, x, [f.mean], [f.scale]))
        else:
            blocks.append(_one_hot(g, f.name, f.categories, f.mode))
    return blocks[0] if len(blocks) == 1 else g.op("Concat", *blocks, axis=1)


def _one_hot(g: _Graph, name: str, categories: Sequence[str], mode: str) -> str:
    """(n, 1) strings → (n, k) one-hot rows over ``categories``; a missing cell (any spelling
    of :data:`MISSING_TOKENS`) is the ``mode``'s row, an unknown category all zeros."""
    x = g.add_input(name, g.onnx.TensorProto.STRING, 1)
    hit = g.op("Equal", x, g.const([list(categories)], f"{name}/categories", str))
    tokens = g.const([_MISSING_SPELLINGS], f"{name}/missing_tokens", str)
    is_token = g.op("Cast", g.op("Equal", x, tokens), to=g.elem)  # (n, tokens)
    count = g.op("MatMul", is_token, g.const(np.ones((len(_MISSING_SPELLINGS), 1)), "ones"))
    missing = g.op("Greater", count, g.const(0.0, "zero"))  # (n, 1)
    mode_row = g.const([[float(c == mode) for c in categories]], f"{name}/mode")
    return g.op("Where", missing, mode_row, g.op("Cast", hit, to=g.elem))


def _standardise(g: _Graph, x: str, mean: list[float], scale: list[float]) -> str:
    """x' = (x − mean) / scale per column, a NaN replaced by the mean first."""
    mu = g.const([mean], "mean")
    filled = g.op("Where", g.op("IsNaN", x), mu, x)
    return g.op("Div", g.op("Sub", filled, mu), g.const([scale], "scale"))


def _labels(g: _Graph, classes: Sequence[Any]) -> tuple[str, int]:
    """A constant tensor of the class labels and its ONNX element type."""
    arr = np.asarray(list(classes))
    T = g.onnx.TensorProto
    if arr.dtype.kind in "iub":
        return g.const(arr, "classes", np.int64), T.INT64
    if arr.dtype.kind == "f":
        return g.const(arr, "classes", np.float64), T.DOUBLE
    return g.const([str(c) for c in classes], "classes", str), T.STRING


def _normalised(g: _Graph, O: str, k: int) -> str:
    """max(O, 0) scaled to rows summing to 1; a row of zeros becomes uniform (Model rule)."""
    clipped = g.op("Clip", O, g.const(0.0, "zero"))
    total = g.op("ReduceSum", clipped, g.const([1], "axis", np.int64), keepdims=1)
    positive = g.op("Greater", total, g.const(0.0, "zero"))
    safe = g.op("Where", positive, total, g.const(1.0, "one"))
    uniform = g.const(np.full((1, k), 1.0 / k), "uniform")
    return g.op("Where", positive, g.op("Div", clipped, safe), uniform, out="probabilities")


def _regression_output(g: _Graph, O: Any, target: Target) -> None:
    """``prediction`` = O · scale + mean in float64, as retroprop decodes: shape (n,) for one
    target column, (n, n_targets) for several (each column its own scale and mean)."""
    scale: Any = target.scales[None, :]  # (1, n_targets)
    mean: Any = target.means[None, :]
    shape: list[str | int] = ["n", target.width]
    if target.more:
        o = g.op("Cast", O, to=g.onnx.TensorProto.DOUBLE)
    else:
        o = g.op("Squeeze", O, g.const([1], "axis", np.int64))  # (n, 1) → (n,)
        o = g.op("Cast", o, to=g.onnx.TensorProto.DOUBLE)  # decoded in float64, as retroprop does
        scale, mean, shape = target.scale, target.mean, ["n"]
    scaled = g.op("Mul", o, g.const(scale, "scale", np.float64))
    g.op("Add", scaled, g.const(mean, "mean", np.float64), out="prediction")
    g.add_output("prediction", g.onnx.TensorProto.DOUBLE, shape)


def _build_model(g: _Graph, model: Model, inputs: Inputs) -> None:
    O = _network(g, model.network, _model_inputs(g, model, inputs))
    target = model.preprocessor.target
    if target.kind == "regression":
        _regression_output(g, O, target)
        return
    classes, elem = _labels(g, target.classes)
    k = len(target.classes)
    g.op("Gather", classes, g.op("ArgMax", O, axis=1, keepdims=0), axis=0, out="label")
    g.add_output("label", elem, ["n"])
    if model.network.layers[-1].activation.name == "softmax":
        g.op("Identity", O, out="probabilities")
    else:
        _normalised(g, O, k)
    g.add_output("probabilities", g.elem, ["n", k])


# -- scikit-learn estimators ----------------------------------------------------------------
def _build_estimator(g: _Graph, est: Any, net: Network) -> None:
    """predict / predict_proba of a fitted MLPClassifier or MLPRegressor (see the estimators)."""
    O = _network(g, net, g.add_input("X", g.elem, net.sizes[0]))
    n_out = net.sizes[-1]
    if not hasattr(est, "classes_"):
        shape: list[str | int] = ["n"] if n_out == 1 else ["n", n_out]
        if n_out == 1:
            g.op("Squeeze", O, g.const([1], "axis", np.int64), out="prediction")
        else:
            g.op("Identity", O, out="prediction")
        g.add_output("prediction", g.elem, shape)
        return
    T = g.onnx.TensorProto
    raw = O  # predict decodes the raw outputs, predict_proba the clipped ones
    if est.out_activation_ not in ("logistic", "softmax"):
        O = g.op("Clip", O, g.const(0.0, "zero"), g.const(1.0, "one"))
    if est._label_binarizer.y_type_.startswith("multilabel"):
        above = g.op("Greater", O, g.const(0.5, "threshold"))
        g.op("Cast", above, to=T.INT64, out="label")
        g.add_output("label", T.INT64, ["n", n_out])
        g.op("Identity", O, out="probabilities")
        g.add_output("probabilities", g.elem, ["n", n_out])
        return
    classes, elem = _labels(g, est.classes_)
    if n_out == 1:  # binary: p = P(classes_[1]), label by p > 0.5 as LabelBinarizer does
        above = g.op("Greater", O, g.const(0.5, "threshold"))
        index = g.op("Squeeze", g.op("Cast", above, to=T.INT64), g.const([1], "axis", np.int64))
        g.op("Concat", g.op("Sub", g.const(1.0, "one"), O), O, axis=1, out="probabilities")
    else:
        index = g.op("ArgMax", raw, axis=1, keepdims=0)
        if est.out_activation_ == "softmax":
            g.op("Identity", O, out="probabilities")
        else:
            _normalised(g, O, n_out)
    g.op("Gather", classes, index, axis=0, out="label")
    g.add_output("label", elem, ["n"])
    g.add_output("probabilities", g.elem, ["n", max(n_out, 2)])


# -- entry points ---------------------------------------------------------------------------
def to_onnx(source: Any, *, inputs: Inputs = "auto", opset: int = DEFAULT_OPSET) -> ModelProto:
    """The ONNX graph of a Model, Network or fitted estimator, checked by ``onnx.checker``.

    Args:
        source: a :class:`~retroprop.files.model.Model`, a
            :class:`~retroprop.core.network.Network` or a fitted
            :class:`~retroprop.MLPClassifier` / :class:`~retroprop.MLPRegressor`.
        inputs: for a Model: ``"columns"`` (one input per feature column), ``"matrix"`` (one
            input ``X``; numeric features only) or ``"auto"`` (matrix when every feature is
            numeric). Ignored for the others, whose input is always ``X``.
        opset: the ONNX opset (at least 13; 19 or more when a categorical column is encoded).

    Raises:
        ImportError: onnx is not installed (the message says how to install it).
        TypeError: ``source`` is none of the above.
        ParameterError: an activation without an ONNX equivalent, a bad ``inputs`` or
            ``opset``.
    """
    onnx = _onnx()
    _check_arguments(onnx, inputs, opset)
    g, what, meta = _build(onnx, source, inputs)
    if opset < 19 and any(
        i.type.tensor_type.elem_type == onnx.TensorProto.STRING for i in g.inputs
    ):
        raise ParameterError(
            f"{spelled('opset', '--opset')}: one-hot encoding of categories needs opset 19 or "
            f"more, got {opset}"
        )
    return _make_model(onnx, g, opset, what, meta)


def _check_arguments(onnx: Any, inputs: str, opset: int) -> None:
    """Refuse an unknown ``inputs`` and an opset outside 13 to the installed onnx's newest."""
    if inputs not in ("auto", "columns", "matrix"):
        raise ParameterError(
            f"{spelled('inputs', '--inputs')}: expected 'auto', 'columns' or 'matrix', got "
            f"{inputs!r}"
        )
    if not 13 <= opset <= onnx.defs.onnx_opset_version():
        raise ParameterError(
            f"{spelled('opset', '--opset')}: expected 13 to {onnx.defs.onnx_opset_version()} "
            f"(this onnx's newest), got {opset}"
        )


def _build(onnx: Any, source: Any, inputs: Inputs) -> tuple[_Graph, str, dict[str, str]]:
    """The graph of ``source``, what it computes (for the doc string) and the model's metadata
    properties (a Model's preprocessing and task)."""
    if isinstance(source, Model):
        g = _Graph(onnx, source.network.dtype)
        _build_model(g, source, inputs)
        pre = source.preprocessor.to_json()
        meta = {"preprocessing": json.dumps(pre, ensure_ascii=False), "task": source.task}
        names = ", ".join(map(repr, source.preprocessor.target.names))
        return g, f"{source.task} of {names}", meta
    if isinstance(source, Network | CascadeNetwork):
        g = _Graph(onnx, source.dtype)
        X = g.add_input("X", g.elem, source.sizes[0])
        g.op("Identity", _network(g, source, X), out="output")
        g.add_output("output", g.elem, ["n", source.sizes[-1]])
        return g, "network outputs", {}
    if callable(getattr(source, "to_network", None)):
        net = source.to_network()
        g = _Graph(onnx, net.dtype)
        _build_estimator(g, source, net)
        return g, type(source).__name__, {}
    raise TypeError(
        f"source: expected a retroprop Model, Network or fitted estimator, "
        f"got {type(source).__name__}"
    )


def _make_model(onnx: Any, g: _Graph, opset: int, what: str, meta: dict[str, str]) -> ModelProto:
    """The ONNX model of graph ``g``, with producer, doc string and metadata, checked."""
    graph = onnx.helper.make_graph(
        g.nodes, "retroprop", g.inputs, g.outputs, initializer=g.constants
    )
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="retroprop",
        producer_version=__version__,
        doc_string=f"retroprop {what}: {', '.join(i.name for i in g.inputs[:5])}"
        f"{', …' if len(g.inputs) > 5 else ''} → {', '.join(o.name for o in g.outputs)}",
    )
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(
    source: Any,
    path: str | os.PathLike[str],
    *,
    inputs: Inputs = "auto",
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write ``source`` (Model, Network or fitted estimator) as an ONNX file, atomically.

    See :func:`to_onnx` for the arguments and the module docstring for the graph's inputs and
    outputs.

    Returns:
        The path written.
    """
    proto = to_onnx(source, inputs=inputs, opset=opset)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return target
