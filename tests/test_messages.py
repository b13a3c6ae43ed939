"""Messages that once misled (issue 13, item 14), each met through the real command line: one
true line naming the file, line, column, field or option, and exit code 2 (or a warning that
says what happened)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RETROPROP = [sys.executable, "-m", "retroprop"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RETROPROP, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of a refused command (exit code 2, no traceback, nothing else)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_numeric_labels_that_are_the_same_number_are_named(tmp_path: Path) -> None:
    """007, 7 and 7.0 are one class (the labels are numbers); a warning names them."""
    data = tmp_path / "codes.csv"
    data.write_text("x,y\n1,007\n2,7\n3,7.0\n4,8\n5,8\n6,9\n7,9\n", encoding="utf-8")
    result = run("train", data, "-t", "y", "-o", tmp_path / "m.retroprop", "--epochs", "1", "-q")
    assert result.returncode == 0, result.stderr
    assert "target 'y': the labels '007', '7', '7.0' are the same number" in result.stderr
    assert "one class 7" in result.stderr
    info = json.loads(run("info", tmp_path / "m.retroprop", "--json").stdout)
    assert info["preprocessing"]["target"]["classes"] == [7, 8, 9]


def test_infinite_weight_decay_is_refused_up_front(tmp_path: Path) -> None:
    """Once "training diverged … try a lower learning rate"."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)), encoding="utf-8")
    for value in ("inf", "nan"):
        line = error_line(run("train", data, "-t", "y", "--weight-decay", value))
        assert "--weight-decay" in line and "learning rate" not in line
    assert "finite" in error_line(run("train", data, "-t", "y", "--weight-decay", "inf"))
    assert not (tmp_path / "d.retroprop").exists()


def test_a_column_too_large_to_standardise_is_one_message(tmp_path: Path) -> None:
    """±1e308 was reported as both constant and non-finite (or as an internal error)."""
    for name, cells in [("spread", ["1e308", "-1e308"] * 4), ("same", ["1e308"] * 8)]:
        data = tmp_path / f"{name}.csv"
        rows = [f"{x},{i},{i % 2}" for i, x in enumerate(cells)]
        data.write_text("big,z,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
        line = error_line(run("train", data, "-t", "y", "-o", tmp_path / "m.retroprop"))
        assert f"{name}.csv, line 2, column 'big': '1e308' is too large to standardise" in line
        assert "same value" not in line and "non-finite" not in line


def test_an_integer_of_5001_digits_in_a_network_file(tmp_path: Path) -> None:
    """Python's int parser stops at 4300 digits with a hint about sys.set_int_max_str_digits()
    that names neither the file nor the field."""
    doc = {
        "format": "retroprop.network",
        "loss": "squared_error",
        "layers": [{"activation": "sigmoid", "weights": [[0.5, 0.25]], "biases": [0.1]}],
    }
    net = tmp_path / "net.json"
    net.write_text(json.dumps(doc).replace("0.25", "1" + "0" * 5000), encoding="utf-8")
    line = error_line(run("explain", net, "--x", "1", "1", "--y", "1"))
    assert line == (
        f"retroprop: error: {net}: layers[0].weights[0][1]: expected a finite number, "
        "got an integer of 5001 digits"
    )


def test_cv_message_when_a_class_has_a_single_row(tmp_path: Path) -> None:
    """Once "use cv=2 or fewer" when cv was already 2."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,a\n2,a\n3,a\n4,b\n5,b\n6,b\n7,c\n", encoding="utf-8")
    line = error_line(run("search", data, "-t", "y", "--cv", "2", "--hidden", "2"))
    assert "class 'c' has only 1 row" in line and "at least 2 rows" in line
    assert "cv=2 or fewer" not in line
