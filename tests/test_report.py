"""The training report: recorded statistics, findings in words, the HTML page, in a browser.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium``
package; it is skipped when they are missing, unless RETROPROP_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop.views.i18n import words
from retroprop.views.report import FIGURES, Recorder, diagnose_training, finding_text, write_report
from retroprop.views.report.findings import oscillation


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def headings(html: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", html)


def images(html: str) -> dict[str, bytes]:
    """Section id → the PNG inlined in it."""
    found = re.findall(
        r'<section id="(\w+)"><h2>[^<]*</h2><figure><img src="data:image/png;base64,([^"]+)"',
        html,
    )
    return {name: base64.b64decode(data) for name, data in found}


# -- the recorder ----------------------------------------------------------------------------
def test_recorder_equals_an_independent_computation() -> None:
    # 2-3-2 sigmoid network; hidden neuron 1 gets a large bias so that it stays saturated.
    net = rp.Network.create([2, 3, 2], seed=1)
    net.layers[0].b[0] = 9.0
    X = np.array([[0.05, 0.10], [0.9, 0.2], [0.3, 0.7], [1.0, 1.0]])
    Y = np.array([[0.01, 0.99], [0.99, 0.01], [0.5, 0.5], [0.2, 0.8]])
    weights: list[np.ndarray] = []
    later_logs: list[dict[str, float]] = []

    def snapshot(epoch: int, logs: dict[str, float]) -> None:  # runs after the recorder
        weights.append(net.get_flat().copy())
        later_logs.append(dict(logs))

    recorder = Recorder(X, Y)
    history = rp.fit(
        net, X, Y, learning_rate=0.5, epochs=3, seed=0, engine="numpy",
        callbacks=[recorder, snapshot],
    )  # fmt: skip
    assert recorder.epochs == [1, 2, 3]
    for t, theta in enumerate(weights):
        W1, b1 = theta[:6].reshape(3, 2), theta[6:9]
        W2, b2 = theta[9:15].reshape(2, 3), theta[15:]
        h = sigmoid(X @ W1.T + b1)  # hidden outputs oⱼ
        o = sigmoid(h @ W2.T + b2)  # network outputs oₖ
        delta_out = o * (1 - o) * (Y - o)  # δₖ = oₖ(1 − oₖ)(yₖ − oₖ)
        delta_hidden = h * (1 - h) * (delta_out @ W2)  # δⱼ = oⱼ(1 − oⱼ) Σₖ δₖ wₖⱼ
        expected = [np.mean(np.abs(delta_hidden)), np.mean(np.abs(delta_out))]
        np.testing.assert_allclose(recorder.mean_abs_delta[t], expected, rtol=1e-12)
        saturated = [np.mean((a < 0.02) | (a > 0.98)) for a in (h, o)]
        np.testing.assert_allclose(recorder.saturated[t], saturated, rtol=1e-12)
        assert saturated[0] >= 4 / 12  # neuron 1 on all 4 samples
        assert np.all(np.isnan(recorder.dead[t]))  # no ReLU layer
        for l in range(2):
            assert history[f"mean_abs_delta_{l + 1}"][t] == recorder.mean_abs_delta[t][l]
            assert later_logs[t][f"mean_abs_delta_{l + 1}"] == recorder.mean_abs_delta[t][l]
            assert history[f"saturated_{l + 1}"][t] == recorder.saturated[t][l]
    assert "dead_1" not in history and len(history["saturated_1"]) == history.epochs


def test_dead_relu_units_are_recorded_and_reported() -> None:
    net = rp.Network.create([2, 4, 1], activation=["relu", "sigmoid"], init="he", seed=0)
    net.layers[0].b[2] = -100.0  # z ≤ 0 for every sample: dead from the start
    data = rp.datasets.xor()
    history = rp.fit(
        net, data.X, data.y, learning_rate=0.1, epochs=4, seed=0, engine="numpy",
        callbacks=[Recorder(data.X, data.y)],
    )  # fmt: skip
    z = data.X @ net.layers[0].W.T + net.layers[0].b
    assert history["dead_1"][-1] == np.mean(np.all(z <= 0, axis=0)) >= 0.25
    assert "saturated_1" not in history and "dead_2" not in history
    found = [d for d in diagnose_training(history, 2) if d.code == "dead_units"]
    assert [(d.layer, d.value) for d in found] == [(0, history["dead_1"][-1])]
    assert finding_text(found[0], "en").startswith("Layer 1: 25 % of its ReLU units")
    assert finding_text(found[0], "es").startswith("Capa 1: el 25 % de sus neuronas ReLU")


def test_recorder_sample_is_fixed_and_small() -> None:
    X, Y = np.random.default_rng(0).normal(size=(1500, 2)), np.zeros(1500)
    a, b, c = Recorder(X, Y), Recorder(X, Y), Recorder(X, Y, seed=1)
    assert a.n_rows == 1000 and np.array_equal(a.rows, b.rows)
    assert not np.array_equal(a.rows, c.rows)
    assert np.all(np.diff(a.rows) > 0)
    assert Recorder(X[:10], Y[:10]).n_rows == 10
    with pytest.raises(ValueError, match="max_rows"):
        Recorder(X, Y, max_rows=0)
    with pytest.raises(ValueError, match=r"Recorder X: expected shape \(n_samples, 3\)"):
        rp.fit(rp.Network.create([3, 1]), np.zeros((4, 3)), np.zeros(4), callbacks=[a])


# -- findings --------------------------------------------------------------------------------
def made_history(**series: list[float]) -> rp.History:
    history = rp.History()
    n = len(next(iter(series.values())))
    history.metrics = {"epoch": [float(e) for e in range(1, n + 1)], "loss": [0.0] * n}
    history.metrics.update(series)
    return history


def test_oscillating_error() -> None:
    assert oscillation([0.2, 0.1, 0.05, 0.04]) == 0
    assert oscillation([0.2, 0.1, 0.15, 0.1, 0.15, 0.1, 0.15]) == 3
    assert oscillation([0.2, 0.1, 0.1 + 0.001, 0.09]) == 0  # below 1 % of the first error
    zigzag = made_history(mse=[0.2, 0.1, 0.15, 0.1, 0.15, 0.1, 0.15, 0.1])
    (d,) = diagnose_training(zigzag, 1)
    assert (d.code, d.value, d.step) == ("oscillating_error", 3.0, 8)
    assert finding_text(d) == (
        "The training error rose in 3 of the 8 epochs (each time by more than 1 % of its first "
        "value): the learning rate makes it oscillate; try a smaller one."
    )
    assert "la tasa de aprendizaje lo hace oscilar" in finding_text(d, "es")
    smooth = made_history(mse=list(np.geomspace(0.2, 0.001, 50)))
    assert diagnose_training(smooth, 1) == []


def test_vanishing_exploding_saturated_and_rising() -> None:
    history = made_history(
        mse=[0.1, 0.12, 0.13],
        mean_abs_delta_1=[1e-6, 2e-6, 1e-6],  # vanishing: ~1e-5 of the output's
        mean_abs_delta_2=[20.0, 50.0, 5.0],  # exploding: ~500 times the output's
        mean_abs_delta_3=[0.1, 0.1, 0.01],
        saturated_1=[0.2, 0.5, 0.75],
        saturated_2=[0.9, 0.9, 0.4],  # not saturated at the end
        saturated_3=[1.0, 1.0, 1.0],  # the output layer is never reported
    )
    found = {(d.code, d.layer) for d in diagnose_training(history, 3)}
    assert found == {
        ("saturated_units", 0),
        ("vanishing_delta", 0),
        ("exploding_delta", 1),
        ("rising_error", None),
    }
    texts = {d.code: finding_text(d, "es") for d in diagnose_training(history, 3)}
    assert texts["saturated_units"].startswith("Capa 1: el 75 % de sus salidas")
    assert "se desvanece" in texts["vanishing_delta"] and "explota" in texts["exploding_delta"]
    assert "1.3 veces" in texts["rising_error"]


# -- the page --------------------------------------------------------------------------------
def moons_run(recorder: bool = True) -> tuple[rp.Network, rp.History, Any]:
    """25 epochs on moons: rows 0-119 train, 120-159 validate, 160-199 test."""
    data = rp.datasets.moons(n_samples=200, seed=0)
    X, y = data.X[:120], data.y[:120]
    net = rp.Network.create([2, 6, 1], seed=0)
    history = rp.fit(
        net, X, y, learning_rate=0.5, epochs=25, seed=0, engine="numpy",
        validation_data=(data.X[120:160], data.y[120:160]),
        callbacks=[Recorder(X, y)] if recorder else [],
    )  # fmt: skip
    return net, history, data


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, rp.History]:
    net, history, data = moons_run()
    folder = tmp_path_factory.mktemp("report")
    path = write_report(
        folder / "out" / "report.html", net, history, data.X[:120], data.y[:120],
        data.X[160:], data.y[160:], png_dir=folder / "png",
    )  # fmt: skip
    return path, history


def test_report_is_self_contained_with_every_figure(report: tuple[Path, rp.History]) -> None:
    path, history = report
    html = path.read_text(encoding="utf-8")
    assert re.search(r"https?://", html) is None
    assert re.findall(r"(?:src|href)=\"(?!data:image/png;base64,)", html) == []
    assert "<script" not in html and "<link" not in html and "@import" not in html
    T = words("en")
    assert headings(html) == [
        T["report_summary"],
        *(T[f"report_fig_{name}"] for name in FIGURES),
        T["diagnostics"],
    ]
    inlined = images(html)
    assert list(inlined) == list(FIGURES) and html.count("<img") == len(FIGURES)
    for name, png in inlined.items():  # png_dir holds the same files
        assert (path.parent.parent / "png" / f"{name}.png").read_bytes() == png
        assert png.startswith(b"\x89PNG")
    assert "Network(2 → 6 sigmoid → 1 sigmoid, squared_error)" in html
    diagnostics = html[html.index('<section id="diagnostics">') :]
    assert diagnostics.count("<li>") == len(diagnose_training(history, 2))
    if diagnostics.count("<li>") == 0:
        assert "No problems found." in diagnostics
    assert re.search(r"<td>test</td><td>40</td>", html)


def test_spanish_report(tmp_path: Path) -> None:
    net, history, data = moons_run()
    path = write_report(tmp_path / "informe.html", net, history, data.X, data.y, lang="es")
    html = path.read_text(encoding="utf-8")
    assert '<html lang="es">' in html and "<title>Informe de entrenamiento</title>" in html
    assert headings(html) == [
        "Resumen",
        "Error por época",
        "Exactitud por época",
        "Matriz de confusión",
        "Frontera de decisión",
        "La red con sus pesos finales",
        "Media de |δ| por capa y época",
        "Neuronas saturadas y muertas",
        "Pesos por capa",
        "Diagnóstico",
    ]
    assert "con los datos de entrenamiento (200 muestras)" in html  # no test data given


def test_decision_boundary_only_for_two_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 2] > 0).astype(float)
    net = rp.Network.create([3, 4, 1], seed=0)
    history = rp.fit(net, X, y, epochs=3, engine="numpy", callbacks=[Recorder(X, y)])
    html = write_report(tmp_path / "3d.html", net, history, X, y).read_text(encoding="utf-8")
    assert list(images(html)) == [name for name in FIGURES if name != "boundary"]
    # regression on 2 inputs: no accuracy, confusion matrix or boundary
    X2, t = X[:, :2], np.tanh(X[:, :1])
    net = rp.Network.create([2, 4, 1], activation=["tanh", "identity"], seed=0)
    history = rp.fit(net, X2, t, epochs=3, engine="numpy", callbacks=[Recorder(X2, t)])
    html = write_report(tmp_path / "reg.html", net, history, X2, t).read_text(encoding="utf-8")
    assert list(images(html)) == ["error", "network", "delta", "units", "weights"]


def test_without_a_recorder_the_page_says_how(tmp_path: Path) -> None:
    net, history, data = moons_run(recorder=False)
    html = write_report(tmp_path / "r.html", net, history, data.X, data.y).read_text("utf-8")
    assert "delta" not in images(html) and "units" not in images(html)
    assert html.count("retroprop.Recorder(X, Y)") == 2


def test_diagnostics_appear_in_the_page(tmp_path: Path) -> None:
    net = rp.Network.create([2, 3, 1], seed=0)
    history = made_history(
        mse=[0.2, 0.1, 0.15, 0.1, 0.15, 0.1, 0.15, 0.1],
        mean_abs_delta_1=[1e-6] * 8,
        mean_abs_delta_2=[0.1] * 8,
    )
    X, y = rp.datasets.xor().X, rp.datasets.xor().y
    html = write_report(tmp_path / "es.html", net, history, X, y, lang="es").read_text("utf-8")
    found = diagnose_training(history, 2)
    assert [d.code for d in found] == ["vanishing_delta", "oscillating_error"]
    for d in found:
        assert f"<li>{finding_text(d, 'es')}</li>" in html


def test_bad_arguments(tmp_path: Path) -> None:
    net, history, data = rp.Network.create([2, 2, 1]), made_history(mse=[0.1]), rp.datasets.xor()
    with pytest.raises(ValueError, match="valid: en, es"):
        write_report(tmp_path / "never.html", net, history, data.X, data.y, lang="de")
    with pytest.raises(ValueError, match="X_test and Y_test"):
        write_report(tmp_path / "never.html", net, history, data.X, data.y, X_test=data.X)
    with pytest.raises(ValueError, match=r"report training data X: expected shape"):
        write_report(tmp_path / "never.html", net, history, data.X[:, :1], data.y)
    with pytest.raises(ValueError, match=r"pass the History that retroprop\.fit returned"):
        write_report(tmp_path / "never.html", net, rp.History(), data.X, data.y)
    assert list(tmp_path.iterdir()) == []


def test_import_retroprop_does_not_import_matplotlib() -> None:
    code = "import sys, retroprop; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- in the browser --------------------------------------------------------------------------
def test_report_in_the_browser(
    browser: Any, report: tuple[Path, rp.History], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(report[0].resolve().as_uri())
    sizes = browser.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(sizes) == len(FIGURES)
    assert all(complete and w > 0 and h > 0 for complete, w, h in sizes)
    assert browser.title == "Training report"
    shown = [e.text for e in browser.find_elements(By.TAG_NAME, "h2")]
    assert shown[0] == "Summary" and shown[-1] == "Diagnostics"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 100, 8000))
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_the_delta_figure_speaks_the_report_language() -> None:
    """The axis said "mean |δ|" on the Spanish page too."""
    from retroprop.glassbox.recorder import history_key
    from retroprop.views.report.figures import delta_figure

    history = made_history(**{history_key("mean_abs_delta", 0): [0.3, 0.2, 0.1]})
    for lang, label in (("en", "mean |δ|"), ("es", "media de |δ|")):
        figure = delta_figure(history, ["capa 1"], words(lang))
        assert figure.axes[0].get_ylabel() == label
        assert figure.axes[0].get_xlabel() == words(lang)["report_epoch"]
