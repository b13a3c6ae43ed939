"""A grown (cascade) network everywhere a model goes: the model file, ONNX, the step trace and
``explain``, and ``retroprop train --grow`` with its report (error against hidden neurons)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.activations import get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Dense
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.glassbox.equations import delta_equation

if TYPE_CHECKING:
    from conftest import RunCli

FANN = Path(__file__).parent / "data" / "fann"


def cascade(seed: int = 0, output: str = "softmax") -> CascadeNetwork:
    rng = np.random.default_rng(seed)
    loss = "categorical_cross_entropy" if output == "softmax" else "squared_error"
    net = CascadeNetwork.create(3, 2, output_activation=output, loss=loss, seed=seed)
    for act in ("tanh", "cos", "gaussian", "sin", "sigmoid"):
        W = rng.normal(size=(1, net.output.n_in))
        net.install(Dense(W, rng.normal(size=1), get_activation(act)), rng.normal(size=(2, 1)))
    return net


def model(net: CascadeNetwork) -> rp.Model:
    features = tuple(Feature(f"x{j}", "numeric", mean=0.5 * j, scale=1.0 + j) for j in range(3))
    target = Target("label", "classification", classes=("a", "b"))
    return rp.Model(net, Preprocessor(features, target, ("x0", "x1", "x2", "label")))


def test_model_file_round_trip(tmp_path: Path) -> None:
    original = model(cascade())
    rp.save_model(tmp_path / "m.retroprop", original)
    header = json.loads(zipfile.ZipFile(tmp_path / "m.retroprop").read("header.json"))
    assert header["architecture"]["connections"] == "cascade"
    assert header["architecture"]["sizes"] == [3, 1, 1, 1, 1, 1, 2]
    assert header["arrays"]["weights_5.npy"]["shape"] == [2, 8]  # the output reads all 8 columns
    loaded = rp.load_model(tmp_path / "m.retroprop")
    assert isinstance(loaded.network, CascadeNetwork)
    assert repr(loaded.network) == repr(original.network)
    X = np.random.default_rng(1).normal(size=(6, 3))
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))


def test_a_tampered_connections_key_is_refused(tmp_path: Path) -> None:
    rp.save_model(tmp_path / "m.retroprop", model(cascade()))
    with zipfile.ZipFile(tmp_path / "m.retroprop") as z:
        members = {name: z.read(name) for name in z.namelist()}
    header = json.loads(members["header.json"])
    header["architecture"]["connections"] = "dense"
    members["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(tmp_path / "bad.retroprop", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(rp.ModelFileError, match="connections: expected 'cascade'"):
        rp.load_model(tmp_path / "bad.retroprop")


def test_onnx_export_of_a_cascade_model(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    m = model(cascade())
    rp.export_onnx(m, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(2).normal(size=(9, 3))
    label, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(proba, m.predict_proba(X), rtol=1e-12, atol=1e-14)
    assert list(label) == m.predict(X)
    rp.export_onnx(m.network, tmp_path / "n.onnx")  # the bare network: X → output
    bare = ort.InferenceSession(str(tmp_path / "n.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(bare.run(None, {"X": X})[0], m.network.predict(X), rtol=1e-12)


def test_the_step_trace_of_a_cascade_is_backpropagation() -> None:
    net = cascade(3, output="sigmoid")
    x, y = np.array([0.3, -1.2, 0.8]), np.array([1.0, 0.0])
    expected = net.backward(net.forward(x[None]), y[None])
    trace, _ = rp.trace_step(net.copy(), x, y, "sgd", learning_rate=0.5)
    for l, layer in enumerate(trace.layers):
        np.testing.assert_allclose(layer.delta, expected.delta[l], rtol=1e-13)
        np.testing.assert_allclose(layer.grad_W, expected.dW[l], rtol=1e-13)
    # the first unit is read by every later block: its δ sums over the 4 later units and the 2
    # outputs (6 products δₖ × wₖ₁), times f′(z₁)
    equation = delta_equation(trace, 0, 0)
    assert equation.count("×") == 1 + 6


@pytest.fixture
def run(run_cli: RunCli) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python -m retroprop ARGS…`` with paths among the arguments."""
    return lambda *args: run_cli(*map(str, args))


def test_train_grow_then_predict_evaluate_explain_export(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = tmp_path / "p.retroprop"
    trained = run(
        "train", FANN / "parity8.train", "--grow", "--max-hidden", "5", "-o", out,
        "--report", tmp_path / "growth.html",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "cascade-correlation" in trained.stdout and "CascadeNetwork(8 →" in trained.stdout
    loaded = rp.load_model(out)
    assert isinstance(loaded.network, CascadeNetwork) and loaded.training["solver"] == "cascade"
    assert loaded.metrics["hidden_neurons"] == loaded.network.n_hidden <= 5
    page = (tmp_path / "growth.html").read_text()
    assert "hidden neurons" in page and "A cascade network" in page
    scored = run("evaluate", out, FANN / "parity8.test", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["accuracy"] == 1.0
    explained = run("explain", "--model", out, "--data", FANN / "parity8.test", "--row", "2")
    assert explained.returncode == 0, explained.stderr
    assert "every later layer" in explained.stdout or "cascaded" in explained.stdout
    exported = run("export", out, "-o", tmp_path / "p.onnx")
    assert exported.returncode in (0, 2), exported.stderr  # 2: onnx not installed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-hidden", "3"), "--max-hidden: only with --grow"),
        (("--grow", "--hidden", "4"), "--hidden and --grow: choose one"),
        (("--grow", "--checkpoint-every", "2"), "--checkpoint-every: --grow runs cannot be"),
    ],
)
def test_grow_options_are_checked(
    run: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    result = run("train", FANN / "parity8.train", *args, "-o", tmp_path / "m.retroprop")
    assert result.returncode == 2
    assert message in result.stderr
