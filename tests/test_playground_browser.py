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
    data_names = "return [...document.querySelectorAll('#data option')].map(o => o.text)"
    shown_es = page.execute_script(data_names)
    assert {"espirales", "seno (regresión)", "su CSV"} <= set(shown_es)
    click(page, "lang-en")
    assert {"spirals", "sine (regression)", "your CSV"} <= set(page.execute_script(data_names))
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
    assert page.find_element(By.ID, "undo").get_attribute("title") == "Undo: typed weight or bias"
    assert "a step, a stretch of play" in page.find_element(By.ID, "undo-hint").text
    click(page, "undo")
    undone = settled(page, lambda f: f["weights"][0]["W"][0][1] != 1.25)
    assert undone["can_redo"] and undone["epoch"] == edited["epoch"]
    assert page.find_element(By.ID, "undo").get_attribute("title") == "Undo: Step one epoch"
    click(page, "redo")
    edited = settled(page, lambda f: f["weights"][0]["W"][0][1] == 1.25 and not f["can_redo"])
    click(page, "save-state")
    saved = wait_for(page, "const f = window.playground.files.at(-1); return f && f.base64")
    path = tmp_path / "state.json"
    path.write_bytes(__import__("base64").b64decode(saved))
    assert json.loads(path.read_text())["network"]["layers"][0]["weights"][0][1] == 1.25
    click(page, "share")
    wait_for(page, "return location.hash.startsWith('#z=')")
    shared_url = page.current_url
    fragment = shared_url.split("#", 1)[1]
    legacy = legacy_link(shared_url, path.read_text()).split("#", 1)[1]
    assert len(fragment) < len(legacy) / 2  # compressed: under half the plain JSON link
    assert re.fullmatch(r"z=[A-Za-z0-9_-]+", fragment)
    assert page.find_element(By.ID, "share-note").text.startswith("The address bar now holds")
    click(page, "step-epoch")
    settled(page, lambda f: f["weights"] != edited["weights"])
    page.find_element(By.ID, "load-state").send_keys(str(path))
    f = settled(page, lambda f: f["weights"] == edited["weights"])
    assert f["epoch"] == edited["epoch"]
    for url in (shared_url, legacy_link(shared_url, path.read_text())):
        page.get("about:blank")
        page.get(url)  # a new page from the URL alone: the same state
        wait_for(page, "return window.playground.lastFrame")
        f = settled(page, lambda f: f["weights"] == edited["weights"])
        assert (f["epoch"], f["updates"]) == (edited["epoch"], edited["updates"])
    no_console_errors(page)


def legacy_link(url: str, state: str) -> str:
    """The link of an older page: the state as plain JSON in ``#state=`` (still read)."""
    from urllib.parse import quote

    return f"{url.split('#', 1)[0]}#state={quote(state, safe='')}"


def choose(browser: Any, element_id: str, value: str) -> None:
    """Pick an option of a select, as a user does (the page reconfigures on change)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, element_id)).select_by_value(value)


def test_hover_enlarges_a_hidden_neurons_map(page: Any) -> None:
    """Hovering a hidden neuron shows its small map enlarged: the same picture, 160 px wide."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    zoom = page.find_element(By.ID, "neuron-zoom")
    assert not zoom.is_displayed()
    neuron = page.find_element(By.ID, "n1-2")
    wait_for(page, "return document.querySelector('#n1-2 image').getAttribute('href')")
    ActionChains(page).move_to_element(neuron).perform()
    wait_for(page, "return !document.getElementById('neuron-zoom').hidden")
    small = page.execute_script("return document.querySelector('#n1-2 image').getBBox().width")
    assert zoom.size["width"] >= 160 > 2 * small
    # the enlarged picture is the neuron's map: its corners have the small map's corner colours
    same = wait_for(
        page,
        """const z = document.getElementById('neuron-zoom').getContext('2d');
        const src = new Image();
        src.src = document.querySelector('#n1-2 image').getAttribute('href');
        if (!src.complete) return null;
        const c = document.createElement('canvas'); c.width = c.height = src.width;
        const s = c.getContext('2d'); s.drawImage(src, 0, 0);
        const n = src.width - 1;
        const pairs = [[0, 0, 0, 0], [159, 159, n, n], [0, 159, 0, n], [159, 0, n, 0]];
        return pairs.map(([x, y, u, v]) => [...z.getImageData(x, y, 1, 1).data].join() ===
          [...s.getImageData(u, v, 1, 1).data].join());""",
    )
    assert same == [True] * 4
    assert page.find_element(By.ID, "tip").text.startswith("b3 = ")
    ActionChains(page).move_to_element(page.find_element(By.ID, "map")).perform()
    wait_for(page, "return document.getElementById('neuron-zoom').hidden")
    no_console_errors(page)


def test_regression_surface_shows_r2(page: Any) -> None:
    """A regression toy (the plane y = x₁ − 0.5 x₂): the map is the surface, R² is shown and
    climbs as the network learns; the sine's surface is drawn too."""
    from selenium.webdriver.common.by import By

    from retroprop.views.i18n import words

    choose(page, "data", "plane")
    wait_for(page, "return window.playground.data.task === 'regression'")
    assert page.find_element(By.ID, "map-title").text == words("en")["pg_surface"]
    click(page, "play")
    wait_for(page, "const f = window.playground.lastFrame; return f.running && f.train.r2 > 0.95")
    click(page, "pause")
    f = settled(page, lambda f: not f["running"])
    shown = page.find_element(By.CSS_SELECTOR, "#metric-r2 td").text
    np.testing.assert_allclose(shown_number(shown), f["train"]["r2"], rtol=1e-3)
    assert page.find_element(By.CSS_SELECTOR, "#metric-r2 th").text == words("en")["pg_r2"]
    assert page.find_element(By.ID, "curves-title").text == words("en")["pg_curves_r2"]
    r2_curve = page.find_elements(By.CSS_SELECTOR, "#curves2 polyline.train")
    assert len(r2_curve) == 1
    corners = page.execute_script(
        "const c = document.getElementById('map'); const d = c.getContext('2d');"
        "return [[0, c.height - 1], [c.width - 1, 0]].map(([x, y]) =>"
        " [...d.getImageData(x, y, 1, 1).data].slice(0, 3));"
    )
    # bottom left (x₁ low, x₂ low) is low y: orange; top right is high: blue (the ramp's ends)
    (r0, _, b0), (r1, _, b1) = corners
    assert r0 > b0 and b1 > r1
    choose(page, "data", "sine")
    wait_for(page, "return window.playground.data.source === 'sine'")
    f = settled(page, lambda f: f["map"].get("value") is not None and "r2" in f["train"])
    no_console_errors(page)


def population_bars(browser: Any) -> list[float]:
    """The heights of the GA chart's bars, as drawn."""
    return browser.execute_script(  # type: ignore[no-any-return]
        "return [...document.querySelectorAll('#population rect')]"
        ".map(r => +r.getAttribute('height'))"
    )


def test_genetic_chart_follows_one_run_across_play_and_pause(page: Any) -> None:
    """With the GA, a generation shows the population's errors, best first; playing, pausing
    and stepping again continue the same population (the generation count goes on)."""
    from selenium.webdriver.common.by import By

    choose(page, "solver", "genetic")
    wait_for(page, "return window.playground.data.optimizer === 'genetic'")
    assert not page.find_element(By.ID, "step-sample").is_enabled()
    click(page, "step-epoch")
    wait_for(page, "return document.querySelectorAll('#population rect').length === 100")
    title = page.find_element(By.ID, "moment-title").text
    assert title.startswith("Generation 1: the error J of each of the 100 individuals")
    heights = population_bars(page)
    assert heights == sorted(heights) and heights[-1] > heights[0]
    click(page, "play")
    wait_for(page, "const f = window.playground.lastFrame; return f.running && f.epoch >= 5")
    click(page, "pause")
    f = settled(page, lambda f: not f["running"])
    g = f["population"]["generation"]
    assert g == f["epoch"] >= 5  # one run: generation 1 stepped, then played on from it
    wait_for(
        page,
        f"return document.getElementById('moment-title').textContent.startsWith('Generation {g}:')",
    )
    click(page, "step-epoch")
    f = settled(page, lambda f: f["population"]["generation"] == g + 1)
    epochs = f["curve"]["epoch"]  # (thinned to 300 points)
    assert epochs[0] == 1 and epochs[-1] == g + 1 == f["epoch"] and epochs == sorted(epochs)
    click(page, "lang-es")
    assert page.find_element(By.ID, "moment-title").text.startswith(f"Generación {g + 1}:")
    click(page, "lang-en")
    no_console_errors(page)


def csv_rows(n_per_class: int, digits: int) -> str:
    """Three classes in two columns, one of them named ``<script>…``."""
    rng = np.random.default_rng(4)
    rows = ["<script>window.pwned=1</script>,b,kind"]
    for k, name in enumerate(["<b>a</b>", "beta", "gamma"]):
        rows += [
            f"{a:.{digits}f},{b:.{digits}f},{name}" for a, b in rng.normal(k, 0.4, (n_per_class, 2))
        ]
    return "\n".join(rows) + "\n"


def test_state_with_an_uploaded_csv_reloads_exactly(page: Any, tmp_path: Path) -> None:
    """A CSV loaded in the page travels in the saved state and in the link: a fresh page
    (whose server never saw the file) reloads both exactly. A big one is too big for a link:
    the page says so and offers the JSON file."""
    import base64

    from selenium.webdriver.common.by import By

    path = tmp_path / "mine.csv"
    path.write_text(csv_rows(12, 3))
    page.find_element(By.ID, "csv-file").send_keys(str(path))
    wait_for(page, "const d = window.playground.data; return d.source === 'mine.csv' && d")
    click(page, "step-epoch")
    saved = settled(page, lambda f: f["epoch"] == 1)
    click(page, "save-state")
    state = wait_for(page, "const f = window.playground.files.at(-1); return f && f.base64")
    state_path = tmp_path / "state.json"
    state_path.write_bytes(base64.b64decode(state))
    assert json.loads(state_path.read_text())["csv"]["text"] == path.read_text()
    click(page, "share")
    wait_for(page, "return location.hash.startsWith('#z=')")
    link = page.current_url
    for how in ("file", "link"):
        page.get("about:blank")
        page.get(link if how == "link" else link.split("#", 1)[0])
        wait_for(page, "return window.playground.data && window.playground.lastFrame")
        if how == "file":
            assert page.execute_script("return window.playground.data.source") == "xor"
            page.find_element(By.ID, "load-state").send_keys(str(state_path))
        d = wait_for(page, "const d = window.playground.data; return d.source === 'mine.csv' && d")
        assert d["outputs"] == ["<b>a</b>", "beta", "gamma"]
        f = settled(page, lambda f: f["weights"] == saved["weights"])
        assert (f["epoch"], f["updates"], f["curve"]) == (
            saved["epoch"],
            saved["updates"],
            saved["curve"],
        )
        assert page.execute_script("return window.pwned") is None
    big = tmp_path / "big.csv"
    big.write_text(csv_rows(2000, 6))
    page.find_element(By.ID, "csv-file").send_keys(str(big))
    wait_for(page, "return window.playground.data.source === 'big.csv'")
    click(page, "share")
    note = wait_for(
        page,
        "const n = document.getElementById('share-note').textContent;"
        "return n.includes('over') && n",
    )
    assert "over the 32.0 kB a link can hold" in note
    click(page, "lang-es")
    assert "más de los 32.0 kB" in page.find_element(By.ID, "share-note").text
    click(page, "lang-en")
    assert page.execute_script("return location.hash").startswith("#z=")  # the old link stays
    click(page, "share-json")
    f = wait_for(
        page, "const f = window.playground.files.at(-1); return f.purpose === 'download' && f"
    )
    assert json.loads(base64.b64decode(f["base64"]))["csv"]["text"] == big.read_text()
    no_console_errors(page)


def test_csv_size_limit_said_in_the_page(page: Any, tmp_path: Path) -> None:
    """A CSV just under the page's limit crosses the socket (whose message limit is above it);
    one over it is refused in the page with the sizes, before it is sent."""
    from selenium.webdriver.common.by import By

    from retroprop.apps.playground.saved_state import MAX_CSV_BYTES

    row = "1.234567,2.345678,a\n3.456789,4.567891,b\n"
    near = tmp_path / "near.csv"
    copies = (MAX_CSV_BYTES - 11) // len(row)
    near.write_text("x1,x2,kind\n" + row * copies)
    assert MAX_CSV_BYTES - len(row) < near.stat().st_size <= MAX_CSV_BYTES
    page.find_element(By.ID, "csv-file").send_keys(str(near))
    d = wait_for(page, "const d = window.playground.data; return d.source === 'near.csv' && d")
    assert d["n_train"] + d["n_test"] == 2 * copies
    over = tmp_path / "over.csv"
    over.write_text(near.read_text() + row)
    page.find_element(By.ID, "csv-file").send_keys(str(over))
    shown = wait_for(page, "return document.getElementById('errors').textContent")
    assert "over.csv: 8.0 MB; the page takes files of at most 8.0 MB" in shown
    assert page.execute_script("return window.playground.data.source") == "near.csv"
    assert page.execute_script("return window.playground.errors.length") == 1


LABEL_BOXES = """
const box = (e) => { const b = e.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
return {
  labels: [...document.querySelectorAll('#net text')].filter((e) => e.textContent)
    .map((e) => [e.closest('g').id + ' ' + e.getAttribute('class') + ' ' + e.textContent, box(e)]),
  circles: [...document.querySelectorAll('#net .node > circle')]
    .map((e) => [e.parentNode.id, box(e)]),
};"""


def overlapping(boxes: list[Any], others: list[Any]) -> list[tuple[str, str]]:
    """The pairs of named boxes (x0, y0, x1, y1) that share some area (a box and itself aside)."""
    pairs = []
    for name, (x0, y0, x1, y1) in boxes:
        for other, (u0, v0, u1, v1) in others:
            if other != name and x0 < u1 and u0 < x1 and y0 < v1 and v0 < y1:
                pairs.append((name, other))
    return pairs


def step_and_check_labels(browser: Any, settings: dict[str, Any], sizes: str) -> None:
    """Configure ``settings``, step one sample and check that no two labels of the network (the
    names, the values, δ) overlap, nor a label a neuron's circle; every label is shown."""
    browser.execute_script("window.playground.configure(arguments[0])", settings)
    wait_for(browser, f"return window.playground.data.sizes.join('-') === '{sizes}'")
    browser.execute_script("window.playground.lastStep = null")
    click(browser, "step-sample")
    wait_for(browser, "return window.playground.lastStep")
    found = browser.execute_script(LABEL_BOXES)
    labels, circles = found["labels"], found["circles"]
    n = sum(map(int, sizes.split("-")))
    # a name per neuron, a value per neuron and a δ per neuron that has one (not the inputs)
    assert len(labels) == 3 * n - int(sizes.split("-")[0]), len(labels)
    assert overlapping(labels, labels) == []
    assert overlapping(labels, circles) == []
    no_console_errors(browser)


def test_network_labels_never_overlap(page: Any) -> None:
    """3 outputs and two hidden layers of 8 neurons; 16 neurons; then the largest layers allowed
    (64 inputs of the 8×8 digits, 64 hidden neurons, 10 outputs), each after a step, so that
    every neuron shows its name, value and δ."""
    step_and_check_labels(
        page,
        {"data": "spirals", "n_samples": 90, "hidden": [8, 8], "activations": ["tanh", "tanh"],
         "solver": "sgd", "batch_size": 1},
        "2-8-8-3",
    )  # fmt: skip
    # the most neurons that still get two lines of labels (smaller circles)
    step_and_check_labels(
        page,
        {"data": "spirals", "n_samples": 90, "hidden": [16], "activations": ["tanh"]},
        "2-16-3",
    )
    from retroprop.apps.playground.settings import MAX_NEURONS as most

    step_and_check_labels(
        page,
        {"data": "digits", "hidden": [most, 12], "activations": ["tanh", "tanh"], "solver": "sgd",
         "batch_size": 1},
        f"64-{most}-12-10",
    )  # fmt: skip
    # the full numbers are on hover: a neuron's tooltip shows its o and δ to 10 digits
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    out = page.find_element(By.CSS_SELECTOR, "#n3-0 circle")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", out)
    ActionChains(page).move_to_element(out).perform()
    tip = wait_for(
        page, "const t = document.getElementById('tip'); return !t.hidden && t.textContent"
    )
    delta = page.execute_script("return window.playground.lastStep.trace.layers[2].delta[0]")
    shown = re.search(r"δ = (\S+)", tip)
    assert shown, tip
    np.testing.assert_allclose(shown_number(shown.group(1)), delta, rtol=1e-9)


GLYPHS = """
// Every character of the page's text (every element, shown or not, in its own font; and every
// word of both languages in the page's font) drawn on a canvas: those drawn exactly like a
// private-use character, which no font has, are missing glyphs (the font's empty box).
const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 48;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
const draw = (font, ch) => { ctx.clearRect(0, 0, 64, 48); ctx.font = font;
  ctx.fillText(ch, 8, 32); return ctx.getImageData(0, 0, 64, 48).data.join(); };
const pairs = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const add = (font, text) => { for (const ch of text) pairs.add(font + '\\u0000' + ch); };
for (let n = walker.nextNode(); n; n = walker.nextNode())
  add(getComputedStyle(n.parentElement).font, n.textContent);
const bodyFont = getComputedStyle(document.body).font;
const boot = JSON.parse(document.getElementById('boot').textContent);
for (const lang of Object.values(boot.strings))
  for (const text of Object.values(lang)) add(bodyFont, text);
add(bodyFont, arguments[0]);
const missing = [];
for (const pair of pairs) {
  const [font, ch] = pair.split('\\u0000');
  if (ch.trim() && draw(font, ch) === draw(font, '\\ue000')) missing.push([font, ch]);
}
return missing;"""


def test_no_missing_glyph_in_either_language(page: Any) -> None:
    """No character of the page, in English or Spanish and after a traced step (the glass box's
    equations), falls back to the missing-glyph box: a check that finds the ⏸ the Pause button
    once had, given here on purpose."""
    from retroprop.views.i18n import LANGUAGES

    click(page, "step-sample")
    wait_for(page, "return window.playground.lastStep")
    for lang in LANGUAGES:
        click(page, f"lang-{lang}")
        for _ in range(3):
            click(page, "next")  # a few moments of the walk: their equations are in the page
        missing = page.execute_script(GLYPHS, "⏸")
        assert [ch for _, ch in missing] == ["⏸"], (lang, missing)
    click(page, "lang-en")
    no_console_errors(page)
