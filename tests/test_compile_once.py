"""Issue 14 item 9: no compile per architecture, and cheap successive ``partial_fit`` calls.

- The kernels generated for online SGD depend on the activations and the loss only (the layer
  sizes are read from the arrays): a fresh cache directory trained on two architectures of
  the same kind holds one generated module, compiled once (checked by counting files and
  compiled signatures, not by timing).
- Successive ``partial_fit`` calls on the compiled engine build the trainer once and reuse it
  (counted by wrapping its constructor), with the same numbers as the NumPy loop.
- ``engine="auto"`` counts the samples of successive ``partial_fit`` calls: a stream of small
  chunks moves to the compiled engine once it has seen ``AUTO_MIN_VISITS`` samples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retroprop import MLPClassifier
from retroprop._fast import objective as _objective
from retroprop._fast.engine import AUTO_MIN_VISITS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_SRC = str(Path(__file__).resolve().parents[1] / "src")


def _penguins_like(path: Path, n: int = 150, seed: int = 0) -> Path:
    """A penguins-like CSV: numeric columns with gaps, a text island, a sex with gaps, 3 species."""
    rng = np.random.default_rng(seed)
    species = np.array(["Adelie", "Chinstrap", "Gentoo"])[rng.integers(0, 3, n)]
    centre = {"Adelie": 38.8, "Chinstrap": 48.8, "Gentoo": 47.5}
    lines = ["species,island,bill_length_mm,flipper_length_mm,body_mass_g,sex"]
    for i, s in enumerate(species):
        bill = "" if i % 17 == 3 else f"{centre[s] + rng.normal(0, 2):.1f}"
        flipper = f"{190 + 20 * (s == 'Gentoo') + rng.normal(0, 5):.0f}"
        mass = "" if i % 23 == 5 else f"{3700 + 1300 * (s == 'Gentoo') + rng.normal(0, 300):.0f}"
        island = ["Torgersen", "Biscoe", "Dream"][int(rng.integers(0, 3))]
        sex = "" if i % 19 == 7 else ["male", "female"][int(rng.integers(0, 2))]
        lines.append(f"{s},{island},{bill},{flipper},{mass},{sex}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_architectures_share_one_compiled_kernel(tmp_path: Path) -> None:
    """A fresh cache: online SGD on two architectures (different widths, depth and inputs of
    the same kind) writes one generated module, and its kernels are compiled once."""
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        import retroprop as rp
        from retroprop._fast import codegen
        from retroprop._fast.constants import ACT_CODES, LOSS_CODES

        rng = np.random.default_rng(0)
        counts = []
        for sizes in ([6, 10, 5, 3], [9, 4, 12, 3]):
            X = rng.normal(size=(40, sizes[0]))
            Y = np.eye(3)[rng.integers(0, 3, 40)]
            net = rp.Network.create(sizes, activation="sigmoid", seed=0)
            rp.fit(net, X, Y, epochs=2, learning_rate=0.1, seed=0, engine="numba")
            kernels = codegen.load(sizes, [ACT_CODES["sigmoid"]] * 3, LOSS_CODES["squared_error"])
            counts.append(
                [len(kernels.train.signatures), len(kernels.evaluate.signatures),
                 sorted(p.name for p in codegen.cache_dir().glob("retroprop_kernel_*.py"))]
            )
        print(json.dumps(counts))
        """
    )
    env = {**os.environ, "RETROPROP_CACHE_DIR": str(cache), "PYTHONPATH": _SRC}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first[:2] == [1, 1] and len(first[2]) == 1
    assert second == first  # no new module, no new compiled signature for the new sizes


def test_cli_trains_two_architectures_with_one_generated_module(tmp_path: Path) -> None:
    """Through the CLI on a penguins-like CSV (gaps, text columns, three classes): two hidden
    widths leave one generated module in a fresh cache (before: one per architecture)."""
    csv = _penguins_like(tmp_path / "penguins.csv")
    cache = tmp_path / "cache"
    env = {**os.environ, "RETROPROP_CACHE_DIR": str(cache), "PYTHONPATH": _SRC}
    for hidden, out in (("8", "a.retroprop"), ("12", "b.retroprop")):
        cmd = [
            sys.executable, "-m", "retroprop", "train", str(csv), "--target", "species",
            "--impute", "mean", "--hidden", *hidden.split(), "--epochs", "3", "--batch-size",
            "1", "--engine", "numba", "-o", str(tmp_path / out), "--quiet",
        ]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    generated = sorted(p.name for p in cache.glob("retroprop_kernel_*.py"))
    assert len(generated) == 1


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
    built: list[int] = []
    init = _objective.ObjectiveTrainer.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(_objective.ObjectiveTrainer, "__init__", counting)
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


@pytest.mark.parametrize(
    ("sizes", "act", "out", "loss"),
    [
        ([13, 10, 5, 3], "sigmoid", "softmax", "categorical_cross_entropy"),
        ([13, 20, 3], "relu", "identity", "squared_error"),
        ([13, 6, 1], "tanh", "sigmoid", "binary_cross_entropy"),
    ],
)
def test_generated_kernel_rounds_every_step_as_the_generic_kernel(
    sizes: list[int], act: str, out: str, loss: str
) -> None:
    """Item 4: the generated online kernel computes Δw = −η·−(δ x) in the reference's order of
    rounding, so it gives the generic kernel's weights bit for bit (before: (η x) δ, a last-bit
    difference every step that online SGD at η = 0.3 amplified to 1e-9 within 40 epochs)."""
    from sklearn.datasets import load_wine

    import retroprop as rp
    from retroprop._fast.run import TrainingRun
    from retroprop._fast.trainer import KernelTrainer
    from retroprop.core.optimizers import SGD

    X, y = load_wine(return_X_y=True)
    X = np.ascontiguousarray((X - X.mean(0)) / X.std(0))
    Y = np.eye(3)[y] if sizes[-1] == 3 else (y == 1).astype(float)[:, None]
    nets = [
        rp.Network.create(sizes, activation=act, output_activation=out, loss=loss, seed=2)
        for _ in range(2)
    ]
    trainers = [
        KernelTrainer(TrainingRun(net, SGD(0.3), X, Y, 1), generated=generated)
        for net, generated in zip(nets, (True, False), strict=True)
    ]
    assert trainers[0].special is not None and trainers[1].special is None
    order = np.random.default_rng(0).permutation(len(X))
    for _ in range(5):
        for trainer in trainers:
            trainer.run_epoch(order)
    for a, b in zip(nets[0].params(), nets[1].params(), strict=True):
        np.testing.assert_array_equal(a, b)
