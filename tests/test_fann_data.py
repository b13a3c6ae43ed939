"""FANN training-data files (``retroprop.data.fann``): reading FANN's own benchmark files,
detecting the format by content, hostile files refused with the file and line, and the command
line training, evaluating and predicting on them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retroprop import DataError, load_model, read_data, read_fann

if TYPE_CHECKING:
    from conftest import RunCli

FANN = Path(__file__).parent / "data" / "fann"


def write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture
def run(run_cli: RunCli) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python -m retroprop ARGS…`` with paths among the arguments."""
    return lambda *args: run_cli(*map(str, args))


def fann_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The file's inputs and outputs, read independently of the reader under test."""
    numbers = path.read_text().split()
    n, n_in, n_out = map(int, numbers[:3])
    values = np.array(numbers[3:], dtype=float).reshape(n, n_in + n_out)
    return values[:, :n_in], values[:, n_in:]


# -- FANN's own files ---------------------------------------------------------------------------
def test_diabetes_one_hot_outputs_become_a_class_column() -> None:
    table = read_data(FANN / "diabetes.train")
    X, Y = fann_arrays(FANN / "diabetes.train")
    assert table.names == [f"x{j}" for j in range(1, 9)] + ["class"]
    assert table.targets == ("class",) and not table.has_header
    assert table.n_rows == 384
    assert list(table.lines[:3]) == [2, 4, 6]  # each sample's line of inputs
    np.testing.assert_array_equal(table.column("x3").values, X[:, 2])
    np.testing.assert_array_equal(table.column("class").values, np.argmax(Y, axis=1))
    digest = hashlib.sha256((FANN / "diabetes.train").read_bytes()).hexdigest()
    assert table.sha256 == digest


@pytest.mark.parametrize("name", ["parity8.train", "two-spiral.test"])
def test_one_output_is_a_y_column(name: str) -> None:
    table = read_fann(FANN / name)
    X, Y = fann_arrays(FANN / name)
    assert table.targets == ("y",)
    np.testing.assert_array_equal(table.column("y").values, Y[:, 0])
    np.testing.assert_array_equal(table.column("x1").values, X[:, 0])


def test_symmetric_one_hot_and_several_regression_outputs(tmp_path: Path) -> None:
    symmetric = write(tmp_path, "2 1 3\n0.5\n-1 1 -1\n0.25\n1 -1 -1\n")
    assert read_data(symmetric).column("class").values.tolist() == [1, 0]
    several = write(tmp_path, "2 1 2\n0.5\n0.1 0.9\n0.25\n1 0\n")
    table = read_data(several)
    assert table.targets == ("y1", "y2")
    assert table.column("y1").values.tolist() == [0.1, 1.0]


# -- detection by content -----------------------------------------------------------------------
def test_format_is_detected_by_content_not_name(tmp_path: Path) -> None:
    fann = write(tmp_path, "1 2 1\n1 2\n3\n", "looks.csv")
    assert read_data(fann).names == ["x1", "x2", "y"]
    csv = write(tmp_path, "a,b\n1,2\n", "looks.data")
    assert read_data(csv).names == ["a", "b"]
    # three integer columns of a tab-separated file are not a FANN header
    tsv = write(tmp_path, "5\t3\t3\n1\t2\t3\n4\t5\t6\n")
    assert read_data(tsv).names == ["column_1", "column_2", "column_3"]
    # the second line does not hold the declared inputs: a CSV file of numbers
    spaces = write(tmp_path, "1,2,3\n4,5,6\n")
    assert read_data(spaces).n_rows == 2


def test_a_file_longer_than_the_peek_is_read_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.random((3000, 4)), rng.random((3000, 1))
    lines = ["3000 4 1"]
    for x, y in zip(X, Y, strict=True):
        lines += [" ".join(map(repr, x.tolist())), repr(float(y[0]))]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert path.stat().st_size > 1 << 16
    table = read_data(path)
    np.testing.assert_array_equal(table.column("x4").values, X[:, 3])
    np.testing.assert_array_equal(table.column("y").values, Y[:, 0])
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    csv = write(tmp_path, "a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(20000)), "big.csv")
    assert read_data(csv).column("b").values[-1] == 39998


# -- hostile files ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("3 2\n1 2\n3\n", "line 1: expected the FANN header"),
        ("1 0 1\n\n1\n", "line 1: the header declares 0 inputs; expected 1 to 100,000"),
        ("1 999999999999 1\n1\n1\n", "declares 999,999,999,999 inputs"),
        ("1 2 5000\n1 2\n1\n", "declares 5,000 outputs; expected 1 to 1,000"),
        ("0 2 1\n", "line 1: the header declares no samples"),
        ("2 2 1\n1 2\n1\n1 2 3\n1\n", "line 4: 3 numbers, expected 2 inputs"),
        ("1 2 1\n1 2\n1 0\n", "line 3: 2 numbers, expected 1 outputs"),
        ("1 2 1\n1 abc\n1\n", "line 2, field 2: 'abc' is not a number"),
        ("1 2 1\n1 1_0\n1\n", "line 2, field 2: '1_0' is not a number"),
        ("1 2 1\n1 2\nnan\n", "line 2: sample 1, output 1, is nan, not a finite number"),
        ("2 2 1\n1 2\n1\n3 4\n", "line 4: the file ends after a line of inputs"),
        ("1 2 1\n1 2\n1\n3 4\n0\n", "line 4: more samples than the 1 the header (line 1)"),
        ("2 2 1\n1 2\n1\n", "1 samples, but the header (line 1) declares 2"),
        (b"1 2 1\n1 2\x00\n1\n", "line 2: the file contains NUL bytes; it is not a text FANN"),
        (b"1 2 1\n1 \xff\n1\n", "line 2: not UTF-8 text"),
    ],
)
def test_hostile_files_name_file_and_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, content, "bad.data")
    with pytest.raises(DataError, match=r"bad\.data") as info:
        read_fann(path)
    assert message in str(info.value)


def test_a_huge_sample_count_allocates_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "900000000000000 100000 1000\n" + "1 " * 100000 + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="the file ends after a line of inputs"):
            read_data(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20  # one line's worth, not 10^14 numbers


def test_an_endless_line_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "1 2 1\n" + "1 " * 6_000_000)
    with pytest.raises(DataError, match="line 2: longer than 10,000,000 characters"):
        read_fann(path)


# -- the command line ---------------------------------------------------------------------------
def test_train_evaluate_predict_on_fann_files(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    model = tmp_path / "diabetes.retroprop"
    trained = run(
        "train", FANN / "diabetes.train", "--solver", "irprop-", "--batch-size", "all",
        "--epochs", "30", "--quiet", "-o", model,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    loaded = load_model(model)
    assert loaded.task == "classification" and loaded.preprocessor.target.name == "class"
    assert [f.name for f in loaded.preprocessor.features] == [f"x{j}" for j in range(1, 9)]
    scored = run("evaluate", model, FANN / "diabetes.test", "--json")
    assert scored.returncode == 0, scored.stderr
    assert '"accuracy"' in scored.stdout
    predicted = run("predict", model, FANN / "diabetes.test")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0] == "class"
    assert len(predicted.stdout.splitlines()) == 385


def test_several_regression_outputs_are_all_targets_or_one_by_name(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    data = multi_output_file(tmp_path)
    model = tmp_path / "m.retroprop"
    every = run("train", data, "--epochs", "2", "--quiet", "-o", model)
    assert every.returncode == 0, every.stderr
    assert load_model(model).preprocessor.target.names == ("y1", "y2", "y3")
    chosen = run(
        "train", data, "--target", "y2", "--epochs", "2", "--quiet", "-o", model, "--force"
    )
    assert chosen.returncode == 0, chosen.stderr
    loaded = load_model(model)
    assert loaded.task == "regression" and loaded.preprocessor.target.names == ("y2",)
    assert [f.name for f in loaded.preprocessor.features] == ["x1", "x2"]  # y1, y3 left out


def imported(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path, sizes: list[int]
) -> Path:
    """A FANN network file of ``sizes`` (tanh hidden, sigmoid outputs), as libfann reads them,
    imported by ``retroprop import-fann``: the model it writes."""
    from retroprop import Network
    from retroprop.files.fann_model import export_fann

    net = tmp_path / f"n{len(sizes)}-{sizes[-1]}.net"
    export_fann(Network.create(sizes, activation="tanh", output_activation="sigmoid", seed=3), net)
    model = net.with_suffix(".retroprop")
    done = run("import-fann", net, "-o", model)
    assert done.returncode == 0, done.stderr
    return model


def symmetric(tmp_path: Path, path: Path) -> Path:
    """``path`` with its outputs written −1/1 (FANN's symmetric data) instead of 0/1."""
    lines = path.read_text().splitlines()
    body = [" ".join("-1" if v == "0" else v for v in line.split()) if k % 2 else line
            for k, line in enumerate(lines[1:], start=0)]  # fmt: skip
    return write(tmp_path, "\n".join([lines[0], *body]) + "\n", f"sym-{path.name}")


def test_an_imported_classifier_scores_a_one_output_file(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """Two outputs (classes 0, 1) and a file of one 0/1 output: its values are the classes;
    −1/1 (symmetric) is the same; predict and explain take it too."""
    model = imported(run, tmp_path, [8, 4, 2])
    loaded = load_model(model)
    table = read_data(FANN / "parity8.test")
    y = table.column("y").values.astype(int)
    accuracy = float(np.mean(np.asarray(loaded.predict(table)) == y))  # by hand: argmax vs y
    for data in (FANN / "parity8.test", symmetric(tmp_path, FANN / "parity8.test")):
        scored = run("evaluate", model, data, "--json")
        assert scored.returncode == 0, scored.stderr
        assert json.loads(scored.stdout)["accuracy"] == pytest.approx(accuracy, abs=1e-15)
    predicted = run("predict", model, FANN / "parity8.test")
    assert predicted.returncode == 0 and predicted.stderr == "", predicted.stderr
    assert predicted.stdout.splitlines()[0] == "class"
    explained = run("explain", "--model", model, "--data", FANN / "parity8.test", "--row", "2")
    assert explained.returncode == 0, explained.stderr
    assert "target y = (0, 1)" in explained.stdout  # row 2: 1 0 0 0 0 0 0 0 → odd parity


def test_an_imported_regressor_scores_a_one_output_file(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    model = imported(run, tmp_path, [8, 3, 1])
    scored = run("evaluate", model, FANN / "parity8.test", "--json")
    assert scored.returncode == 0, scored.stderr
    assert set(json.loads(scored.stdout)) >= {"r2", "mae", "rmse"}


@pytest.mark.parametrize(
    ("sizes", "data", "message"),
    [
        ([8, 3, 1], "diabetes.test",
         "diabetes.test: its outputs are one-hot, the classes of column 'class'; the model "
         "predicts one number, 'y' (regression, one output)"),
        ([2, 3, 2], "multi.data",
         "multi.data: 3 outputs per sample (y1 … y3) that are not one-hot (one 1, the others 0 "
         "or −1 in every sample); the model classifies 'class' into 2 classes"),
        ([8, 3, 2], "two-spiral.test",
         "two-spiral.test: 2 inputs per sample (FANN data), but the model takes 8: 'x1', 'x2'"),
    ],
)  # fmt: skip
def test_a_file_that_does_not_fit_the_model_says_why(
    run: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    sizes: list[int],
    data: str,
    message: str,
) -> None:
    path = FANN / data if data != "multi.data" else multi_output_file(tmp_path)
    model = imported(run, tmp_path, sizes)
    for command in ("evaluate", "explain"):
        args = ("--model", model, "--data", path, "--row", "1") if command == "explain" else (
            model, path)  # fmt: skip
        result = run(command, *args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "no header row" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2  # a warning at most, then the error


def test_a_model_of_named_columns_applies_to_fann_data_by_position(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """A model trained on a CSV file (its own column names) scores a FANN file of the same
    shape: the columns by position, the one output as its target."""
    X, Y = fann_arrays(FANN / "parity8.train")
    rows = [",".join(f"{v:g}" for v in (*x, y)) for x, y in zip(X, Y[:, 0], strict=True)]
    csv = write(tmp_path, "\n".join([",".join([*"abcdefgh", "odd"]), *rows]) + "\n", "p.csv")
    model = tmp_path / "p.retroprop"
    trained = run("train", csv, "-t", "odd", "--epochs", "3", "--quiet", "-o", model)
    assert trained.returncode == 0, trained.stderr
    scored = run("evaluate", model, FANN / "parity8.test", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["n"] == 256


def multi_output_file(tmp_path: Path, n: int = 40) -> Path:
    """A FANN file of 2 inputs and 3 outputs in [0, 1) (not one-hot)."""
    rng = np.random.default_rng(1)
    lines = [f"{n} 2 3"]
    for _ in range(n):
        lines += [" ".join(map(repr, rng.random(k).tolist())) for k in (2, 3)]
    return write(tmp_path, "\n".join(lines) + "\n", "multi.data")


def test_a_hostile_fann_file_is_one_line_exit_2(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    data = write(tmp_path, "2 2 1\n1 2\n1\n1 x\n0\n", "bad.data")
    result = run("train", data, "--quiet", "-o", tmp_path / "m.retroprop")
    assert result.returncode == 2
    message = "retroprop: error: bad.data, line 4, field 2: 'x' is not a number"
    assert result.stderr.strip() == message


# -- any valid file ---------------------------------------------------------------------------
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 5), st.integers(1, 4)),
    data=st.data(),
    separator=st.sampled_from([" ", "\t", "  "]),
)
def test_any_valid_file_reads_back_its_numbers(
    tmp_path: Path, shape: tuple[int, int, int], data: st.DataObject, separator: str
) -> None:
    n, n_in, n_out = shape
    number = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    X = np.array(data.draw(st.lists(number, min_size=n * n_in, max_size=n * n_in))).reshape(n, -1)
    Y = np.array(data.draw(st.lists(number, min_size=n * n_out, max_size=n * n_out)))
    Y = Y.reshape(n, n_out)
    lines = [f"{n} {n_in} {n_out}"]
    for x, y in zip(X, Y, strict=True):
        lines += [separator.join(map(repr, x.tolist())), "", separator.join(map(repr, y.tolist()))]
    path = write(tmp_path, "\n".join(lines) + "\n", "any.data")
    table = read_data(path)
    for j in range(n_in):
        np.testing.assert_array_equal(table.column(f"x{j + 1}").values, X[:, j])
    if n_out == 1:
        np.testing.assert_array_equal(table.column("y").values, Y[:, 0])
    elif table.targets == ("class",):  # only when every row is one-hot
        assert np.all(np.sort(Y, axis=1)[:, -1] == 1.0)
        np.testing.assert_array_equal(table.column("class").values, np.argmax(Y, axis=1))
    else:
        for k in range(n_out):
            np.testing.assert_array_equal(table.column(f"y{k + 1}").values, Y[:, k])
