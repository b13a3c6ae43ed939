"""Issue 14 item 9: cheap successive ``partial_fit`` calls.

- Successive ``partial_fit`` calls on the compiled engine build the trainer once and reuse it
  (counted by wrapping its constructor), with the same numbers as the NumPy loop.
- ``engine="auto"`` counts the samples of successive ``partial_fit`` calls: a stream of small
  chunks moves to the compiled engine once it has seen ``AUTO_MIN_VISITS`` samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import count_constructions
from retroprop import MLPClassifier
from retroprop._fast import objective as _objective
from retroprop._fast.engine import AUTO_MIN_VISITS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_SRC = str(Path(__file__).resolve().parents[1] / "src")


def _chunks(n_chunks: int, size: int, seed: int = 0) -> list[tuple[Any, Any]]:
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_chunks):
        rows = rng.integers(0, len(X), size)
        out.append((np.ascontiguousarray(X[rows]), y[rows]))
    return out


def _classifier(engine: str, **extra: Any) -> MLPClassifier:
    settings: dict[str, Any] = {
        "hidden_layer_sizes": (10, 5), "solver": "sgd", "batch_size": 1, "momentum": 0.0,
        "learning_rate_init": 0.01, "alpha": 0.0, "random_state": 0, "engine": engine,
    }  # fmt: skip
    settings.update(extra)
    return MLPClassifier(**settings)


@pytest.mark.parametrize(
    "extra",
    [{}, {"batch_size": 4, "momentum": 0.9, "alpha": 1e-3}, {"solver": "adam", "batch_size": 3}],
    ids=["online", "momentum", "adam"],
)
def test_successive_partial_fit_reuse_the_trainer(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any]
) -> None:
    built = count_constructions(monkeypatch, _objective.ObjectiveTrainer)
    fast, slow = _classifier("numba", **extra), _classifier("numpy", **extra)
    for i, (X, y) in enumerate(_chunks(6, 25)):
        classes = np.arange(3) if i == 0 else None
        fast.partial_fit(X, y, classes=classes)
        slow.partial_fit(X, y, classes=classes)
    assert len(built) == 1
    for a, b in zip(
        [*fast.coefs_, *fast.intercepts_], [*slow.coefs_, *slow.intercepts_], strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-12)
    # a new fit starts afresh: a new trainer for the new weights
    fast.fit(*_chunks(1, 30)[0])
    assert len(built) == 2


def test_pickled_estimator_leaves_the_trainer_behind() -> None:
    import pickle

    clf = _classifier("numba")
    X, y = _chunks(1, 30)[0]
    clf.partial_fit(X, y, classes=np.arange(3))
    assert hasattr(clf, "_compiled_trainer")
    copy = pickle.loads(pickle.dumps(clf))
    assert not hasattr(copy, "_compiled_trainer")
    copy.partial_fit(X, y)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(copy.coefs_[0], clf.coefs_[0])


def test_auto_engine_counts_the_samples_of_successive_partial_fit_calls() -> None:
    size = 500
    clf = _classifier("auto")
    compiled = []
    for i, (X, y) in enumerate(_chunks(AUTO_MIN_VISITS // size + 2, size)):
        clf.partial_fit(X, y, classes=np.arange(3) if i == 0 else None)
        compiled.append(hasattr(clf, "_compiled_trainer"))
    switch = compiled.index(True)
    assert (switch + 1) * size >= AUTO_MIN_VISITS > switch * size
    assert all(compiled[switch:])


def test_partial_fit_chunk_encoding_matches_the_general_path() -> None:
    """The shortcut for plain chunks encodes labels as LabelBinarizer does (binary and
    multiclass), and leaves every error to the general path."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4))
    for labels in (np.array([3, 7]), np.array([0, 2, 5])):
        y = labels[rng.integers(0, len(labels), 20)]
        clf = _classifier("numpy")
        clf.partial_fit(X, y, classes=labels)
        fast = clf._validate_chunk(X, y)
        assert fast is not None
        general = clf._label_binarizer.transform(y).astype(bool)
        np.testing.assert_array_equal(fast[1], general)
        with pytest.raises(ValueError, match="classes"):
            clf.partial_fit(X, np.full(20, 9))
        with pytest.raises(ValueError):
            clf.partial_fit(np.where(X > 1, np.nan, X), y)
        with pytest.raises(ValueError, match="features"):
            clf.partial_fit(X[:, :3], y)
