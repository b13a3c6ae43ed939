"""The playground in headless Chromium, against the real command (``retroprop playground``): train
XOR until all four points are right, step one sample and read δ, switch to Spanish, load a CSV
with three classes (and ``<script>`` in a column name), edit a weight, save and reload the state
(file and URL fragment), with no console errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The URL (with its token) of ``retroprop playground --no-browser``, stopped afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "retroprop", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
    assert match, line
    yield match.group(0)
    proc.send_signal(2)  # Ctrl-C: stops cleanly
    assert proc.wait(timeout=30) == 0


def shown_number(text: str) -> float:
    """A number as the page shows it (the lecture's minus sign −)."""
    return float(text.replace("−", "-"))


def no_console_errors(browser: Any) -> None:
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert browser.execute_script("return window.playground.errors") == []


def frame(browser: Any) -> dict[str, Any]:
    return browser.execute_script("return window.playground.lastFrame")  # type: ignore[no-any-return]


def settled(browser: Any, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        f = frame(browser)
        if f and done(f):
            return f
        time.sleep(0.1)
    raise AssertionError("no such frame")


@pytest.fixture()
def page(browser: Any, server: str) -> Any:
    browser.get(server)
    browser.get_log("browser")
    wait_for(browser, "return window.playground.data && window.playground.lastFrame")
    return browser


def click(browser: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, element_id).click()


def test_train_xor_until_all_four_right(page: Any) -> None:
    from selenium.webdriver.common.by import By

    assert page.execute_script("return window.playground.data.n_train") == 4
    click(page, "play")
    wait_for(
        page, "const f = window.playground.lastFrame; return f.running && f.train.accuracy === 1"
    )
    click(page, "pause")
    f = settled(page, lambda f: not f["running"])
    assert f["train"]["accuracy"] == 1 and f["epoch"] > 0
    cells = [int(e.text) for e in page.find_elements(By.CSS_SELECTOR, "#confusion td")]
    assert cells == [2, 0, 0, 2]
    assert "accuracy" in page.find_element(By.ID, "metric-accuracy").text
    painted = page.execute_script(
        "const c = document.getElementById('map'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; return d[3] === 255 && c.width >= 100"
    )
    assert painted
    no_console_errors(page)


def test_step_one_sample_read_delta_then_spanish(page: Any) -> None:
    from selenium.webdriver.common.by import By

    click(page, "reset")
    click(page, "step-sample")
    step = wait_for(page, "return window.playground.lastStep")
    trace = step["trace"]
    out = len(trace["layers"])
    shown = page.find_element(By.CSS_SELECTOR, f"#n{out}-0 .dlt").text
    assert shown.startswith("δ=")
    np.testing.assert_allclose(shown_number(shown[2:]), trace["layers"][-1]["delta"][0], rtol=1e-3)
    hidden = page.find_element(By.CSS_SELECTOR, "#n1-0 .dlt").text
    np.testing.assert_allclose(shown_number(hidden[2:]), trace["layers"][0]["delta"][0], rtol=1e-3)
    moments = step["walk"]["moments"]
    for _ in range(3):
        click(page, "next")
    m = moments[3]
    lit = page.execute_script("return [...document.querySelectorAll('#net .hl')].map(e => e.id)")
    assert set(lit) == set(m["nodes"] + m["edges"])
    assert page.find_element(By.ID, "moment-title").text == m["title"]["en"]
    click(page, "lang-es")
    assert page.find_element(By.ID, "moment-title").text == m["title"]["es"]
    assert page.find_element(By.ID, "step-sample").text == "Un paso: una muestra"
    assert page.execute_script("return document.documentElement.lang") == "es"
    assert "época" in page.find_element(By.ID, "status").text
    click(page, "lang-en")
    assert page.find_element(By.ID, "step-sample").text == "Step one sample"
    no_console_errors(page)


def test_csv_three_classes_escaped(page: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    rng = np.random.default_rng(1)
    rows = ["<script>window.pwned=1</script>,b,<img src=x onerror=window.pwned=2>"]
    for k, name in enumerate(["<b>a</b>", "beta", "gamma"]):
        rows += [f"{a:.3f},{b:.3f},{name}" for a, b in rng.normal(2 * k, 0.4, (15, 2))]
    path = tmp_path / "three.csv"
    path.write_text("\n".join(rows) + "\n")
    page.find_element(By.ID, "csv-file").send_keys(str(path))
    data = wait_for(page, "const d = window.playground.data; return d.source === 'three.csv' && d")
    assert data["outputs"] == ["<b>a</b>", "beta", "gamma"]
    settled(page, lambda f: len(f["weights"][-1]["b"]) == 3)
    assert page.execute_script("return window.pwned") is None
    assert page.execute_script("return document.querySelectorAll('script, img, b').length") == 2
    text = page.find_element(By.TAG_NAME, "body").text
    assert "<b>a</b>" in text and "<script>window.pwned=1</script>" in text
    no_console_errors(page)


def test_edit_weight_and_state_round_trip(page: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    click(page, "step-epoch")
    settled(page, lambda f: f["epoch"] >= 1)
    page.execute_script(
        "document.getElementById('e1-0-1').dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    value = page.find_element(By.ID, "edit-value")
    value.clear()
    value.send_keys("1.25")
    click(page, "edit-ok")
    edited = settled(page, lambda f: f["weights"][0]["W"][0][1] == 1.25 and f["can_undo"])
    click(page, "save-state")
    saved = wait_for(page, "const f = window.playground.files.at(-1); return f && f.base64")
    path = tmp_path / "state.json"
    path.write_bytes(__import__("base64").b64decode(saved))
    assert json.loads(path.read_text())["network"]["layers"][0]["weights"][0][1] == 1.25
    click(page, "share")
    wait_for(page, "return location.hash.startsWith('#state=')")
    shared_url = page.current_url
    click(page, "step-epoch")
    settled(page, lambda f: f["weights"] != edited["weights"])
    page.find_element(By.ID, "load-state").send_keys(str(path))
    f = settled(page, lambda f: f["weights"] == edited["weights"])
    assert f["epoch"] == edited["epoch"]
    page.get("about:blank")
    page.get(shared_url)  # a new page from the URL alone: the same state
    wait_for(page, "return window.playground.lastFrame")
    settled(page, lambda f: f["weights"] == edited["weights"])
    no_console_errors(page)
