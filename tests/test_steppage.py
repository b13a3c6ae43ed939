"""The step-through page: self-contained HTML, then clicked through in a real headless Chromium.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` and the ``selenium``
package; they are skipped when any of them is missing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop.errors import ParameterError
from retroprop.glassbox.equations import delta_equation, num
from retroprop.glassbox.trace import StepTrace, trace_steps
from retroprop.views.steppage import short, step_page, write_step_page


def net_232() -> rp.Network:
    return rp.Network.create([2, 3, 2], seed=4)


def traces(steps: int = 1, **kwargs: Any) -> list[StepTrace]:
    return trace_steps(
        net_232(), [0.05, 0.10], [0.01, 0.99], learning_rate=0.5, steps=steps, **kwargs
    )[0]


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_page_is_self_contained_and_consistent() -> None:
    html = step_page(traces())
    assert "<link" not in html and "src=" not in html and "@import" not in html
    assert re.findall(r"https?://[^\s\"']+", html) == ["http://www.w3.org/2000/svg"]  # a name only
    data = page_data(html)
    kinds = [m["kind"] for m in data["moments"]]
    # input, forward ×2, error, δ for 2 output + 3 hidden neurons, updates ×2, after
    assert kinds == [
        "input",
        "forward",
        "forward",
        "error",
        *["delta"] * 5,
        "update",
        "update",
        "after",
    ]
    for m in data["moments"]:
        for element in m["nodes"] + m["edges"]:
            assert f'id="{element}"' in html
        assert set(m["title"]) == set(m["lines"]) == {"en", "es"}
    assert len(re.findall(r'class="edge', html)) == 2 * 3 + 3 * 2


def test_page_numbers_are_the_trace() -> None:
    (trace,) = traces()
    data = page_data(step_page([trace]))
    delta_moments = [m for m in data["moments"] if m["kind"] == "delta"]
    assert delta_moments[0]["lines"]["en"][1] == delta_equation(trace, 1, 0)
    tip = data["edges"][0]["e2-1-0"]
    assert tip.startswith(f"w₂₁ = {num(trace.layers[1].W_before[1, 0])} · ∂E/∂w₂₁ = ")
    assert tip.endswith(f"→ {num(trace.layers[1].W_after[1, 0])}")


def test_several_steps_end_with_a_summary(tmp_path: Path) -> None:
    path = write_step_page(traces(steps=3), tmp_path / "sub" / "page.html", lang="es")
    html = path.read_text(encoding="utf-8")
    assert '<html lang="es">' in html
    data = page_data(html)
    assert data["moments"][-1]["kind"] == "summary"
    assert data["moments"][-1]["title"]["es"] == "Error paso a paso"
    assert {m["step"] for m in data["moments"]} == {0, 1, 2}


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="valid: en, es"):
        step_page(traces(), lang="de")


def test_no_traces_is_refused() -> None:
    with pytest.raises(ParameterError, match="at least one traced step"):
        step_page([])


# -- in the browser --------------------------------------------------------------------------------
def open_page(browser: Any, path: Path) -> None:
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # start each page with an empty console


def highlighted(browser: Any) -> set[str]:
    return set(
        browser.execute_script("return [...document.querySelectorAll('.hl')].map(e => e.id)")
    )


def test_click_through_every_moment(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    (trace,) = traces()
    path = write_step_page([trace], tmp_path / "step.html")
    data = page_data(path.read_text(encoding="utf-8"))
    open_page(browser, path)
    moments = data["moments"]
    for k, m in enumerate(moments):
        assert highlighted(browser) == set(m["nodes"] + m["edges"]), m["kind"]
        assert browser.find_element(By.ID, "moment-title").text == m["title"]["en"]
        lines = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lines .eq")]
        assert lines == m["lines"]["en"]
        assert browser.find_element(By.ID, "counter").text == f"{k + 1} / {len(moments)}"
        if m["kind"] == "delta":  # the neuron now shows its δ
            node = browser.find_element(By.ID, m["nodes"][0])
            col, j = (int(v) for v in m["nodes"][0][1:].split("-"))
            shown = node.find_element(By.CSS_SELECTOR, ".dlt").text
            assert shown == f"δ {short(trace.layers[col - 1].delta[0, j])}"
        if k < len(moments) - 1:
            browser.find_element(By.ID, "next").click()
    assert browser.find_element(By.ID, "next").get_attribute("disabled") is not None
    # the numbers of the hand-checked places
    hidden_out = browser.find_element(By.CSS_SELECTOR, "#n1-2 .val").text
    assert hidden_out == short(trace.layers[0].a[0, 2])
    assert num(trace.error_after) in browser.find_element(By.ID, "lines").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    browser.save_screenshot(str(tmp_path / "end.png"))


def test_arrow_keys_hover_and_language(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    (trace,) = traces()
    path = write_step_page([trace], tmp_path / "step.html")
    open_page(browser, path)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert browser.find_element(By.ID, "counter").text.startswith("3 / ")
    assert highlighted(browser) >= {"n2-0", "n2-1", "e2-0-0"}
    body.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.ID, "counter").text.startswith("2 / ")
    assert "Forward pass" in browser.find_element(By.ID, "moment-title").text
    # hover an edge: wⱼᵢ, its gradient and Δw
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "e1-2-1")).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed()
    W = trace.layers[0]
    assert tip.text == (
        f"w₃₂ = {num(W.W_before[2, 1])} · ∂E/∂w₃₂ = {num(W.grad_W[2, 1])} · "
        f"Δw₃₂ = {num(W.dW[2, 1])} → {num(W.W_after[2, 1])}"
    )
    # Spanish: every label switches, the numbers stay
    browser.find_element(By.ID, "lang-es").click()
    title = browser.find_element(By.ID, "moment-title").text
    assert title.startswith("Propagación hacia adelante · capa 1 (capa oculta")
    assert browser.find_element(By.ID, "next").text == "Siguiente ▶"
    assert browser.execute_script("return document.documentElement.lang") == "es"
    assert browser.title == "retroprop · un paso de retropropagación"
    browser.save_screenshot(str(tmp_path / "es.png"))
    browser.find_element(By.ID, "lang-en").click()
    assert browser.find_element(By.ID, "next").text == "Next ▶"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_a_large_network_is_drawn_compactly(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    net = rp.Network.create([64, 10, 5, 10], seed=0)
    x = np.linspace(0, 1, 64)
    y = np.eye(10)[3]
    path = write_step_page(trace_steps(net, x, y, learning_rate=0.5)[0], tmp_path / "big.html")
    open_page(browser, path)
    assert "compact" in browser.find_element(By.ID, "net").get_attribute("class")
    browser.find_element(By.ID, "last").click()
    assert browser.find_element(By.ID, "next").get_attribute("disabled") is not None
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    browser.save_screenshot(str(tmp_path / "big.png"))


def test_the_values_fit_inside_the_circles_of_a_real_model() -> None:
    """On a model trained on real data (9 standardised inputs, a 3-class output) the values
    drawn inside the neurons (``−1.234e−05``) ran over their circles: 12 px for any circle.
    Now 3 digits (``−1.23e−5``) in a font that fits. A digit of a sans-serif font is about
    0.55 em wide."""
    rng = np.random.default_rng(3)
    net = rp.Network.create([9, 10, 3], activation=["sigmoid", "softmax"], loss="cce", seed=1)
    x = rng.normal(size=9)
    x[2] = -1.234e-05  # the longest number a standardised input shows
    html = step_page(trace_steps(net, x, [0.0, 1.0, 0.0], learning_rate=0.1)[0])
    radius = {float(r) for r in re.findall(r'<circle cx="[^"]+" cy="[^"]+" r="([^"]+)"', html)}
    (r,) = radius
    sizes = {float(f) for f in re.findall(r'class="val" [^>]*font-size: ([\d.]+)px', html)}
    assert len(sizes) == 1 and len(re.findall(r'class="val"', html)) == 9 + 10 + 3
    data = page_data(html)["values"][0]
    shown = [*data["x"], *(o for layer in data["o"] for o in layer)]
    assert "−1.23e−5" in shown
    (font,) = sizes
    assert all(0.55 * font * len(v) <= 2 * r for v in shown)
    assert font >= 6  # still readable


def test_spanish_equations_have_no_english_word() -> None:
    """A sum of more than six terms ended in "… (8 terms)" on the Spanish page too."""
    net = rp.Network.create([7, 2], seed=0)
    (trace,), _ = trace_steps(net, np.linspace(0.1, 0.7, 7), [0.0, 1.0], learning_rate=0.5)
    moments = page_data(step_page([trace]))["moments"]
    forward = next(m for m in moments if m["kind"] == "forward")
    assert any("… (8 terms)" in line for line in forward["lines"]["en"])
    assert any("… (8 términos)" in line for line in forward["lines"]["es"])
    assert not any("terms" in line for m in moments for line in m["lines"]["es"])


@pytest.mark.parametrize(
    ("value", "text"),
    [(-1.234e-05, "−1.23e−5"), (0.75136, "0.751"), (1234.5, "1.23e3"), (0.0, "0"), (-2.0, "−2")],
)
def test_a_neuron_shows_three_digits(value: float, text: str) -> None:
    assert short(value) == text


def test_the_values_fit_inside_the_circles_in_the_browser(browser: Any, tmp_path: Path) -> None:
    """Measured as drawn: at the last moment every neuron shows its value, each narrower than
    its circle."""
    rng = np.random.default_rng(3)
    net = rp.Network.create([9, 10, 3], activation=["sigmoid", "softmax"], loss="cce", seed=1)
    x = rng.normal(size=9)
    x[2] = -1.234e-05
    (trace,), _ = trace_steps(net, x, [0.0, 1.0, 0.0], learning_rate=0.1)
    open_page(browser, write_step_page([trace], tmp_path / "step.html"))
    browser.execute_script("for (let k = 0; k < 200; k++) document.getElementById('next').click()")
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('.node')].map(g => [g.querySelector('.val')"
        ".getBBox().width, +g.querySelector('circle').getAttribute('r'), "
        "g.querySelector('.val').textContent])"
    )
    assert len(sizes) == 22 and all(text for _, _, text in sizes)
    assert all(width <= 2 * r - 2 for width, r, _ in sizes), sizes
