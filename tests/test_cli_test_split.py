"""`retroprop train --test-fraction`: a test set held out before anything is fitted, its scores
in the summary, the model file and the report; the report shows the console's loss (issue 14,
item 6). Real runs of the command line on real CSV files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import retroprop as rp
from retroprop.cli._test_set import hold_out_test
from retroprop.cli._training import TrainSettings
from retroprop.data.preprocessing import Preprocessor
from retroprop.views.i18n import words
from retroprop.views.report.figures import confusion_figure
from test_cli_names import cars_csv, penguins_csv

if TYPE_CHECKING:
    import subprocess

    from conftest import RunCli


def train_ok(run_cli: RunCli, csv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``retroprop train CSV ARGS…`` run in the CSV's folder, which must succeed."""
    result = run_cli("train", str(csv), *args, cwd=csv.parent)
    assert result.returncode == 0, result.stderr
    return result


def summary_row(stdout: str, name: str) -> list[str]:
    """The cells of a row of the console's training summary."""
    line = next(ln for ln in stdout.splitlines() if ln.strip("│ ").startswith(name))
    return [c.strip() for c in line.strip().strip("│").split("│")][1:]


def test_penguins_test_split(tmp_path: Path, run_cli: RunCli) -> None:
    csv = penguins_csv(tmp_path / "penguins.csv")
    args = ["--target", "species", "--impute", "mean", "--epochs", "20"]
    out = train_ok(
        run_cli, csv, *args, "--test-fraction", "0.2", "--seed", "3", "-o", "p.retroprop"
    ).stdout
    # 30 rows of each species: 6 of each held out for test, then 10 % of the rest validates
    assert "90 rows → 66 for training, 6 for validation, 18 for test" in out
    model = rp.load_model(tmp_path / "p.retroprop")  # the reader takes the new metrics
    m = model.metrics
    assert m["n_test"] == 18 and {"test_loss", "test_accuracy"} <= set(m)
    loss = summary_row(out, "loss (categorical_cross_entropy)")
    assert loss == [f"{m[k]:.4f}" for k in ("train_loss", "validation_loss", "test_loss")]
    accuracy = summary_row(out, "accuracy")
    assert accuracy[2] == f"{m['test_accuracy']:.4f}"

    # held out before the preprocessing was fitted: the model's means and categories are
    # those of the other rows; stratified: 6 rows of each class
    table = rp.read_csv(csv)
    settings = TrainSettings(target="species", missing="mean", seed=3, test_fraction=0.2)
    fitting, test = hold_out_test(table, settings)
    assert test is not None and test.n_rows == 18
    labels = [test.column("species").text(i) for i in range(test.n_rows)]
    assert sorted(labels) == ["Adelie"] * 6 + ["Chinstrap"] * 6 + ["Gentoo"] * 6
    pre, _ = Preprocessor.fit(fitting, "species", missing="mean")
    everything, _ = Preprocessor.fit(table, "species", missing="mean")
    assert model.preprocessor == pre != everything
    X = pre.transform(test, missing="mean")
    O = model.network.predict(X)
    Y = pre.encode_target(test)
    assert m["test_loss"] == pytest.approx(model.network.loss.mean(Y, O), rel=1e-12)

    # the same seed draws the same test set; another seed another one
    train_ok(run_cli, csv, *args, "--test-fraction", "0.2", "--seed", "3", "-o", "q.retroprop")
    assert rp.load_model(tmp_path / "q.retroprop").metrics["test_loss"] == m["test_loss"]
    other, _ = hold_out_test(table, TrainSettings(target="species", seed=4, test_fraction=0.2))
    assert not np.array_equal(other.lines, fitting.lines)


def test_without_test_fraction_nothing_changes(tmp_path: Path, run_cli: RunCli) -> None:
    csv = penguins_csv(tmp_path / "penguins.csv")
    result = train_ok(
        run_cli,
        csv,
        "--target",
        "species",
        "--impute",
        "mean",
        "--epochs",
        "3",
        "-o",
        "p.retroprop",
    )
    assert (
        "for test" not in result.stdout
        and "n_test" not in rp.load_model(tmp_path / "p.retroprop").metrics
    )


def test_every_class_keeps_a_training_row(tmp_path: Path, run_cli: RunCli) -> None:
    """A class with one row is never held out for testing, whatever the seed."""
    csv = penguins_csv(tmp_path / "penguins.csv", rows=30)
    lines = csv.read_text("utf-8").splitlines()
    lines.append("45.1,17.0,200,Dream,male,Emperor")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for seed in range(4):
        train_ok(
            run_cli, csv, "--target", "species", "--impute", "mean", "--epochs", "2",
            "--test-fraction", "0.5", "--seed", str(seed), "-o", "m.retroprop", "--force",
        )  # fmt: skip
        assert "Emperor" in rp.load_model(tmp_path / "m.retroprop").preprocessor.target.classes


def test_regression_test_split(tmp_path: Path, run_cli: RunCli) -> None:
    csv = cars_csv(tmp_path / "cars.csv")
    result = train_ok(
        run_cli, csv, "--target", "price", "--epochs", "30", "--test-fraction", "0.25",
        "-o", "c.retroprop",
    )  # fmt: skip
    assert "80 rows → 54 for training, 6 for validation, 20 for test" in result.stdout
    model = rp.load_model(tmp_path / "c.retroprop")
    m = model.metrics
    assert summary_row(result.stdout, "R²")[2] == f"{m['test_r2']:.4f}"
    assert summary_row(result.stdout, "MAE (price)")[2] == f"{m['test_mae']:.4f}"
    _, test = hold_out_test(rp.read_csv(csv), TrainSettings(target="price", test_fraction=0.25))
    assert test is not None
    prices = test.column("price").values
    pre = model.preprocessor
    predicted = np.asarray(pre.decode(model.network.predict(pre.transform(test))))
    assert m["test_mae"] == pytest.approx(np.mean(np.abs(predicted - prices)), rel=1e-9)


def test_report_has_the_console_loss_and_a_test_row(tmp_path: Path, run_cli: RunCli) -> None:
    csv = penguins_csv(tmp_path / "penguins.csv")
    train_ok(
        run_cli, csv, "--target", "species", "--impute", "mean", "--epochs", "20",
        "--test-fraction", "0.2", "--report", "r.html", "-o", "p.retroprop",
    )  # fmt: skip
    m = rp.load_model(tmp_path / "p.retroprop").metrics
    html = (tmp_path / "r.html").read_text("utf-8")
    summary = re.search(r'<section id="summary">.*?</section>', html, re.S)
    assert summary is not None
    cells = re.findall(r"<tr>(.*?)</tr>", summary.group(0))
    head = re.findall(r"<th>(.*?)</th>", cells[0])
    assert head == ["data", "samples", "loss (Categorical cross-entropy)", "accuracy"]
    rows = {}
    for c in cells[1:]:
        name, *values = re.findall(r"<td>(.*?)</td>", c)
        rows[name] = values
    assert list(rows) == ["training", "validation", "test"]
    for name, part in (("training", "train"), ("validation", "validation"), ("test", "test")):
        assert rows[name][1] == f"{m[f'{part}_loss']:.4g}", name
    assert rows["test"][0] == "18"
    assert "on the test data (18 samples)" in html


def test_confusion_matrix_names_the_classes() -> None:
    cm = np.array([[3, 1, 0], [0, 2, 0], [1, 0, 4]])
    fig = confusion_figure(cm, words("en"), ["Adelie", "Chinstrap", "$Gentoo$"])
    ax = fig.axes[0]
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Adelie", "Chinstrap", r"\$Gentoo\$"]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["Adelie", "Chinstrap"]


def test_bad_test_fraction_is_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    csv = penguins_csv(tmp_path / "penguins.csv", rows=3)
    for fraction, words_ in (("0.5", "too few rows"), ("1.5", "--test-fraction")):
        result = run_cli(
            "train", str(csv), "--target", "species", "--impute", "mean",
            "--test-fraction", fraction, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert words_ in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "penguins.retroprop").exists()


def test_checkpoint_settings_without_test_fraction_are_read() -> None:
    """Checkpoints written before --test-fraction existed resume without a test set; a value
    out of range is named."""
    from dataclasses import asdict

    from retroprop.cli._settings import SettingError, settings_from_json

    raw = asdict(TrainSettings(target="species"))
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}
    del raw["test_fraction"]
    assert settings_from_json(raw).test_fraction == 0.0
    with pytest.raises(SettingError, match="--test-fraction"):
        settings_from_json({**raw, "test_fraction": 1.5})
