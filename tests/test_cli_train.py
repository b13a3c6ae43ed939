"""``retroprop train / predict / evaluate / info MODEL``, run for real in a subprocess.

Every test writes real CSV files, including messy ones (semicolons and decimal commas, quoted
fields, categorical columns, missing values, a non-UTF-8 file), and checks what a user sees:
exit codes, the one-line errors on stderr, the summary, the predictions and the scores.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retroprop import load_model, read_csv
from retroprop.cli._values import expand_multi_values
from retroprop.cli.app import main
from retroprop.cli.apply import evaluate_table


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retroprop", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
    )


def ok(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = run(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def fails(*args: str | Path, words: tuple[str, ...]) -> str:
    """Run, expect exit code 2 and one line on stderr containing ``words``; return it."""
    result = run(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def fails_here(
    capsys: pytest.CaptureFixture[str], *args: str | Path, words: tuple[str, ...]
) -> None:
    """As :func:`fails`, through the same entry point in-process (fast, for the many checks)."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert all(word in lines[0] for word in words), lines[0]


def ok_here(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[str, str]:
    """Run in-process, expect success; (stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_iris

    data = load_iris()
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sepal length", "sepal width", "petal length", "petal width", "species"])
        for x, y in zip(data.data, data.target, strict=True):
            w.writerow([*x, data.target_names[y]])
    return path


@pytest.fixture(scope="module")
def iris_model(iris: Path) -> tuple[Path, str]:
    model = iris.with_name("iris.retroprop")
    result = ok(
        "train", iris, "--target", "species", "--hidden", "10", "5",
        "--activation", "tanh", "sigmoid", "--epochs", "150", "--seed", "1", "-o", model,
    )  # fmt: skip
    return model, result.stdout


def test_iris_train_summary(iris_model: tuple[Path, str]) -> None:
    model, out = iris_model
    assert model.exists()
    assert "Network(4 → 10 tanh → 5 sigmoid → 3 softmax, categorical_cross_entropy)" in out
    assert "classification of 'species': 3 classes" in out
    assert "Training summary" in out and "validation" in out and "accuracy" in out
    assert "iris.csv: 150 rows → 135 for training, 15 for validation" in out
    assert "150 of 150 epochs" in out
    assert f"Model written to {model}" in out


def test_iris_predict_evaluate_info(iris: Path, iris_model: tuple[Path, str]) -> None:
    model, _ = iris_model
    predictions = rows_of(ok("predict", model, iris).stdout)
    assert len(predictions) == 150 and set(predictions[0]) == {"species"}
    truth = [r["species"] for r in rows_of(iris.read_text())]
    assert np.mean([p["species"] == t for p, t in zip(predictions, truth, strict=True)]) > 0.9

    out = iris.with_name("predictions.csv")
    ok("predict", model, iris, "--proba", "-o", out)
    table = rows_of(out.read_text())
    assert list(table[0]) == [
        "species", "proba_setosa", "proba_versicolor", "proba_virginica"
    ]  # fmt: skip
    sums = [sum(float(v) for k, v in r.items() if k.startswith("proba_")) for r in table]
    np.testing.assert_allclose(sums, 1.0, rtol=1e-8)
    assert [r["species"] for r in table] == [p["species"] for p in predictions]

    scores = json.loads(ok("evaluate", model, iris, "--json").stdout)
    assert scores["n"] == 150 and scores["accuracy"] >= 0.95
    assert [c["class"] for c in scores["per_class"]] == ["setosa", "versicolor", "virginica"]
    assert np.sum(scores["confusion"]) == 150
    text = ok("evaluate", model, iris).stdout
    assert "accuracy" in text and "Confusion matrix" in text and "precision" in text

    info = ok("info", model).stdout
    digest = hashlib.sha256(iris.read_bytes()).hexdigest()
    for word in ("Network(4 → 10 tanh", "adam", "learning_rate", "train_accuracy", "numpy"):
        assert word in info
    described = json.loads(ok("info", model, "--json").stdout)
    assert described["data"]["sha256"] == digest and described["data"]["rows"] == 150
    assert described["training"]["hidden"] == [10, 5]
    assert described["architecture"]["activations"] == ["tanh", "sigmoid", "softmax"]


def test_regression_reports_r2(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    path = tmp_path / "diabetes.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*data.feature_names, "progression"])
        w.writerows([*x, y] for x, y in zip(data.data, data.target, strict=True))
    out = ok(
        "train", path, "--target", "progression", "--epochs", "60", "--early-stopping", "--engine",
        "numpy",
        "--patience", "5", cwd=tmp_path,
    ).stdout  # fmt: skip
    assert "regression of 'progression'" in out and "R²" in out
    model = tmp_path / "diabetes.retroprop"  # the default name
    scores = json.loads(ok("evaluate", model, path, "--json").stdout)
    assert scores["r2"] > 0.4 and scores["mae"] > 0 and scores["rmse"] >= scores["mae"]
    assert "R²" in ok("evaluate", model, path).stdout
    values = [float(r["progression"]) for r in rows_of(ok("predict", model, path).stdout)]
    assert len(values) == 442 and 25 < np.mean(values) < 350


def messy_rows(n: int = 120, seed: int = 0) -> list[list[str]]:
    """x with decimal commas, a categorical colour, a quoted note with ';', a text label."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x = rng.normal()
        colour = ["rot", "blau", "grün"][i % 3]
        label = "gut" if x + (colour == "rot") > 0.3 else "schlecht"
        rows.append([f"{x:.3f}".replace(".", ","), colour, f"Nr. {i % 2}; egal", label])
    return rows


def write_semicolon(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)
    return path


HEADER = ["x", "Farbe", "Notiz", "Urteil"]


def test_messy_semicolon_file_with_missing_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = messy_rows()
    rows[4][0] = ""  # line 6
    rows[9][1] = "NA"  # line 11
    data = write_semicolon(tmp_path / "messy.csv", HEADER, rows)
    assert '"Nr. 0; egal"' in data.read_text()  # quoted, since it holds the delimiter
    model = tmp_path / "m.retroprop"
    line = fails(
        "train", data, "--target", "Urteil", "-o", model,
        words=("messy.csv: missing values in column 'x' on line 6", "column 'Farbe' on line 11",
               "--drop-missing", "--impute mean"),
    )  # fmt: skip
    assert not model.exists(), line
    result = ok("train", data, "-t", "Urteil", "--drop-missing", "--engine", "numpy", "-o", model)
    assert "skipped 2 of 120 rows with missing values" in result.stderr
    assert "3 categorical" not in result.stdout and "2 categorical" in result.stdout
    ok_here(capsys, "train", data, "-t", "Urteil", "--impute", "mean", "-q", "-o", model, "--force")
    assert json.loads(ok_here(capsys, "info", model, "--json")[0])["training"]["missing"] == "mean"
    scores = json.loads(ok("evaluate", model, data, "--drop-missing", "--json").stdout)
    assert scores["n"] == 118 and scores["accuracy"] > 0.8
    # the model's policy (--impute mean) applies without repeating it; --impute none refuses
    assert json.loads(ok_here(capsys, "evaluate", model, data, "--json")[0])["n"] == 120
    fails_here(
        capsys, "evaluate", model, data, "--impute", "none",
        words=("missing values in column 'x' on line 6", "--impute mean"),
    )  # fmt: skip
    assert (
        json.loads(ok_here(capsys, "evaluate", model, data, "--impute", "mean", "--json")[0])["n"]
        == 120
    )


def test_predict_matches_columns_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = messy_rows(60)
    data = write_semicolon(tmp_path / "train.csv", HEADER, rows)
    model = tmp_path / "m.retroprop"
    ok("train", data, "-t", "Urteil", "--epochs", "30", "--engine", "numpy", "-q", "-o", model)
    expected = ok("predict", model, data, "--proba").stdout
    # reordered, an extra column, no target, tab-separated
    shuffled = tmp_path / "new.tsv"
    with shuffled.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["Notiz", "extra", "x", "Farbe"])
        w.writerows([r[2], "?", r[0], r[1]] for r in rows)
    result = ok("predict", model, shuffled, "--proba")
    assert result.stdout == expected
    assert "ignoring column the model does not use: 'extra'" in result.stderr
    fails_here(capsys, "predict", model, tmp_path / "train.csv", "--bogus", words=("--bogus",))
    partial = write_semicolon(tmp_path / "partial.csv", ["x", "Urteil"], [["1,0", "gut"]])
    fails_here(capsys, "predict", model, partial, words=("missing columns 'Farbe', 'Notiz'",))
    unseen = write_semicolon(tmp_path / "unseen.csv", HEADER, [["1,0", "lila", "Nr. 0; egal", "x"]])
    fails_here(
        capsys, "predict", model, unseen,
        words=("unseen.csv, line 2, column 'Farbe': unknown category 'lila'", "--ignore-unknown"),
    )  # fmt: skip
    result = ok("predict", model, unseen, "--ignore-unknown")
    assert "encoded as all zeros" in result.stderr and len(rows_of(result.stdout)) == 1
    fails_here(capsys, "evaluate", model, partial, words=("missing columns",))
    fails_here(capsys, "evaluate", model, shuffled, words=("no target column 'Urteil'",))


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, iris: Path) -> None:
    out = tmp_path / "never.retroprop"
    fails(
        "train", iris, "--target", "Species", "-o", out,
        words=("iris.csv: no target column 'Species'; did you mean 'species'?",),
    )  # fmt: skip
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("a;b;Urteil\n1;2;gut\n3;4;schön\n".encode("latin-1"))
    fails("train", latin1, "--target", "Urteil", words=("latin1.csv, line 3: not UTF-8 text",))
    fails("train", iris, "--target", "species", "--solver", "newton", words=("--solver",))
    fake = tmp_path / "fake.retroprop"
    fake.write_text("not a model")
    fails("predict", fake, iris, words=("fake.retroprop: not a retroprop model file",))
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--hidden", "10", "x"), ("x",)),
        (("--hidden", "-3"), ("--hidden",)),
        (("--loss", "hinge"), ("--loss", "squared_error")),
        (("--activation", "tanh", "relu"), ("--activation", "one per hidden layer")),
        (("--output-activation", "step"), ("--output-activation", "unknown activation")),
        (("--batch-size", "some"), ("--batch-size",)),
        (("--task", "ranking"), ("--task",)),
        (("--dtype", "float16"), ("--dtype",)),
        (("--drop-missing", "--impute", "mean"), ("choose one",)),
        (("--impute", "median"), ("--impute",)),
        (("--epochs", "0"), ("--epochs",)),
        (("--validation-fraction", "1.5"), ("--validation-fraction",)),
        (("--categorical", "colour"), ("no column 'colour'",)),
        (("--task", "regression"), ("'setosa' is not a number",)),
        (("--loss", "cce", "--task", "regression", "--target", "petal width"), ("regression",)),
    ],
)
def test_bad_train_options(
    tmp_path: Path, iris: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
    words: tuple[str, ...],
) -> None:  # fmt: skip
    """The same CLI entry point, in-process (fast) for the many option checks."""
    out = tmp_path / "never.retroprop"
    target = [] if "--target" in args else ["--target", "species"]  # (repeated: several)
    code = main(["train", str(iris), *target, "-q", "-o", str(out), *args])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1, captured.err
    assert all(word in lines[0] for word in words), lines[0]
    assert not out.exists()


def test_evaluate_agrees_with_sklearn_metrics(iris: Path, iris_model: tuple[Path, str]) -> None:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    model = load_model(iris_model[0])
    table = read_csv(iris)
    scores = evaluate_table(model, table)
    truth = model.preprocessor.class_index(table, np.arange(table.n_rows))
    predicted = model.outputs(table).argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(truth, predicted, zero_division=0)
    for k, row in enumerate(scores["per_class"]):
        assert row["precision"] == pytest.approx(p[k]) and row["recall"] == pytest.approx(r[k])
        assert row["f1"] == pytest.approx(f[k]) and row["support"] == s[k]
    assert scores["confusion"] == confusion_matrix(truth, predicted).tolist()


def test_divergence_writes_no_model(tmp_path: Path, iris: Path) -> None:
    out = tmp_path / "diverged.retroprop"
    fails(
        "train", iris, "--target", "species", "--solver", "sgd", "--lr", "1e9", "--engine", "numpy",
        "--loss",
        "squared_error", "--output-activation", "identity", "-o", out,
        words=("training diverged", "No model was written"),
    )  # fmt: skip
    assert not out.exists()


def test_quiet_full_batch_rprop_and_float32(tmp_path: Path, iris: Path) -> None:
    out = tmp_path / "rprop.retroprop"
    result = ok(
        "train", iris, "--target", "species", "--solver", "irprop+", "--batch-size", "all",
        "--loss", "squared_error", "--hidden", "0", "--dtype", "float32", "--epochs", "50",
        "--validation-fraction", "0", "-q", "-o", out,
    )  # fmt: skip
    assert result.stdout == "" and result.stderr == ""
    described = json.loads(ok("info", out, "--json").stdout)
    assert described["architecture"] == {
        "sizes": [4, 3], "activations": ["sigmoid"], "loss": "squared_error",
        "dtype": "float32", "parameters": 15,
    }  # fmt: skip
    assert described["metrics"]["n_validation"] == 0
    assert described["training"]["solver"] == "irprop+"


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "info"])
def test_help_has_an_example(command: str) -> None:
    result = ok(command, "--help")
    assert "Example" in result.stdout and f"retroprop {command}" in result.stdout


def test_expand_multi_values() -> None:
    argv = ["train", "d.csv", "--hidden", "10", "5", "--activation", "tanh", "relu", "-t", "y"]
    assert expand_multi_values(argv) == [
        "train", "d.csv", "--hidden", "10", "--hidden", "5",
        "--activation", "tanh", "--activation", "relu", "-t", "y",
    ]  # fmt: skip
    # values stop at the first token that is not one; other commands are untouched
    assert expand_multi_values(["train", "--hidden", "8", "d.csv", "4"]) == [
        "train", "--hidden", "8", "d.csv", "4"
    ]  # fmt: skip
    assert expand_multi_values(["predict", "--hidden", "10", "5"]) == [
        "predict", "--hidden", "10", "5"
    ]  # fmt: skip


def test_train_error_running_is_stored_and_checked(
    iris: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "iris.retroprop"
    ok_here(
        capsys, "train", iris, "-t", "species", "--epochs", "20", "--batch-size", "1",
        "--solver", "sgd", "--train-error", "running", "-q", "-o", model,
    )  # fmt: skip
    m = load_model(model)
    assert m.training["train_error"] == "running"
    fails_here(
        capsys, "train", iris, "-t", "species", "--train-error", "mean", "-o", model,
        words=("--train-error", "mean"),
    )  # fmt: skip
    fails_here(
        capsys, "train", iris, "-t", "species", "--solver", "lbfgs", "--train-error", "running",
        "-o", model, words=("--train-error running", "lbfgs"),
    )  # fmt: skip
