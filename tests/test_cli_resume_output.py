"""``retroprop train --resume`` as a user meets it (issue 14, item 8): real CSV files with
missing values, text columns and three classes; real processes.

1. A resumed run writes the model file of the run it continues (the checkpoint stores its
   ``-o``), not one named after the data; replacing an existing model needs ``--force``.
2. The line printed on interruption says how to continue: ``-o`` and the other options a
   checkpoint does not hold.
3. ``--report`` on a resumed run draws the whole history (the epochs before the resume are
   "not recorded" in the δ and unit figures), instead of failing.
"""

from __future__ import annotations

import csv
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retroprop import load_model
from retroprop.files.checkpoint_file import load_checkpoint
from test_reliability_cli import interrupt

RETROPROP = [sys.executable, "-m", "retroprop"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RETROPROP, *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_penguins(path: Path, n: int = 150, noise: float = 1.0) -> Path:
    """A penguins-like table: numbers with gaps (NA and empty), a text ``island`` column, a
    ``sex`` column with missing values and a 3-class ``species`` target (the smaller the
    ``noise``, the easier to tell the species apart)."""
    rng = np.random.default_rng(0)
    names = ("Adelie", "Chinstrap", "Gentoo")
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["species", "island", "bill_length_mm", "bill_depth_mm", "body_mass_g", "sex"])
        for i in range(n):
            k = i % 3
            bill = f"{38 + 5 * k + noise * rng.normal():.1f}" if i % 11 else "NA"
            depth = f"{18 - 2 * (k == 2) + 0.5 * noise * rng.normal():.1f}"
            mass = f"{3700 + 600 * k + 200 * noise * rng.normal():.0f}" if i % 13 else ""
            island = ("Torgersen", "Dream", "Biscoe")[(k + (i % 5 == 0)) % 3]
            sex = "" if i % 7 == 0 else ("male", "female")[i % 2]
            w.writerow([names[k], island, bill, depth, mass, sex])
    return path


@pytest.fixture
def penguins(tmp_path: Path) -> Path:
    return write_penguins(tmp_path / "penguins_clean.csv")


SETTINGS = ("-t", "species", "--impute", "mean", "--hidden", "6", "--seed", "2")


def test_resume_writes_the_original_output_and_needs_force_to_replace_it(
    tmp_path: Path, penguins: Path
) -> None:
    model = tmp_path / "models" / "penguins.retroprop"
    first = run("train", penguins, *SETTINGS, "--epochs", "4", "--checkpoint-every", "2", "-q",
                "-o", model)  # fmt: skip
    assert first.returncode == 0, first.stderr
    checkpoint = model.with_suffix(".checkpoint")
    assert load_checkpoint(checkpoint).state.epoch == 4
    model.unlink()  # as if the run had been interrupted after its last checkpoint

    # resumed from another folder, without -o: the model goes where the first run wrote it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = run("train", penguins, "--resume", checkpoint, "--epochs", "8", "-q", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert load_model(model).metrics["epochs"] == 8
    assert not list(elsewhere.iterdir())  # no penguins_clean.retroprop beside the user
    assert not (tmp_path / "penguins_clean.retroprop").exists()

    # a later run does not silently replace the resumed model
    before = model.read_bytes()
    again = run("train", penguins, "--resume", checkpoint, "--epochs", "9", "-q")
    line = one_line(again, 2)
    assert f"--output {model}: exists; pass --force" in line
    other = run("train", penguins, *SETTINGS, "--epochs", "2", "-q", "-o", model)
    assert "exists; pass --force" in one_line(other, 2)
    assert model.read_bytes() == before
    forced = run("train", penguins, "--resume", checkpoint, "--epochs", "9", "-q", "--force")
    assert forced.returncode == 0, forced.stderr
    assert load_model(model).metrics["epochs"] == 9
    # an explicit -o still wins
    mine = tmp_path / "mine.retroprop"
    assert run("train", penguins, "--resume", checkpoint, "-q", "-o", mine).returncode == 0
    assert load_model(mine).metrics["epochs"] == 4
    assert load_checkpoint(checkpoint).state.epoch == 4  # not rewritten without --checkpoint-every


def test_interruption_says_how_to_continue_with_o(tmp_path: Path, penguins: Path) -> None:
    model = tmp_path / "out dir" / "p.retroprop"  # a space: the line is quoted for a shell
    checkpoint = model.with_suffix(".checkpoint")
    report = tmp_path / "r.html"
    args = ["train", penguins, *SETTINGS, "--epochs", "1000000", "--checkpoint-every", "3"]
    args += ["-q", "-o", model, "--report", report, "--report-lang", "es", "--encoding", "cp1252"]
    code, err = interrupt(args, checkpoint, signal.SIGINT)
    assert code == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    command = lines[0].split("continue with: ", 1)[1]
    words = shlex.split(command)
    assert words[:5] == ["retroprop", "train", str(penguins), "--resume", str(checkpoint)]
    rest = words[5:]
    assert rest[rest.index("-o") + 1] == str(model)
    assert rest[rest.index("--checkpoint-every") + 1] == "3"
    assert rest[rest.index("--report") + 1] == str(report)
    assert rest[rest.index("--report-lang") + 1] == "es"
    assert rest[rest.index("--encoding") + 1] == "cp1252"  # not a setting the checkpoint holds
    assert "--force" not in rest

    # the printed command works as it is (with fewer epochs, so that it ends)
    done = load_checkpoint(checkpoint).state.epoch
    resumed = run(*words[1:], "--epochs", str(done + 2))
    assert resumed.returncode == 0, resumed.stderr
    assert load_model(model).metrics["epochs"] == done + 2
    assert "<html" in report.read_text("utf-8").lower()


def test_report_of_a_resumed_run(tmp_path: Path, penguins: Path) -> None:
    """It used to fail: "x and y must have same first dimension" (internal error, exit 1)."""
    model = tmp_path / "p.retroprop"
    first = run("train", penguins, *SETTINGS, "--epochs", "4", "--checkpoint-every", "4", "-q",
                "-o", model)  # fmt: skip
    assert first.returncode == 0, first.stderr
    os.unlink(model)
    report = tmp_path / "r.html"
    resumed = run("train", penguins, "--resume", model.with_suffix(".checkpoint"), "--epochs",
                  "10", "--report", report)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr and "internal error" not in resumed.stderr
    page = report.read_text("utf-8")
    assert page.count("data:image/png;base64,") >= 4
    assert load_model(model).metrics["epochs"] == 10
