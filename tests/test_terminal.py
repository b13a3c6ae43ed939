"""Users' strings on the terminal: shown as written, never read as rich markup or obeyed as
terminal control sequences (retroprop.views.terminal and the CLI's consoles)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from rich.console import Console

from retroprop.files.loader import load_model
from retroprop.views.terminal import json_text, plain, visible

if TYPE_CHECKING:
    from conftest import RunCli

ESC = "\x1b"
LABELS = ["[/red]", "[link=https://x]cat[/link]", f"{ESC}[31mred"]
TITLE_COLUMN = f"{ESC}]0;title\x07b"  # a header that sets the terminal's window title


def test_visible_escapes_control_characters() -> None:
    assert visible(f"{ESC}[31mred") == "\\x1b[31mred"
    assert visible(TITLE_COLUMN) == "\\x1b]0;title\\x07b"
    assert visible("a\x9bb\u202ec\x7f") == "a\\x9bb\\u202ec\\x7f"
    assert visible("one\ntwo\tthree\r") == "one\\ntwo\\tthree\\r"
    assert visible("one\ntwo\tthree\r", lines=True) == "one\ntwo\tthree\\r"
    assert visible("équation Σ η → ok [b]") == "équation Σ η → ok [b]"  # text is text


def test_plain_is_never_markup() -> None:
    console = Console(record=True, width=200, force_terminal=True)
    for label in LABELS:
        console.print(plain(label))
    text = console.export_text()
    assert "[/red]" in text and "[link=https://x]cat[/link]" in text and "\\x1b[31mred" in text
    assert ESC not in text


def test_json_text_is_the_same_json() -> None:
    value = {"label": "a\x9b\u202e\x7f" + ESC}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(c in text for c in "\x9b\u202e\x7f" + ESC)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV whose class labels are rich markup and an ANSI colour, with a header that would set
    the window title; the labels follow a clean feature so that training separates them."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    lines = [f"a,{TITLE_COLUMN},label"]
    for i in range(60):
        k = i % 3
        lines.append(f'{k + 0.1 * rng.random():.4f},{rng.random():.4f},"{LABELS[k]}"')
    (folder / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _clean(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """stdout and stderr of a run that succeeded and sent no control character."""
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err
    assert ESC not in out and ESC not in err and "\x07" not in out + err
    assert "internal error" not in err
    return out, err


def test_hostile_labels_and_header_in_every_command(hostile: Path, run_cli: RunCli) -> None:
    data, model = hostile / "data.csv", hostile / "m.retroprop"
    out, _ = _clean(run_cli("train", str(data), "-t", "label", "-o", str(model), "--epochs", "5"))
    assert "[/red]" in out and "[link=https://x]cat[/link]" in out and "\\x1b[31mred" in out
    saved = load_model(model)  # the model file keeps the labels as they are
    assert sorted(map(str, saved.classes)) == sorted(LABELS)
    assert TITLE_COLUMN in [f.name for f in saved.preprocessor.features]

    out, _ = _clean(run_cli("info", str(model)))
    assert "[link=https://x]cat[/link]" in out and "\\x1b]0;title\\x07b" in out
    described = json.loads(_clean(run_cli("info", str(model), "--json"))[0])
    assert TITLE_COLUMN in described["preprocessing"]["columns"]

    out, _ = _clean(run_cli("evaluate", str(model), str(data)))
    assert "[/red]" in out and "[link=https://x]cat[/link]" in out and "\\x1b[31mred" in out
    scores = json.loads(_clean(run_cli("evaluate", str(model), str(data), "--json"))[0])
    assert sorted(row["class"] for row in scores["per_class"]) == sorted(LABELS)

    out, _ = _clean(run_cli("predict", str(model), str(data), "--proba"))
    assert out.splitlines()[0] == (
        "label,proba_\\x1b[31mred,proba_[/red],proba_[link=https://x]cat[/link]"
    )
    predictions = hostile / "predictions.csv"  # a file keeps the labels as they are
    _clean(run_cli("predict", str(model), str(data), "-o", str(predictions)))
    assert set(predictions.read_text("utf-8").splitlines()[1:]) <= {
        f'"{label}"' if "," in label else label for label in LABELS
    }


def test_hostile_names_in_warnings_and_errors(hostile: Path, run_cli: RunCli) -> None:
    data = hostile / "data.csv"
    result = run_cli("train", str(data), "-t", f"{ESC}[2Jnope")  # not a column: one line, 2
    assert result.returncode == 2
    assert ESC not in result.stderr and "\\x1b[2Jnope" in result.stderr
    extra = hostile / "extra.csv"  # a column the model ignores, with a warning naming it
    rows = data.read_text("utf-8").splitlines()
    extra.write_text(
        "\n".join([f"{rows[0]},[bold]{ESC}[5mx"] + [f"{r},1" for r in rows[1:]]) + "\n", "utf-8"
    )
    model = hostile / "w.retroprop"
    _clean(run_cli("train", str(data), "-t", "label", "-o", str(model), "--epochs", "1"))
    err = _clean(run_cli("predict", str(model), str(extra)))[1]
    assert "[bold]\\x1b[5mx" in err
