"""Tutorial 5's growth figure: training and validation error against the number of hidden
neurons that cascade-correlation installed, drawn as ``retroprop train --grow --report`` draws
it (``views.report.figures.error_figure``), in English and Spanish.

Run from the repository root:  python docs/make_growth.py
"""

from __future__ import annotations

from pathlib import Path

from sklearn.model_selection import train_test_split

import retroprop as rp
from retroprop.views.i18n import words
from retroprop.views.report.figures import error_figure, png_bytes

HERE = Path(__file__).resolve().parent / "images"


def growth_history() -> rp.History:
    """The tutorial's run: the three spirals, up to 12 neurons, one row per neuron count."""
    d = rp.datasets.spirals(seed=0)
    X, X_val, Y, Y_val = train_test_split(d.X, d.y, test_size=0.3, random_state=0)
    result = rp.cascade_fit(X, Y, max_hidden=12, validation=(X_val, Y_val), seed=0)
    history = rp.History()
    for step in result.history:
        history.append({"hidden_neurons": step.n_hidden, **step.logs, "time": step.seconds})
    return history


def main() -> None:
    history = growth_history()
    HERE.mkdir(parents=True, exist_ok=True)
    for lang, name in (("en", "growth.png"), ("es", "growth_es.png")):
        (HERE / name).write_bytes(png_bytes(error_figure(history, words(lang))))
        print("written", HERE / name)


if __name__ == "__main__":
    main()
