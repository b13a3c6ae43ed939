"""ONNX export: the exported graph under onnxruntime predicts what retroprop predicts.

Models are built from random weights and hand-made preprocessing (training does not matter
for equality); one model is trained and exported through the real command. Tolerance: 1e-5
absolute on outputs of order 1 (float32 graphs), far tighter in float64.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from retroprop import Model, Network, load_model, read_csv, save_model, save_network
from retroprop.cli.train import TrainSettings, train_table
from retroprop.core.activations import Activation
from retroprop.data.preprocessing import Feature, Preprocessor, Target

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from retroprop.files.onnx_export import export_onnx, to_onnx  # noqa: E402

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
DTYPES = [np.float32, np.float64]
rng = np.random.default_rng(0)


def run(proto: Any, feeds: dict[str, Any]) -> dict[str, Any]:
    """Run an ONNX model in onnxruntime; outputs by name."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def network(
    activation: str, output: str, dtype: Any, sizes: tuple[int, ...] = (4, 6, 5, 3)
) -> Network:
    # spread weights so that z takes both signs (relu, leaky_relu) and sigmoid saturates a bit
    net = Network.create(sizes, activation, output_activation=output, seed=1, dtype=dtype)
    for layer in net.layers:
        layer.W *= 2.0
        layer.b += np.asarray(rng.normal(size=layer.b.shape), dtype=dtype)
    return net


# -- bare networks ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_network_every_activation(activation: str, output: str, dtype: Any) -> None:
    net = network(activation, output, dtype)
    X = rng.normal(size=(50, 4)).astype(dtype)
    out = run(to_onnx(net), {"X": X})["output"]
    assert out.dtype == dtype and out.shape == (50, 3)
    assert_allclose(out, net.predict(X), rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fann_sigmoid_is_exported_as_sigmoid(dtype: Any) -> None:
    # the same function as sigmoid (only its derivative, which a graph for inference has no
    # use for, is FANN's); its own generator: the module's draws stay those of the other tests
    net = Network.create([4, 6, 3], "sigmoid_fann", seed=1, dtype=dtype)
    X = np.random.default_rng(1).normal(scale=4.0, size=(50, 4)).astype(dtype)
    proto = to_onnx(net)
    assert [n.op_type for n in proto.graph.node].count("Sigmoid") == 2
    out = run(proto, {"X": X})["output"]
    assert_allclose(out, net.predict(X), rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_keeps_the_slope_of_negative_inputs(dtype: Any) -> None:
    net = network("leaky_relu", "leaky_relu", dtype, sizes=(2, 3))
    X = np.array([[-5.0, -4.0], [3.0, 1.0], [0.0, 0.0]], dtype=dtype)
    out = run(to_onnx(net), {"X": X})["output"]
    assert np.any(out < 0)
    assert_allclose(out, net.predict(X), rtol=1e-6)
    op = "LeakyRelu" if dtype == np.float32 else "Where"
    assert op in {n.op_type for n in to_onnx(net).graph.node}


def test_unknown_activation_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    net = Network.create([2, 3, 1], seed=0)
    net.layers[0].activation = Activation("swish", lambda z: z / (1 + np.exp(-z)), None)
    path = tmp_path / "net.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"layers\[0\]: activation 'swish' has no ONNX"):
        export_onnx(net, path)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


# -- models: preprocessing, decoding ----------------------------------------------------------
def classifier(
    dtype: Any, output: str = "softmax", classes: tuple[Any, ...] = ("cat", "dog", "eel")
) -> Model:
    features = (
        Feature("height", "numeric", mean=170.0, scale=10.0),
        Feature("color", "categorical", categories=("blue", "green", "red"), mode="red"),
        Feature("weight", "numeric", mean=70.0, scale=15.0),
    )
    pre = Preprocessor(
        features,
        Target("animal", "classification", classes),
        ("height", "color", "weight", "animal"),
    )
    return Model(network("tanh", output, dtype, sizes=(5, 7, len(classes))), pre)


def columns(n: int) -> dict[str, list[Any]]:
    return {
        "height": rng.normal(170, 12, n).round(1).tolist(),
        "color": rng.choice(["blue", "green", "red"], n).tolist(),
        "weight": rng.normal(70, 20, n).round(1).tolist(),
    }


def feeds(data: dict[str, list[Any]], dtype: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in data.items():
        kind = object if isinstance(values[0], str) else dtype
        out[name] = np.array(values, dtype=kind)[:, None]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_classifier_with_categories_and_string_labels(dtype: Any, output: str) -> None:
    model = classifier(dtype, output)
    data = columns(200)
    got = run(to_onnx(model), feeds(data, dtype))
    assert got["label"].dtype == object
    assert got["label"].tolist() == model.predict(data)
    assert_allclose(got["probabilities"], model.predict_proba(data), atol=1e-5)
    assert_allclose(got["probabilities"].sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("classes", [(0, 1), (3, 7, 9), (0.5, 1.5)], ids=["binary", "int", "float"])
def test_classifier_with_number_labels(classes: tuple[Any, ...]) -> None:
    model = classifier(np.float64, "softmax", classes)
    data = columns(100)
    got = run(to_onnx(model), feeds(data, np.float64))
    assert got["label"].dtype == (np.float64 if isinstance(classes[0], float) else np.int64)
    assert_array_equal(got["label"], model.predict(data))
    assert_allclose(got["probabilities"], model.predict_proba(data), rtol=1e-12)


def test_outputs_that_are_all_zero_give_uniform_probabilities() -> None:
    model = classifier(np.float64, "relu")
    model.network.layers[-1].b[:] = -1e3  # every output ≤ 0: clipped to 0
    data = columns(5)
    got = run(to_onnx(model), feeds(data, np.float64))
    assert_allclose(got["probabilities"], 1 / 3)
    assert_allclose(got["probabilities"], model.predict_proba(data))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_regressor_predicts_in_target_units(dtype: Any, activation: str) -> None:
    features = tuple(Feature(f"x{j}", "numeric", mean=j, scale=j + 1.0) for j in range(4))
    target = Target("price", "regression", mean=250_000.0, scale=40_000.0)
    model = Model(
        network(activation, "identity", dtype, (4, 8, 1)), Preprocessor(features, target, ())
    )
    X = rng.normal(2, 3, size=(60, 4))
    data = {f"x{j}": X[:, j].tolist() for j in range(4)}
    proto = to_onnx(model)
    assert [i.name for i in proto.graph.input] == ["X"]  # all numeric: one matrix
    got = run(proto, {"X": X.astype(dtype)})["prediction"]
    assert got.dtype == np.float64 and got.shape == (60,)
    # o · scale + mean: a float32 network's 1e-7 relative error times the scale of 40 000
    assert_allclose(got, model.predict(data), rtol=1e-6 if dtype == np.float32 else 1e-12)
    by_column = run(to_onnx(model, inputs="columns"), feeds(data, dtype))["prediction"]
    assert_allclose(by_column, got, rtol=1e-12)


def test_missing_numbers_are_imputed_and_unknown_categories_are_zeros() -> None:
    model = classifier(np.float64)
    data = {"height": [float("nan"), 180.0], "color": ["red", "purple"], "weight": [60.0, 80.0]}
    got = run(to_onnx(model), feeds(data, np.float64))
    with pytest.warns(UserWarning, match="unknown category"):
        want = model.predict_proba(
            {**data, "height": [None, 180.0]}, missing="mean", unknown="ignore"
        )
    assert_allclose(got["probabilities"], want, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_missing_category_is_the_most_frequent_one_as_in_retroprop(dtype: Any) -> None:
    """Every spelling the CSV reader takes for "missing" (any case) is the mode's one-hot row
    (issue 14: it was all zeros, up to 0.26 away from ``predict``'s probabilities)."""
    model = classifier(dtype)
    cells = ["", "NA", "na", "N/A", "NaN", "nan", "-nan", "+NaN", "null", "NULL", "None", "<NA>"]
    cells += ["#N/A", "blue", "Red"]  # two that are not missing: a category, an unknown one
    n = len(cells)
    data = {"height": [175.0] * n, "color": cells, "weight": [65.0] * n}
    got = run(to_onnx(model), feeds(data, dtype))["probabilities"]
    with pytest.warns(UserWarning, match="unknown category 'Red'"):
        want = model.predict_proba(data, missing="mean", unknown="ignore")
    assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    red = model.predict_proba({"height": [175.0], "color": ["red"], "weight": [65.0]})
    assert_allclose(got[: n - 2], np.repeat(red, n - 2, axis=0), rtol=1e-5)


def test_inputs_option() -> None:
    model = classifier(np.float64)
    names = [i.name for i in to_onnx(model).graph.input]
    assert names == ["height", "color", "weight"]
    # Python's spelling of the arguments here; the CLI's (--inputs columns) in its messages
    with pytest.raises(ValueError, match=r"'color' are categorical; use inputs='columns'$"):
        to_onnx(model, inputs="matrix")
    with pytest.raises(ValueError, match="inputs: expected"):
        to_onnx(model, inputs="rows")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="opset 19"):
        to_onnx(model, opset=17)
    with pytest.raises(ValueError, match="opset: expected 13"):
        to_onnx(model, opset=7)
    numeric = to_onnx(Network.create([3, 2], seed=0), opset=13)
    assert numeric.opset_import[0].version == 13


def test_a_feature_named_like_an_output_is_refused() -> None:
    model = classifier(np.float64)
    pre = model.preprocessor
    features = (Feature("label", "categorical", categories=("a", "b"), mode="a"), *pre.features[1:])
    renamed = Model(
        network("tanh", "softmax", np.float64, (6, 3)), Preprocessor(features, pre.target, ())
    )
    with pytest.raises(ValueError, match="'label' has the name of a graph output"):
        to_onnx(renamed)


def test_metadata_and_checker(tmp_path: Path) -> None:
    model = classifier(np.float32)
    path = export_onnx(model, tmp_path / "sub" / "m.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["task"] == "classification" and '"categories": ["blue"' in props["preprocessing"]
    assert proto.producer_name == "retroprop"
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]


# -- estimators -------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "kind", ["binary", "multiclass", "strings", "multilabel", "squared_error", "identity_out"]
)
def test_classifier_estimator(kind: str) -> None:
    from retroprop import MLPClassifier

    X = rng.normal(size=(80, 3))
    y: Any = (X[:, 0] + X[:, 1] > 0).astype(int)
    options: dict[str, Any] = {}
    if kind == "multiclass":
        y = y + (X[:, 2] > 0.5)
    elif kind == "strings":
        y = np.array(["no", "yes", "maybe"])[y + (X[:, 2] > 0.5)]
    elif kind == "multilabel":
        y = np.column_stack([y, X[:, 2] > 0])
    elif kind == "squared_error":
        y = y + (X[:, 2] > 0.5)
        options = {"loss": "squared_error", "activation": "leaky_relu"}
    elif kind == "identity_out":
        y = y + (X[:, 2] > 0.5)
        options = {"loss": "squared_error", "out_activation": "identity"}
    clf = MLPClassifier((5,), max_iter=30, random_state=0, **options).fit(X, y)
    if kind == "identity_out":  # outputs beyond [0, 1]: labels from raw outputs, not clipped
        clf.coefs_[-1] *= 20.0
        assert np.sum(clf.predict_proba(X) == 0) > 0
    got = run(to_onnx(clf), {"X": X})
    assert_array_equal(got["label"], clf.predict(X))
    assert_allclose(got["probabilities"], clf.predict_proba(X), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_estimator(n_outputs: int) -> None:
    from retroprop import MLPRegressor

    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = X[:, :n_outputs].sum(axis=1) if n_outputs == 1 else X[:, :2]
    reg = MLPRegressor(
        hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs", max_iter=50, random_state=0
    )
    reg.fit(X, y)
    got = run(to_onnx(reg), {"X": X})["prediction"]
    assert got.dtype == np.float32 and got.shape == reg.predict(X).shape
    assert_allclose(got, reg.predict(X), atol=1e-5)


def test_not_exportable() -> None:
    with pytest.raises(TypeError, match="expected a retroprop Model"):
        to_onnx("model.retroprop")


# -- without onnx -----------------------------------------------------------------------------
def test_missing_onnx_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'retroprop\[onnx\]'"):
        export_onnx(Network.create([2, 1], seed=0), tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


# -- the command ------------------------------------------------------------------------------
def cli(*args: Any, pre: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess; ``pre`` runs first (to hide onnx, say)."""
    code = f"{pre}import sys; from retroprop.cli.app import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model trained on a semicolon CSV with decimal commas and a categorical column."""
    folder = tmp_path_factory.mktemp("export")
    csv = folder / "fruit.csv"
    lines = ["weight;colour;sweetness;fruit"]
    for i in range(60):
        kind = ["apple", "banana", "cherry"][i % 3]
        colour = {"apple": "red", "banana": "yellow", "cherry": "red"}[kind]
        weight = {"apple": 150, "banana": 120, "cherry": 8}[kind] + (i * 7) % 13
        lines.append(f"{weight},{i % 10};{colour};{(i * 3) % 7},5;{kind}")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = train_table(
        read_csv(csv), TrainSettings(target="fruit", hidden=(4,), epochs=20, dtype="float32")
    )
    model = save_model(folder / "fruit.retroprop", result.model)
    return csv, model


def test_command_exports_a_model_that_predicts_the_same(trained: tuple[Path, Path]) -> None:
    csv, model_path = trained
    out = model_path.with_name("fruit.onnx")
    result = cli("export", model_path, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "label" in result.stdout and "string" in result.stdout and "colour" in result.stdout
    model = load_model(model_path)
    table = read_csv(csv)
    data = {
        c.name: [c.text(i) if c.name == "colour" else c.values[i] for i in range(table.n_rows)]
        for c in table.columns
        if c.name != "fruit"
    }
    got = run(onnx.load(str(out)), feeds(data, np.float32))
    assert got["label"].tolist() == model.predict(table)
    assert_allclose(got["probabilities"], model.predict_proba(table), atol=1e-5)


def test_command_errors(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, model_path = trained
    for args, words in [
        (("--inputs", "matrix"), ("'colour' are categorical",)),
        (("--inputs", "rows"), ("--inputs", "invalid value")),
    ]:
        result = cli("export", model_path, "-o", tmp_path / "x.onnx", *args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, (
            result.stderr
        )
        assert all(w in result.stderr for w in words), result.stderr
    missing = cli(
        "export",
        model_path,
        "-o",
        tmp_path / "x.onnx",
        pre="import sys; sys.modules['onnx'] = None; ",
    )
    assert missing.returncode == 2 and "pip install 'retroprop[onnx]'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_command_exports_a_network_file(tmp_path: Path) -> None:
    net = network("sigmoid", "sigmoid", np.float64, (2, 2, 1))
    path = save_network(net, tmp_path / "xor.json")
    result = cli("export", path.name, "-q", cwd=tmp_path)  # writes xor.onnx beside it
    assert result.returncode == 0 and result.stdout == "", result.stderr
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    got = run(onnx.load(str(tmp_path / "xor.onnx")), {"X": X})
    assert_allclose(got["output"], net.predict(X), rtol=1e-12)
