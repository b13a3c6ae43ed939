"""Where retroprop may write (files/atomic.py), as a user meets it: real files, real processes.

1. Only regular files are replaced: a symlink is followed (the link stays), a FIFO, a device,
   a folder or a read-only file is refused with one line and exit code 2, untouched.
2. No output is ever the same file as an input (links and hard links resolved).
3. An existing file that is not ours needs --force; a name that appears while a run works is
   not replaced (the no-replace publish); two concurrent runs never silently replace each other.
4. The folders are checked before any work; errors name the user's path, never a temporary file.
5. The machine's limits (a full standard output, no memory) are one line and exit code 2.
"""

from __future__ import annotations

import csv
import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retroprop import load_model
from retroprop.files.atomic import OutputPathError, atomic_path, output_rules

RETROPROP = [sys.executable, "-m", "retroprop"]


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m retroprop ARGS…`` (a hang fails the test after two minutes); stdout and
    stderr captured unless given."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [*RETROPROP, *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        **kwargs,  # type: ignore[call-overload]
    )


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one stderr line of a command that exited with 2, containing ``words``."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in result.stderr and ".tmp" not in lines[0]
    return lines[0]


def write_csv(path: Path, n: int = 120) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "label"])
        w.writerows([*(f"{v:.5f}" for v in x), "yes" if x[0] > 0 else "no"] for x in X)
    return path


TRAIN = ("-t", "label", "--epochs", "2", "--hidden", "3", "--engine", "numpy", "-q")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model, data): a small trained model and its CSV file."""
    folder = tmp_path_factory.mktemp("trained")
    data = write_csv(folder / "data.csv")
    model = folder / "model.retroprop"
    assert run("train", data, *TRAIN, "-o", model).returncode == 0
    return model, data


# ============================================================================================
# 1. Only regular files are replaced
# ============================================================================================
def test_a_symlink_output_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    real = tmp_path / "models" / "real.retroprop"
    real.parent.mkdir()
    link = tmp_path / "link.retroprop"
    link.symlink_to(real)  # to a file that does not exist yet: it is created
    assert run("train", data, *TRAIN, "-o", link).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    real.write_bytes(b"an old model")  # one that exists: replaced with --force, whole
    assert run("train", data, *TRAIN, "-o", link, "--force").returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_model(real).task == "classification"
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.retroprop"]  # no temp left


def test_a_fifo_output_is_refused_not_replaced(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    model, data = trained
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    refused(run("predict", model, data, "-o", fifo), str(fifo), "FIFO", "not a regular file")
    refused(run("predict", model, data, "-o", fifo, "--force"), "FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    refused(run("train", data, *TRAIN, "--checkpoint", fifo, "--checkpoint-every", "1"), "FIFO")


def test_a_device_output_is_refused_not_replaced(tmp_path: Path) -> None:
    """A character device like /dev/null (made here, never the real one) stays a device."""
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here (not root, or no CAP_MKNOD)")
    data = write_csv(tmp_path / "data.csv")
    line = refused(run("train", data, *TRAIN, "-o", null, "--force"), "character device")
    assert str(null) in line
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    link = tmp_path / "to-null"  # a link to a device: followed, and still refused
    link.symlink_to(null)
    refused(run("train", data, *TRAIN, "-o", link), "a link to", "character device")
    assert stat.S_ISCHR(os.lstat(null).st_mode)


def test_a_folder_output_is_refused_before_any_work(tmp_path: Path) -> None:
    """The CSV file is broken: a refusal that names the folder came before reading it."""
    data = tmp_path / "broken.csv"
    data.write_text("a,label\n1,yes\n2\n", encoding="utf-8")
    refused(run("train", data, *TRAIN, "-o", tmp_path), "is a folder")
    refused(run("train", data, *TRAIN, "-o", "."), "--output .", "is a folder")


def test_a_read_only_file_is_not_replaced_even_with_force(tmp_path: Path) -> None:
    """Mode 0444: refused for root as well (root ignores permission bits; retroprop does not)."""
    data = write_csv(tmp_path / "data.csv")
    keep = tmp_path / "keep.retroprop"
    keep.write_bytes(b"precious")
    keep.chmod(0o444)
    refused(run("train", data, *TRAIN, "-o", keep, "--force"), "read-only")
    assert keep.read_bytes() == b"precious" and stat.S_IMODE(keep.stat().st_mode) == 0o444


def test_standard_output_for_text_and_only_for_text(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    net.write_text(
        '{"format": "retroprop.network", "loss": "squared_error", "layers": '
        '[{"activation": "sigmoid", "weights": [[0.1, 0.2]], "biases": [0.3]}]}',
        encoding="utf-8",
    )
    step = run("explain", net, "--x", "0.5", "0.1", "--y", "1", "--format", "json", "-o", "-")
    assert step.returncode == 0 and '"error_before"' in step.stdout
    assert not (tmp_path / "-").exists()
    data = write_csv(tmp_path / "data.csv")
    refused(run("train", data, *TRAIN, "-o", "-", cwd=tmp_path), "standard output")
    assert not (tmp_path / "-").exists()


def test_predict_dash_writes_the_csv_to_stdout(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    model, data = trained
    out = run("predict", model, data, "-o", "-", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.splitlines()[0] == "label"
    assert not (tmp_path / "-").exists()


# ============================================================================================
# 2. Inputs are never outputs
# ============================================================================================
def test_no_output_is_the_same_file_as_an_input(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    data = write_csv(tmp_path / "in.csv")
    before = data.read_bytes()
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    soft = tmp_path / "soft.csv"
    soft.symlink_to(data)
    for option, path in [("-o", data), ("--checkpoint", data), ("--report", data),
                         ("-o", hard), ("-o", soft)]:  # fmt: skip
        refused(run("train", data, *TRAIN, option, path, "--force"), "input DATA")
    model, csv_file = trained
    model_bytes = model.read_bytes()
    copy = tmp_path / "copy.csv"
    shutil.copy(csv_file, copy)
    refused(run("predict", model, copy, "-o", copy, "--force"), "input DATA")
    refused(run("predict", model, copy, "-o", model, "--force"), "input MODEL")
    refused(run("export", model, "-o", model, "--force"), "input MODEL")
    assert data.read_bytes() == before and model.read_bytes() == model_bytes
    assert copy.read_bytes() == csv_file.read_bytes()


def test_two_outputs_of_one_command_are_two_files(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    out = tmp_path / "m.retroprop"
    refused(run("train", data, *TRAIN, "-o", out, "--checkpoint", out), "the same file as")
    refused(run("train", data, *TRAIN, "-o", out, "--report", out), "the same file as")
    assert not out.exists()


# ============================================================================================
# 3. --force, and no silent replacement
# ============================================================================================
def test_an_existing_model_needs_force(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    model, data = trained
    out = tmp_path / "m.retroprop"
    out.write_bytes(b"someone's model")
    refused(run("train", data, *TRAIN, "-o", out), str(out), "exists; pass --force")
    assert out.read_bytes() == b"someone's model"
    assert run("train", data, *TRAIN, "-o", out, "--force").returncode == 0
    assert load_model(out).task == "classification"
    preds = tmp_path / "p.csv"
    assert run("predict", model, data, "-o", preds).returncode == 0
    refused(run("predict", model, data, "-o", preds), "exists; pass --force")
    assert run("predict", model, data, "-o", preds, "--force").returncode == 0


def test_a_name_that_appears_while_writing_is_not_replaced(tmp_path: Path) -> None:
    """The race of two runs for one name, step by step: the publish is a no-replace link."""
    target = tmp_path / "model.retroprop"
    with pytest.raises(OutputPathError, match="exists"), output_rules(force=False):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"ours")
            target.write_bytes(b"the other run's")  # it finished first
    assert target.read_bytes() == b"the other run's"
    assert [p.name for p in tmp_path.iterdir()] == ["model.retroprop"]
    with output_rules(force=True), atomic_path(target) as tmp:
        tmp.write_bytes(b"forced")
    assert target.read_bytes() == b"forced"


def test_without_hard_links_an_exclusive_create_reserves_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File systems without hard links (FAT, some network ones): the same no-replace rule."""

    def no_link(src: object, dst: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "f.txt"
    with output_rules(force=False), atomic_path(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(OutputPathError, match="exists"), output_rules(force=False):
        with atomic_path(tmp_path / "g.txt") as tmp:
            tmp.write_text("second")
            (tmp_path / "g.txt").write_text("theirs")
    assert (tmp_path / "g.txt").read_text() == "theirs"


def test_two_concurrent_trains_to_one_name(tmp_path: Path) -> None:
    """Whatever the interleaving, one run writes the model and the other is refused (at the
    start, or when it publishes); neither replaces the other's file silently."""
    data = write_csv(tmp_path / "data.csv", n=400)
    out = tmp_path / "m.retroprop"
    args = [*RETROPROP, "train", str(data), *TRAIN, "-o", str(out)]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    line = next(err for code, err in results if code == 2).strip()
    assert "exists" in line and "--force" in line and len(line.splitlines()) == 1
    assert load_model(out).task == "classification"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "m.retroprop"]


def test_demo_twice_in_one_folder_replaces_its_own_png_only(tmp_path: Path) -> None:
    """learning_curve.png carries Software=retroprop in its header: ours to replace."""
    for _ in range(2):
        assert run("demo", "--epochs", "1", "-q", "-o", tmp_path).returncode == 0
    png = tmp_path / "learning_curve.png"
    assert b"tEXtSoftware\x00retroprop" in png.read_bytes()[:4096]
    png.write_bytes(b"\x89PNG\r\n\x1a\n a picture of the user's")
    refused(run("demo", "--epochs", "1", "-q", "-o", tmp_path), "exists; pass --force")
    assert png.read_bytes().endswith(b"the user's")


def test_resume_keeps_rewriting_its_own_checkpoint(tmp_path: Path) -> None:
    """The checkpoint a run continues is its own: rewritten without --force; never a report."""
    from retroprop.files.checkpoint_file import load_checkpoint

    data = write_csv(tmp_path / "data.csv")
    model = tmp_path / "m.retroprop"
    ck = tmp_path / "m.checkpoint"
    assert run("train", data, *TRAIN, "-o", model, "--checkpoint-every", "1").returncode == 0
    model.unlink()
    more = ("--epochs", "4", "-q", "--checkpoint-every", "1", "-o", model)
    resumed = run("train", data, "--resume", ck, *more)
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(ck).state.epoch == 4
    other = ("--epochs", "5", "-q", "-o", tmp_path / "m2.retroprop")
    refused(run("train", data, "--resume", ck, *other, "--report", ck), "input --resume")
    refused(run("train", data, "--resume", ck, *other, "--checkpoint", model), "exists")
    assert load_checkpoint(ck).state.epoch == 4


# ============================================================================================
# 4. Folders checked first; messages name the user's path
# ============================================================================================
def _without_root_powers() -> list[str] | None:
    """A prefix that runs a command as root without its capabilities (so permission bits
    hold), or None where that cannot be done."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else None


def test_a_read_only_folder_is_refused_before_training(tmp_path: Path) -> None:
    """The CSV file is broken, so a refusal naming the folder came before reading it."""
    prefix = _without_root_powers() if os.geteuid() == 0 else []
    if prefix is None:
        pytest.skip("setpriv cannot drop root's capabilities here")
    data = tmp_path / "broken.csv"
    data.write_text("a,label\n1,yes\n2\n", encoding="utf-8")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = subprocess.run(
            [*prefix, *RETROPROP, "train", str(data), *TRAIN, "-o", str(folder / "m.retroprop")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        folder.chmod(0o755)
    line = refused(result, f"--output {folder / 'm.retroprop'}", "cannot write in the folder")
    assert str(folder) in line and list(folder.iterdir()) == []


def test_a_folder_without_write_permission_by_os_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule where it cannot be run for real: os.access says no, retroprop refuses."""
    real_access = os.access
    folder = tmp_path / "ro"
    folder.mkdir()

    def access(path: object, mode: int, **kwargs: object) -> bool:
        return False if Path(str(path)) == folder else real_access(path, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(OutputPathError, match="cannot write in the folder"):
        with output_rules(force=False) as rules:
            rules.check({"--output": folder / "sub" / "m.retroprop"})


def test_a_failed_write_names_the_users_path_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    with pytest.raises(OSError) as info, atomic_path(target) as tmp:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_missing_folders_are_created(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    out = tmp_path / "new" / "deeper" / "m.retroprop"
    assert run("train", data, *TRAIN, "-o", out).returncode == 0
    assert load_model(out).task == "classification"
    (tmp_path / "file").write_text("x")
    refused(run("train", data, *TRAIN, "-o", tmp_path / "file" / "m.retroprop"), "--output")


# ============================================================================================
# 5. The machine's limits
# ============================================================================================
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_standard_output_is_one_line_and_exit_2(trained: tuple[Path, Path]) -> None:
    model, data = trained
    with open("/dev/full", "w") as full:
        result = run("predict", model, data, stdout=full)
    refused(result, "cannot write to standard output", "No space left on device")
    with open("/dev/full", "w") as full:
        result = run("info", model, stdout=full)
    refused(result, "standard output")


def test_out_of_memory_is_one_line_and_exit_2(trained: tuple[Path, Path]) -> None:
    """The allocation that fails is simulated (a real one: ``ulimit -v`` and a huge network,
    see the report of issue 13); what is tested is the command's answer to it."""
    model, data = trained
    script = (
        "import sys, retroprop.cli.apply as a\n"
        "def boom(*args, **kwargs): raise MemoryError('Unable to allocate 80.0 GiB')\n"
        "a.read_data = boom\n"
        "from retroprop.cli.app import main\n"
        f"sys.exit(main(['predict', {str(model)!r}, {str(data)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    refused(result, "out of memory")
