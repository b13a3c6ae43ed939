"""Inputs that are streams, not files, and inputs that never end (issue 13, items 5, 9, 10).

Every command is run for real, in a subprocess with a timeout and an address-space limit, so a
reader that does not bound what it reads fails the test (out of memory, or the timeout) instead
of taking the machine down.

1. ``/dev/zero`` and endless pipes as a CSV file, a network file, a model and a checkpoint:
   exit 2 with a line that names the file and the limit.
2. Work that grew without end: ``explain --steps``, a million columns, a warning per column.
3. FIFOs and process substitution: the data are read once and hashed as they are read, so the
   recorded SHA-256 is that of the data, and ``--resume`` on other data is refused.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from retroprop import DataError, load_model, read_csv
from retroprop.data.tabular import MAX_COLUMNS
from retroprop.files.checkpoint_file import load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")

RETROPROP = [sys.executable, "-m", "retroprop"]
ADDRESS_SPACE = 3 << 30  # the CLI needs well under 1 GiB for these inputs


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run(*args: str | Path, fds: tuple[int, ...] = (), timeout: float = 120) -> tuple[int, str]:
    """(exit code, stderr) of ``retroprop ARGS`` in a memory-limited subprocess."""
    proc = subprocess.run(
        [*RETROPROP, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        pass_fds=fds,
        preexec_fn=_limit_memory,
    )
    return proc.returncode, proc.stderr


def error_line(code: int, stderr: str) -> str:
    """The one error line of a refused command (exit 2, no traceback)."""
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("retroprop: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _write_all(f: object, chunks: Iterator[bytes]) -> None:
    try:
        for chunk in chunks:
            f.write(chunk)  # type: ignore[attr-defined]
        f.close()  # type: ignore[attr-defined]
    except (BrokenPipeError, ValueError):  # the reader stopped (as it should for endless data)
        pass


def endless(chunk: bytes, head: bytes = b"") -> Iterator[bytes]:
    yield head
    while True:
        yield chunk


@contextmanager
def fifo(tmp_path: Path, chunks: Iterator[bytes], name: str = "data.csv") -> Iterator[Path]:
    """A named pipe whose writer (a thread) sends ``chunks`` once a reader opens it."""
    path = tmp_path / name
    os.mkfifo(path)

    def feed() -> None:
        with open(path, "wb") as f:
            _write_all(f, chunks)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        if writer.is_alive():  # release a writer still waiting for a reader, or blocked
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        writer.join(timeout=10)


def run_on_pipe(data: bytes, *args: str | Path) -> tuple[int, str]:
    """``retroprop ARGS`` with ``{DATA}`` replaced by ``/dev/fd/N``, the read end of a pipe that
    a thread fills with ``data``: what the shell's ``<(cat data.csv)`` gives a command."""
    r, w = os.pipe()
    argv = [str(a).replace("{DATA}", f"/dev/fd/{r}") for a in args]
    proc = subprocess.Popen(
        [*RETROPROP, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(r,),
        preexec_fn=_limit_memory,
    )
    os.close(r)
    writer = threading.Thread(target=_write_all, args=(os.fdopen(w, "wb"), iter([data])))
    writer.start()
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
        writer.join(timeout=10)
    return proc.returncode, stderr


def peak_rss_mb() -> float:
    """The largest peak resident memory of the children waited for so far, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def blobs_csv(seed: int = 0, n: int = 120) -> bytes:
    rng = np.random.default_rng(seed)
    rows = ["a,b,label"]
    for _ in range(n):
        a, b = rng.normal(size=2)
        rows.append(f"{a:.5f},{b:.5f},{'yes' if a + b > 0 else 'no'}")
    return ("\n".join(rows) + "\n").encode()


# ============================================================================================
# 1. Endless and binary inputs are refused at once
# ============================================================================================
def test_dev_zero_as_csv_network_model_and_checkpoint_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(blobs_csv())
    out = tmp_path / "m.retroprop"
    line = error_line(*run("train", "/dev/zero", "-t", "y", "-o", out))
    assert "zero, line 1: the file contains NUL bytes; it is not a text CSV file" in line
    line = error_line(*run("explain", "/dev/zero", "--x", "1", "--y", "1"))
    assert "/dev/zero: larger than 16,777,216 bytes, the limit for a network file" in line
    for command in (["info", "/dev/zero"], ["predict", "/dev/zero", data]):
        line = error_line(*run(*command))
        assert "/dev/zero: a character device, not a model file" in line, command
    line = error_line(*run("train", data, "-t", "label", "--resume", "/dev/zero", "-o", out))
    assert "/dev/zero: a character device, not a checkpoint" in line
    assert not out.exists()
    print(f"peak RSS of the refusals: {peak_rss_mb():.0f} MB")


def test_a_pipe_is_not_a_model(tmp_path: Path) -> None:
    # opening a FIFO waits for a writer; the loader must not (none ever comes here)
    path = tmp_path / "m.retroprop"
    os.mkfifo(path)
    line = error_line(*run("info", path, timeout=60))
    assert "m.retroprop: a pipe (FIFO), not a model file" in line


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        (b"a" * 65536, "data.csv, line 2: longer than 10,000,000 characters"),
        # a record whose quoted cells hold line breaks goes on for ever
        (b'"x\n",' * 10000, "longer than 10,000,000 characters, the limit for a line (or a record"),
    ],
)
def test_an_endless_line_or_record_is_refused(tmp_path: Path, chunk: bytes, message: str) -> None:
    with fifo(tmp_path, endless(chunk, b"x,y\n")) as path:
        line = error_line(*run("train", path, "-t", "y", "-o", tmp_path / "m.retroprop"))
    assert message in line
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


def test_network_file_larger_than_the_limit_is_refused_while_reading(tmp_path: Path) -> None:
    head = b'{"format": "retroprop.network", "layers": [{"weights": [['
    with fifo(tmp_path, endless(b"0.5, " * 10000, head), "net.json") as path:
        line = error_line(*run("explain", path, "--x", "1", "--y", "1"))
    assert "net.json: larger than 16,777,216 bytes, the limit for a network file" in line

    big = tmp_path / "big.json"  # 3 MB, within the byte limit, over the parameter limit
    layer = {"activation": "sigmoid", "weights": [[0.1] * 1000] * 600, "biases": [0.0] * 600}
    big.write_text(json.dumps({"format": "retroprop.network", "layers": [layer]}))
    line = error_line(*run("explain", big, "--x", *["1"] * 1000, "--y", *["1"] * 600))
    assert "layers: 600,600 weights and biases; a network file may hold at most 500,000" in line


# ============================================================================================
# 2. Work bounded by a stated limit
# ============================================================================================
def test_explain_steps_are_capped(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    layer = {"activation": "sigmoid", "weights": [[0.1] * 10] * 100, "biases": [0.0] * 100}
    net.write_text(json.dumps({"format": "retroprop.network", "layers": [layer]}))
    sample = ["--x", *["0.5"] * 10, "--y", *["0.5"] * 100]
    line = error_line(*run("explain", net, *sample, "--steps", "100000000"))
    assert "--steps" in line and "1000" in line
    line = error_line(*run("explain", net, *sample, "--steps", "1000"))
    assert "a trace of 1,000 steps of a network with 1,100 weights and biases" in line
    assert "at most 500,000 can be explained (use --steps 454 or fewer)" in line
    help_text = subprocess.run(
        [*RETROPROP, "explain", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "(at most 1000, and steps × weights at most 500,000)" in " ".join(help_text.split())


def test_many_constant_columns_give_a_few_warning_lines(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(f"c{j}" for j in range(3000)), "x", "y"])
        for i in range(8):
            w.writerow([*([7] * 3000), rng.normal(), i % 2])
    proc = subprocess.run(
        [*RETROPROP, "train", path, "-t", "y", "--epochs", "1", "-q", "-o", tmp_path / "w.rp"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 6, lines[:10]
    assert "column 'c0' has the same value '7' in every row" in lines[0]
    assert lines[-1].endswith("… and 2,995 more constant columns (the same value in every row: "
                              "'c5', …)")  # fmt: skip


def test_more_columns_than_a_model_can_name_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{j}" for j in range(MAX_COLUMNS + 1)) + "\n" + "1," * MAX_COLUMNS
                    + "1\n")  # fmt: skip
    with pytest.raises(DataError, match=r"wide.csv, line 1: 100,001 fields; a file may have at "
                                        r"most 100,000 columns"):  # fmt: skip
        read_csv(path)


# ============================================================================================
# 3. FIFOs and process substitution: read once, hashed as read
# ============================================================================================
def test_train_on_a_fifo_completes_and_records_the_hash(tmp_path: Path) -> None:
    data = blobs_csv()
    out = tmp_path / "m.retroprop"
    with fifo(tmp_path, iter([data])) as path:
        code, stderr = run("train", path, "-t", "label", "--epochs", "3", "-q", "-o", out)
    assert code == 0, stderr
    assert load_model(out).data["sha256"] == hashlib.sha256(data).hexdigest()


def test_resume_on_other_data_through_a_pipe_is_refused(tmp_path: Path) -> None:
    data, other = blobs_csv(0), blobs_csv(1)
    model, checkpoint = tmp_path / "m.retroprop", tmp_path / "m.checkpoint"
    args = ["-t", "label", "--epochs", "2", "--checkpoint-every", "1", "-q"]
    code, stderr = run_on_pipe(data, "train", "{DATA}", *args, "-o", model)
    assert code == 0, stderr
    digest = hashlib.sha256(data).hexdigest()
    assert load_checkpoint(checkpoint).model.data["sha256"] == digest
    assert load_model(model).data["sha256"] == digest

    resume = ["--resume", checkpoint, "--epochs", "3", "-q", "-o", tmp_path / "r.retroprop"]
    line = error_line(*run_on_pipe(other, "train", "{DATA}", *resume))
    assert "not the data the checkpoint was trained on" in line
    code, stderr = run_on_pipe(data, "train", "{DATA}", *resume)
    assert code == 0, stderr
