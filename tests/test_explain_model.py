"""`retroprop explain --model … --data … --row N`: a step of a trained model on one CSV row."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import numpy as np
import pytest

import retroprop as rp
from retroprop.glassbox.trace_json import step_trace_schema

if TYPE_CHECKING:
    from conftest import RunCli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[Path, Path]:
    """A 30-row CSV (2 numeric features, 1 categorical, a class label) and a model of it."""
    folder = tmp_path_factory.mktemp("explain_model")
    rng = random.Random(0)
    lines = ["a,b,color,label"]
    for _ in range(30):
        a, b, color = rng.uniform(-2, 2), rng.uniform(0, 10), rng.choice(["red", "green", "blue"])
        lines.append(f"{a:.3f},{b:.3f},{color},{'yes' if a + b / 5 > 1 else 'no'}")
    csv = folder / "data.csv"
    csv.write_text("\n".join(lines) + "\n")
    model = folder / "m.retroprop"
    result = run_cli("train", str(csv), "--target", "label", "--epochs", "5", "-o", str(model))
    assert result.returncode == 0, result.stderr
    return model, csv


@pytest.fixture(scope="module")
def explain(run_cli: RunCli) -> RunCli:
    """``explain(model, csv, *args)``: ``retroprop explain --model MODEL --data CSV ARGS…``."""

    def run(model: Path, csv: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("explain", "--model", str(model), "--data", str(csv), *args)

    return run


@pytest.mark.parametrize("lang", ["en", "es"])
def test_text(trained: tuple[Path, Path], lang: str, explain: RunCli) -> None:
    result = explain(*trained, "--row", "3", "--lang", lang)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "Network(5 → 10 sigmoid → 2 softmax" in out  # 2 numeric + 3 one-hot inputs
    assert ("Un paso de retropropagación" in out) == (lang == "es")
    assert ("tasa de aprendizaje" in out) == (lang == "es")
    assert ("learning rate" in out) == (lang == "en")


def test_json_input_is_the_preprocessed_row(trained: tuple[Path, Path], explain: RunCli) -> None:
    model_path, csv = trained
    result = explain(model_path, csv, "--row", "3", "--format", "json", "--lr", "0.1")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    for key in ("input", "target", "output", "error_before", "error_after", "layers"):
        assert key in doc
    assert doc["learning_rate"] == 0.1 and doc["batch_size"] == 1
    model = rp.load_model(model_path)
    table = model.preprocessor.align(rp.read_csv(csv))
    row = np.array([2])  # row 3: the third data row below the header
    x = model.preprocessor.transform(table, row)
    y = model.preprocessor.encode_target(table, row)
    np.testing.assert_allclose(np.ravel(doc["input"]), x.ravel())
    np.testing.assert_allclose(np.ravel(doc["target"]), y.ravel())
    # the step is the network's own, and the model file is left as it was
    assert len(doc["layers"]) == len(model.network.layers)
    np.testing.assert_allclose(doc["layers"][0]["weights_before"], model.network.layers[0].W)
    again = rp.load_model(model_path)
    np.testing.assert_array_equal(again.network.layers[0].W, model.network.layers[0].W)


def test_json_steps_and_optimizer(trained: tuple[Path, Path], explain: RunCli) -> None:
    result = explain(*trained, "--row", "1", "-f", "json", "--steps", "2", "--optimizer", "adam")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    assert [s["step"] for s in doc["steps"]] == [1, 2]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_html_page(trained: tuple[Path, Path], tmp_path: Path, lang: str, explain: RunCli) -> None:
    page = tmp_path / "step.html"
    result = explain(*trained, "--row", "3", "-f", "html", "-o", str(page), "--lang", lang)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Step page written to {page}\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in html


def test_bad_input_is_one_line_and_exit_2(
    trained: tuple[Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    model, csv = trained
    no_target = tmp_path / "no_target.csv"
    no_target.write_text(
        "\n".join(",".join(line.split(",")[:3]) for line in csv.read_text().splitlines()) + "\n"
    )
    not_a_model = tmp_path / "bad.retroprop"
    not_a_model.write_text("hello")
    net = tmp_path / "net.json"
    net.write_text("{}")
    cases = [
        (["--model", str(model), "--data", str(csv), "--row", "0"], "--row 0: out of range"),
        (["--model", str(model), "--data", str(csv), "--row", "31"], "has 30 data rows"),
        (["--model", str(model), "--data", str(csv), "--row", "-1"], "--row -1: out of range"),
        ([str(net), "--model", str(model), "--data", str(csv), "--row", "1"], "not both"),
        ([], "give a network file (NET.json with --x and --y) or --model"),
        (["--x", "1", "--y", "1"], "or --model"),
        (["--model", str(model), "--data", str(no_target), "--row", "1"], "cannot be traced"),
        (["--model", str(not_a_model), "--data", str(csv), "--row", "1"], "bad.retroprop"),
        (["--model", str(tmp_path / "none.retroprop"), "--data", str(csv), "--row", "1"],
         "cannot read the file"),
        (["--model", str(model), "--row", "1"], "--data"),
        (["--model", str(model), "--data", str(csv)], "--row"),
        (["--model", str(model), "--data", str(csv), "--row", "1", "--x", "1"], "not with --model"),
        ([str(net), "--x", "1", "--y", "1", "--row", "1"], "only with --model"),
    ]  # fmt: skip
    for args, words in cases:
        result = run_cli("explain", *args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
        assert result.stdout == ""
