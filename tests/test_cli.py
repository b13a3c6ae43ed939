"""The command line, run for real in a subprocess, as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def run(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retroprop", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def test_demo_reaches_the_lecture_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("demo", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # one line per epoch with train and validation MSE
    epochs = re.findall(r"epoch\s+(\d+)/50\s+train MSE ([\d.]+)\s+validation MSE ([\d.]+)", text)
    assert [int(e[0]) for e in epochs] == list(range(1, 51))
    assert float(epochs[-1][1]) < float(epochs[0][1]) / 5  # it learned
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    assert accuracy >= 0.92
    assert "Confusion matrix" in text
    png = out / "learning_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Learning curve written to {png.resolve()}" in text
    assert result.stderr == ""


def test_demo_quiet_and_options(tmp_path: Path) -> None:
    result = run("demo", "--epochs", "2", "--lr", "0.5", "--seed", "3", "-q", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "train MSE" not in result.stdout
    assert "2 epochs, seed 3" in result.stdout
    assert (tmp_path / "learning_curve.png").exists()


def test_demo_help_explains_the_options() -> None:
    result = run("demo", "--help")
    assert result.returncode == 0
    for option in ("--epochs", "--learning-rate", "--seed", "--output-dir", "Example"):
        assert option in result.stdout


def test_bad_options_give_one_line_and_exit_code_2(tmp_path: Path) -> None:
    for args, words in [
        (("demo", "--epochs", "0"), "--epochs"),
        (("demo", "--lr", "-1"), "--learning-rate"),
        (("demo", "--bogus"), "--bogus"),
        (("demo", "--epochs", "many"), "--epochs"),
    ]:
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def test_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep me")
    result = run("demo", "--epochs", "1", "-q", "-o", str(blocker))
    assert result.returncode == 2
    assert "--output-dir" in result.stderr
    assert blocker.read_text() == "keep me"


def test_no_arguments_shows_help() -> None:
    result = run()
    assert result.returncode == 0
    assert "demo" in result.stdout and "retroprop" in result.stdout


def test_info_prints_versions() -> None:
    result = run("info")
    assert result.returncode == 0
    assert "retroprop" in result.stdout and "numpy" in result.stdout


def test_compile_notice_only_when_the_first_epoch_keeps_the_user_waiting() -> None:
    import time

    import retroprop as rp
    from retroprop.cli._render import CompileNotice

    net = rp.Network.create([2, 2, 1], seed=0)
    said: list[str] = []
    slow = CompileNotice(said.append, after=0.01)
    slow.on_train_begin(net)
    time.sleep(0.2)
    slow.on_epoch_end(1, {})
    assert len(said) == 1 and "compiling the training kernels" in said[0]
    said.clear()
    quick = CompileNotice(said.append, after=0.5)
    quick.on_train_begin(net)
    quick.on_epoch_end(1, {})
    time.sleep(0.6)
    assert said == []
