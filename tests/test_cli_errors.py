"""Exit codes of the command line: a user's mistake (a RetropropError, or an option click
rejects) is one line and exit 2; anything else is a bug of ours: one line asking for a report,
and exit 1 — never mistaken for bad input."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import retroprop as rp
from retroprop.apps.compare import compare
from retroprop.apps.search import search
from retroprop.cli.app import main
from retroprop.errors import ParameterError, RetropropError

INTERNAL = "retroprop: internal error (a bug — please report it): "


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "m.retroprop"
    path.write_bytes(b"not read: the command is replaced")
    return path


def fail_with(exc: BaseException) -> object:
    def command(*args: object, **kwargs: object) -> None:
        raise exc

    return command


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        # a bug of ours, whatever its type (a ValueError is not the user's mistake by itself)
        (ValueError("shapes (3,) and (4,) not aligned"), 1, INTERNAL + "ValueError: shapes"),
        (KeyError("weights"), 1, INTERNAL + "KeyError: 'weights'"),
        (TypeError("unsupported operand"), 1, INTERNAL + "TypeError: unsupported operand"),
        # the user's mistake: exactly the RetropropError family
        (RetropropError("m.retroprop: bad"), 2, "retroprop: error: m.retroprop: bad"),
        (ParameterError("x: bad"), 2, "retroprop: error: x: bad"),
    ],
)
def test_exit_code_and_one_line_by_the_kind_of_error(
    exc: Exception,
    code: int,
    line: str,
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("retroprop.cli.show.show_model", fail_with(exc))
    assert main(["info", str(model_file)]) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--no-such-option"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("retroprop: error: ")


def test_a_value_scikit_learn_refuses_is_the_users_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scikit-learn's own parameter check (a ValueError) becomes a ParameterError naming the
    option's argument, so ``search --alpha -1`` exits 2 like any other bad value."""
    data = rp.datasets.moons(40)
    csv = tmp_path / "d.csv"
    rows = (f"{a},{b},{int(c)}\n" for (a, b), c in zip(data.X, data.labels, strict=True))
    csv.write_text("a,b,y\n" + "".join(rows))
    base = ["search", str(csv), "-t", "y", "--epochs", "2", "--cv", "2", "-q"]
    for option, value, word in [("--alpha", "-1", "alpha"), ("--lr", "0", "learning_rate")]:
        assert main([*base, "-o", str(tmp_path / "m.retroprop"), option, value]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"retroprop: error: {word}: "), lines
    assert not (tmp_path / "m.retroprop").exists()


def test_rp_compare_and_rp_search_are_the_functions() -> None:
    assert rp.compare is compare and rp.search is search
    assert inspect.isfunction(rp.compare) and inspect.isfunction(rp.search)
    assert {"compare", "search"} <= set(rp.__all__)
