"""Hostile model files and checkpoints (issue 13, items 4, 6, 7, 8, 15): files small on disk
that inflate to gigabytes, headers cheap to send and costly to print, checkpoint settings that
ask for what the command line refuses, checkpoints we wrote and could not read, members nobody
asked for. Real files throughout; the command line through a subprocess."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import retroprop as rp
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.errors import ParameterError, RetropropError
from retroprop.files import limits
from retroprop.files.checkpoint_file import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from retroprop.files.loader import load_model
from retroprop.files.model import Model
from retroprop.files.model_file import ModelFileError, save_model

if TYPE_CHECKING:
    from conftest import RunCli


# -- building hostile files -----------------------------------------------------------------
def npy_header(shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def zero_member(z: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> str:
    """An .npy member of zeros, streamed (never held whole), deflated; returns its SHA-256."""
    digest, head = hashlib.sha256(), npy_header(shape)
    left, chunk = int(np.prod(shape)) * 8, bytes(1 << 20)
    with z.open(name, "w", force_zip64=True) as f:
        f.write(head)
        digest.update(head)
        while left:
            piece = chunk[: min(left, len(chunk))]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def model_header(sizes: list[int], digests: dict[str, str], **extra: Any) -> bytes:
    names = [f"x{i}" for i in range(sizes[0])]
    features = [{"name": n, "kind": "numeric", "mean": 0.0, "scale": 1.0} for n in names]
    arrays = {}
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        for member, shape in ((f"weights_{l}.npy", [n_out, n_in]), (f"biases_{l}.npy", [n_out])):
            arrays[member] = {"shape": shape, "dtype": "float64", "sha256": digests[member]}
    header = {
        "format": "retroprop.model",
        "format_version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "architecture": {
            "sizes": sizes,
            "activations": ["sigmoid"] * (len(sizes) - 2) + ["identity"],
            "loss": "squared_error",
            "dtype": "float64",
        },
        "arrays": arrays,
        "preprocessing": {
            "columns": [*names, "y"],
            "features": features,
            "target": {"name": "y", "kind": "regression", "mean": 0.0, "scale": 1.0},
        },
        "training": {},
        "metrics": {},
        "data": {},
        "versions": {},
        **extra,
    }
    return json.dumps(header).encode()


def zero_model(path: Path, sizes: list[int], **extra: Any) -> Path:
    """A model file of all-zero weights, deflated: tiny on disk, its arrays as large as asked."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        digests = {}
        for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            digests[f"weights_{l}.npy"] = zero_member(z, f"weights_{l}.npy", (n_out, n_in))
            digests[f"biases_{l}.npy"] = zero_member(z, f"biases_{l}.npy", (n_out,))
        z.writestr("header.json", model_header(sizes, digests, **extra))
    return path


def one_line_error(result: Any, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("retroprop: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def peak_bytes(action: Callable[[], object]) -> int:
    """The peak of memory Python and NumPy allocate while ``action`` runs."""
    tracemalloc.start()
    try:
        try:
            action()
        except RetropropError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def tiny_model() -> Model:
    pre = Preprocessor(
        (Feature("x", "numeric", mean=0.0, scale=1.0),),
        Target("y", "regression", mean=0.0, scale=1.0),
        ("x", "y"),
    )
    return Model(rp.Network.create([1, 3, 1], loss="squared_error", seed=0), pre)


# -- 4. compressed size is not real size ---------------------------------------------------
def test_a_model_file_that_inflates_is_refused_before_reading(
    tmp_path: Path, run_cli: RunCli
) -> None:
    # 64 MiB of zero weights in 70 kB: before, loaded with rc 0 (and 1 GiB the same way)
    bomb = zero_model(tmp_path / "bomb.retroprop", [8, 1_000_000, 1])
    assert bomb.stat().st_size < 200_000
    line = one_line_error(run_cli("info", str(bomb)), "bomb.retroprop", "compression bomb")
    assert "weights_0.npy" in line
    # refused from the zip directory alone: nothing near the arrays' size is allocated
    assert peak_bytes(lambda: load_model(bomb)) < 4 << 20
    with pytest.raises(ModelFileError, match=r"inflates \d+ times"):
        load_model(bomb)


def test_a_checkpoint_that_inflates_is_refused_before_reading(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.checkpoint", _checkpoint())
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    header = json.loads(parts.pop("checkpoint.json"))
    header["epoch"] = header["epochs"] = 4_000_000  # 2 columns: 64 MB of history, all zeros
    header["history"]["columns"] = ["loss", "time"]
    header["early_stopping"] = []
    header["optimizer"] = {"numbers": {}, "arrays": []}
    bomb = tmp_path / "bomb.checkpoint"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        digest = zero_member(z, "history.npy", (4_000_000, 2))
        kept = ("model.retroprop", "weights.npy", "order.npy")
        for name in kept:
            z.writestr(name, parts[name])
        header["arrays"] = {
            name: {"bytes": len(parts[name]), "sha256": hashlib.sha256(parts[name]).hexdigest()}
            for name in kept
        }
        header["arrays"]["history.npy"] = {"bytes": 64_000_128, "sha256": digest}
        z.writestr("checkpoint.json", json.dumps(header))
    assert peak_bytes(lambda: load_checkpoint(bomb)) < 4 << 20
    with pytest.raises(CheckpointError, match=r"history.npy' inflates \d+ times"):
        load_checkpoint(bomb)


def test_the_total_uncompressed_size_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from retroprop.files import model_file

    path = save_model(tmp_path / "m.retroprop", tiny_model())
    small = replace(model_file.MODEL_FILE, max_bytes=1000)
    monkeypatch.setattr(model_file, "MODEL_FILE", small)
    with pytest.raises(ModelFileError, match=r"bytes uncompressed, more than this reader"):
        load_model(path)


def test_an_array_is_read_once_into_its_buffer(tmp_path: Path) -> None:
    """A model of 16 MB of weights loads with 16 MB (and a chunk) allocated, not three copies."""
    pre = Preprocessor(
        tuple(Feature(f"x{i}", "numeric", mean=0.0, scale=1.0) for i in range(1000)),
        Target("y", "regression", mean=0.0, scale=1.0),
        (*(f"x{i}" for i in range(1000)), "y"),
    )
    net = rp.Network.create([1000, 2000, 1], loss="squared_error", seed=0)
    path = save_model(tmp_path / "big.retroprop", Model(net, pre))
    real = sum(p.nbytes for p in net.params())
    peak = peak_bytes(lambda: load_model(path))
    assert peak < 1.25 * real + (6 << 20), (peak, real)
    np.testing.assert_array_equal(load_model(path).network.get_flat(), net.get_flat())


def test_the_writer_stores_what_would_look_like_a_bomb(tmp_path: Path) -> None:
    """He-initialised biases are zeros: deflated 1000 times; stored instead, read back."""
    pre = Preprocessor(
        (Feature("x", "numeric", mean=0.0, scale=1.0),),
        Target("y", "regression", mean=0.0, scale=1.0),
        ("x", "y"),
    )
    net = rp.Network.create([1, 200_000, 1], loss="squared_error", init="he", seed=0)
    path = save_model(tmp_path / "he.retroprop", Model(net, pre))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("biases_0.npy").compress_type == zipfile.ZIP_STORED
        assert z.getinfo("weights_0.npy").compress_type == zipfile.ZIP_DEFLATED
    np.testing.assert_array_equal(load_model(path).network.get_flat(), net.get_flat())


# -- 6. headers cheap to send and costly to print ------------------------------------------
def test_a_header_with_100k_versions_is_refused_quickly(tmp_path: Path, run_cli: RunCli) -> None:
    versions = {f"lib{i}": "1.0" for i in range(100_000)}
    path = zero_model(tmp_path / "v.retroprop", [2, 3, 1], versions=versions)
    one_line_error(run_cli("info", str(path)), "header.versions: at most 64 entries")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"evil": 1}, r"header: unknown key\(s\) 'evil'"),
        ({"training": {"hidden": list(range(10_001))}}, r"header.training.hidden: at most"),
        (
            {"training": {f"a{i}": np.random.default_rng(i).bytes(4500).hex() for i in range(60)}},
            r"header.training: \d+ bytes of JSON, at most",
        ),
        ({"training": {"nested": {"a": 1}}}, r"header.training.nested: expected a number"),
        ({"metrics": {f"m{i}": 1 for i in range(300)}}, r"header.metrics: at most 256"),
        ({"data": {"source": "x" * 20_000}}, r"header.data.source: string longer than"),
        ({"versions": {"numpy": 2}}, r"header.versions.numpy: expected a string"),
    ],
)
def test_header_schema_is_strict(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    path = zero_model(tmp_path / "m.retroprop", [2, 3, 1], **extra)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_the_model_writer_refuses_what_the_reader_would(tmp_path: Path) -> None:
    model = tiny_model()
    model.training = {"nested": {"a": 1}}
    with pytest.raises(ParameterError, match=r"save_model: header.training.nested"):
        save_model(tmp_path / "m.retroprop", model)
    assert not (tmp_path / "m.retroprop").exists()


# -- 7. checkpoint settings, 8. what we write we read, 15. extra members -------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> tuple[Path, Path]:
    """A CSV and a checkpoint of ``retroprop train`` on it, asked for the most epochs a file
    holds (early stopping ends it)."""
    folder = tmp_path_factory.mktemp("trained")
    data = rp.datasets.moons(60)
    rows = (f"{a},{b},{int(c)}\n" for (a, b), c in zip(data.X, data.labels, strict=True))
    csv = folder / "moons.csv"
    csv.write_text("a,b,y\n" + "".join(rows))
    ck = folder / "m.checkpoint"
    args = ["train", str(csv), "-t", "y", "--hidden", "3", "-q", "--checkpoint-every", "1"]
    epochs = str(limits.MAX_EPOCHS)
    args += ["--epochs", epochs, "--early-stopping", "--patience", "1", "--checkpoint", str(ck)]
    result = run_cli(*args, "-o", str(folder / "m.retroprop"))
    assert result.returncode == 0, result.stderr
    return csv, ck


def _edit_settings(ck: Path, out: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    with zipfile.ZipFile(ck) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    header = json.loads(parts["checkpoint.json"])
    change(header)
    parts["checkpoint.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(out, "w") as z:
        for name, raw in parts.items():
            z.writestr(name, raw)
    return out


def test_a_checkpoint_asked_for_the_most_epochs_is_readable(trained: tuple[Path, Path]) -> None:
    ck = load_checkpoint(trained[1])
    assert ck.epochs == limits.MAX_EPOCHS and ck.settings["epochs"] == limits.MAX_EPOCHS


def test_more_epochs_than_a_file_holds_are_refused_up_front(
    trained: tuple[Path, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    csv = trained[0]
    out = tmp_path / "m.retroprop"
    result = run_cli("train", str(csv), "-t", "y", "--epochs", "99999999999999999999", "-o", out)
    one_line_error(result, "--epochs", str(limits.MAX_EPOCHS))
    assert not out.exists()
    assert f"1 to {limits.MAX_EPOCHS}" in " ".join(run_cli("train", "--help").stdout.split())


def test_the_checkpoint_writer_refuses_what_the_reader_would(tmp_path: Path) -> None:
    ck = _checkpoint()
    ck.epochs = limits.MAX_EPOCHS + 1
    with pytest.raises(ParameterError, match=r"save_checkpoint: checkpoint.epochs"):
        save_checkpoint(tmp_path / "c.checkpoint", ck)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s.update(hidden=[30000, 30000]), ("do not match its network",)),
        (lambda s: s.update(categorical=[{}]), ("checkpoint.settings.categorical[0]",)),
        (lambda s: s.update(missing="evil"), ("checkpoint.settings.missing", "expected one of")),
        (lambda s: s.update(epochs=10**12), ("checkpoint.settings.epochs",)),
        (lambda s: s.update(solver="os.system"), ("checkpoint.settings.solver",)),
        (lambda s: s.update(hidden=[200_000]), ("checkpoint.settings.hidden",)),
        (lambda s: s.pop("seed"), ("checkpoint.settings.seed: missing",)),
        (lambda s: s.update(extra=1), ("checkpoint.settings.extra",)),
    ],
)
def test_checkpoint_settings_are_checked_as_the_options_are(
    trained: tuple[Path, Path],
    run_cli: RunCli,
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    words: tuple[str, ...],
) -> None:
    csv, ck = trained
    edited = _edit_settings(ck, tmp_path / "e.checkpoint", lambda h: change(h["settings"]))
    out = tmp_path / "m.retroprop"
    result = run_cli("train", str(csv), "--resume", str(edited), "-o", str(out), "-q")
    one_line_error(result, "e.checkpoint", *words)
    assert not out.exists()


def test_members_not_in_the_header_are_refused(
    trained: tuple[Path, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    csv, ck = trained
    evil = b"rm -rf ~\n"
    entry = {"bytes": len(evil), "sha256": hashlib.sha256(evil).hexdigest()}
    edited = _edit_settings(
        ck, tmp_path / "x.checkpoint", lambda h: h["arrays"].update({"../../evil.sh": entry})
    )
    with zipfile.ZipFile(edited, "a") as z:
        z.writestr("../../evil.sh", evil)
    with pytest.raises(CheckpointError, match=r"unexpected member\(s\) '../../evil.sh'"):
        load_checkpoint(edited)
    result = run_cli("train", str(csv), "--resume", str(edited), "-o", str(tmp_path / "m"))
    one_line_error(result, "unexpected member(s) '../../evil.sh'")
    result = run_cli("info", str(edited))
    one_line_error(result, "unexpected member(s) '../../evil.sh'")


def _checkpoint() -> Checkpoint:
    """A small checkpoint of a real run."""
    from retroprop.files.checkpointer import Checkpointer

    model = tiny_model()
    X = np.linspace(-1, 1, 20)[:, None]
    saved: list[Checkpoint] = []

    class Keep(Checkpointer):
        def save(self, state: Any) -> Checkpoint:
            saved.append(Checkpoint(model, state, 3))
            return saved[-1]

    keep = Keep(Path("unused"), every=1)
    keep.start(model, 3)
    rp.fit(model.network, X, X**2, epochs=3, seed=0, callbacks=[keep])
    return saved[-1]
