"""Reliability of ``retroprop train / predict`` as a user meets it: real files, real processes.

1. Interruption: SIGINT and SIGTERM sent to a running ``retroprop train`` write a valid
   checkpoint and exit with 130 / 143 and one line; ``--resume`` reaches the weights of the
   uninterrupted run bit for bit (compiled and NumPy engines). SIGKILL during checkpointing
   never leaves a damaged file under the real name.
2. Divergence: one line saying what to try, exit code 2, no model written.
3. Bad CSV files and bad prediction data: one line on stderr naming the problem, exit code 2
   (test_cli_train.py and test_tabular.py hold more cases of the same checks).
4. A large CSV file is streamed: memory grows with the parsed numbers, not the text.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from retroprop import load_model
from retroprop.cli._common import Interrupted
from retroprop.cli._resume import SignalGuard
from retroprop.cli.app import main
from retroprop.files.checkpoint_file import load_checkpoint
from retroprop.files.checkpointer import Checkpointer

RETROPROP = [sys.executable, "-m", "retroprop"]


def run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RETROPROP, *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def in_process(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """The CLI's own entry point, in this process (fast): (exit code, stderr)."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 rows, 6 numeric features, a yes/no label that needs a hidden layer."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    label = np.where(X[:, 0] + X[:, 1] * X[:, 2] > 0, "yes", "no")
    rows = [[f"{v:.6f}" for v in x] + [t] for x, t in zip(X, label, strict=True)]
    folder = tmp_path_factory.mktemp("blobs")
    return write_rows(folder / "blobs.csv", [f"x{i}" for i in range(6)] + ["label"], rows)


# ============================================================================================
# 1. Interruption and resumption
# ============================================================================================
def interrupt(args: list[str | Path], checkpoint: Path, signum: int) -> tuple[int, str]:
    """Start ``retroprop train``, wait for its first checkpoint, send ``signum``."""
    proc = subprocess.Popen(
        [*RETROPROP, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    time.sleep(0.3)  # a few more epochs
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize(
    ("signum", "code", "engine", "extra"),
    [
        # the default solver (Adam, mini-batches); "auto" picks the compiled engine for so long
        # a run, and the resumed run keeps it (the reference names it)
        (signal.SIGINT, 130, "auto", ["--early-stopping", "--patience", "1000"]),
        # online momentum on the NumPy reference loop
        (signal.SIGTERM, 143, "numpy", ["--solver", "momentum", "--batch-size", "1"]),
    ],
    ids=["sigint-auto", "sigterm-numpy"],
)
def test_signal_writes_a_checkpoint_and_resume_gives_the_same_weights(
    tmp_path: Path,
    blobs: Path,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    code: int,
    engine: str,
    extra: list[str],
) -> None:
    if engine == "auto":
        pytest.importorskip("numba")
    model, checkpoint = tmp_path / "m.retroprop", tmp_path / "m.checkpoint"
    settings = ["-t", "label", "--hidden", "8", "--seed", "3", *extra]
    args = ["train", blobs, *settings, "--engine", engine, "--checkpoint-every", "2", "-q"]
    args += ["-o", model]
    returncode, err = interrupt([*args, "--epochs", "100000"], checkpoint, signum)

    assert returncode == code, err
    line = one_line(err)
    name = signal.Signals(signum).name
    assert line.startswith(f"retroprop: interrupted ({name}) after epoch "), line
    assert f"checkpoint written to {checkpoint}" in line and f"--resume {checkpoint}" in line
    assert not model.exists()
    saved = load_checkpoint(checkpoint)
    done = saved.state.epoch
    assert done >= 2 and saved.epochs == 100000 and f"after epoch {done} of 100000" in line
    assert saved.state.history.epochs == done and 1 <= saved.best_epoch <= done
    assert saved.monitor == "val_loss" and f"best epoch {saved.best_epoch}" in line
    assert saved.state.engine == ("numba" if engine == "auto" else "numpy")
    # the checkpoint is a model too: the best weights so far
    assert load_model(checkpoint).network.sizes == [6, 8, 2]

    total = str(done + 7)
    resumed = run("train", blobs, "--resume", checkpoint, "--epochs", total, "-q", "-o", model)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference.retroprop"
    used = saved.state.engine
    again = [*settings, "--engine", used, "--epochs", total, "-q", "-o", reference]
    assert in_process(capsys, "train", blobs, *again)[0] == 0
    a, b = load_model(model), load_model(reference)
    np.testing.assert_array_equal(a.network.get_flat(), b.network.get_flat())
    assert a.preprocessor == b.preprocessor
    assert {**a.training, "engine": used} == b.training
    timeless = {k: v for k, v in a.metrics.items() if k != "seconds"}
    assert timeless == {k: v for k, v in b.metrics.items() if k != "seconds"}


def test_sigkill_while_checkpointing_never_leaves_a_broken_file(
    tmp_path: Path, blobs: Path
) -> None:
    checkpoint = tmp_path / "k.checkpoint"
    args = ["train", blobs, "-t", "label", "--epochs", "100000", "--checkpoint-every", "1"]
    proc = subprocess.Popen(
        [*RETROPROP, *map(str, [*args, "-q", "-o", tmp_path / "k.retroprop"])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not checkpoint.exists():
        assert proc.poll() is None
        time.sleep(0.02)
    time.sleep(0.5)  # a checkpoint every epoch: the kill lands in or between writes
    proc.kill()
    proc.wait(timeout=30)
    assert load_checkpoint(checkpoint).state.epoch >= 1  # whole, old or new
    assert not (tmp_path / "k.retroprop").exists()


def test_second_signal_and_signals_outside_training_stop_at_once(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "c.checkpoint")
    guard = SignalGuard(checkpointer)
    with pytest.raises(Interrupted, match=r"interrupted \(SIGTERM\) while reading; nothing") as e:
        guard._handle(signal.SIGTERM, None)
    assert e.value.exit_code == 143
    guard.phase = "training"
    guard._handle(signal.SIGINT, None)  # first: save at the end of this epoch
    assert checkpointer.stop_requested and checkpointer.stop_signal == signal.SIGINT
    with pytest.raises(Interrupted, match=r"again \(SIGINT\): stopped at once; no checkpoint"):
        guard._handle(signal.SIGINT, None)
    guard.phase = "saving"
    with pytest.raises(Interrupted, match=r"the model was not written") as e:
        guard._handle(signal.SIGINT, None)
    assert e.value.exit_code == 130
    no_steps = SignalGuard(None, " (--solver lbfgs runs cannot be checkpointed)")
    no_steps.phase = "training"
    with pytest.raises(Interrupted, match=r"nothing was saved \(--solver lbfgs"):
        no_steps._handle(signal.SIGINT, None)
    # the handlers are installed for the command and put back afterwards
    before = signal.getsignal(signal.SIGTERM)
    with SignalGuard(None) as active:
        assert signal.getsignal(signal.SIGTERM) == active._handle
    assert signal.getsignal(signal.SIGTERM) == before


def test_resume_refuses_other_data_other_settings_and_bad_checkpoints(
    tmp_path: Path, blobs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, checkpoint = tmp_path / "m.retroprop", tmp_path / "m.checkpoint"
    base = ["train", blobs, "-t", "label", "--epochs", "4", "--checkpoint-every", "2", "-q"]
    assert in_process(capsys, *base, "-o", model)[0] == 0
    assert load_checkpoint(checkpoint).state.epoch == 4

    other = tmp_path / "other.csv"
    other.write_text(blobs.read_text().replace("yes", "YES", 1))

    def refused(*args: str | Path) -> str:
        code, err = in_process(capsys, "train", *args, "-q", "-o", tmp_path / "r.retroprop")
        assert code == 2, err
        return one_line(err)

    assert "not the data the checkpoint was trained on" in refused(other, "--resume", checkpoint)
    line = refused(blobs, "--resume", checkpoint, "--lr", "0.5")
    assert "--learning-rate: 0.5 differs from the checkpoint's None" in line
    assert "--target: 'x0' differs" in refused(blobs, "--resume", checkpoint, "-t", "x0")
    assert "has already trained 4 epochs" in refused(blobs, "--resume", checkpoint, "--epochs", "3")
    assert "not a retroprop checkpoint (no checkpoint.json)" in refused(blobs, "--resume", model)
    damaged = tmp_path / "damaged.checkpoint"
    damaged.write_bytes(checkpoint.read_bytes()[:-100])
    assert "damaged.checkpoint" in refused(blobs, "--resume", damaged)
    assert "runs cannot be checkpointed" in refused(
        blobs, "-t", "label", "--solver", "lbfgs", "--checkpoint-every", "5"
    )
    assert "Missing option '--target'" in refused(blobs)
    # extending a finished run is allowed: more epochs, same settings
    assert in_process(capsys, "train", blobs, "--resume", checkpoint, "--epochs", "6", "-q",
                      "-o", tmp_path / "longer.retroprop")[0] == 0  # fmt: skip
    assert load_model(tmp_path / "longer.retroprop").metrics["epochs"] == 6


# ============================================================================================
# 2. Divergence
# ============================================================================================
@pytest.mark.parametrize("engine", ["auto", "numpy"])
def test_divergence_says_what_to_try_and_writes_nothing_broken(
    tmp_path: Path, blobs: Path, engine: str
) -> None:
    model, checkpoint = tmp_path / "d.retroprop", tmp_path / "d.checkpoint"
    result = run(
        "train", blobs, "-t", "label", "--solver", "sgd", "--lr", "1e12", "--loss",
        "squared_error", "--output-activation", "identity", "--engine", engine,
        "--checkpoint-every", "1", "-o", model,
    )  # fmt: skip
    assert result.returncode == 2
    line = one_line(result.stderr)
    for words in (
        "training diverged in epoch",
        "were restored",
        "lower learning rate (now 1e+12)",
        "scaling the inputs",
        "identity with squared_error",
        "No model was written",
    ):
        assert words in line, line
    assert not model.exists()
    if checkpoint.exists():  # epochs before the divergence: finite, loadable
        assert np.all(np.isfinite(load_checkpoint(checkpoint).state.weights))


# ============================================================================================
# 3. Bad input: CSV files and prediction data
# ============================================================================================
BAD_CSV: list[tuple[str, str | bytes, tuple[str, ...], tuple[str, ...]]] = [
    ("empty", "", (), ("empty.csv: the file is empty",)),
    ("header-only", "a,b,y\n", (), ("no data rows after the header (line 1)",)),
    ("ragged", "a,b,y\n1,2,x\n3,4\n", (), ("line 3: 2 fields, expected 3 as in the header",)),
    ("missing", "a,b,y\n1,,x\n2,3,z\nNA,4,x\n", (),
     ("missing values in column 'a' on line 4", "column 'b' on line 2", "--drop-missing",
      "--impute mean")),
    ("non-numeric", "a,b,y\n1,2,x\n2,3,z\n3,drei,x\n4,5,z\n", (),
     ("line 4", "'b'", "drei")),
    ("infinite", "a,b,y\n1,2,x\n2,inf,z\n3,4,x\n", (), ("line 3", "'b'", "inf")),
    ("no-target", "a,b,Label\n1,2,x\n2,3,z\n", (), ("no target column 'label'; did you mean",)),
    ("one-class", "a,b,y\n1,2,x\n2,3,x\n", (), ("has a single class 'x'", "at least two")),
    ("duplicate-names", "a,a,y\n1,2,x\n", (), ("line 1: duplicate column name 'a'", "1 and 2")),
    ("wrong-delimiter", "a|b|y\n1|2|x\n3|4|z\n", (), ("one column only: is the delimiter",)),
    ("not-utf8", "a;b;y\n1;2;grün\n".encode("latin-1"), (), ("line 2: not UTF-8 text (byte 0xfc",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "options", "words"), BAD_CSV, ids=[c[0] for c in BAD_CSV]
)
def test_bad_csv_is_one_line_with_exit_code_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | bytes,
    options: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    target = "label" if name == "no-target" else "y"
    code, err = in_process(
        capsys, "train", path, "-t", target, *options, "-q", "-o", tmp_path / "m.retroprop"
    )
    assert code == 2, err
    line = one_line(err)
    assert line.startswith(f"retroprop: error: {name}.csv")
    for word in words:
        assert word in line, line
    assert not (tmp_path / "m.retroprop").exists()


def test_bad_csv_in_real_processes(tmp_path: Path) -> None:
    """A few of the cases above through ``python -m retroprop``, run side by side."""
    chosen = [c for c in BAD_CSV if c[0] in ("empty", "ragged", "missing", "not-utf8")]
    procs = []
    for name, content, _, words in chosen:
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        cmd = [*RETROPROP, "train", str(path), "-t", "y", "-o", str(tmp_path / f"{name}.retroprop")]
        procs.append((subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True), words))
    for proc, words in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2
        assert all(word in one_line(err) for word in words)
    assert not list(tmp_path.glob("*.retroprop"))


def test_missing_values_can_be_dropped_or_imputed_and_constant_columns_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [[i % 7, 5, "" if i % 10 == 3 else i % 3, "x" if i % 2 else "z"] for i in range(60)]
    path = write_rows(tmp_path / "holes.csv", ["a", "const", "b", "y"], rows)
    out = tmp_path / "m.retroprop"
    code, err = in_process(
        capsys, "train", path, "-t", "y", "--drop-missing", "--epochs", "2", "-q", "-o", out
    )
    assert code == 0, err
    assert "skipped 6 of 60 rows with missing values" in err
    assert "column 'const' has the same value '5' in every row" in err
    assert load_model(out).metrics["n_train"] + load_model(out).metrics["n_validation"] == 54
    code, err = in_process(
        capsys, "train", path, "-t", "y", "--impute", "mean", "--epochs", "2", "-q", "-o", out,
        "--force",
    )  # fmt: skip
    assert code == 0, err
    assert load_model(out).training["missing"] == "mean"


def test_prediction_data_that_differs_from_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [[i % 5, ["red", "blue"][i % 2], "x" if (i % 5) > 1 else "z"] for i in range(40)]
    data = write_rows(tmp_path / "train.csv", ["n", "colour", "y"], rows)
    model = tmp_path / "m.retroprop"
    assert in_process(capsys, "train", data, "-t", "y", "--epochs", "3", "-q", "-o", model)[0] == 0
    expected = load_model(model).predict({"n": [1, 4], "colour": ["red", "blue"]})

    def predict(header: list[str], rows: list[list[object]], *options: str) -> tuple[int, str, str]:
        path = write_rows(tmp_path / "new.csv", header, rows)
        code = main(["predict", str(model), str(path), *options])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = predict(["colour", "extra", "n"], [["red", "?", 1], ["blue", "?", 4]])
    assert code == 0 and out.split()[1:] == [str(e) for e in expected], (out, err)  # reordered
    assert "ignoring column the model does not use: 'extra'" in err
    code, _, err = predict(["colour"], [["red"]])
    assert code == 2 and "missing column 'n'" in one_line(err)
    code, _, err = predict(["n", "colour"], [[1, "green"]])
    assert code == 2 and "unknown category 'green'" in one_line(err) and "--ignore-unknown" in err
    assert predict(["n", "colour"], [[1, "green"]], "--ignore-unknown")[0] == 0
    code, _, err = predict(["n", "colour"], [[1, "red"], ["four", "blue"]])  # wrong dtype
    assert code == 2, err
    assert all(w in one_line(err) for w in ("new.csv", "line 3", "'n'", "four")), err


# ============================================================================================
# 4. A large file is streamed
# ============================================================================================
def peak_rss_of(args: list[str | Path]) -> int:
    """Peak resident memory (bytes) of ``retroprop`` run with ``args`` in its own process."""
    proc = subprocess.Popen([*RETROPROP, *map(str, args)], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read() if proc.stderr else ""
    return usage.ru_maxrss * 1024  # kilobytes on Linux


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4 (POSIX)")
def test_memory_grows_with_the_numbers_not_the_text(tmp_path: Path) -> None:
    """Two file sizes, one training epoch each: the extra memory per extra byte of CSV.

    Holding the text, or a Python object per cell, would cost well over 10 bytes of memory
    per byte of file; the streaming reader keeps 11 bytes per cell (a float, a status byte
    and a 2-byte category code) and the inputs 8, so a cell of ~10 characters costs about 2
    bytes per byte (plus the training copies).
    """
    rng = np.random.default_rng(0)
    sizes, peaks = [], []
    for n in (8_000, 48_000):
        X = rng.normal(size=(n, 8))
        path = tmp_path / f"big{n}.csv"
        with path.open("w") as f:
            f.write(",".join(f"x{i}" for i in range(8)) + ",y\n")
            f.writelines(",".join(f"{v:.6f}" for v in x) + f",{int(x[0] > 0)}\n" for x in X)
        sizes.append(path.stat().st_size)
        args = ["-t", "y", "--epochs", "1", "--hidden", "2", "--engine", "numpy", "-q", "--force"]
        peaks.append(peak_rss_of(["train", path, *args, "-o", tmp_path / "big.retroprop"]))
    per_byte = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    assert sizes[1] > 3_000_000
    print(f"memory per extra byte of CSV: {per_byte:.2f}", sizes, peaks)
    assert per_byte < 6, (per_byte, sizes, peaks)


def test_hand_written_network_file_errors_name_the_json_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(test_network_file.py checks every field; here, what the command shows, in a process.)"""
    net = tmp_path / "net.json"
    net.write_text(
        '{"format": "retroprop.network", "layers": [\n'
        ' {"activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "biases": [0.35]},\n'
        ' {"activation": "sigmod", "weights": [[0.40, 0.45, 1.0]], "biases": [0.60]}]}'
    )
    result = run("explain", net, "--x", "0.05", "0.10", "--y", "0.01")
    assert result.returncode == 2
    line = one_line(result.stderr)
    for words in ("layers[0].biases: expected 2 numbers, got 1", "layers[1].activation",
                  "'sigmod'", "layers[1].weights[0]: expected 2 numbers, got 3"):  # fmt: skip
        assert words in line, line
    net.write_text('{"format": "retroprop.network", "layers": [')  # truncated JSON
    code, err = in_process(capsys, "explain", net, "--x", "0.05", "--y", "0.01")
    assert code == 2 and "net.json" in one_line(err) and "line 1" in err
