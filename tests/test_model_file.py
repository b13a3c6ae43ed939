"""Tests for retroprop.files.model and retroprop.files.model_file.

1. Round trips for every configuration: activations, losses, dtypes, classification and
   regression, categorical features; predictions on raw rows.
2. Untrusted files: pickle payloads are refused without executing anything; truncated, not a
   zip, wrong format, newer version, extra/missing members, tampered arrays or header,
   oversized declarations, non-finite values.
3. Writing is atomic; a frozen version-1 file keeps loading.
4. Property-based: mutated model files give a Model or a ModelFileError, nothing else.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retroprop as rp
from helpers import members, rehashed, sample_network, write_members
from retroprop import Model, ModelFileError, load_model, save_model

DATA = Path(__file__).parent / "data"

ROWS = {"x": [0.5, 3.0, -1.0], "colour": ["red", "blue", "red"]}


def make_model(
    hidden: tuple[str, ...] = ("sigmoid",),
    output: str = "softmax",
    loss: str = "categorical_cross_entropy",
    dtype: str = "float64",
    task: str = "classification",
    classes: tuple[Any, ...] = ("no", "yes"),
) -> Model:
    pre, net = sample_network(hidden, output, loss, dtype, task, classes, width=4)
    return Model(
        net,
        pre,
        training={"solver": "adam", "learning_rate": 0.01, "epochs": 5, "hidden": [4]},
        metrics={"train_loss": 0.25, "validation_loss": float("nan")},
        data={"source": "d.csv", "sha256": "ab" * 32, "rows": 3},
    )


def rewrite(path: Path, parts: dict[str, bytes], rehash: bool = True) -> None:
    """Write an archive with these members; optionally make the header's hashes match."""
    if rehash and "header.json" in parts:
        parts = rehashed(parts, "header.json")
    write_members(path, parts)


def edit_header(path: Path, change: Any) -> None:
    parts = members(path)
    header = json.loads(parts["header.json"])
    change(header)
    parts["header.json"] = json.dumps(header).encode()
    rewrite(path, parts, rehash=False)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_model(tmp_path / "m.retroprop", make_model())


# ============================================================================================
# 1. Round trips
# ============================================================================================
OUTPUTS = {
    "classification": {
        "softmax": ["categorical_cross_entropy"],
        "sigmoid": ["squared_error", "binary_cross_entropy"],
        "tanh": ["absolute_error"],
    },
    "regression": {"identity": ["squared_error", "absolute_error"], "relu": ["squared_error"]},
}
"""Task → output activation → the losses a model file is written with."""
CONFIGS = [
    (hidden, output, loss, dtype, task)
    for hidden in [("sigmoid",), ("tanh", "relu"), ("leaky_relu", "identity"), ()]
    for task, outputs in OUTPUTS.items()
    for output, losses in outputs.items()
    for loss in losses
    for dtype in ["float64", "float32"]
]


@pytest.mark.parametrize(("hidden", "output", "loss", "dtype", "task"), CONFIGS)
def test_round_trip(
    tmp_path: Path, hidden: tuple[str, ...], output: str, loss: str, dtype: str, task: str
) -> None:
    model = make_model(hidden, output, loss, dtype, task)
    loaded = load_model(save_model(tmp_path / "m.retroprop", model))
    assert repr(loaded.network) == repr(model.network)
    assert loaded.network.dtype == np.dtype(dtype)
    for a, b in zip(loaded.network.params(), model.network.params(), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.preprocessor == model.preprocessor
    assert loaded.training == model.training and loaded.data == model.data
    assert loaded.metrics == {"train_loss": 0.25, "validation_loss": None}  # NaN → null
    assert loaded.created == model.created and loaded.format_version == 1
    assert loaded.versions == model.versions and "numpy" in loaded.versions
    np.testing.assert_array_equal(loaded.outputs(ROWS), model.outputs(ROWS))
    if task == "classification":
        assert loaded.predict(ROWS) == model.predict(ROWS)
        P = loaded.predict_proba(ROWS)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    else:
        np.testing.assert_array_equal(loaded.predict(ROWS), model.predict(ROWS))


@pytest.mark.parametrize("classes", [(0, 1, 2), (-1.5, 2.25), ("a", "1", "b c")])
def test_class_labels_keep_their_types(tmp_path: Path, classes: tuple[Any, ...]) -> None:
    loaded = load_model(save_model(tmp_path / "m.retroprop", make_model(classes=classes)))
    assert loaded.classes == classes
    assert [type(c) for c in loaded.classes] == [type(c) for c in classes]


def test_model_predicts_on_raw_rows() -> None:
    model = make_model(hidden=(), output="identity", loss="squared_error", task="regression")
    W, b = model.network.layers[0].W, model.network.layers[0].b
    # x' = (x − 1.5) / 2, colour one-hot over (blue, red); y = (W x' + b) · 3 + 10
    x = np.array([[(0.5 - 1.5) / 2, 0, 1], [(3 - 1.5) / 2, 1, 0], [(-1 - 1.5) / 2, 0, 1]])
    expected = (x @ W.T + b)[:, 0] * 3 + 10
    np.testing.assert_allclose(model.predict(ROWS), expected)
    with pytest.raises(ValueError, match=r"regression model"):
        model.predict_proba(ROWS)


def test_sigmoid_outputs_are_normalised_to_probabilities() -> None:
    model = make_model(output="sigmoid", loss="squared_error")
    O, P = model.outputs(ROWS), model.predict_proba(ROWS)
    np.testing.assert_allclose(P, O / O.sum(axis=1, keepdims=True))


def test_inconsistent_model_is_refused() -> None:
    model = make_model()
    with pytest.raises(
        ValueError,
        match=r"the network has 3 inputs and 3 outputs, but the preprocessing makes 3 inputs and 2",
    ):
        Model(rp.Network.create([3, 3]), model.preprocessor)


# ============================================================================================
# 2. Untrusted files
# ============================================================================================
class Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def test_the_payload_is_live(tmp_path: Path) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(Payload(proof))).close()
    assert proof.exists()  # so its absence below means nothing was unpickled


def object_npy(marker: Path) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["file", "header", "array", "array-header-dtype", "extra"])
def test_pickle_payloads_are_refused_without_running(
    tmp_path: Path, saved: Path, where: str
) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Payload(marker))
    parts = members(saved)
    if where == "file":
        saved.write_bytes(payload)
    elif where == "header":
        rewrite(saved, {**parts, "header.json": payload}, rehash=False)
    elif where.startswith("array"):
        parts["weights_0.npy"] = object_npy(marker)
        if where == "array-header-dtype":
            header = json.loads(parts["header.json"])
            header["architecture"]["dtype"] = "object"
            parts["header.json"] = json.dumps(header).encode()
        rewrite(saved, parts)  # hashes made to match: the dtype check must catch it
    else:
        rewrite(saved, {**parts, "evil.pkl": payload})
    with pytest.raises(ModelFileError, match=r"refused|not valid JSON|dtype") as info:
        load_model(saved)
    assert "m.retroprop" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_text("a,b\n1,2\n"), r"not a retroprop model file \(not a zip archive\)"),
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated"),
        (lambda p: rewrite(p, {"readme.txt": b"hi"}), "no header.json"),
    ],
)
def test_not_a_model(saved: Path, damage: Any, message: str) -> None:
    damage(saved)
    with pytest.raises(ModelFileError, match=message):
        load_model(saved)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"none.retroprop: cannot read the file"):
        load_model(tmp_path / "none.retroprop")


def test_every_truncation_is_refused(saved: Path) -> None:
    raw = saved.read_bytes()
    for cut in range(0, len(raw), max(1, len(raw) // 40)):
        saved.write_bytes(raw[:cut])
        with pytest.raises(ModelFileError):
            load_model(saved)


HEADER_EDITS = [
    (lambda h: h.update(format="other"), "format is not 'retroprop.model'"),
    (lambda h: h.update(format_version=2), "newer retroprop .format version 2; this one reads"),
    (lambda h: h.update(format_version=0), r"header.format_version: expected an integer in"),
    (lambda h: h.update(format_version="1"), r"header.format_version: expected an integer"),
    (lambda h: h.pop("preprocessing"), r"header.preprocessing: missing"),
    (
        lambda h: h["architecture"].update(sizes=[3, 5, 2]),
        r"weights_0.npy: expected shape \[5, 3\]",
    ),
    (lambda h: h["architecture"].update(activations=["evil", "softmax"]), "invalid activation"),
    (lambda h: h["architecture"].update(activations=["softmax", "softmax"]), "invalid activat"),
    (lambda h: h["architecture"].update(loss="os.system"), "unknown loss 'os.system'"),
    (lambda h: h["architecture"].update(dtype="float16"), "expected 'float32' or 'float64'"),
    (lambda h: h["architecture"].update(sizes=[3, 10**7, 20]), "more than this reader accepts"),
    (lambda h: h["architecture"].update(sizes=[3, 10**8, 2]), r"sizes\[1\]: expected an int"),
    (lambda h: h["architecture"].update(sizes=[3, True, 2]), r"sizes\[1\]: expected an int"),
    (lambda h: h["preprocessing"]["features"][0].update(scale=0), r"features\[0\].scale"),
    (lambda h: h["preprocessing"]["features"].pop(), "preprocessing makes 1 inputs"),
    (lambda h: h["preprocessing"]["target"].update(kind="magic"), r"target.kind: expected"),
    (lambda h: h["arrays"]["biases_0.npy"].update(sha256="0" * 64), "SHA-256 does not match"),
    (lambda h: h.update(training=[1]), r"header.training: expected an object"),
]


@pytest.mark.parametrize(("change", "message"), HEADER_EDITS)
def test_invalid_or_tampered_header_is_refused(saved: Path, change: Any, message: str) -> None:
    edit_header(saved, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(saved)


def test_header_that_is_not_json(saved: Path) -> None:
    for bad in (b"{", b"\xff\xfe", b'{"format": NaN}', b"[" * 100_000):
        rewrite(saved, {**members(saved), "header.json": bad}, rehash=False)
        with pytest.raises(ModelFileError, match=r"header.json is not valid JSON"):
            load_model(saved)


def test_tampered_array_bytes(saved: Path) -> None:
    parts = members(saved)
    raw = bytearray(parts["weights_1.npy"])
    raw[-1] ^= 0x01
    parts["weights_1.npy"] = bytes(raw)
    rewrite(saved, parts, rehash=False)
    with pytest.raises(ModelFileError, match=r"weights_1.npy: SHA-256 does not match"):
        load_model(saved)


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 3), dtype=np.int64), "dtype int64, expected float64"),
        (np.zeros((3, 4)), r"shape \(3, 4\), expected \(4, 3\)"),
        (np.asfortranarray(np.zeros((4, 3))), r"Fortran \(column-major\) order, expected C"),
        (np.full((4, 3), np.nan), "non-finite values"),
    ],
)
def test_bad_arrays_are_refused(saved: Path, array: np.ndarray, message: str) -> None:
    rewrite(saved, {**members(saved), "weights_0.npy": npy(array)})  # hashes made to match
    with pytest.raises(ModelFileError, match=message):
        load_model(saved)


def test_big_endian_arrays_load_and_fortran_order_is_named(saved: Path, tmp_path: Path) -> None:
    """Byte order is converted; column-major order is refused with a message that says so
    (it once said "dtype float64, expected float64")."""
    W = load_model(saved).network.layers[0].W
    rewrite(saved, {**members(saved), "weights_0.npy": npy(W.astype(">f8"))})
    assert np.array_equal(load_model(saved).network.layers[0].W, W)
    rewrite(saved, {**members(saved), "weights_0.npy": npy(np.asfortranarray(W))})
    result = subprocess.run(
        [sys.executable, "-m", "retroprop", "info", str(saved)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "weights_0.npy: stored in Fortran (column-major) order" in result.stderr
    assert "expected float64" not in result.stderr


def test_huge_array_declaration_is_refused_before_reading(saved: Path) -> None:
    # a valid .npy header that claims 10⁹ floats, followed by nothing
    fake = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9,)}
    np.lib.format.write_array_header_1_0(fake, header)
    rewrite(saved, {**members(saved), "weights_0.npy": fake.getvalue()})
    with pytest.raises(ModelFileError, match=r"shape \(1000000000,\), expected \(4, 3\)"):
        load_model(saved)


def test_extra_missing_and_duplicate_members(saved: Path) -> None:
    parts = members(saved)
    rewrite(saved, {k: v for k, v in parts.items() if k != "biases_1.npy"})
    with pytest.raises(ModelFileError, match=r"missing array.* biases_1.npy"):
        load_model(saved)
    rewrite(saved, {**parts, "notes.txt": b"hello"})
    with pytest.raises(ModelFileError, match=r"unexpected member.*'notes.txt'"):
        load_model(saved)
    with pytest.warns(UserWarning, match=r"Duplicate name"), zipfile.ZipFile(saved, "a") as z:
        z.writestr("weights_0.npy", parts["weights_0.npy"])
    with pytest.raises(ModelFileError, match=r"duplicate members"):
        load_model(saved)


def test_zip_bomb_header_is_refused(saved: Path) -> None:
    rewrite(saved, {**members(saved), "header.json": b" " * (17 << 20)}, rehash=False)
    with pytest.raises(ModelFileError, match=r"header.json' is too large"):
        load_model(saved)


def test_total_size_is_capped_before_reading(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from retroprop.files import model_file as modelfile

    monkeypatch.setattr(modelfile, "MODEL_FILE", replace(modelfile.MODEL_FILE, max_bytes=100))
    with pytest.raises(ModelFileError, match=r"bytes uncompressed, more than this reader accepts"):
        load_model(saved)


def test_stored_members_and_big_endian_arrays_are_fine(saved: Path) -> None:
    parts = members(saved)
    W = load_model(saved).network.layers[0].W
    parts["weights_0.npy"] = npy(W.astype(">f8"))
    rewrite(saved, parts)  # written uncompressed (ZIP_STORED), hashes made to match
    loaded = load_model(saved)
    np.testing.assert_array_equal(loaded.network.layers[0].W, W)
    assert loaded.network.layers[0].W.dtype == np.float64


# ============================================================================================
# 3. Atomic writes, the frozen version-1 file
# ============================================================================================
def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_model(tmp_path / "m.retroprop", make_model())
    before = path.read_bytes()
    calls = []

    def failing(self: zipfile.ZipFile, info: Any, data: Any, *args: Any, **kw: Any) -> None:
        calls.append(info)
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(OSError, match=r"disk full"):
        save_model(path, make_model(task="regression", output="identity", loss="squared_error"))
    assert calls and path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.retroprop"]


def test_frozen_version_1_file_still_loads() -> None:
    """tests/data/model_v1.retroprop was written by format version 1; never regenerate it."""
    model = load_model(DATA / "model_v1.retroprop")
    assert model.format_version == 1
    assert repr(model.network) == "Network(3 → 4 tanh → 2 softmax, categorical_cross_entropy)"
    assert model.predict(ROWS) == ["yes", "no", "yes"]
    np.testing.assert_allclose(
        model.predict_proba(ROWS)[:, 1], [0.5984670367, 0.4939105491, 0.8195474256], rtol=1e-9
    )


# ============================================================================================
# 4. Property-based: mutated files
# ============================================================================================
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_files_give_a_model_or_a_model_file_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    path = tmp_path / "fuzz.retroprop"
    raw = bytearray((DATA / "model_v1.retroprop").read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[i : i + data.draw(st.integers(1, 64))]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    path.write_bytes(bytes(raw))
    try:
        model = load_model(path)
    except ModelFileError as exc:
        assert str(exc).startswith("fuzz.retroprop: ")
        return
    assert model.network.sizes == [3, 4, 2]
