"""Test data and helpers shared by several test files (and by the fuzz harnesses in ``fuzz/``,
which put this folder on ``sys.path``): DESIGN.md's example network, activation and loss
combinations, a small preprocessed model, archives taken apart and rebuilt, and the
preprocessing round of any CSV table.

``benchmarks/playground.py`` waits for the playground page with :func:`wait_for`, as the
browser tests do.

Not a test module (no ``test_`` prefix): pytest imports it from the test files that use it.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.data.tabular import DataError, DataWarning, Table

DATA = Path(__file__).parent / "data"

DESIGN_NETWORK = DATA / "design_network.json"
"""DESIGN.md's hand-written network file: 2-2-2 sigmoid, squared error, the lecture's numbers."""


def design_network() -> dict[str, Any]:
    """A fresh copy of :data:`DESIGN_NETWORK`'s document (callers may change it)."""
    doc: dict[str, Any] = json.loads(DESIGN_NETWORK.read_text("utf-8"))
    return doc


# -- activation and loss combinations -------------------------------------------------------
COMBINATIONS = [
    ("sigmoid", "sigmoid", "squared_error"),
    ("tanh", "softmax", "categorical_cross_entropy"),
    ("relu", "identity", "squared_error"),
    ("leaky_relu", "sigmoid", "binary_cross_entropy"),
    ("identity", "softmax", "squared_error"),
    ("sigmoid", "tanh", "absolute_error"),
    ("tanh", "sigmoid", "categorical_cross_entropy"),
    ("relu", "relu", "squared_error"),
    ("leaky_relu", "leaky_relu", "absolute_error"),
    ("sigmoid_fann", "sigmoid_fann", "squared_error"),
]
"""(hidden activation, output activation, loss): every activation in both places, every loss,
the three matched pairs and the general chain rule (softmax with a non-matched loss too), and
FANN's sigmoid (on a network from :func:`beyond_fann_clip`)."""

FANN_COMBO = COMBINATIONS[-1]
"""FANN's sigmoid in every layer, squared error: what W4 and ``test_fann_irprop`` train."""


def beyond_fann_clip(net: rp.Network) -> rp.Network:
    """``net``, its weights scaled by 8 when it has ``sigmoid_fann`` layers: then many outputs
    lie beyond FANN's clip [0.01, 0.99], where f′ is FANN's floor c(1 − c) and not o(1 − o),
    so a comparison of engines covers both branches of the derivative (with the usual small
    weights every output would stay inside, where f′ is the plain sigmoid's)."""
    if any(layer.activation.name == "sigmoid_fann" for layer in net.layers):
        for layer in net.layers:
            layer.W *= 8
    return net


FEW_COMBINATIONS = [COMBINATIONS[i] for i in (0, 1, 2, 3, 5)]
"""Five of them that still have every activation (as hidden or output), every loss, the three
matched pairs and the general chain rule: for tests where each combination costs seconds."""


# -- a small model ---------------------------------------------------------------------------
FEATURES = (
    Feature("x", "numeric", mean=1.5, scale=2.0),
    Feature("colour", "categorical", categories=("blue", "red"), mode="red"),
)


def sample_network(
    hidden: Sequence[str],
    output: str,
    loss: str,
    dtype: str,
    task: str,
    classes: tuple[Any, ...],
    width: int,
) -> tuple[Preprocessor, rp.Network]:
    """A preprocessor for columns x (numeric), colour (blue/red) and the target y, and a network
    for it: ``len(hidden)`` hidden layers of ``width`` units (seed 1).

    Args:
        task: ``"classification"`` (y's ``classes``) or ``"regression"`` (y standardised with
            mean 10, scale 3).
    """
    if task == "classification":
        target = Target("y", "classification", classes=classes)
    else:
        target = Target("y", "regression", mean=10.0, scale=3.0)
    pre = Preprocessor(FEATURES, target, ("x", "colour", "y"))
    net = rp.Network.create(
        [pre.n_inputs, *[width] * len(hidden), pre.n_outputs],
        activation=[*hidden, output],
        loss=loss,
        seed=1,
        dtype=dtype,
    )
    return pre, net


# -- archives taken apart and rebuilt ---------------------------------------------------------
def members(path: Path) -> dict[str, bytes]:
    """The members of a zip archive (model file or checkpoint), by name, in their order."""
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rehashed(parts: dict[str, bytes], header: str) -> dict[str, bytes]:
    """``parts`` with the SHA-256 entries of the JSON member ``header`` (``"header.json"`` or
    ``"checkpoint.json"``) made to match the members they name (and a checkpoint's sizes)."""
    doc = json.loads(parts[header])
    for name, entry in doc.get("arrays", {}).items():
        if name in parts and isinstance(entry, dict):
            entry["sha256"] = hashlib.sha256(parts[name]).hexdigest()
            if "bytes" in entry:
                entry["bytes"] = len(parts[name])
    return {**parts, header: json.dumps(doc).encode()}


def write_members(path: Path, parts: dict[str, bytes]) -> Path:
    """Write a zip archive with exactly these members (compressed as ``zipfile``'s default)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, raw in parts.items():
            z.writestr(name, raw)
    return path


# -- any table through the preprocessing --------------------------------------------------------
def preprocessed(table: Table) -> Iterator[tuple[Preprocessor, Any, np.ndarray]]:
    """Fit a :class:`Preprocessor` on ``table`` (last column the target) with every missing-value
    policy that accepts it, and check its inputs: finite, of shape (rows, n_inputs).

    Yields:
        (preprocessor, rows kept, inputs X) per policy that did not raise a DataError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for missing in ("error", "drop", "mean"):
            try:
                pre, rows = Preprocessor.fit(table, table.names[-1], missing=missing)  # type: ignore[arg-type]
            except DataError:
                continue
            X = pre.transform(table, rows, missing="mean" if missing == "mean" else "error")
            assert X.shape == (len(rows), pre.n_inputs) and np.all(np.isfinite(X))
            yield pre, rows, X


def wait_for(browser: Any, script: str, timeout: float = 180.0, poll: float = 0.1) -> Any:
    """The value of ``script`` once it is truthy (polling the page every ``poll`` seconds).

    Raises:
        TimeoutError: ``script`` stayed falsy for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out waiting for: {script}")


def kernel_data(
    loss: str, dtype: type, sizes: Sequence[int], n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """n samples for a network of these ``sizes``: inputs in [−1, 1] with 30 % exact zeros (the
    kernels skip zero inputs); targets in (0.1, 0.9), or one-hot rows for the cross-entropies."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, sizes[0]))
    X[rng.random(X.shape) < 0.3] = 0.0
    if "entropy" in loss:
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    else:
        Y = rng.uniform(0.1, 0.9, (n, sizes[-1]))
    return X.astype(dtype), Y.astype(dtype)


def without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: Any, epoch: str
) -> Callable[[], int]:
    """What users get: no waiting for the background compiles, a fresh numba cache; returns
    how many times ``module.epoch`` (a generic kernel's epoch) has run since."""
    from retroprop._fast import background

    monkeypatch.setattr(background, "WAIT", False)
    monkeypatch.setenv("RETROPROP_CACHE_DIR", str(tmp_path / "cache"))
    calls = [0]
    generic = getattr(module, epoch)

    def counted(*args: Any) -> None:
        calls[0] += 1
        generic(*args)

    monkeypatch.setattr(module, epoch, counted)
    return lambda: calls[0]


def count_constructions(monkeypatch: pytest.MonkeyPatch, cls: type) -> list[int]:
    """A list that gets a 1 at every construction of ``cls`` from now on (which still runs)."""
    built: list[int] = []
    init = cls.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", counted)
    return built
