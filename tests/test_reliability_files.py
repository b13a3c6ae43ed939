"""Reliability of the files retroprop reads and writes.

1. Checkpoints round-trip bit for bit and are validated like model files: truncated,
   oversized, wrong-version, tampered, pickled and mutated checkpoints give a
   :class:`CheckpointError` (a ModelFileError), nothing else.
2. Audits of the source: nothing can unpickle, and every file is written through
   :func:`retroprop.files.atomic.atomic_path` (temporary file, fsync, rename).
3. Model and network files: existing coverage is in test_model_file.py and test_network_file.py;
   here, the cases that concern checkpoints and the CLI's view of them.
"""

from __future__ import annotations

import ast
import io
import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retroprop as rp
from helpers import members, rehashed, write_members
from retroprop import ModelFileError, load_model
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.files.checkpoint_file import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from retroprop.files.checkpointer import Checkpointer
from retroprop.files.model import Model
from retroprop.train.loop import Callback, TrainState

SRC = Path(rp.__file__).parent


def tiny_model(dtype: str = "float64") -> Model:
    pre = Preprocessor(
        (
            Feature("x", "numeric", mean=0.0, scale=1.0),
            Feature("c", "categorical", categories=("a", "b"), mode="a"),
        ),
        Target("y", "classification", classes=("no", "yes")),
        ("x", "c", "y"),
    )
    net = rp.Network.create([3, 4, 2], output_activation="softmax", loss="cce", seed=0, dtype=dtype)
    return Model(net, pre, training={"solver": "adam"}, data={"sha256": "0" * 64})


class Keep(Callback):
    """Keeps the training state of every epoch."""

    def __init__(self) -> None:
        self.states: dict[int, TrainState] = {}

    def on_epoch_state(self, epoch: int, state: Any) -> None:
        self.states[epoch] = state()


def trained_checkpoint(optimizer: str = "adam", dtype: str = "float64") -> Checkpoint:
    model = tiny_model(dtype)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    keep = Keep()
    rp.fit(model.network, X, Y, optimizer=optimizer, epochs=4, seed=2, callbacks=[keep],
           validation_fraction=0.2, early_stopping=rp.EarlyStopping(patience=9),
           batch_size="all" if optimizer.startswith(("rprop", "irprop")) else 4)  # fmt: skip
    return Checkpoint(model, keep.states[3], 4, 2, "val_loss", 0.25, {"target": "y"})


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path / "run.checkpoint", trained_checkpoint())


def rewrite(path: Path, parts: dict[str, bytes], rehash: bool = True) -> Path:
    """An archive with these members; with ``rehash`` the SHA-256 entries are made to match."""
    return write_members(path, rehashed(parts, "checkpoint.json") if rehash else parts)


def edit(path: Path, change: Any) -> Path:
    parts = members(path)
    header = json.loads(parts["checkpoint.json"])
    change(header)
    parts["checkpoint.json"] = json.dumps(header).encode()
    return rewrite(path, parts, rehash=False)


# ============================================================================================
# 1. Checkpoints
# ============================================================================================
@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam", "rprop+", "irprop-"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_checkpoint_round_trip_is_exact(tmp_path: Path, optimizer: str, dtype: str) -> None:
    ck = trained_checkpoint(optimizer, dtype)
    back = load_checkpoint(save_checkpoint(tmp_path / "c.checkpoint", ck))
    s, b = ck.state, back.state
    np.testing.assert_array_equal(s.weights, b.weights)
    assert b.weights.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(s.order, b.order)
    assert (s.rng, s.epoch, s.updates, s.stopped) == (b.rng, b.epoch, b.updates, b.stopped)
    assert s.history.metrics == b.history.metrics
    assert set(s.optimizer) == set(b.optimizer)
    for key, value in s.optimizer.items():
        if isinstance(value, list):
            for x, y in zip(value, b.optimizer[key], strict=True):
                np.testing.assert_array_equal(x, y)
                assert x.dtype == y.dtype
        else:
            assert value == b.optimizer[key]
    (es,) = s.early_stopping
    assert {k: v for k, v in es.items() if k != "best_weights"} == {
        k: v for k, v in back.state.early_stopping[0].items() if k != "best_weights"
    }
    np.testing.assert_array_equal(es["best_weights"], back.state.early_stopping[0]["best_weights"])
    assert (back.epochs, back.best_epoch, back.monitor, back.best_value) == (4, 2, "val_loss", 0.25)
    assert back.settings == {"target": "y"}
    assert back.model.preprocessor == ck.model.preprocessor
    np.testing.assert_array_equal(back.model.network.get_flat(), ck.model.network.get_flat())
    # load_model reads a checkpoint as its (best) model
    np.testing.assert_array_equal(
        load_model(tmp_path / "c.checkpoint").network.get_flat(), ck.model.network.get_flat()
    )


def test_resuming_from_a_saved_checkpoint_continues_bit_for_bit(tmp_path: Path) -> None:
    """fit(initial_state=…) after a trip through the file equals the uninterrupted run."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    Y = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
    kwargs: dict[str, Any] = {"optimizer": "adam", "epochs": 9, "seed": 4, "batch_size": 5,
                              "validation_fraction": 0.25, "engine": "numpy"}  # fmt: skip
    whole, keep = tiny_model(), Keep()
    rp.fit(whole.network, X, Y, callbacks=[keep], early_stopping=rp.EarlyStopping(), **kwargs)
    path = save_checkpoint(tmp_path / "c.checkpoint", Checkpoint(whole, keep.states[5], 9))
    resumed = tiny_model()
    resumed.network.set_flat(np.zeros_like(resumed.network.get_flat()))  # overwritten by resume
    state = load_checkpoint(path).state
    rp.fit(resumed.network, X, Y, initial_state=state, early_stopping=rp.EarlyStopping(), **kwargs)
    np.testing.assert_array_equal(resumed.network.get_flat(), whole.network.get_flat())


def test_checkpointer_keeps_the_best_weights_and_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    ck = Checkpointer(tmp_path / "c.checkpoint", every=2)
    ck.start(model, 5)
    history = rp.fit(model.network, X, Y, optimizer="adam", epochs=5, seed=0, callbacks=[ck])
    saved = load_checkpoint(tmp_path / "c.checkpoint")
    assert saved.state.epoch == 4 and saved.monitor == "loss"
    best = int(np.argmin(history["loss"][:4])) + 1
    assert saved.best_epoch == best and saved.best_value == history["loss"][best - 1]
    before = (tmp_path / "c.checkpoint").read_bytes()

    import retroprop.files.archive as modelfile  # the zip writer of model files and checkpoints

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelfile.zipfile, "ZipFile", crash)
    with pytest.raises(OSError):
        ck.save(saved.state)
    assert (tmp_path / "c.checkpoint").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.checkpoint"]  # no temporary file left


def test_checkpointer_stops_with_a_checkpoint_when_asked(tmp_path: Path) -> None:
    from retroprop.files.checkpointer import TrainingInterrupted

    model = tiny_model()
    X = np.random.default_rng(0).normal(size=(20, 3))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    ck = Checkpointer(tmp_path / "stop.checkpoint")

    class Ask(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            if epoch == 3:
                ck.request_stop(2)

    ck.start(model, 50)
    with pytest.raises(TrainingInterrupted) as e:
        rp.fit(model.network, X, Y, optimizer="sgd", epochs=50, callbacks=[Ask(), ck])
    assert e.value.signum == 2 and e.value.checkpoint.state.epoch == 3
    assert load_checkpoint(tmp_path / "stop.checkpoint").state.epoch == 3


def test_every_truncation_is_refused(saved: Path) -> None:
    raw = saved.read_bytes()
    for cut in sorted({*range(0, len(raw), max(1, len(raw) // 150)), len(raw) - 1}):
        with pytest.raises(CheckpointError):
            read_checkpoint(io.BytesIO(raw[:cut]), "cut.checkpoint")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.update(format="retroprop.model"), "not a retroprop checkpoint"),
        (lambda h: h.update(format_version=2), "written by a newer retroprop"),
        (lambda h: h.update(format_version=0), r"format_version: expected an integer in \[1, 1\]"),
        (lambda h: h.update(epoch=10**12), r"checkpoint.epoch: expected an integer"),
        (
            lambda h: h.update(epoch=3_000_000, epochs=3_000_000),
            r"history.npy: \d+ bytes, expected about",
        ),
        (lambda h: h.update(n_train=1 << 40), r"checkpoint.n_train: expected an integer"),
        (lambda h: h.update(n_train=29), "order.npy: shape"),
        (lambda h: h["rng"].update(state="0x" + "f" * 40), "checkpoint.rng.state"),
        (lambda h: h["rng"].update(bit_generator="MT19937"), "expected 'PCG64'"),
        (lambda h: h["rng"].update(state="import os"), "hexadecimal"),
        (lambda h: h["history"].update(columns=["loss"] * 2), "duplicate names"),
        (lambda h: h["history"].update(columns=["c"] * 65), "at most 64 entries"),
        (lambda h: h["optimizer"]["numbers"].update(t="NaN"), "t: expected a number"),
        (
            lambda h: h["optimizer"]["arrays"].append("m2"),
            r"do not match the model and checkpoint.json \(optimizer_m2_0.npy",
        ),
        (lambda h: h["early_stopping"][0].update(wait=-1), r"wait: expected an integer in"),
        (lambda h: h["best"].update(value=[1]), "best.value: expected a number"),
        (lambda h: h.update(settings=[]), "settings: expected an object"),
        (lambda h: h.pop("stopped"), "checkpoint.stopped: missing"),
        (lambda h: h["arrays"]["weights.npy"].update(sha256="0" * 64), "weights.npy: SHA-256"),
    ],
)
def test_invalid_or_tampered_header_is_refused(saved: Path, change: Any, message: str) -> None:
    edit(saved, change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(saved)


def test_tampered_members_are_refused(saved: Path, tmp_path: Path) -> None:
    parts = members(saved)

    def refused(changed: dict[str, bytes], message: str, rehash: bool = False) -> None:
        path = rewrite(tmp_path / "t.checkpoint", changed, rehash)
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(path)

    weights = bytearray(parts["weights.npy"])
    weights[-1] ^= 1
    refused({**parts, "weights.npy": bytes(weights)}, "weights.npy: SHA-256 does not match")
    model = bytearray(parts["model.retroprop"])
    model[len(model) // 2] ^= 0xFF
    refused({**parts, "model.retroprop": bytes(model)}, "model.retroprop: SHA-256")
    refused({**parts, "evil.py": b"import os"}, "unexpected member[(]s[)] 'evil.py'")
    refused({k: v for k, v in parts.items() if k != "order.npy"}, "missing: order.npy")
    # a pickled object array where an optimizer array belongs: refused by its header, unread
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|O", "fortran_order": False, "shape": (4, 3)}
    )
    payload = pickle.dumps(Exploit())
    refused({**parts, "optimizer_m_0.npy": buf.getvalue() + payload}, "dtype object", rehash=True)
    # right shape, a NaN inside, hashes made to match: still refused
    bad = np.frombuffer(parts["weights.npy"][128:], dtype="<f8").copy()
    bad[0] = np.nan
    out = io.BytesIO()
    np.save(out, bad)
    refused({**parts, "weights.npy": out.getvalue()}, "non-finite", rehash=True)
    # an order that is not a permutation
    order = io.BytesIO()
    np.save(order, np.zeros(24, dtype=np.int64))
    refused({**parts, "order.npy": order.getvalue()}, "not an order of 24 samples", rehash=True)


class Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, ("raise SystemExit('pickle executed')",))


def test_pickles_and_other_files_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.checkpoint"
    evil.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError, match="not a zip archive"):
        load_checkpoint(evil)
    with pytest.raises(ModelFileError, match="a pickle"):
        load_model(evil)
    with pytest.raises(CheckpointError, match="cannot read the file"):
        load_checkpoint(tmp_path / "absent.checkpoint")
    model = rp.save_model(tmp_path / "m.retroprop", tiny_model())
    with pytest.raises(CheckpointError, match=r"no checkpoint\.json"):
        load_checkpoint(model)


def test_sizes_are_bounded_before_reading(saved: Path, tmp_path: Path) -> None:
    parts = members(saved)
    bomb = tmp_path / "bomb.checkpoint"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("checkpoint.json", b" " * (17 << 20))  # compresses to a few kB
        for name, raw in parts.items():
            if name != "checkpoint.json":
                z.writestr(name, raw)
    with pytest.raises(CheckpointError, match=r"inflates 1027 times .* a compression bomb"):
        load_checkpoint(bomb)
    with zipfile.ZipFile(bomb, "w") as z:  # stored: 17 MiB on disk, still too large a header
        z.writestr("checkpoint.json", b" " * (17 << 20))
        for name, raw in parts.items():
            if name != "checkpoint.json":
                z.writestr(name, raw)
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint(bomb)
    padded = {**parts, "weights.npy": parts["weights.npy"] + b"\0" * 100_000}
    with pytest.raises(CheckpointError, match="bytes, expected about"):
        load_checkpoint(rewrite(tmp_path / "pad.checkpoint", padded))


def mutated_checkpoints() -> st.SearchStrategy[bytes]:
    raw = save_checkpoint_bytes()
    parts = dict(members_of(raw))

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        changed = dict(parts)
        name = draw(st.sampled_from(sorted(changed)))
        data = changed[name]
        how = draw(st.integers(0, 3))
        if how == 0 and data:
            i = draw(st.integers(0, len(data) - 1))
            changed[name] = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i + 1 :]
        elif how == 1:
            changed[name] = data[: draw(st.integers(0, len(data)))]
        elif how == 2 and name == "checkpoint.json":
            header = json.loads(data)
            key = draw(st.sampled_from(sorted(header)))
            header[key] = draw(
                st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just([]))
            )
            changed[name] = json.dumps(header).encode()
        else:
            changed[name] = draw(st.binary(max_size=64))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for key, value in changed.items():
                z.writestr(key, value)
        return buf.getvalue()

    return build()


def save_checkpoint_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return save_checkpoint(Path(folder) / "c", trained_checkpoint()).read_bytes()


def members_of(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(mutated_checkpoints(), st.binary(max_size=200)))
def test_mutated_checkpoints_give_a_checkpoint_or_a_checkpoint_error(data: bytes) -> None:
    try:
        ck = read_checkpoint(io.BytesIO(data), "fuzz.checkpoint")
    except CheckpointError as exc:
        assert str(exc).startswith("fuzz.checkpoint")
        return
    assert np.all(np.isfinite(ck.state.weights))


# ============================================================================================
# 2. Audits of the source
# ============================================================================================
def python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_nothing_in_retroprop_can_unpickle() -> None:
    """No pickle, marshal or shelve; every np.load says allow_pickle=False."""
    forbidden = re.compile(
        r"\b(pickle|cPickle|dill|cloudpickle|marshal|shelve)\.(loads?|Unpickler|open)\b"
        r"|allow_pickle\s*=\s*True|joblib\.load\b|torch\.load\b|yaml\.load\b|pd\.read_pickle"
    )
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        assert not forbidden.search(text), (path, forbidden.search(text))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load"):
                flags = {k.arg: ast.unparse(k.value) for k in node.keywords}
                assert flags.get("allow_pickle") == "False", (path, node.lineno)


# Calls that write a file, and the argument that names it: (attribute, how the target shows).
WRITERS = {"write_text", "write_bytes", "savefig", "save", "savez", "savez_compressed", "dump",
           "to_csv", "writestr", "touch"}  # fmt: skip


def _atomic_targets(tree: ast.AST) -> set[str]:
    """Names bound by ``with atomic_path(...) as name`` anywhere in the module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and getattr(call.func, "id", getattr(call.func, "attr", "")) == "atomic_path"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    names.add(item.optional_vars.id)
    return names


def test_every_file_is_written_through_atomic_path() -> None:
    """Each call that writes to a path writes to the temporary path of ``atomic_path`` (or to
    an in-memory buffer, or a stream); ``open(…, "w")`` appears only on those paths too.

    Exceptions, with the reason: _fast/codegen.py writes generated kernels with its own
    temporary file and os.replace (atomic as well); _fast/background.py appends the compile
    worker's log, and _fast/compile_worker.py opens a lock file that it never writes, both
    beside the generated kernels in retroprop's private cache folder (nothing replaced).
    """
    allowed_files = {"_fast/codegen.py", "_fast/background.py", "_fast/compile_worker.py"}
    problems = []
    for path in python_files():
        rel = path.relative_to(SRC).as_posix()
        if rel in allowed_files:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        safe = _atomic_targets(tree) | {"buf", "out", "f", "z", "stream", "sys", "np"}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in WRITERS:
                owner = func.value
                first = node.args[0] if node.args else None
                # tmp.write_text(...), fig.savefig(tmp, ...), np.save(buf, ...)
                names = {getattr(owner, "id", None), getattr(first, "id", None)}
                if (
                    func.attr in ("save", "savez", "savez_compressed")
                    and getattr(owner, "id", "") != "np"
                ):
                    continue  # not numpy's: e.g. a model's own save method
                if func.attr == "dump" and getattr(owner, "id", "") not in ("json", "pickle"):
                    continue
                if not names & safe:
                    problems.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:80]}")
            if isinstance(func, ast.Name) and func.id == "open" and len(node.args) > 1:
                mode = node.args[1]
                if isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax"):
                    if getattr(node.args[0], "id", None) not in safe:
                        problems.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:80]}")
            if isinstance(func, ast.Attribute) and func.attr == "open" and node.args:
                mode = node.args[0]
                if isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax"):
                    if getattr(func.value, "id", None) not in safe:
                        problems.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not problems, "writes that bypass atomic_path:\n" + "\n".join(problems)


def test_atomic_path_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    from retroprop.files.atomic import atomic_path

    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX permissions")
def test_generated_kernels_are_not_imported_from_a_folder_others_can_write(
    tmp_path: Path,
) -> None:
    """The kernel cache holds Python source that is imported (and numba's pickled index)."""
    pytest.importorskip("numba")
    from retroprop._fast import codegen as _codegen

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(OSError, match="others may write here"):
        _codegen._check_private(shared)
    private = tmp_path / "private" / "retroprop"
    _codegen._check_private(private)
    assert private.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("flags", [0x1, 0x20, 0x40])
@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_encrypted_or_patched_members_are_refused(
    saved: Path, tmp_path: Path, flags: int, kind: str
) -> None:
    """(Found by the atheris run: zipfile raises NotImplementedError for patched data.)"""
    path = saved if kind == "checkpoint" else rp.save_model(tmp_path / "m.retroprop", tiny_model())
    raw = bytearray(path.read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    count, start = (
        int.from_bytes(raw[end + 10 : end + 12], "little"),
        int.from_bytes(raw[end + 16 : end + 20], "little"),
    )
    at = start
    for _ in range(count):  # every central-directory entry: flag bits at offset 8
        assert raw[at : at + 4] == b"PK\x01\x02"
        raw[at + 8] |= flags
        size = sum(int.from_bytes(raw[at + k : at + k + 2], "little") for k in (28, 30, 32))
        at += 46 + size
    odd = tmp_path / f"odd.{kind}"
    odd.write_bytes(bytes(raw))
    loader = load_checkpoint if kind == "checkpoint" else load_model
    with pytest.raises(ModelFileError, match="encrypted or compressed in an unsupported way"):
        loader(odd)


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_archives_of_a_newer_zip_version_are_refused(
    saved: Path, tmp_path: Path, kind: str
) -> None:
    """(Found by the atheris run: zipfile raises NotImplementedError for version > 6.3.)"""
    path = saved if kind == "checkpoint" else rp.save_model(tmp_path / "m.retroprop", tiny_model())
    raw = bytearray(path.read_bytes())
    at = int.from_bytes(raw[raw.rindex(b"PK\x05\x06") + 16 :][:4], "little")
    raw[at + 6] = 106  # "version needed to extract" of the first central-directory entry
    odd = tmp_path / f"new.{kind}"
    odd.write_bytes(bytes(raw))
    loader = load_checkpoint if kind == "checkpoint" else load_model
    with pytest.raises(ModelFileError, match=r"unsupported zip archive \(zip file version 10.6\)"):
        loader(odd)
