"""Hand-written network files: any textbook example, replayed exactly.

The format (DESIGN.md)::

    {
      "format": "retroprop.network",
      "loss": "squared_error",
      "layers": [
        {"activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "biases": [0.35, 0.35]},
        {"activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]], "biases": [0.60, 0.60]}
      ]
    }

``weights[j][i]`` is wⱼᵢ: one row per neuron of the layer, one column per input; the width of
the first layer's rows is the number of inputs. ``loss`` is optional (squared error) and so is
a top-level ``"description"`` string. Loading is plain JSON parsing plus checks: nothing in the
file is ever executed. Every problem is reported with its JSON path
(``layers[1].weights[0]: expected 2 numbers, got 3``), all of them at once.

Limits: a file holds at most :data:`MAX_BYTES` bytes (reading stops there, so an endless stream
such as ``/dev/zero`` is refused at once) and at most :data:`MAX_PARAMETERS` weights and biases
(counted before any is converted). :func:`save_network` refuses a network it could not read back.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from retroprop.core.activations import ACTIVATIONS, get_activation
from retroprop.core.losses import LOSSES, get_loss
from retroprop.core.network import Dense, Network
from retroprop.errors import ParameterError, RetropropError
from retroprop.files.atomic import atomic_path

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "MAX_PARAMETERS",
    "NetworkFileError",
    "load_network",
    "loads_network",
    "network_to_dict",
    "save_network",
]

FORMAT = "retroprop.network"
"""Value of the ``format`` field that identifies a hand-written network file."""

MAX_BYTES = 16 * 2**20
"""Bytes a network file may hold (16 MiB)."""

MAX_PARAMETERS = 500_000
"""Weights and biases a network file may hold. :func:`save_network` writes at most about 31
bytes for each (a 24-character number, its separator, and a row's brackets and indentation when
a row holds one weight), so what it writes stays within :data:`MAX_BYTES`."""

_TOP_KEYS = ("format", "loss", "layers", "description")
_LAYER_KEYS = ("activation", "weights", "biases")
_MAX_LISTED = 10


class NetworkFileError(RetropropError):
    """A network file that cannot be read or is malformed.

    Attributes:
        errors: every problem found, each starting with its JSON path.
        source: the file name, or None for text.
    """

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = errors
        self.source = source
        shown = "; ".join(errors[:_MAX_LISTED])
        if len(errors) > _MAX_LISTED:
            shown += f"; … and {len(errors) - _MAX_LISTED} more"
        super().__init__(f"{source}: {shown}" if source else shown)


def _kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


class _LongInteger(float):
    """An integer literal too long to be a float64: infinite, and named by its length.

    Parsing it as a Python int would be slow (quadratic in its length) and, past 4300 digits,
    stop with Python's own message, which names neither the file nor the field.
    """

    digits: int

    def __new__(cls, literal: str) -> _LongInteger:
        value = super().__new__(cls, "-inf" if literal.startswith("-") else "inf")
        value.digits = len(literal.lstrip("-"))
        return value

    def __str__(self) -> str:
        return f"an integer of {self.digits} digits"


def _parse_int(literal: str) -> int | float:
    return int(literal) if len(literal) <= 400 else _LongInteger(literal)  # float64 < 1e309


class _Checker:
    """Walks the parsed document, collecting one message per malformed field."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def numbers(self, value: Any, path: str, n: int | None, what: str) -> list[float] | None:
        """A list of n finite numbers (any length ≥ 1 when n is None), else None."""
        if not isinstance(value, list):
            self.fail(path, f"expected a list of numbers, got {_kind(value)}")
            return None
        if (n is not None and len(value) != n) or (n is None and not value):
            expected = f"{n} numbers" if n is not None else "at least 1 number"
            self.fail(path, f"expected {expected}, got {len(value)}{what}")
            return None
        out: list[float] = []
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.fail(f"{path}[{i}]", f"expected a number, got {_kind(v)}")
                continue
            try:
                out.append(float(v))
            except OverflowError:  # an integer literal beyond float range
                out.append(math.inf)
            if not math.isfinite(out[-1]):
                shown = str(v) if isinstance(v, _LongInteger) else str(v)[:20]
                self.fail(f"{path}[{i}]", f"expected a finite number, got {shown}")
        return out if len(out) == len(value) and all(map(math.isfinite, out)) else None

    def layer(self, doc: Any, l: int, n_in: int | None, last: bool) -> Dense | None:
        path = f"layers[{l}]"
        if not isinstance(doc, dict):
            self.fail(path, f"expected an object with {', '.join(_LAYER_KEYS)}, got {_kind(doc)}")
            return None
        for key in doc:
            if key not in _LAYER_KEYS:
                self.fail(
                    f"{path}.{_key(key)}", f"unknown field; expected {', '.join(_LAYER_KEYS)}"
                )
        missing = [k for k in _LAYER_KEYS if k not in doc]
        for key in missing:
            self.fail(f"{path}.{key}", "missing")
        activation = None
        if "activation" in doc:
            activation = self.activation(doc["activation"], f"{path}.activation", last)
        W = None
        if "weights" in doc:
            why = f" (one per neuron of layers[{l - 1}])" if n_in is not None else " (like row 0)"
            W = self.weights(doc["weights"], f"{path}.weights", n_in, why)
        b = None
        if "biases" in doc:
            n_out = _rows(doc)
            why = " (one per neuron)" if n_out is not None else ""
            b = self.numbers(doc["biases"], f"{path}.biases", n_out, why)
        if missing or activation is None or W is None or b is None:
            return None
        return Dense(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64), activation)

    def activation(self, name: Any, path: str, last: bool) -> Any:
        if not isinstance(name, str):
            valid = ", ".join(sorted(ACTIVATIONS))
            self.fail(path, f"expected the name of an activation ({valid}), got {_kind(name)}")
            return None
        try:
            act = get_activation(name)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None
        if act.output_only and not last:
            self.fail(path, f"{act.name} is only for the output layer")
            return None
        return act

    def weights(self, rows: Any, path: str, n_in: int | None, why: str) -> list[list[float]] | None:
        """One row of n_in numbers per neuron; n_in comes from the first row for layer 0."""
        if not isinstance(rows, list) or not rows:
            got = f"{len(rows)} rows" if isinstance(rows, list) else _kind(rows)
            self.fail(path, f"expected a list of rows (one per neuron), got {got}")
            return None
        width = n_in
        if width is None and isinstance(rows[0], list) and rows[0]:
            width = len(rows[0])
        checked = [self.numbers(r, f"{path}[{j}]", width, why) for j, r in enumerate(rows)]
        if any(r is None for r in checked):
            return None
        return [r for r in checked if r is not None]

    def document(self, doc: Any) -> Network | None:
        if not isinstance(doc, dict):
            self.fail("(top level)", f"expected an object with format and layers, got {_kind(doc)}")
            return None
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail(_key(key), f"unknown field; expected {', '.join(_TOP_KEYS)}")
        if "format" not in doc:
            self.fail("format", f"missing; expected {FORMAT!r}")
        elif doc["format"] != FORMAT:
            self.fail("format", f"expected {FORMAT!r}, got {str(doc['format'])[:40]!r}")
        if "description" in doc and not isinstance(doc["description"], str):
            self.fail("description", f"expected a string, got {_kind(doc['description'])}")
        loss = doc.get("loss", "squared_error")
        if not isinstance(loss, str):
            valid = ", ".join(sorted(LOSSES))
            self.fail("loss", f"expected the name of a loss ({valid}), got {_kind(loss)}")
        else:
            try:
                get_loss(loss)
            except ValueError as exc:
                self.fail("loss", str(exc))
        layers_doc = doc.get("layers")
        if not isinstance(layers_doc, list) or not layers_doc:
            got = "an empty list" if isinstance(layers_doc, list) else _kind(layers_doc)
            self.fail("layers", "missing" if "layers" not in doc else f"expected a list, got {got}")
            return None
        count = sum(_parameters(layer_doc) for layer_doc in layers_doc)
        if count > MAX_PARAMETERS:
            self.fail(
                "layers",
                f"{count:,} weights and biases; a network file may hold at most {MAX_PARAMETERS:,}",
            )
            return None
        layers: list[Dense | None] = []
        n_in: int | None = None
        for l, layer_doc in enumerate(layers_doc):
            layer = self.layer(layer_doc, l, n_in, l == len(layers_doc) - 1)
            layers.append(layer)
            n_in = layer.n_out if layer is not None else _rows(layer_doc)
        if self.errors:
            return None
        return Network([ly for ly in layers if ly is not None], loss)


def _key(key: str) -> str:
    """A field name as it appears in a JSON path: quoted unless it is a plain word."""
    return key if key.isidentifier() and key.isascii() else json.dumps(key)[:40]


def _parameters(layer_doc: Any) -> int:
    """The number of weights and biases a layer lists (the entries of its lists)."""
    if not isinstance(layer_doc, dict):
        return 0
    weights, biases = layer_doc.get("weights"), layer_doc.get("biases")
    count = len(biases) if isinstance(biases, list) else 0
    if isinstance(weights, list):
        count += sum(len(row) if isinstance(row, list) else 1 for row in weights)
    return count


def _rows(layer_doc: Any) -> int | None:
    """Neuron count of a layer (rows of its weights), when it can be told; else None."""
    if isinstance(layer_doc, dict) and isinstance(layer_doc.get("weights"), list):
        return len(layer_doc["weights"]) or None
    return None


def loads_network(text: str | bytes, source: str | None = None) -> Network:
    """Build a :class:`~retroprop.core.network.Network` from the text of a network file.

    Args:
        text: the JSON text (bytes must be UTF-8).
        source: a name for messages (the file name).

    Raises:
        NetworkFileError: not JSON (with line and column), or any malformed field (with its
            JSON path). All problems are listed in ``errors``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NetworkFileError([f"not UTF-8 text (byte {exc.start})"], source) from None
    try:
        # NaN and Infinity parse (Python's json accepts them) and are then refused with
        # their JSON path by the finite-number check.
        doc = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise NetworkFileError([f"not valid JSON: {exc.msg} ({where})"], source) from None
    except RecursionError:
        raise NetworkFileError(["not valid JSON: nested too deeply"], source) from None
    checker = _Checker()
    network = checker.document(doc)
    if network is None:
        raise NetworkFileError(checker.errors, source)
    return network


def load_network(path: str | os.PathLike[str]) -> Network:
    """Load a hand-written network file (see the module docstring for the format).

    Raises:
        NetworkFileError: the file cannot be read, is not JSON, or is malformed.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)  # never more: the file may be an endless stream
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NetworkFileError([f"cannot read the file ({reason})"], str(path)) from None
    if len(data) > MAX_BYTES:
        raise NetworkFileError(
            [f"larger than {MAX_BYTES:,} bytes, the limit for a network file"], str(path)
        )
    return loads_network(data, str(path))


def network_to_dict(network: Network) -> dict[str, Any]:
    """The network as a network-file object (float64 values, exactly representable in JSON).

    Raises:
        ValueError: an activation or loss that is not in the registries, a non-finite weight
            (neither can be written to the file), or more than :data:`MAX_PARAMETERS` weights
            and biases.
    """
    custom = [
        ly.activation.name
        for ly in network.layers
        if ly.activation is not ACTIVATIONS.get(ly.activation.name)
    ]
    if network.loss is not LOSSES.get(network.loss.name):
        custom.append(network.loss.name)
    if custom:
        raise ParameterError(
            f"custom activation or loss {custom[0]!r}: a network file holds only built-in names"
        )
    count = sum(ly.W.size + ly.b.size for ly in network.layers)
    if count > MAX_PARAMETERS:
        raise ParameterError(
            f"the network has {count:,} weights and biases; a network file holds at most "
            f"{MAX_PARAMETERS:,}"
        )
    if not np.all(np.isfinite(network.get_flat())):
        raise ParameterError(
            "the network has non-finite weights (NaN or inf); JSON cannot hold them"
        )
    return {
        "format": FORMAT,
        "loss": network.loss.name,
        "layers": [
            {
                "activation": ly.activation.name,
                "weights": ly.W.astype(np.float64).tolist(),
                "biases": ly.b.astype(np.float64).tolist(),
            }
            for ly in network.layers
        ],
    }


def save_network(network: Network, path: str | os.PathLike[str]) -> Path:
    """Write ``network`` as a hand-written network file, one weight row per line.

    Returns:
        The path written. :func:`load_network` gives back the same weights bit for bit.
    """
    doc = network_to_dict(network)
    lines = [f'  "format": {json.dumps(doc["format"])},', f'  "loss": {json.dumps(doc["loss"])},']
    layer_texts = []
    for layer in doc["layers"]:
        rows = ",\n".join(f"        {json.dumps(row)}" for row in layer["weights"])
        layer_texts.append(
            f'    {{\n      "activation": {json.dumps(layer["activation"])},\n'
            f'      "weights": [\n{rows}\n      ],\n'
            f'      "biases": {json.dumps(layer["biases"])}\n    }}'
        )
    text = "{\n" + "\n".join(lines) + '\n  "layers": [\n' + ",\n".join(layer_texts) + "\n  ]\n}\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
