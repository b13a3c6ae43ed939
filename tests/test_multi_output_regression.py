"""Multi-output regression from files: a FANN data file whose outputs are not one-hot, or a CSV
file with ``--target`` given more than once, trains one network predicting every target column;
predict, evaluate, explain, info, the model file, ONNX and FANN export all carry the columns.
Everything runs through the real command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from retroprop import load_model, read_data
from retroprop.data.encoders import Target, target_from_json, target_to_json
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.schema import SchemaError

if TYPE_CHECKING:
    from conftest import RunCli

Run = Callable[..., subprocess.CompletedProcess[str]]
N = 120


@pytest.fixture
def run(run_cli: RunCli) -> Run:
    """``python -m retroprop ARGS…`` with paths among the arguments."""
    return lambda *args: run_cli(*map(str, args))


def samples() -> tuple[np.ndarray, np.ndarray]:
    """3 inputs in [−1, 1] and 2 smooth targets on very different scales, (N, 3) and (N, 2)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (N, 3))
    Y = np.column_stack(
        [100 + 50 * np.sin(2 * X[:, 0]) + 10 * X[:, 1], -3 + 0.5 * X[:, 1] * X[:, 2] + X[:, 0]]
    )
    return X, Y


@pytest.fixture
def fann_file(tmp_path: Path) -> Path:
    """A FANN data file of the samples: 3 inputs, 2 outputs that are not one-hot."""
    X, Y = samples()
    lines = [f"{N} 3 2"]
    for x, y in zip(X, Y, strict=True):
        lines += [" ".join(map(repr, x.tolist())), " ".join(map(repr, y.tolist()))]
    path = tmp_path / "multi.data"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    """The same samples as a CSV file: features a, b, c, targets u, v, and a column w."""
    X, Y = samples()
    rows = [
        ",".join(map(repr, [*x.tolist(), *y.tolist(), 2 * x[0].item()]))
        for x, y in zip(X, Y, strict=True)
    ]
    path = tmp_path / "multi.csv"
    path.write_text("a,b,c,u,v,w\n" + "\n".join(rows) + "\n")
    return path


def trained(run: Run, data: Path, out: Path, *args: object) -> Path:
    """Train on ``data`` (L-BFGS, so the fit is good in a fraction of a second), ``-o out``."""
    done = run("train", data, *args, "--solver", "lbfgs", "--epochs", "300", "-q", "-o", out)
    assert done.returncode == 0, done.stderr
    return out


# -- training ---------------------------------------------------------------------------------
def test_a_fann_file_of_several_outputs_trains_all_of_them(
    run: Run, fann_file: Path, tmp_path: Path
) -> None:
    model_path = trained(run, fann_file, tmp_path / "m.retroprop")
    model = load_model(model_path)
    t = model.preprocessor.target
    assert model.task == "regression" and t.names == ("y1", "y2") and t.width == 2
    assert model.network.sizes[-1] == 2 and model.training["target"] == ["y1", "y2"]
    _, Y = samples()
    np.testing.assert_allclose(t.means, Y.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(t.scales, Y.std(axis=0), rtol=1e-12)
    P = model.predict(read_data(fann_file))
    assert P.shape == (N, 2)
    r2 = 1 - ((Y - P) ** 2).sum(axis=0) / ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    assert np.all(r2 > 0.9)  # each target fitted in its own units


def test_csv_targets_are_given_by_repeating_the_option(
    run: Run, csv_file: Path, tmp_path: Path
) -> None:
    path = trained(run, csv_file, tmp_path / "c.retroprop", "-t", "u", "-t", "v", "--ignore", "w")
    model = load_model(path)
    assert model.preprocessor.target.names == ("u", "v")
    assert model.feature_names == ("a", "b", "c")
    shown = run("train", csv_file, "-t", "u", "-t", "v", "--epochs", "2", "-o", tmp_path / "s")
    assert shown.returncode == 0, shown.stderr
    assert "regression of 2 columns: 'u' (mean 1" in shown.stdout
    assert "MAE (mean of 'u', 'v')" in shown.stdout
    one = load_model(trained(run, csv_file, tmp_path / "one.retroprop", "-t", "u"))
    assert one.preprocessor.target.names == ("u",) and one.training["target"] == "u"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-t", "u", "-t", "u"), "--target: a column named twice"),
        (("-t", "u", "-t", "v", "--task", "classification"), "classification takes one target"),
        (("-t", "u", "-t", "nope"), "no target column 'nope'"),
    ],
)
def test_bad_target_lists_are_one_line_exit_2(
    run: Run, csv_file: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = run("train", csv_file, *args, "--epochs", "2", "-q", "-o", tmp_path / "x.retroprop")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_named_output_of_a_fann_file_trains_alone(
    run: Run, fann_file: Path, tmp_path: Path
) -> None:
    model = load_model(trained(run, fann_file, tmp_path / "y2.retroprop", "-t", "y2"))
    assert model.preprocessor.target.names == ("y2",) and model.network.sizes[-1] == 1
    assert model.feature_names == ("x1", "x2", "x3")  # y1 left out, not a feature


# -- applying ---------------------------------------------------------------------------------
def test_predict_writes_one_column_per_target_in_its_units(
    run: Run, fann_file: Path, tmp_path: Path
) -> None:
    path = trained(run, fann_file, tmp_path / "m.retroprop")
    done = run("predict", path, fann_file)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header == "y1,y2" and len(rows) == N
    P = np.array([r.split(",") for r in rows], dtype=float)
    expected = load_model(path).predict(read_data(fann_file))
    np.testing.assert_allclose(P, expected, rtol=1e-9)
    _, Y = samples()
    assert abs(P[:, 0].mean() - Y[:, 0].mean()) < 5 < abs(P[:, 0].mean() - P[:, 1].mean())


def test_evaluate_scores_each_target_and_their_mean(
    run: Run, csv_file: Path, fann_file: Path, tmp_path: Path
) -> None:
    path = trained(run, csv_file, tmp_path / "c.retroprop", "-t", "u", "-t", "v", "--ignore", "w")
    model = load_model(path)
    done = run("evaluate", path, csv_file, "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    _, Y = samples()
    P = model.predict(read_data(csv_file))
    err = Y - P
    r2 = 1 - (err**2).sum(axis=0) / ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    mae, rmse = np.abs(err).mean(axis=0), np.sqrt((err**2).mean(axis=0))
    assert [s["target"] for s in scores["per_target"]] == ["u", "v"]
    for k, s in enumerate(scores["per_target"]):
        assert s["r2"] == pytest.approx(r2[k], rel=1e-9)
        assert s["mae"] == pytest.approx(mae[k], rel=1e-9)
        assert s["rmse"] == pytest.approx(rmse[k], rel=1e-9)
    # scikit-learn's multioutput="uniform_average": the plain mean over targets
    assert scores["r2"] == pytest.approx(r2.mean(), rel=1e-9)
    assert scores["mae"] == pytest.approx(mae.mean(), rel=1e-9)
    assert scores["rmse"] == pytest.approx(rmse.mean(), rel=1e-9)
    from sklearn.metrics import mean_absolute_error, r2_score

    assert scores["r2"] == pytest.approx(r2_score(Y, P), rel=1e-9)
    assert scores["mae"] == pytest.approx(mean_absolute_error(Y, P), rel=1e-9)
    by_position = run("evaluate", path, fann_file, "--json")  # y1, y2 are u, v by position
    assert by_position.returncode == 0, by_position.stderr
    assert json.loads(by_position.stdout)["r2"] == pytest.approx(scores["r2"], rel=1e-9)
    table = run("evaluate", path, csv_file)
    assert "R² (v)" in table.stdout and "R² (mean of 'u', 'v')" in table.stdout


def test_a_file_with_other_outputs_says_why(run: Run, fann_file: Path, tmp_path: Path) -> None:
    path = trained(run, fann_file, tmp_path / "m.retroprop")
    one = tmp_path / "one.data"
    one.write_text("2 3 1\n0 0 0\n1\n1 1 1\n2\n")
    done = run("evaluate", path, one)
    assert done.returncode == 2
    assert "the model predicts 2 numbers, 'y1', 'y2'" in done.stderr


def test_explain_and_info_name_every_target(run: Run, fann_file: Path, tmp_path: Path) -> None:
    path = trained(run, fann_file, tmp_path / "m.retroprop")
    model = load_model(path)
    t = model.preprocessor.target
    done = run("explain", "--model", path, fann_file, "--row", "2", "--format", "json")
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert trace["output_names"] == ["y1", "y2"]
    assert trace["target_scaling"]["column"] == "y1"
    assert trace["more_target_scaling"] == [
        {"column": "y2", "mean": t.means[1], "scale": t.scales[1]}
    ]
    table = read_data(fann_file)
    np.testing.assert_allclose(np.ravel(trace["input"]), model.preprocessor.transform(table)[1])
    np.testing.assert_allclose(
        np.ravel(trace["target"]), model.preprocessor.encode_target(table)[1]
    )
    text = run("explain", "--model", path, fann_file, "--row", "2")
    assert "y₂ is standardised: y₂ = (y2 + 2." in text.stdout, text.stdout
    info = run("info", path)
    assert "regression of 2 columns: 'y1' (mean 1" in " ".join(info.stdout.split())


# -- files ------------------------------------------------------------------------------------
def test_the_target_json_round_trips_and_one_column_is_written_as_before() -> None:
    one = Target("y", "regression", mean=2.5, scale=0.5)
    assert target_to_json(one) == {"name": "y", "kind": "regression", "mean": 2.5, "scale": 0.5}
    several = Target(
        "a",
        "regression",
        mean=1.0,
        scale=2.0,
        more=(Target("b", "regression", mean=-1.0, scale=3.0),),
    )
    obj = target_to_json(several)
    assert obj["more"] == [{"name": "b", "mean": -1.0, "scale": 3.0}]
    back = target_from_json(json.loads(json.dumps(obj)), "t")
    assert back == several and back.names == ("a", "b")
    np.testing.assert_array_equal(back.scales, [2.0, 3.0])
    for bad, message in (
        ({**obj, "more": []}, "t.more: expected at least one"),
        ({**obj, "more": [{"name": "a", "mean": 0, "scale": 1}]}, "t.more: target names"),
        ({**obj, "more": [{"name": "b", "mean": 0, "scale": 0}]}, r"t\.more\[0\]\.scale"),
        (
            {"name": "c", "kind": "classification", "classes": [0, 1], "more": []},
            "only a regression",
        ),
    ):
        with pytest.raises(SchemaError, match=message):
            target_from_json(bad, "t")


def test_the_model_file_round_trips_a_multi_output_model(
    run: Run, fann_file: Path, tmp_path: Path
) -> None:
    path = trained(run, fann_file, tmp_path / "m.retroprop")
    model = load_model(path)
    from retroprop.files.model_file import save_model

    save_model(tmp_path / "again.retroprop", model)
    again = load_model(tmp_path / "again.retroprop")
    assert again.preprocessor == model.preprocessor
    table = read_data(fann_file)
    np.testing.assert_array_equal(again.predict(table), model.predict(table))
    pre = Preprocessor.from_json(model.preprocessor.to_json())
    assert pre.target.names == ("y1", "y2")


def test_onnx_export_predicts_every_target(run: Run, csv_file: Path, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    path = trained(run, csv_file, tmp_path / "c.retroprop", "-t", "u", "-t", "v", "--ignore", "w")
    done = run("export", path, "-o", tmp_path / "c.onnx")
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(str(tmp_path / "c.onnx"))
    (output,) = session.get_outputs()
    assert output.name == "prediction" and output.shape == ["n", 2]
    X, _ = samples()
    (P,) = session.run(None, {"X": X})
    expected = load_model(path).predict(read_data(csv_file))
    np.testing.assert_allclose(P, expected, rtol=0, atol=1e-6)


def test_fann_export_round_trips_through_import_fann(
    run: Run, fann_file: Path, tmp_path: Path
) -> None:
    path = trained(run, fann_file, tmp_path / "m.retroprop")
    done = run("export", path, "--format", "fann", "-o", tmp_path / "m.net")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "m.net").read_text()
    assert "num_layers=3" in text
    back = tmp_path / "back.retroprop"
    imported = run("import-fann", tmp_path / "m.net", "--regression", "-o", back)
    assert imported.returncode == 0, imported.stderr
    model, again = load_model(path), load_model(back)
    assert again.preprocessor.target.names == ("y1", "y2")
    table = read_data(fann_file)
    np.testing.assert_allclose(again.predict(table), model.predict(table), rtol=0, atol=1e-9)
    scored = run("evaluate", back, fann_file, "--json")
    assert scored.returncode == 0, scored.stderr
    classes = run("import-fann", tmp_path / "m.net", "-o", tmp_path / "cls.retroprop")
    assert (
        classes.returncode == 0 and load_model(tmp_path / "cls.retroprop").task == "classification"
    )
