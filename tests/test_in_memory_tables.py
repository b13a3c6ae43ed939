"""Tables in memory (issue 14): pandas DataFrames, dicts of columns and NumPy arrays, wherever a
table is taken — ``Model.predict``/``predict_proba``, ``Preprocessor.fit``, ``rp.search`` and
the ``Table`` type (``from_frame``, ``from_columns``, ``from_array``, ``from_data``) — read
the same as the CSV file they came from, with clear errors for missing and extra columns.
"""

from __future__ import annotations

import csv
import random
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import retroprop as rp
from retroprop.data.tabular import INFINITE, MISSING, NUMBER, TEXT, DataError, DataWarning

if TYPE_CHECKING:
    from conftest import RunCli

pd = pytest.importorskip("pandas")

HEADER = ["species", "island", "bill_length_mm", "flipper_length_mm", "sex"]


def write_penguins(path: Path, n: int = 60) -> Path:
    """A penguins-like CSV file: a 3-class target, a text column, numbers with NA, a text column
    with empty and NA cells."""
    rng = random.Random(1)
    means = {"Adelie": (38.8, 190, "Torgersen"), "Chinstrap": (48.8, 196, "Dream")}
    means["Gentoo"] = (47.5, 217, "Biscoe")
    rows = []
    for i in range(n):
        species = list(means)[i % 3]
        bill, flipper, island = means[species]
        rows.append(
            [
                species,
                island if i % 4 else rng.choice(["Torgersen", "Dream", "Biscoe"]),
                "NA" if i % 9 == 4 else f"{rng.gauss(bill, 2):.1f}",
                f"{rng.gauss(flipper, 5):.0f}",
                ["male", "female", "", "NA"][i % 4] if i % 5 else "male",
            ]
        )
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([HEADER, *rows])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[rp.Model, Path]:
    """A model trained by the command line on the penguins file (missing values filled)."""
    folder = tmp_path_factory.mktemp("frames")
    data = write_penguins(folder / "penguins.csv")
    model = folder / "m.retroprop"
    result = run_cli(
        "train", str(data), "-t", "species", "--impute", "mean", "--epochs", "30",
        "--engine", "numpy", "-q", "-o", str(model),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return rp.load_model(model), data


def test_predict_takes_a_dataframe(trained: tuple[rp.Model, Path]) -> None:
    model, data = trained
    expected = model.predict_proba(rp.read_csv(data))
    frame = pd.read_csv(data)  # NaN in floats, NaN/None in object (or str) columns
    assert frame["sex"].isna().any() and frame["bill_length_mm"].isna().any()
    np.testing.assert_allclose(model.predict_proba(frame), expected, atol=1e-15)
    assert model.predict(frame) == model.predict(rp.read_csv(data))
    # another column order, category and nullable dtypes, a shuffled index: the same numbers
    other = frame[["sex", "flipper_length_mm", "island", "bill_length_mm", "species"]].copy()
    other["island"] = other["island"].astype("category")
    other["sex"] = other["sex"].astype("string")
    other["flipper_length_mm"] = other["flipper_length_mm"].astype("Int64")
    other["bill_length_mm"] = other["bill_length_mm"].astype("Float64")
    other.index = np.arange(len(other))[::-1] * 10
    np.testing.assert_allclose(model.predict_proba(other), expected, atol=1e-15)


def test_predict_takes_dicts_of_columns(trained: tuple[rp.Model, Path]) -> None:
    model, _ = trained
    mean_bill = model.preprocessor.features[1].mean
    columns = {
        "island": ["Dream", None, "Biscoe"],
        "bill_length_mm": [45.0, float("nan"), None],
        "flipper_length_mm": np.array([200, 190, 210]),
        "sex": pd.Series(["male", pd.NA, "NA"]),
    }
    filled = {
        "island": ["Dream", model.preprocessor.features[0].mode, "Biscoe"],
        "bill_length_mm": [45.0, mean_bill, mean_bill],
        "flipper_length_mm": [200.0, 190.0, 210.0],
        "sex": ["male", model.preprocessor.features[3].mode, model.preprocessor.features[3].mode],
    }
    np.testing.assert_allclose(
        model.predict_proba(columns), model.predict_proba(filled), atol=1e-15
    )
    strings = {k: [str(v) for v in vs] for k, vs in filled.items()}  # numbers as text: parsed
    np.testing.assert_allclose(
        model.predict_proba(strings), model.predict_proba(filled), atol=1e-15
    )


def test_predict_takes_numpy_arrays_in_the_models_column_order(
    trained: tuple[rp.Model, Path],
) -> None:
    model, data = trained
    frame = pd.read_csv(data)
    expected = model.predict_proba(frame)
    assert model.feature_names == ("island", "bill_length_mm", "flipper_length_mm", "sex")
    X = frame[list(model.feature_names)].to_numpy()  # an object array: text, floats and NaN
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-15)
    np.testing.assert_allclose(model.predict_proba(X.tolist()), expected, atol=1e-15)
    # all the training file's columns, in its order, also match by position
    np.testing.assert_allclose(model.predict_proba(frame.to_numpy()), expected, atol=1e-15)
    with pytest.raises(DataError) as info:
        model.predict(X[:, :3])
    assert str(info.value) == (
        "<array>: 3 columns without names; the model takes its 4 feature columns in this "
        "order: 'island', 'bill_length_mm', 'flipper_length_mm', 'sex' (or the 5 columns of "
        "its training file, target included)"
    )


def test_a_numeric_model_takes_a_float_matrix() -> None:
    table = rp.Table.from_columns(
        {"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]}
        | {"y": ["p", "q", "p", "q", "p", "q"]}
    )
    pre, _ = rp.Preprocessor.fit(table, "y", missing="mean")
    model = rp.Model(rp.Network.create([2, 3, 2], activation=["tanh", "softmax"], seed=0), pre)
    X = np.array([[1.0, np.nan], [np.nan, 0.0]])
    expected = model.predict_proba({"a": [1.0, 2.5], "b": [0.5, 0.0]})  # the training means
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-15)
    np.testing.assert_allclose(model.predict_proba(X.astype(np.float32)), expected, atol=1e-7)
    with pytest.raises(DataError, match=r"expected a 2-D array \(rows × columns\), got shape"):
        model.predict(np.array([1.0, 2.0]))


def test_missing_and_extra_columns_are_named(trained: tuple[rp.Model, Path]) -> None:
    model, data = trained
    frame = pd.read_csv(data)
    with pytest.raises(DataError, match=r"^<DataFrame>: missing columns 'island', 'sex' that"):
        model.predict(frame.drop(columns=["island", "sex"]))
    with pytest.warns(
        DataWarning, match=r"<DataFrame>: ignoring column the model does not use: 'x'"
    ):
        model.predict(frame.assign(x=1))
    with pytest.raises(DataError, match=r"^<columns>: missing column 'sex'"):
        model.predict({"island": ["Dream"], "bill_length_mm": [40], "flipper_length_mm": [190]})


def test_bad_cells_are_named_by_row(trained: tuple[rp.Model, Path]) -> None:
    model, data = trained
    frame = pd.read_csv(data).head(4)
    frame.loc[2, "island"] = "Atlantis"
    with pytest.raises(DataError, match=r"^<DataFrame>, row 2, column 'island': unknown category"):
        model.predict(frame)
    with pytest.warns(DataWarning, match=r"row 2, column 'island'.*encoded as all zeros"):
        model.predict(frame, unknown="ignore")
    frame.loc[2, "island"] = "Dream"
    frame["flipper_length_mm"] = frame["flipper_length_mm"].astype(object)
    frame.loc[3, "flipper_length_mm"] = "long"
    with pytest.raises(DataError, match=r"row 3, column 'flipper_length_mm': 'long' is not a"):
        model.predict(frame)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"a": [1, 2], "b": [1]}, "<columns>: the columns have different lengths ('a' has 2, "),
        ({"a": 5}, "<columns>: column 'a': expected a sequence of values (one per row), got int"),
        ({"a": "abc"}, "column 'a': expected a sequence of values (one per row), got str"),
        ({"a": np.zeros((2, 2))}, "column 'a': expected one value per row, got shape (2, 2)"),
        ({"a": [[1, 2], [3, 4]]}, "<columns>, row 0, column 'a': a list value; expected a number"),
        ({"a": [b"x"]}, "row 0, column 'a': a bytes value"),
        ({"a": np.array([1j])}, "column 'a': values of type complex128 are not supported"),
        ([[1, 2], [3]], "<array>: the rows have different lengths"),
        ("a,b\n1,2", "expected a table: a pandas DataFrame, a dict of columns {name: values}, a "),
        ("a,b\n1,2", "2-D array or a Table from read_csv; got str"),
        (42, "got int"),
    ],
)  # fmt: skip
def test_what_is_not_a_table_is_refused_clearly(data: Any, words: str) -> None:
    with pytest.raises(DataError) as info:
        rp.Table.from_data(data)
    assert words in str(info.value)


def test_duplicate_column_names_are_refused() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match=r"<DataFrame>: duplicate column name 'a'"):
        rp.Table.from_frame(frame)
    with pytest.raises(DataError, match=r"duplicate column name '1'"):
        rp.Table.from_columns({1: [1], "1": [2]})


def test_cells_read_as_a_csv_file_reads_them(tmp_path: Path) -> None:
    columns = {
        "n": [1, 2.5, None, float("nan"), float("inf"), "NA", " 7 ", "x"],
        "f": np.array([1.0, np.nan, -np.inf, 2.0, 1.0, 0.5, 0.25, 3.0]),
        "i": np.arange(8),
        "b": [True, False, True, None, np.True_, False, True, False],
        "t": pd.Series(pd.to_datetime(["2024-01-01"] * 7 + [None])),
    }
    table = rp.Table.from_columns(columns)
    assert table.unit == "row" and table.lines.tolist() == list(range(8))
    n, f, i, b, t = table.columns
    assert n.status.tolist() == [NUMBER, NUMBER, MISSING, MISSING, INFINITE, MISSING, NUMBER, TEXT]
    np.testing.assert_array_equal(n.values[[0, 1, 6]], [1.0, 2.5, 7.0])
    assert f.status.tolist() == [NUMBER, MISSING, INFINITE, *[NUMBER] * 5]
    assert f.vocabulary == ["1.0", "-inf", "2.0", "0.5", "0.25", "3.0"] and f.codes is not None
    assert f.codes.tolist() == [0, -1, 1, 2, 0, 3, 4, 5]
    assert i.vocabulary == [str(k) for k in range(8)]
    assert b.vocabulary == ["True", "False"] and b.status[3] == MISSING
    assert t.vocabulary is not None and len(t.vocabulary) == 1 and t.status[7] == MISSING
    # the same cells written to a CSV file and read back: the same column
    path = tmp_path / "n.csv"
    path.write_text("n,k\n1,0\n2.5,0\n,0\nnan,0\ninf,0\nNA,0\n 7 ,0\nx,0\n")
    from_file = rp.read_csv(path).columns[0]
    np.testing.assert_array_equal(from_file.status, n.status)
    np.testing.assert_array_equal(from_file.values, n.values)


def test_a_float_column_matches_integer_categories(tmp_path: Path) -> None:
    """A categorical column of integers in the training file ("1", "2") is matched by value
    when a DataFrame holds it as floats (1.0: an int column with a NaN)."""
    path = tmp_path / "grades.csv"
    path.write_text("grade,x,y\n1,0.5,a\n2,0.1,b\n1,0.4,a\n3,0.9,b\n2,0.2,a\n")
    pre, _ = rp.Preprocessor.fit(rp.read_csv(path), "y", categorical=["grade"], missing="mean")
    assert pre.features[0].categories == ("1", "2", "3")
    frame = pd.DataFrame({"grade": [1.0, 3.0, np.nan], "x": [0.5, 0.9, 0.1]})
    X = pre.transform(pre.align(frame))
    np.testing.assert_array_equal(X[:, :3], [[1, 0, 0], [0, 0, 1], [1, 0, 0]])  # NaN → mode "1"


def test_training_and_search_take_a_dataframe(tmp_path: Path) -> None:
    path = write_penguins(tmp_path / "penguins.csv")
    frame = pd.read_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        from_file, rows = rp.Preprocessor.fit(rp.read_csv(path), "species", missing="mean")
        from_frame, rows2 = rp.Preprocessor.fit(frame, "species", missing="mean")
    assert from_frame.to_json() == from_file.to_json()
    np.testing.assert_array_equal(rows, rows2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's: 2 epochs do not converge
        result = rp.search(
            frame, "species", hidden=[(3,)], cv=2, epochs=2, missing="mean", n_jobs=1
        )
    assert len(result.candidates) == 1 and result.model is not None
    assert len(result.model.predict(frame)) == len(frame)
