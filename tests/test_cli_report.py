"""`retroprop train --report`: the training report written from a real CLI run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import retroprop as rp

if TYPE_CHECKING:
    from conftest import RunCli


def moons_csv(path: Path) -> Path:
    d = rp.datasets.moons(200)
    rows = (f"{a:.5f},{b:.5f},{int(c)}\n" for (a, b), c in zip(d.X, d.labels, strict=True))
    path.write_text("x1,x2,label\n" + "".join(rows))
    return path


def test_train_writes_a_spanish_report_with_every_figure(tmp_path: Path, run_cli: RunCli) -> None:
    data = moons_csv(tmp_path / "moons.csv")
    result = run_cli(
        "train", str(data), "--target", "label", "--hidden", "6", "--epochs", "30",
        "--report", "rep.html", "--report-lang", "es", "-o", "m.retroprop",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "rep.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>([^<]+)", page)
    for heading in ("Error por época", "Frontera de decisión", "Media de |δ| por capa y época"):
        assert heading in headings
    assert "http://" not in page and "https://" not in page
    assert page.count("data:image/png;base64,") >= 8
    # the δ and saturation figures come from the recorder, not the "not recorded" note
    assert "Recorder" not in page
    assert (tmp_path / "m.retroprop").exists()
    assert "rep.html" in result.stdout


def test_report_language_is_checked_before_training(tmp_path: Path, run_cli: RunCli) -> None:
    data = moons_csv(tmp_path / "moons.csv")
    result = run_cli(
        "train", str(data), "--target", "label", "--report", "r.html", "--report-lang", "de",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--report-lang" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()
    assert not (tmp_path / "moons.retroprop").exists()
