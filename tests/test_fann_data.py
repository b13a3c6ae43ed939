"""FANN training-data files (``retroprop.data.fann``): reading FANN's own benchmark files,
detecting the format by content, hostile files refused with the file and line, and the command
line training, evaluating and predicting on them."""

from __future__ import annotations

import hashlib
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


def test_several_regression_outputs_need_a_target(
    run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    lines = ["40 2 3"]
    for _ in range(40):
        lines += [
            " ".join(map(repr, rng.random(2).tolist())),
            " ".join(map(repr, rng.random(3).tolist())),
        ]
    data = write(tmp_path, "\n".join(lines) + "\n", "multi.data")
    missing = run("train", data, "--epochs", "2", "--quiet", "-o", tmp_path / "m.retroprop")
    assert missing.returncode == 2
    assert "one of the file's outputs y1, y2, y3" in missing.stderr
    model = tmp_path / "m.retroprop"
    chosen = run("train", data, "--target", "y2", "--epochs", "2", "--quiet", "-o", model)
    assert chosen.returncode == 0, chosen.stderr
    loaded = load_model(model)
    assert loaded.task == "regression"
    assert [f.name for f in loaded.preprocessor.features] == ["x1", "x2"]  # y1, y3 left out


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
