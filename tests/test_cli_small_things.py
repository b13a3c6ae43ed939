"""Small things that read as bugs (issue 14, item 10), as a user meets them: real CSV files with
missing values, text columns and three classes; real processes of the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from retroprop import load_model
from test_cli_resume_output import write_penguins

RETROPROP = [sys.executable, "-m", "retroprop"]


def run(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*RETROPROP, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )


def one_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_network(
    folder: Path, activation: str, weights: list[list[float]], biases: list[float]
) -> Path:
    """A one-layer network file (squared error) in ``folder``."""
    layer = {"activation": activation, "weights": weights, "biases": biases}
    net = {"format": "retroprop.network", "loss": "squared_error", "layers": [layer]}
    path = folder / "net.json"
    path.write_text(json.dumps(net), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_penguins(tmp_path_factory.mktemp("penguins") / "penguins.csv")


@pytest.fixture(scope="module")
def easy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Penguins whose species a linear model tells apart without a mistake."""
    return write_penguins(tmp_path_factory.mktemp("easy") / "easy.csv", noise=0.05)


@pytest.fixture(scope="module")
def model(penguins: Path) -> Path:
    """A model of the penguins."""
    path = penguins.with_name("penguins.retroprop")
    args = ["-t", "species", "--impute", "mean", "--hidden", "0", "--solver", "lbfgs"]
    done = run("train", penguins, *args, "--epochs", "300", "-o", path)
    assert done.returncode == 0, done.stderr
    return path


def test_small_losses_keep_their_significant_digits(easy: Path) -> None:
    """A tiny loss printed with 4 decimals was "loss 0.0000"; now 4 significant digits."""
    model = easy.with_suffix(".retroprop")
    args = ["-t", "species", "--drop-missing", "--hidden", "0", "--solver", "lbfgs"]
    done = run("train", easy, *args, "--epochs", "300", "-o", model)
    assert done.returncode == 0, done.stderr
    loss_row = next(line for line in done.stdout.splitlines() if "│ loss" in line)
    cells = [c.strip() for c in loss_row.split("│")[2:4]]
    metrics = load_model(model).metrics
    assert metrics["train_loss"] < 1e-3 and metrics["validation_loss"] < 1e-3
    assert cells == [f"{metrics[f'{part}_loss']:#.4g}" for part in ("train", "validation")]
    evaluated = run("evaluate", model, easy, "--drop-missing")
    assert evaluated.returncode == 0, evaluated.stderr
    first = evaluated.stdout.splitlines()[0]
    assert "loss 0.0000" not in first and float(first.rsplit("loss ", 1)[1]) > 0, first


def test_subtracting_a_negative_number_is_written_as_an_addition(tmp_path: Path) -> None:
    """``(−0.3 − −0.75)²`` read as a typo; now ``(−0.3 + 0.75)²``."""
    net = write_network(tmp_path, "identity", [[-1.0, 0.25]], [0.1])
    done = run("explain", net, "--x", "0.9", "0.2", "--y", "-0.3")
    assert done.returncode == 0, done.stderr
    assert "− −" not in done.stdout
    assert "E = ½ Σₖ (yₖ − oₖ)² = ½ [(−0.3 + 0.75)²] = 0.1013" in done.stdout
    assert "δ₁ = y₁ − o₁ = −0.3 + 0.75 = 0.45" in done.stdout


def test_version() -> None:
    from retroprop import __version__

    done = run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"retroprop {__version__}\n"


def test_the_command_list_is_not_cut_at_120_columns() -> None:
    done = run("--help", COLUMNS="120")
    assert done.returncode == 0, done.stderr
    commands = done.stdout.split("Commands:", 1)[1].strip().splitlines()
    assert len(commands) == 11  # demo … compare, playground, import-fann
    assert all(line.rstrip().endswith(".") and "..." not in line for line in commands), commands
    assert any("trained network." in line for line in commands)  # explain's, 83 characters


def test_explain_html_says_where_the_page_is(tmp_path: Path) -> None:
    net = write_network(tmp_path, "sigmoid", [[0.15, 0.2], [0.25, 0.3]], [0.35, 0.35])
    page = tmp_path / "step page.html"
    done = run(
        "explain", net, "--x", "0.05", "0.1", "--y", "0.01", "0.99", "-f", "html", "-o", page
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Step page written to {page}\n"
    assert page.read_text("utf-8").lower().startswith("<!doctype html")


def test_latin1_files_are_read_with_encoding(tmp_path: Path, penguins: Path) -> None:
    text = penguins.read_text("utf-8").replace("Adelie", "Adélie").replace("Dream", "Rêve")
    latin1 = tmp_path / "pingüinos.csv"
    latin1.write_bytes(text.encode("latin-1"))
    model = tmp_path / "m.retroprop"
    args = ["-t", "species", "--impute", "mean", "--hidden", "4", "--epochs", "20", "-q"]
    refused = one_line(run("train", latin1, *args, "-o", model))
    assert "pingüinos.csv, line 2: not UTF-8 text (byte 0xe9" in refused
    assert "give its encoding (e.g. latin-1)" in refused
    done = run("train", latin1, *args, "-o", model, "--encoding", "latin-1")
    assert done.returncode == 0, done.stderr
    assert "Adélie" in load_model(model).classes and not model.with_suffix(".checkpoint").exists()
    predicted = run("predict", model, latin1, "--impute", "mean", "--encoding", "latin-1")
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 151
    evaluated = run("evaluate", model, latin1, "--impute", "mean", "--encoding", "cp1252")
    assert evaluated.returncode == 0 and "Adélie" in evaluated.stdout, evaluated.stderr
    explained = run("explain", "--model", model, "--data", latin1, "--row", "2",
                    "--encoding", "latin-1")  # fmt: skip
    assert explained.returncode == 0, explained.stderr
    for command in (
        ["train", latin1, *args, "-o", tmp_path / "n.retroprop"],
        ["predict", model, latin1],
        ["evaluate", model, latin1],
        ["explain", "--model", model, "--data", latin1, "--row", "2"],
        ["compare", latin1, "-t", "species", "--plot", tmp_path / "c.png"],
        ["search", latin1, "-t", "species", "-o", tmp_path / "s.retroprop"],
    ):
        line = one_line(run(*command, "--encoding", "klingon"))
        assert line == (
            "retroprop: error: --encoding: unknown text encoding 'klingon'; e.g. utf-8, "
            "latin-1 or cp1252"
        ), command


def test_a_text_column_that_looks_like_an_identifier_is_warned_about(
    tmp_path: Path, penguins: Path
) -> None:
    """cars' ``Name`` became 254 inputs without a word (train R² 0.998, test 0.75)."""
    lines = penguins.read_text("utf-8").splitlines()
    named = tmp_path / "named.csv"
    rows = [f"{line},bird {i:03d}" for i, line in enumerate(lines[1:], start=1)]
    named.write_text("\n".join([lines[0] + ",bird name", *rows]) + "\n", encoding="utf-8")
    args = ["-t", "species", "--impute", "mean", "--hidden", "4", "--epochs", "5", "-q"]
    done = run("train", named, *args, "-o", tmp_path / "m.retroprop")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "retroprop: warning: named.csv: column 'bird name' has 150 distinct values in 150 rows; "
        "it looks like an identifier — --ignore 'bird name'?"
    ]
    quiet = run("train", named, *args, "-o", tmp_path / "n.retroprop", "--ignore", "bird name")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert run("train", penguins, *args, "-o", tmp_path / "p.retroprop").stderr == ""


def test_rprop_on_mini_batches_is_warned_about(tmp_path: Path, penguins: Path) -> None:
    args = ["-t", "species", "--impute", "mean", "--hidden", "4", "--epochs", "5", "-q"]
    mini = ["--batch-size", "32", "-o", tmp_path / "a.retroprop"]
    done = run("train", penguins, *args, "--solver", "irprop+", *mini)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "retroprop: warning: --solver irprop+ on mini-batches of 32 rows: Rprop is a full-batch "
        "method (its step sizes follow the sign of successive gradients of the whole training "
        "set); use --batch-size all"
    ]
    done = run("train", penguins, *args, "--solver", "quickprop", *mini, "--force")
    assert done.stderr.splitlines() == [
        "retroprop: warning: --solver quickprop on mini-batches of 32 rows: quickprop is a "
        "full-batch method (its steps follow successive gradients of the whole training set); "
        "use --batch-size all"
    ]
    done = run("train", penguins, *args, "--solver", "irprop+", "-o", tmp_path / "d.retroprop")
    assert done.returncode == 0 and done.stderr == "", done.stderr  # the full batch by default
    full = ["--solver", "rprop-", "--batch-size", "all", "-o", tmp_path / "b.retroprop"]
    done = run("train", penguins, *args, *full)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = run("train", penguins, *args, "--batch-size", "1", "-o", tmp_path / "c.retroprop")
    assert done.returncode == 0 and done.stderr == "", done.stderr  # Adam: no warning


def test_a_huge_learning_rate_that_leaves_the_loss_high_is_warned_about(
    tmp_path: Path, penguins: Path
) -> None:
    args = ["-t", "species", "--impute", "mean", "--epochs", "30", "-q", "--solver", "sgd"]
    done = run("train", penguins, *args, "--learning-rate", "100", "-o", tmp_path / "a.retroprop")
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("retroprop: warning: the training loss ended at "), line
    assert line.endswith(
        "the learning rate (η = 100.0) is probably too large; try a smaller --learning-rate"
    )
    metrics = load_model(tmp_path / "a.retroprop").metrics
    assert metrics["train_loss"] > 2
    done = run("train", penguins, *args, "--learning-rate", "0.5", "-o", tmp_path / "b.retroprop")
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_export_errors_name_the_options(tmp_path: Path, model: Path) -> None:
    pytest.importorskip("onnx")
    onnx_file = tmp_path / "p.onnx"
    line = one_line(run("export", model, "--inputs", "matrix", "-o", onnx_file))
    assert line == (
        "retroprop: error: --inputs matrix needs numeric features only, but 'island', 'sex' "
        "are categorical; use --inputs columns"
    )
    line = one_line(run("export", model, "--opset", "14", "-o", onnx_file))
    assert line.startswith("retroprop: error: --opset: one-hot encoding of categories needs")
    assert not onnx_file.exists()


def test_predict_does_not_suggest_an_option_it_lacks(
    tmp_path: Path, penguins: Path, model: Path
) -> None:
    lines = penguins.read_text("utf-8").splitlines()
    cells = lines[3].split(",")
    cells[2] = "unknown"  # bill_length_mm
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines[:3], ",".join(cells), *lines[4:]]) + "\n", "utf-8")
    for command in ("predict", "evaluate"):
        line = one_line(run(command, model, bad, "--impute", "mean"))
        assert "--categorical" not in line, line
        assert line == (
            "retroprop: error: bad.csv, line 4, column 'bill_length_mm': 'unknown' is not a "
            "number, but the column holds numbers (line 4); fix the value (the model was "
            "trained on numbers in this column)"
        )
    # train can treat the column as categorical, and says so
    line = one_line(run("train", bad, "-t", "species", "--impute", "mean", "-o", tmp_path / "m"))
    assert line.endswith("or treat the column as categorical (--categorical bill_length_mm)")


def test_a_model_file_given_as_the_csv_file_is_named(
    tmp_path: Path, penguins: Path, model: Path
) -> None:
    usage = "is a retroprop model file, not a CSV file; usage: retroprop"
    swapped = one_line(run("predict", penguins, model))
    assert swapped == (
        f"retroprop: error: {model} {usage} predict MODEL DATA ({penguins} and {model} the "
        "other way round?)"
    )
    target = ["-t", "species"]
    for command, usage_end in (
        (["train", model, *target, "-o", tmp_path / "m.retroprop"], "train DATA --target COLUMN"),
        (["evaluate", model, model], "evaluate MODEL DATA"),
        (["predict", model, model], "predict MODEL DATA"),
        (
            ["explain", "--model", model, "--data", model, "--row", "1"],
            "explain --model MODEL --data DATA --row N",
        ),
        (["compare", model, *target, "--plot", tmp_path / "c.png"], "compare DATA --target COLUMN"),
        (["search", model, *target, "-o", tmp_path / "s.retroprop"], "search DATA --target COLUMN"),
    ):
        line = one_line(run(*command))
        assert line == f"retroprop: error: {model} {usage} {usage_end}", line
    assert not (tmp_path / "m.retroprop").exists()


def test_spanish_explanations_have_no_english_leftovers(tmp_path: Path) -> None:
    """``explain --lang es`` of a network with seven inputs ended its sums in "(8 terms)"."""
    net = write_network(tmp_path, "sigmoid", [[0.1] * 7, [-0.2] * 7], [0.3, 0.1])
    x = ["--x", *(f"0.{k}" for k in range(1, 8)), "--y", "0", "1"]
    english = run("explain", net, *x)
    assert english.returncode == 0 and "… (8 terms)" in english.stdout, english.stderr
    spanish = run("explain", net, *x, "--lang", "es")
    assert spanish.returncode == 0, spanish.stderr
    assert "… (8 términos)" in spanish.stdout and "terms" not in spanish.stdout


def test_explain_data_options_need_a_model(tmp_path: Path) -> None:
    net = write_network(tmp_path, "sigmoid", [[0.15, 0.2]], [0.35])
    sample = ["--x", "0.05", "0.1", "--y", "0.01"]
    for option, value in (("--encoding", "latin-1"), ("--impute", "mean")):
        line = one_line(run("explain", net, *sample, option, value))
        assert line == f"retroprop: error: {option}: only with --model MODEL.retroprop"
