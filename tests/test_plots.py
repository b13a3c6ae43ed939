"""The learning-curve figure speaks the language it is asked for (axes, legends, titles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retroprop.views import plots

HISTORY: Any = {
    "epoch": [1, 2, 3],
    "mse": [0.3, 0.2, 0.1],
    "val_mse": [0.35, 0.25, 0.2],
    "accuracy": [0.5, 0.7, 0.9],
    "val_accuracy": [0.4, 0.6, 0.8],
}


def _texts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str) -> set[str]:
    """Every label, title and legend entry of the figure ``plot_learning_curve`` draws."""
    seen: dict[str, Any] = {}
    real = plots.save_png

    def capture(fig: Any, path: Any) -> Path:
        seen["fig"] = fig
        return real(fig, path)

    monkeypatch.setattr(plots, "save_png", capture)
    png = plots.plot_learning_curve(HISTORY, tmp_path / "c.png", "T", lang=lang)
    assert png.read_bytes().startswith(b"\x89PNG")
    texts = set()
    for ax in seen["fig"].axes:
        texts |= {ax.get_xlabel(), ax.get_ylabel(), ax.get_title()}
        texts |= {t.get_text() for t in ax.get_legend().get_texts()}
    return texts


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        ("en", {"epoch", "training", "validation", "Accuracy"}, {"época"}),
        ("es", {"época", "entrenamiento", "validación", "Exactitud"}, {"epoch", "training"}),
    ],
)
def test_the_learning_curve_speaks_its_language(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lang: str,
    expected: set[str],
    absent: set[str],
) -> None:
    texts = _texts(monkeypatch, tmp_path, lang)
    assert expected <= texts
    assert not absent & texts
    assert any(t.startswith("MSE = ") and "½ Σ (y − o)²" in t for t in texts)
