"""Tests for retroprop.data.tabular (CSV reading) and retroprop.data.preprocessing.

1. Detection: delimiter, header, decimal comma, quoting, line endings, line numbers.
2. Every documented bad input gives a DataError naming file, line and column.
3. Preprocessing: scaling, one-hot, target encoding, task detection, missing values,
   columns that differ at prediction time, JSON round trip.
4. Property-based: random and mutated CSV bytes only ever give a Table or a DataError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import preprocessed
from retroprop import DataError, DataWarning, Preprocessor, Table, read_csv
from retroprop.data.schema import SchemaError
from retroprop.data.tabular import MISSING, NUMBER, TEXT


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def read(tmp_path: Path, text: str | bytes) -> Table:
    return read_csv(write(tmp_path, text))


def values(table: Table, name: str) -> list[float]:
    return table.column(name).values.tolist()


# ============================================================================================
# 1. Detection
# ============================================================================================
def test_comma_file_with_header(tmp_path: Path) -> None:
    t = read(tmp_path, "x,y,label\n1.5,2,a\n-3e2,4,b\n")
    assert (t.delimiter, t.decimal, t.has_header) == (",", ".", True)
    assert t.names == ["x", "y", "label"]
    assert values(t, "x") == [1.5, -300.0]
    assert t.lines.tolist() == [2, 3]
    assert t.source == "data.csv" and t.sha256 is not None and len(t.sha256) == 64


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    t = read(tmp_path, "x;y;label\n3,14;2,5;a\n1,0;7;b\n")
    assert (t.delimiter, t.decimal) == (";", ",")
    assert values(t, "x") == [3.14, 1.0] and values(t, "y") == [2.5, 7.0]


def test_headerless_semicolon_decimal_comma_file(tmp_path: Path) -> None:
    # Splits consistently on both "," and ";": a semicolon file with decimal commas.
    t = read(tmp_path, "1,5;2,5\n3,5;4,5\n")
    assert (t.delimiter, t.has_header) == (";", False)
    assert t.names == ["column_1", "column_2"]
    assert values(t, "column_1") == [1.5, 3.5]


def test_tab_file(tmp_path: Path) -> None:
    t = read(tmp_path, "a\tb\n1\t2\n3\t4\n")
    assert t.delimiter == "\t" and values(t, "b") == [2.0, 4.0]


def test_comma_file_does_not_read_decimal_commas(tmp_path: Path) -> None:
    t = read(tmp_path, 'x,name\n"3,5",a\n2,b\n')
    assert t.column("x").status.tolist() == [TEXT, NUMBER]


def test_quoted_fields_with_delimiters_and_newlines_keep_line_numbers(tmp_path: Path) -> None:
    t = read(tmp_path, 'x,note\n1,"a, b"\n2,"two\nlines"\n3,c\n')
    assert t.column("note").text(0) == "a, b"
    assert t.column("note").text(1) == "two\nlines"
    assert t.lines.tolist() == [2, 3, 5]  # the third record starts on line 5


def test_header_detection(tmp_path: Path) -> None:
    assert not read(tmp_path, "1,2,3\n4,5,6\n").has_header
    assert not read(tmp_path, "red,3.5,yes\nblue,2.1,no\n").has_header
    assert read(tmp_path, "a,b\n1,2\n").has_header
    # "2019" could be data, but the "label" column below starts with a word
    assert read(tmp_path, "x,2019\n1,2\n").has_header
    forced = read_csv(write(tmp_path, "1,2\n3,4\n"), header=True)
    assert forced.names == ["1", "2"] and forced.n_rows == 1


def test_bom_crlf_blank_lines_and_trailing_delimiters(tmp_path: Path) -> None:
    t = read(tmp_path, b"\xef\xbb\xbfa,b,\r\n1,2,\r\n\r\n3,4,\r\n")
    assert t.names == ["a", "b"]
    assert values(t, "a") == [1.0, 3.0]
    assert t.lines.tolist() == [2, 4]


def test_old_mac_line_endings(tmp_path: Path) -> None:
    t = read(tmp_path, "a,b\r1,2\r3,4\r")
    assert values(t, "b") == [2.0, 4.0]


def test_missing_tokens_infinities_and_text(tmp_path: Path) -> None:
    t = read(tmp_path, "x\n1\n\nNA\nnan\n?\ninf\n-Infinity\n1e999\n1_000\n")
    # the blank line is skipped; NA and nan are missing; inf (also by overflow) is infinite
    assert t.column("x").status.tolist() == [NUMBER, MISSING, MISSING, TEXT, 3, 3, 3, TEXT]


def test_from_columns() -> None:
    t = Table.from_columns({"x": [1.5, None, "2"], "c": ["a", "b", "a"]})
    assert values(t, "x")[0] == 1.5 and t.column("x").status[1] == MISSING
    assert t.column("c").vocabulary == ["a", "b"]
    with pytest.raises(DataError, match=r"different lengths"):
        Table.from_columns({"x": [1], "y": [1, 2]})


# ============================================================================================
# 2. Bad files
# ============================================================================================
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "data.csv: the file is empty"),
        ("\n  \n\n", "data.csv: the file is empty"),
        ("a,b,c\n", r"data.csv: no data rows after the header \(line 1\)"),
        ("a,b,c\n1,2,3\n4,5\n", r"data.csv, line 3: 2 fields, expected 3 as in the header"),
        ("a,b,a\n1,2,3\n", r"data.csv, line 1: duplicate column name 'a' \(columns 1 and 3\)"),
        (b"a,b\n1,2\n3,caf\xe9\n", r"data.csv, line 3: not UTF-8 text \(byte 0xe9"),
        (b"\xff\xfea\x00,\x00b\x00", "not UTF-8"),
        ("a,b\n1,\0\n", "NUL bytes"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read(tmp_path, content)


def test_other_encodings_are_read_as_a_stream(tmp_path: Path) -> None:
    """``encoding=`` decodes the stream reader's lines (a pipe too); a byte the encoding lacks
    is named with its line and byte position, as UTF-8's are."""
    import os
    import threading

    text = "especie;isla;peso\nAdélie;Rêve;3,5\nGentoo;Biscoe;5\n"
    table = read_csv(write(tmp_path, text.encode("latin-1")), encoding="latin-1")
    assert table.column("especie").text(0) == "Adélie" and values(table, "peso") == [3.5, 5.0]
    utf16 = read_csv(write(tmp_path, text.encode("utf-16"), "u16.csv"), encoding="UTF16")
    assert utf16.column("isla").text(0) == "Rêve"
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    feed = threading.Thread(target=fifo.write_bytes, args=(text.encode("cp1252"),))
    feed.start()
    piped = read_csv(fifo, encoding="cp1252")
    feed.join()
    assert piped.column("especie").text(0) == "Adélie"
    assert piped.sha256 == table.sha256  # the same bytes: cp1252 and latin-1 agree here
    # 0x81 is not a cp1252 character: named like a byte that is not UTF-8
    bad = write(tmp_path, b"a;b\n1;x\n2;\xe9\x81\n", "bad.csv")
    with pytest.raises(
        DataError,
        match=r"bad.csv, line 3: not cp1252 text \(byte 0x81 at "
        r"position 4\); save the file as UTF-8, or give its encoding",
    ):
        read_csv(bad, encoding="cp1252")


@pytest.mark.parametrize("name", ["klingon", "rot13", "base64", ""])
def test_an_unknown_or_non_text_encoding_is_refused(tmp_path: Path, name: str) -> None:
    from retroprop.errors import ParameterError

    with pytest.raises(ParameterError, match="unknown text encoding"):
        read_csv(write(tmp_path, "a,b\n1,2\n"), encoding=name)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing.csv: cannot read the file"):
        read_csv(tmp_path / "nothing.csv")


def test_unknown_column_suggests_the_closest_name(tmp_path: Path) -> None:
    t = read(tmp_path, "sepal_length,species\n1,a\n2,b\n")
    with pytest.raises(DataError, match=r"no target column 'Species'; did you mean 'species'"):
        t.column("Species", "target column")
    with pytest.raises(DataError, match=r"did you mean 'sepal_length'"):
        t.column("sepal_lenght")
    with pytest.raises(DataError, match=r"no column 'zzz'\. Columns: 'sepal_length', 'species'"):
        t.column("zzz")


def test_wrong_delimiter_is_hinted(tmp_path: Path) -> None:
    t = read(tmp_path, "a|b|y\n1|2|x\n")
    with pytest.raises(DataError, match=r"one column only: is the delimiter"):
        t.column("y")


# ============================================================================================
# 3. Preprocessing
# ============================================================================================
MIXED = "x;colour;size;label\n1,0;red;3;yes\n2,0;blue;3;no\n3,0;red;5;yes\n4,0;green;9;no\n"


def test_scaling_one_hot_and_class_encoding(tmp_path: Path) -> None:
    t = read(tmp_path, MIXED)
    pre, rows = Preprocessor.fit(t, "label")
    assert [f.kind for f in pre.features] == ["numeric", "categorical", "numeric"]
    assert pre.features[1].categories == ("blue", "green", "red")
    assert pre.target.classes == ("no", "yes")
    X = pre.transform(t, rows)
    assert X.shape == (4, 1 + 3 + 1) == (4, pre.n_inputs)
    # x = 1, 2, 3, 4: mean 2.5, population standard deviation √1.25
    np.testing.assert_allclose(X[:, 0], (np.arange(1, 5) - 2.5) / np.sqrt(1.25))
    np.testing.assert_array_equal(X[:, 1:4], [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(pre.encode_target(t, rows), [[0, 1], [1, 0], [0, 1], [1, 0]])
    assert pre.decode(np.array([[0.2, 0.8], [0.9, 0.1]])) == ["yes", "no"]


def test_categorical_option_for_numeric_codes(tmp_path: Path) -> None:
    t = read(tmp_path, MIXED)
    pre, _ = Preprocessor.fit(t, "label", categorical=["size"], ignore=["colour"])
    assert [f.name for f in pre.features] == ["x", "size"]
    assert pre.features[1].categories == ("3", "5", "9")
    with pytest.raises(DataError, match=r"no column 'sise'; did you mean 'size'"):
        Preprocessor.fit(t, "label", categorical=["sise"])


@pytest.mark.parametrize(
    ("target", "kind", "classes"),
    [
        ("a\nx\ny\nx\n", "classification", ("x", "y")),
        ("1\n2\n1\n3\n", "classification", (1, 2, 3)),
        ("1.0\n2.0\n1.0\n2.0\n", "classification", (1, 2)),
        ("0.5\n1.5\n2.5\n3.5\n", "regression", ()),
        ("\n".join(map(str, range(30))) + "\n", "regression", ()),
    ],
)
def test_task_is_decided_from_the_target(
    tmp_path: Path, target: str, kind: str, classes: tuple[object, ...]
) -> None:
    ys = target.split("\n")
    lines = ["x,y"] + [f"{i},{v}" for i, v in enumerate(ys[1:] if ys[0] == "a" else ys) if v]
    pre, _ = Preprocessor.fit(read(tmp_path, "\n".join(lines) + "\n"), "y")
    assert pre.target.kind == kind and pre.target.classes == classes


def test_task_override_and_regression_scaling(tmp_path: Path) -> None:
    t = read(tmp_path, "x,y\n1,1\n2,2\n3,1\n4,2\n")
    pre, rows = Preprocessor.fit(t, "y", task="regression")
    assert (pre.target.mean, pre.target.scale) == (1.5, 0.5)
    np.testing.assert_allclose(pre.encode_target(t, rows)[:, 0], [-1, 1, -1, 1])
    np.testing.assert_allclose(pre.decode(np.array([[1.0], [-2.0]])), [2.0, 0.5])
    text = read(tmp_path, "x,y\n1,a\n2,b\n")
    with pytest.raises(DataError, match=r"line 2, column 'y': 'a' is not a number"):
        Preprocessor.fit(text, "y", task="regression")


def test_single_class_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"target 'y' has a single class 'a'"):
        Preprocessor.fit(read(tmp_path, "x,y\n1,a\n2,a\n"), "y")


def test_constant_column_warns(tmp_path: Path) -> None:
    t = read(tmp_path, "x,c,y\n1,5,a\n2,5,b\n")
    with pytest.warns(DataWarning, match=r"column 'c' has the same value '5' in every row"):
        pre, rows = Preprocessor.fit(t, "y")
    assert np.all(pre.transform(t, rows)[:, 1] == 0)


def test_text_in_a_numeric_column_names_line_and_column(tmp_path: Path) -> None:
    t = read(tmp_path, "x,y\n1,a\n2,b\noops,a\n4,b\n")
    with pytest.raises(DataError, match=r"data.csv, line 4, column 'x': 'oops' is not a number"):
        Preprocessor.fit(t, "y")


def test_infinite_values_are_refused(tmp_path: Path) -> None:
    t = read(tmp_path, "x,y\n1,a\n-inf,b\n")
    with pytest.raises(DataError, match=r"line 3, column 'x': infinite value '-inf'"):
        Preprocessor.fit(t, "y")


MISSING_CSV = "x,c,y\n1,red,a\n,blue,b\n3,,a\nNaN,red,b\n5,blue,\n6,red,b\n"


def test_missing_values_are_listed_by_column_and_line(tmp_path: Path) -> None:
    t = read(tmp_path, MISSING_CSV)
    with pytest.raises(DataError) as info:
        Preprocessor.fit(t, "y")
    message = str(info.value)
    assert "column 'x' on lines 3, 5" in message
    assert "column 'c' on line 4" in message and "column 'y' on line 6" in message
    # a Python caller is told the keyword (the command line's flags: test_cli_train)
    assert 'missing="drop"' in message and 'missing="mean"' in message
    assert "--" not in message


def test_missing_values_dropped(tmp_path: Path) -> None:
    t = read(tmp_path, MISSING_CSV)
    with pytest.warns(DataWarning) as caught:
        pre, rows = Preprocessor.fit(t, "y", missing="drop")
    assert "data.csv: skipped 4 of 6 rows with missing values" in str(caught[0].message)
    assert "column 'c' has the same value 'red'" in str(caught[1].message)  # in the kept rows
    assert t.lines[rows].tolist() == [2, 7]
    assert pre.transform(t, rows).shape == (2, 2)


def test_missing_values_imputed(tmp_path: Path) -> None:
    t = read(tmp_path, MISSING_CSV)
    with pytest.raises(DataError, match=r"a target cannot be imputed"):
        Preprocessor.fit(t, "y", missing="mean")
    t = t.take(np.array([0, 1, 2, 3, 5]))
    pre, rows = Preprocessor.fit(t, "y", missing="mean")
    assert pre.features[0].mean == pytest.approx((1 + 3 + 6) / 3)
    assert pre.features[1].mode == "red"
    X = pre.transform(t, rows, missing="mean")
    assert X[1, 0] == 0.0 and X[3, 0] == 0.0  # the mean, standardised
    np.testing.assert_array_equal(X[2, 1:], [0, 1])  # missing colour → "red"
    assert pre.missing == "mean"  # the policy is the model's: filled without asking again
    np.testing.assert_array_equal(pre.transform(t, rows), X)
    with pytest.raises(DataError, match=r"missing values in column 'x'.*refused as asked"):
        pre.transform(t, rows, missing="error")


def test_prediction_columns_reordered_extra_missing(tmp_path: Path) -> None:
    train = read(tmp_path, MIXED)
    pre, rows = Preprocessor.fit(train, "label")
    X = pre.transform(train, rows)
    shuffled = read(
        tmp_path,
        "size;extra;label;colour;x\n3;0;yes;red;1,0\n3;0;no;blue;2,0\n"
        "5;0;yes;red;3,0\n9;0;no;green;4,0\n",
    )
    with pytest.warns(DataWarning, match=r"ignoring column the model does not use: 'extra'"):
        aligned = pre.align(shuffled)
    np.testing.assert_allclose(pre.transform(aligned), X)
    with pytest.raises(DataError, match=r"missing columns 'colour', 'size'"):
        pre.align(read(tmp_path, "x;label\n1;a\n"))


def test_headerless_prediction_data_is_matched_by_position(tmp_path: Path) -> None:
    train = read(tmp_path, "a,b,y\n1,2,p\n3,4,q\n")
    pre, _ = Preprocessor.fit(train, "y")
    for text in ("1,2,p\n3,4,q\n", "1,2\n3,4\n"):
        table = pre.align(read(tmp_path, text))
        np.testing.assert_allclose(pre.transform(table), [[-1, -1], [1, 1]])


def test_unseen_category(tmp_path: Path) -> None:
    pre, _ = Preprocessor.fit(read(tmp_path, MIXED), "label")
    new = read(tmp_path, "x;colour;size\n1;purple;3\n2;red;3\n")
    with pytest.raises(DataError, match=r"line 2, column 'colour': unknown category 'purple'"):
        pre.transform(new)
    with pytest.warns(DataWarning, match=r"encoded as all zeros"):
        X = pre.transform(new, unknown="ignore")
    np.testing.assert_array_equal(X[:, 1:4], [[0, 0, 0], [0, 0, 1]])


def test_unknown_class_when_scoring(tmp_path: Path) -> None:
    pre, _ = Preprocessor.fit(read(tmp_path, MIXED), "label")
    new = read(tmp_path, "x;colour;size;label\n1;red;3;maybe\n")
    with pytest.raises(DataError, match=r"line 2, column 'label': unknown class 'maybe'"):
        pre.encode_target(new)


def test_json_round_trip_and_validation(tmp_path: Path) -> None:
    pre, _ = Preprocessor.fit(read(tmp_path, MIXED), "label")
    assert Preprocessor.from_json(pre.to_json()) == pre
    reg, _ = Preprocessor.fit(read(tmp_path, "x,y\n1,0.5\n2,1.5\n"), "y")
    assert Preprocessor.from_json(reg.to_json()) == reg
    bad = pre.to_json()
    bad["features"][0]["scale"] = 0
    with pytest.raises(SchemaError, match=r"preprocessing.features\[0\].scale: expected a posi"):
        Preprocessor.from_json(bad)
    bad = pre.to_json()
    bad["target"]["classes"] = ["a"]
    with pytest.raises(SchemaError, match=r"preprocessing.target.classes: expected at least two"):
        Preprocessor.from_json(bad)


# ============================================================================================
# 4. Property-based: only a Table or a DataError
# ============================================================================================
NUMBERS = st.from_regex(r"-?[0-9]{1,3}([.,][0-9]{1,2})?", fullmatch=True)
WORDS = st.sampled_from(["red", "blue", "green"])
ODD = st.sampled_from(["", "NA", "nan", "inf", '"q,uo""te"', " x ", "1e999", "é"]) | st.text(
    alphabet='ab,;\t"\n\r 0.', max_size=4
)


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    """A header and rows of typed columns (numbers or words), some cells odd, then mutated."""
    n_cols = draw(st.integers(1, 4))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    kinds = [draw(st.sampled_from([NUMBERS, WORDS])) for _ in range(n_cols)]
    odd = draw(st.sampled_from([0.0, 0.1, 0.5]))
    rows = [[f"c{j}" for j in range(n_cols)]] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 8))):
        rows.append([draw(ODD if draw(st.floats(0, 1)) < odd else k) for k in kinds])
    text = "\n".join(sep.join(r) for r in rows).encode()
    if text and draw(st.integers(0, 3)) == 0:  # a stray byte or a cut
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.binary(max_size=3)) + text[i:]
    if text and draw(st.integers(0, 3)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(csv_texts(), st.binary(max_size=60)))
def test_any_bytes_give_a_table_or_a_data_error(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data, "fuzz.csv")
    try:
        table = read_csv(path)
    except DataError as exc:
        assert str(exc).startswith("fuzz.csv")
        return
    assert table.n_rows >= 1 and all(len(c.values) == table.n_rows for c in table.columns)
    for pre, rows, _ in preprocessed(table):  # inputs checked there: finite, (rows, n_inputs)
        assert pre.encode_target(table, rows).shape == (len(rows), pre.n_outputs)
        assert Preprocessor.from_json(pre.to_json()) == pre


def test_columns_that_look_like_identifiers_are_warned_about_a_few_at_a_time() -> None:
    """One warning per ID-like text column (Python's spelling of the advice), five at most and
    one line for the rest; a text column with repeated values is not one."""
    n = 40
    columns: dict[str, list[object]] = {f"id{k}": [f"r{k}-{i}" for i in range(n)] for k in range(7)}
    columns["colour"] = [("red", "green", "blue")[i % 3] for i in range(n)]
    columns["y"] = [i % 2 for i in range(n)]
    with pytest.warns(DataWarning) as caught:
        Preprocessor.fit(Table.from_columns(columns), "y")
    lines = [str(w.message) for w in caught]
    assert lines[0] == (
        "<columns>: column 'id0' has 40 distinct values in 40 rows; it looks like an "
        "identifier — ignore=['id0']?"
    )
    assert len(lines) == 6 and "and 2 more columns that look like identifiers ('id5'" in lines[5]
    assert not any("colour" in line for line in lines)


def test_read_csv_bytes_is_read_csv(tmp_path: Path) -> None:
    """A CSV's bytes in memory (the playground's upload) read exactly as the file."""
    from retroprop.data.tabular import read_csv_bytes

    raw = "\ufeffa;b;<script>c\n1,5;x;2\n;y;3\n".encode()
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    from_file, from_bytes = read_csv(path), read_csv_bytes(raw, "t.csv")
    assert from_bytes.names == from_file.names == ["a", "b", "<script>c"]
    assert from_bytes.sha256 == from_file.sha256 and from_bytes.n_rows == 2
    for a, b in zip(from_file.columns, from_bytes.columns, strict=True):
        np.testing.assert_array_equal(a.status, b.status)
    with pytest.raises(DataError, match=r"up\.csv"):
        read_csv_bytes(b"a,b\n1\n", "up.csv")
