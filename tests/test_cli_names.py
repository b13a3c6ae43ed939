"""`retroprop explain --model`: inputs and outputs by name, the standardised target, and the
model's own optimizer — through real runs of the command line on real CSV files (issue 14,
item 5)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

import retroprop as rp
from retroprop.glassbox.trace_json import step_trace_schema

if TYPE_CHECKING:
    from conftest import RunCli

XSS = "<script>alert(1)</script>"
"""A column name that must reach the page as text, never as markup."""

SPECIES = {  # bill length, bill depth, flipper, islands
    "Adelie": (38.8, 18.3, 190.0, ("Biscoe", "Dream", "Torgersen")),
    "Chinstrap": (48.8, 18.4, 196.0, ("Dream",)),
    "Gentoo": (47.5, 15.0, 217.0, ("Biscoe",)),
}


def penguins_csv(path: Path, rows: int = 90) -> Path:
    """A penguins-like table: numeric columns with missing cells (one named like a script), a
    text ``island`` column, a ``sex`` column with missing values and three species."""
    rng = random.Random(1)
    lines = [f"bill_length,bill_depth,{XSS},island,sex,species"]
    for i in range(rows):
        species = list(SPECIES)[i % 3]
        length, depth, flipper, islands = SPECIES[species]
        cells = [
            f"{length + rng.gauss(0, 2):.1f}",
            f"{depth + rng.gauss(0, 1):.1f}",
            f"{flipper + rng.gauss(0, 5):.0f}",
        ]
        if i % 17 == 5:
            cells[0] = ""
        if i % 23 == 7:
            cells[2] = "NA"
        sex = "" if i % 11 == 3 else rng.choice(["male", "female"])
        lines.append(",".join([*cells, rng.choice(islands), sex, species]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cars_csv(path: Path, rows: int = 80) -> Path:
    """A regression table: two numeric columns, a text ``origin`` column, the ``price``."""
    rng = random.Random(2)
    lines = ["weight,horsepower,origin,price"]
    for _ in range(rows):
        weight, power = rng.uniform(1500, 4500), rng.uniform(50, 200)
        origin = rng.choice(["USA", "Europe", "Japan"])
        price = 5 + weight / 300 + power / 20 + (3 if origin == "Europe" else 0) + rng.gauss(0, 1)
        lines.append(f"{weight:.0f},{power:.0f},{origin},{price:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def complete_row(csv: Path) -> int:
    """A data row (counted from 1) without a missing cell."""
    for n, line in enumerate(csv.read_text("utf-8").splitlines()[1:], start=1):
        cells = line.split(",")
        if all(c not in ("", "NA") for c in cells):
            return n
    raise AssertionError("no complete row")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("names_penguins")
    csv = penguins_csv(folder / "penguins.csv")
    model = folder / "penguins.retroprop"
    result = run_cli(
        "train", str(csv), "--target", "species", "--impute", "mean", "--epochs", "5",
        "--learning-rate", "0.02", "-o", str(model),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return model, csv


@pytest.fixture(scope="module")
def cars(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("names_cars")
    csv = cars_csv(folder / "cars.csv")
    model = folder / "cars.retroprop"
    result = run_cli("train", str(csv), "--target", "price", "--epochs", "5", "-o", str(model))
    assert result.returncode == 0, result.stderr
    return model, csv


PENGUIN_INPUTS = [
    "bill_length",
    "bill_depth",
    XSS,
    "island=Biscoe",
    "island=Dream",
    "island=Torgersen",
    "sex=female",
    "sex=male",
]


def explain_json(run_cli: RunCli, model: Path, csv: Path, *args: str) -> dict[str, Any]:
    result = run_cli("explain", "--model", str(model), str(csv), "-f", "json", *args)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    return doc


def test_json_names_inputs_and_classes(penguins: tuple[Path, Path], run_cli: RunCli) -> None:
    model, csv = penguins
    doc = explain_json(run_cli, model, csv, "--row", str(complete_row(csv)))
    assert doc["input_names"] == PENGUIN_INPUTS
    assert doc["output_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "target_scaling" not in doc  # classes are not standardised
    # the trace's order is the network's: the one-hot island inputs are where the names say
    row = complete_row(csv)
    island = csv.read_text("utf-8").splitlines()[row].split(",")[3]
    hot = [n for n, v in zip(doc["input_names"], doc["input"], strict=True) if n.startswith("is")]
    assert [n for n in hot if doc["input"][doc["input_names"].index(n)] == 1] == [
        f"island={island}"
    ]


def test_model_own_optimizer_and_learning_rate(
    penguins: tuple[Path, Path], run_cli: RunCli
) -> None:
    """The step is the model's (adam, η = 0.02 as trained), not sgd with the lecture's 0.5;
    --optimizer and --learning-rate still choose another."""
    model, csv = penguins
    row = str(complete_row(csv))
    doc = explain_json(run_cli, model, csv, "--row", row)
    assert doc["optimizer"]["name"] == "adam" and doc["learning_rate"] == 0.02
    doc = explain_json(run_cli, model, csv, "--row", row, "--learning-rate", "0.1")
    assert doc["optimizer"]["name"] == "adam" and doc["learning_rate"] == 0.1
    doc = explain_json(run_cli, model, csv, "--row", row, "--optimizer", "sgd")
    assert doc["optimizer"]["name"] == "sgd" and doc["learning_rate"] == 0.5
    doc = explain_json(run_cli, model, csv, "--row", row, "--optimizer", "momentum", "--lr", "0.2")
    assert doc["optimizer"]["name"] == "momentum" and doc["learning_rate"] == 0.2
    text = run_cli("explain", "--model", str(model), "--data", str(csv), "--row", row)
    assert text.returncode == 0 and text.stderr == "", text.stderr
    assert "optimizer: adam · learning rate η = 0.02" in text.stdout
    assert "may be too large" not in text.stdout


def test_whole_run_solver_explains_an_sgd_step(tmp_path: Path, run_cli: RunCli) -> None:
    csv = cars_csv(tmp_path / "cars.csv", rows=30)
    model = tmp_path / "lbfgs.retroprop"
    trained = run_cli(
        "train", str(csv), "--target", "price", "--solver", "lbfgs", "--epochs", "3",
        "-o", str(model),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    result = run_cli("explain", "--model", str(model), str(csv), "--row", "1", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["optimizer"]["name"] == "sgd"
    assert "lbfgs" in result.stderr and "--optimizer" in result.stderr


def test_text_shows_names(penguins: tuple[Path, Path], run_cli: RunCli) -> None:
    model, csv = penguins
    row = str(complete_row(csv))
    for lang, words in (("en", ("Inputs", "Outputs", "class")), ("es", ("Entradas", "Salidas"))):
        result = run_cli("explain", "--model", str(model), str(csv), "--row", row, "--lang", lang)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        out = result.stdout
        for word in words:
            assert word in out
        for name in PENGUIN_INPUTS:
            assert re.search(rf"x\S+\s+{re.escape(name)}\s", out), name
        # the output neurons carry their class, in the forward and the backward tables
        assert out.count("3 [Gentoo]") == 2 and out.count("1 [Adelie]") == 2


def test_regression_target_is_said_to_be_standardised(
    cars: tuple[Path, Path], run_cli: RunCli
) -> None:
    model, csv = cars
    doc = explain_json(run_cli, model, csv, "--row", "4")
    target = rp.load_model(model).preprocessor.target
    assert doc["output_names"] == ["price"]
    assert doc["input_names"] == [
        "weight", "horsepower", "origin=Europe", "origin=Japan", "origin=USA",
    ]  # fmt: skip
    assert doc["target_scaling"] == {"column": "price", "mean": target.mean, "scale": target.scale}
    price = float(csv.read_text().splitlines()[4].split(",")[-1])
    assert doc["target"] == pytest.approx([(price - target.mean) / target.scale])
    out = run_cli("explain", "--model", str(model), str(csv), "--row", "4").stdout
    mean, scale = f"{target.mean:.4g}", f"{target.scale:.4g}"
    assert f"y is standardised: y = (price − {mean}) / {scale}" in out


def test_step_page_names_escaped(
    penguins: tuple[Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """The page names inputs (a column called like a script stays text) and classes."""
    model, csv = penguins
    page = tmp_path / "step.html"
    result = run_cli(
        "explain", "--model", str(model), str(csv), "--row", str(complete_row(csv)),
        "-f", "html", "-o", str(page),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = page.read_text("utf-8")
    assert html.count("<script") == 2  # the page's own: its data and its code
    assert XSS not in html and "</script>alert" not in html
    labels = re.findall(r'<text class="name"[^>]*>(.*?)</text>', html)
    assert labels[:2] == ["bill_length", "bill_depth"]
    assert labels[2].startswith("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>")
    assert labels[-3:] == ["o[Adelie]", "o[Chinstrap]", "o[Gentoo]"]
    data = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert data is not None
    moments = json.loads(data.group(1))["moments"]
    first = "\n".join(moments[0]["lines"]["en"])
    assert XSS in first and "island=Dream" in first  # as text, shown by textContent


def test_step_page_in_the_browser(
    penguins: tuple[Path, Path], tmp_path: Path, run_cli: RunCli, browser: Any
) -> None:
    model, csv = penguins
    page = tmp_path / "step.html"
    row = str(complete_row(csv))
    args = ("--model", str(model), str(csv), "--row", row, "-f", "html", "-o", str(page))
    result = run_cli("explain", *args)
    assert result.returncode == 0, result.stderr
    browser.get(page.resolve().as_uri())
    names = browser.execute_script(
        "return [...document.querySelectorAll('#n0-2 .name, #n2-0 .name')].map(e => e.textContent)"
    )
    assert names[0].startswith(XSS) and names[1] == "o[Adelie]"  # a long name: <title> + cut
    assert browser.execute_script("return document.querySelectorAll('script').length") == 2
    assert XSS in browser.execute_script("return document.getElementById('lines').textContent")


def test_terminal_shows_control_characters_escaped(tmp_path: Path, run_cli: RunCli) -> None:
    """A column or class name with terminal escapes is printed as written, never obeyed."""
    csv = tmp_path / "esc.csv"
    rows = ["1,2,x\x1b]0;title\x07", "2,3,y", "3,1,x\x1b]0;title\x07", "4,4,y"]
    csv.write_text("a\x1b[31mred,b,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    model = tmp_path / "esc.retroprop"
    trained = run_cli("train", str(csv), "--target", "label", "--epochs", "2", "-o", str(model))
    assert trained.returncode == 0, trained.stderr
    result = run_cli("explain", "--model", str(model), str(csv), "--row", "1")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "a\\x1b[31mred" in result.stdout and "[x\\x1b]0;title\\x07]" in result.stdout


def test_trace_names_api() -> None:
    """The names are optional data of the trace: checked against the network, in the JSON only
    when given (a hand-written network's trace is as before)."""
    from retroprop.errors import ParameterError
    from retroprop.glassbox.trace import TargetScaling, trace_step

    net = rp.Network.create([2, 2, 1], activation=["sigmoid", "identity"], seed=0)
    plain_trace, _ = trace_step(net.copy(), [0.1, 0.2], [0.3])
    assert not {"input_names", "output_names", "target_scaling"} & set(plain_trace.to_dict())
    named, _ = trace_step(
        net.copy(), [0.1, 0.2], [0.3], input_names=["a", "b=c"], output_names=["y"],
        target_scaling=TargetScaling("y", -2.0, 4.0),
    )  # fmt: skip
    doc = named.to_dict()
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    assert doc["input_names"] == ["a", "b=c"] and doc["output_names"] == ["y"]
    assert doc["target_scaling"] == {"column": "y", "mean": -2.0, "scale": 4.0}
    before = net.layers[0].W.copy()
    with pytest.raises(ParameterError, match="input_names: expected 2 strings"):
        trace_step(net, [0.1, 0.2], [0.3], input_names=["a"])
    with pytest.raises(ParameterError, match="output_names"):
        trace_step(net, [0.1, 0.2], [0.3], output_names=["y", "z"])
    assert (net.layers[0].W == before).all()  # refused before the step
