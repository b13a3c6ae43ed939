"""The zip archive shared by model files and checkpoints (retroprop.files.archive), the loader
that tells them apart, and the small JSON and table checks the readers rely on."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import retroprop as rp
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.data.schema import SchemaError, strict_json
from retroprop.data.tabular import DataError, Table
from retroprop.files.archive import (
    ArchiveReader,
    member_names,
    npy_bytes,
    read_archive,
    sha256,
    write_archive,
)
from retroprop.files.loader import read_model_or_checkpoint
from retroprop.files.model import Model
from retroprop.files.model_file import (
    MODEL_FILE,
    ModelFileError,
    architecture_json,
    model_members,
)

SPEC = replace(
    MODEL_FILE, format="retroprop.test", header="head.json", path="head", what="test archive"
)


def archive(members: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    write_archive(buf, members)
    buf.seek(0)
    return buf


def header(**extra: object) -> bytes:
    return json.dumps({"format": "retroprop.test", "format_version": 1, **extra}).encode()


def test_an_array_round_trips_through_the_reader() -> None:
    W = np.arange(6.0).reshape(2, 3)
    raw = npy_bytes(W)
    f = archive({"head.json": header(), "w.npy": raw})

    def read(reader: ArchiveReader) -> np.ndarray:
        assert reader.read_header()["format"] == "retroprop.test"
        return reader.read_array("w.npy", (2, 3), np.dtype(np.float64), sha256(raw))

    np.testing.assert_array_equal(read_archive(f, "t.zip", SPEC, read), W)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"other.json": b"{}"}, r"t.zip: not a retroprop test archive \(no head.json\)"),
        ({"head.json": b"{"}, r"t.zip: head.json is not valid JSON; refused"),
        ({"head.json": header(format_version=2)}, r"newer retroprop \(format version 2;"),
        ({"head.json": header(format_version="1")}, r"invalid head.json: head.format_version"),
    ],
)
def test_header_problems_name_the_file_and_the_member(
    members: dict[str, bytes], message: str
) -> None:
    with pytest.raises(ModelFileError, match=message):
        read_archive(archive(members), "t.zip", SPEC, ArchiveReader.read_header)


def test_a_wrong_digest_or_shape_is_refused_before_use() -> None:
    raw, f64 = npy_bytes(np.zeros(3)), np.dtype(np.float64)
    f = archive({"head.json": header(), "w.npy": raw})
    with pytest.raises(ModelFileError, match=r"w.npy: SHA-256 does not match head.json"):
        read_archive(f, "t.zip", SPEC, lambda r: r.read_array("w.npy", (3,), f64, "0"))
    f.seek(0)
    with pytest.raises(ModelFileError, match=r"w.npy: shape \(3,\), expected \(4,\)"):
        read_archive(f, "t.zip", SPEC, lambda r: r.read_array("w.npy", (4,), f64, ""))


def test_not_a_zip_archive_and_a_truncated_one_are_told_apart() -> None:
    with pytest.raises(ModelFileError, match=r"t.zip: not a retroprop test archive \(not a zip"):
        read_archive(io.BytesIO(b"hello"), "t.zip", SPEC, ArchiveReader.read_header)
    cut = archive({"head.json": header()}).getvalue()[:20]
    with pytest.raises(ModelFileError, match=r"\(truncated\)"):
        read_archive(io.BytesIO(cut), "t.zip", SPEC, ArchiveReader.read_header)


def test_member_names_of_garbage_is_none_and_rewinds() -> None:
    f = io.BytesIO(b"PK\x03\x04 not really")
    assert member_names(f) is None and f.tell() == 0
    g = archive({"a": b"1", "b": b"2"})
    assert member_names(g) == {"a", "b"} and g.tell() == 0


def tiny_model() -> Model:
    pre = Preprocessor(
        (Feature("x", "numeric", mean=0.0, scale=1.0),),
        Target("y", "regression", mean=0.0, scale=1.0),
        ("x", "y"),
    )
    return Model(rp.Network.create([1, 2, 1], seed=0), pre)


def test_the_header_architecture_is_architecture_json() -> None:
    model = tiny_model()
    members = model_members(model)
    assert json.loads(members["header.json"])["architecture"] == architecture_json(model.network)
    assert architecture_json(model.network) == {
        "sizes": [1, 2, 1],
        "activations": ["sigmoid", "sigmoid"],
        "loss": "squared_error",
        "dtype": "float64",
    }


def test_the_loader_reads_a_model_file_as_a_model_file(tmp_path: Path) -> None:
    path = rp.save_model(tmp_path / "m.retroprop", tiny_model())
    with path.open("rb") as f:
        model = read_model_or_checkpoint(f, "m.retroprop")
    assert model.network.sizes == [1, 2, 1]
    with zipfile.ZipFile(path, "a") as z:  # a stray checkpoint.json does not make a checkpoint
        z.writestr("checkpoint.json", b"{}")
    with pytest.raises(ModelFileError, match=r"unexpected member\(s\) 'checkpoint.json'"):
        rp.load_model(path)


def test_strict_json_refuses_with_a_schema_error() -> None:
    for raw in (b"NaN", b"\xff", b"[" * 100_000, b"{"):
        with pytest.raises(SchemaError):
            strict_json(raw)


def test_renaming_a_table_needs_one_name_per_column() -> None:
    table = Table.from_columns({"a": [1, 2], "b": [3, 4]}, source="t.csv")
    assert table.rename(["x", "y"]).names == ["x", "y"]
    with pytest.raises(DataError, match=r"t.csv: 1 column names for 2 columns"):
        table.rename(["x"])


def test_strict_json_refuses_a_huge_integer_with_its_size() -> None:
    # Python's own refusal (past 4300 digits) speaks of sys.set_int_max_str_digits()
    from retroprop.data.schema import SchemaError, strict_json

    assert strict_json(b'{"n": ' + b"9" * 400 + b"}")["n"] == int("9" * 400)
    with pytest.raises(SchemaError, match="an integer of 5001 digits") as info:
        strict_json(b'{"n": -' + b"1" * 5001 + b"}")
    assert "set_int_max_str_digits" not in str(info.value)
