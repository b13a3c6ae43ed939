"""Missing values: one policy, stored in the model, applied the same way everywhere (issue 14).

A penguins-like CSV file (numeric columns with NaNs, a text ``island`` column, a ``sex`` column
with missing values, three species) is trained on through the real command line; then the rows
with missing values go through ``retroprop predict``, ``Model.predict_proba`` (with a Table and
with a pandas DataFrame), ``retroprop evaluate``, ``retroprop explain --model`` and onnxruntime
on the exported graph, which must all agree to 1e-6.
"""

from __future__ import annotations

import csv
import io
import json
import random
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import retroprop as rp
from helpers import members, write_members
from retroprop.data.tabular import MISSING_TOKENS, DataError, DataWarning
from retroprop.errors import ParameterError

if TYPE_CHECKING:
    from conftest import RunCli

HEADER = ["species", "island", "bill_length_mm", "bill_depth_mm", "body_mass_g", "sex"]
SPECIES = {  # mean bill length, bill depth, body mass; islands
    "Adelie": (38.8, 18.3, 3700.0, ["Torgersen", "Biscoe", "Dream"]),
    "Chinstrap": (48.8, 18.4, 3733.0, ["Dream"]),
    "Gentoo": (47.5, 15.0, 5076.0, ["Biscoe"]),
}


def penguins(n: int = 90) -> list[list[str]]:
    """Rows of a penguins-like table, with NA / empty cells in numeric and text columns."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        species = list(SPECIES)[i % 3]
        bill, depth, mass, islands = SPECIES[species]
        row = [
            species,
            rng.choice(islands),
            f"{rng.gauss(bill, 2.5):.1f}",
            f"{rng.gauss(depth, 1.0):.1f}",
            f"{rng.gauss(mass, 400):.0f}",
            rng.choice(["male", "female"]),
        ]
        if i % 11 == 3:
            row[2] = "NA"
        if i % 13 == 5:
            row[4] = ""
        if i % 7 == 2:
            row[5] = "NA" if i % 2 else ""
        if i == 40:
            row[1] = "nan"
        rows.append(row)
    return rows


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([HEADER, *rows])
    return path


def holes(rows: list[list[str]]) -> list[list[str]]:
    """The rows with a missing cell in some feature."""
    return [r for r in rows if any(c.lower() in MISSING_TOKENS for c in r[1:])]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> dict[str, Path]:
    """penguins.csv, its rows with missing values (holes.csv), and two models trained on it by
    the command line: ``--impute mean`` (mean.retroprop) and ``--drop-missing``
    (drop.retroprop)."""
    folder = tmp_path_factory.mktemp("missing")
    rows = penguins()
    out = {
        "data": write(folder / "penguins.csv", rows),
        "holes": write(folder / "holes.csv", holes(rows)),
    }
    for policy, flags in (("mean", ("--impute", "mean")), ("drop", ("--drop-missing",))):
        model = folder / f"{policy}.retroprop"
        result = run_cli(
            "train", str(out["data"]), "-t", "species", *flags, "--epochs", "40",
            "--engine", "numpy", "-q", "-o", str(model),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        out[policy] = model
    return out


def read_predictions(text: str) -> tuple[list[str], np.ndarray]:
    """Labels and probabilities from ``retroprop predict --proba`` output."""
    table = list(csv.reader(io.StringIO(text)))
    return [r[0] for r in table[1:]], np.array([[float(v) for v in r[1:]] for r in table[1:]])


def onnx_probabilities(model: rp.Model, csv_path: Path, onnx_path: Path) -> np.ndarray:
    """onnxruntime's probabilities on the raw cells of a CSV file: numbers as float (NaN when
    missing), categories as the strings in the file ("NA", "" and "nan" included)."""
    ort = pytest.importorskip("onnxruntime")
    with csv_path.open() as f:
        cells = list(csv.DictReader(f))
    feeds: dict[str, Any] = {}
    for feature in model.preprocessor.features:
        column = [row[feature.name] for row in cells]
        if feature.kind == "numeric":
            feeds[feature.name] = np.array(
                [float(c) if c.lower() not in MISSING_TOKENS else np.nan for c in column]
            )[:, None]
        else:
            feeds[feature.name] = np.array(column, dtype=object)[:, None]
    session = ort.InferenceSession(str(onnx_path))
    _, proba = session.run(None, feeds)
    return np.asarray(proba)


def test_the_same_rows_give_the_same_probabilities_everywhere(
    files: dict[str, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    pytest.importorskip("onnx")
    pd = pytest.importorskip("pandas")
    model = rp.load_model(files["mean"])
    n = len(holes(penguins()))
    assert n > 20  # numeric and categorical holes, "NA", "" and "nan" spellings

    # retroprop predict: the model's policy, no flag repeated
    result = run_cli("predict", str(files["mean"]), str(files["holes"]), "--proba")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    labels, P_cli = read_predictions(result.stdout)
    assert P_cli.shape == (n, 3)
    assert model.missing == "mean" and model.preprocessor.to_json()["missing"] == "mean"

    # Model.predict_proba: a Table from read_csv and a pandas DataFrame
    P_table = model.predict_proba(rp.read_csv(files["holes"]))
    P_frame = model.predict_proba(pd.read_csv(files["holes"]))
    np.testing.assert_allclose(P_table, P_cli, atol=1e-6, rtol=0)
    np.testing.assert_allclose(P_frame, P_table, atol=1e-12, rtol=0)
    assert labels == [str(c) for c in model.predict(pd.read_csv(files["holes"]))]

    # retroprop evaluate: the scores of those probabilities
    result = run_cli("evaluate", str(files["mean"]), str(files["holes"]), "--json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    scores = json.loads(result.stdout)
    truth = [r[0] for r in holes(penguins())]
    k = np.array([model.classes.index(t) for t in truth])
    assert scores["n"] == n
    assert scores["accuracy"] == pytest.approx(np.mean(np.array(labels) == np.array(truth)))
    assert scores["loss"] == pytest.approx(np.mean(-np.log(P_table[np.arange(n), k])), abs=1e-6)

    # retroprop explain --model: the input it shows and its forward pass, for a row with a
    # missing number (row 1: line 2 of holes.csv) and one with a missing sex
    X = model.preprocessor.transform(rp.read_csv(files["holes"]))
    for row in range(1, n + 1, 7):
        result = run_cli(
            "explain", "--model", str(files["mean"]), "--data", str(files["holes"]),
            "--row", str(row), "--format", "json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        trace = json.loads(result.stdout)
        np.testing.assert_allclose(trace["input"], X[row - 1], atol=1e-12)
        np.testing.assert_allclose(trace["layers"][-1]["a"], P_table[row - 1], atol=1e-6)

    # onnxruntime on the exported graph, fed the raw cells ("NA", "" and "nan" for a category)
    onnx_path = tmp_path / "mean.onnx"
    result = run_cli("export", str(files["mean"]), "-o", str(onnx_path))
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(
        onnx_probabilities(model, files["holes"], onnx_path), P_table, atol=1e-6, rtol=0
    )


def test_a_missing_category_is_the_most_frequent_one(files: dict[str, Path]) -> None:
    model = rp.load_model(files["mean"])
    sex = next(f for f in model.preprocessor.features if f.name == "sex")
    island = next(f for f in model.preprocessor.features if f.name == "island")
    row = {
        "island": ["Dream"],
        "bill_length_mm": [45.0],
        "bill_depth_mm": [17.0],
        "body_mass_g": [4000.0],
    }
    for missing in (None, float("nan"), "", "NA"):
        assert np.array_equal(
            model.predict_proba({**row, "sex": [missing]}),
            model.predict_proba({**row, "sex": [sex.mode]}),
        )
    filled = model.predict_proba({**row, "island": [None], "bill_length_mm": [None], "sex": [""]})
    mean = model.preprocessor.features[1].mean
    expected = {**row, "island": [island.mode], "bill_length_mm": [mean], "sex": [sex.mode]}
    np.testing.assert_allclose(filled, model.predict_proba(expected), atol=1e-15)


def test_a_model_trained_on_complete_rows_refuses_them_unless_asked(
    files: dict[str, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    model = rp.load_model(files["drop"])
    assert model.missing == "drop"
    result = run_cli("predict", str(files["drop"]), str(files["holes"]))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "holes.csv: missing values in column 'island' on line 15; column 'bill_len" in line
    assert "trained on the rows without missing values (--drop-missing)" in line
    assert "--impute mean" in line and 'missing="mean"' not in line

    # the explicit override fills by the same rule as Model.predict_proba and the ONNX graph
    # (which always fills: a graph cannot refuse a row)
    result = run_cli(
        "predict", str(files["drop"]), str(files["holes"]), "--proba", "--impute", "mean"
    )
    assert result.returncode == 0, result.stderr
    _, P_cli = read_predictions(result.stdout)
    P = model.predict_proba(rp.read_csv(files["holes"]), missing="mean")
    np.testing.assert_allclose(P_cli, P, atol=1e-6, rtol=0)
    if find_spec("onnx") and find_spec("onnxruntime"):
        onnx_path = tmp_path / "drop.onnx"
        rp.export_onnx(model, onnx_path)
        np.testing.assert_allclose(
            onnx_probabilities(model, files["holes"], onnx_path), P, atol=1e-6, rtol=0
        )

    # evaluate skips those rows, as training did, and says so
    result = run_cli("evaluate", str(files["drop"]), str(files["data"]), "--json")
    assert result.returncode == 0, result.stderr
    n_holes = len(holes(penguins()))
    assert json.loads(result.stdout)["n"] == 90 - n_holes
    assert f"skipped {n_holes} of 90 rows with missing values" in result.stderr
    result = run_cli(
        "evaluate", str(files["drop"]), str(files["data"]), "--json", "--impute", "mean"
    )
    assert result.returncode == 0 and json.loads(result.stdout)["n"] == 90

    # explain: the same refusal, and the same override
    explain = ("explain", "--model", str(files["drop"]), "--data", str(files["holes"]))
    result = run_cli(*explain, "--row", "1")
    assert result.returncode == 2 and "--impute mean" in result.stderr, result.stderr
    result = run_cli(*explain, "--row", "1", "--impute", "mean", "--format", "json")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(json.loads(result.stdout)["layers"][-1]["a"], P[0], atol=1e-6)


def test_messages_name_the_option_as_the_caller_writes_it(
    files: dict[str, Path], run_cli: RunCli
) -> None:
    model = rp.load_model(files["drop"])
    with pytest.raises(DataError) as info:
        model.predict(rp.read_csv(files["holes"]))
    message = str(info.value)
    assert 'missing="mean"' in message and 'missing="drop"' in message and "--" not in message
    mean_model = rp.load_model(files["mean"])
    with pytest.raises(DataError, match=r'refused as asked \(missing="error"\)'):
        mean_model.predict(rp.read_csv(files["holes"]), missing="error")
    with pytest.raises(ParameterError, match=r"predictions answer every row"):
        mean_model.predict(rp.read_csv(files["holes"]), missing="drop")
    result = run_cli("predict", str(files["mean"]), str(files["holes"]), "--impute", "none")
    assert result.returncode == 2
    assert "refused as asked (--impute none)" in result.stderr and "missing=" not in result.stderr
    with pytest.raises(DataError) as info:
        rp.Preprocessor.fit(rp.read_csv(files["data"]), "species")
    assert 'missing="drop"' in str(info.value) and "--drop-missing" not in str(info.value)
    result = run_cli("train", str(files["data"]), "-t", "species", "-o", str(files["data"]) + "x")
    assert "(--drop-missing)" in result.stderr and "(--impute mean)" in result.stderr


def test_old_model_files_keep_their_policy(files: dict[str, Path], tmp_path: Path) -> None:
    """A file written before the policy was stored in the preprocessing (only in
    ``training.missing``) is read with that policy; a bad policy or mode is refused."""
    parts = members(files["mean"])
    header = json.loads(parts["header.json"])
    del header["preprocessing"]["missing"]
    old = write_members(
        tmp_path / "old.retroprop", {**parts, "header.json": json.dumps(header).encode()}
    )
    assert rp.load_model(old).missing == "mean"
    header["training"]["missing"] = "error"
    old = write_members(old, {**parts, "header.json": json.dumps(header).encode()})
    assert rp.load_model(old).missing == "error"
    for field, value, words in (
        ("missing", "median", "header.preprocessing.missing: expected 'error', 'drop' or 'mean'"),
        ("mode", "purple", "mode: expected one of the categories, got 'purple'"),
    ):
        bad = json.loads(parts["header.json"])
        if field == "missing":
            bad["preprocessing"]["missing"] = value
        else:
            bad["preprocessing"]["features"][0]["mode"] = value
        path = write_members(
            tmp_path / "bad.retroprop", {**parts, "header.json": json.dumps(bad).encode()}
        )
        with pytest.raises(rp.ModelFileError, match=words):
            rp.load_model(path)


def test_the_policy_survives_a_save_and_a_load(files: dict[str, Path], tmp_path: Path) -> None:
    for policy in ("mean", "drop"):
        model = rp.load_model(files[policy])
        rp.save_model(tmp_path / f"{policy}.retroprop", model)
        assert rp.load_model(tmp_path / f"{policy}.retroprop").missing == policy
    with pytest.warns(DataWarning):
        pre, _ = rp.Preprocessor.fit(rp.read_csv(files["data"]), "species", missing="drop")
    assert rp.Preprocessor.from_json(pre.to_json()).missing == "drop"
