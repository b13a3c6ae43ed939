"""Screenshots for the README: the step-through page and the training report.

Run from the repository root with the test extra installed and Debian's chromium and
chromium-driver present:  python docs/make_screenshots.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

import retroprop as rp

HERE = Path(__file__).resolve().parent / "images"
# DESIGN.md's example network file, kept once for the tests and this script
NET = json.loads((HERE.parents[1] / "tests" / "data" / "design_network.json").read_text("utf-8"))


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1300,800",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> None:
    from retroprop.files.network_file import loads_network
    from retroprop.views.steppage import write_step_page

    HERE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    net = loads_network(json.dumps(NET))
    traces, _ = rp.trace_steps(net, [0.05, 0.10], [0.01, 0.99], "sgd", learning_rate=0.5)
    page = write_step_page(traces, tmp / "step.html")
    data = rp.datasets.moons(n_samples=300)
    net2 = rp.Network.create([2, 8, 1], seed=0)
    history = rp.fit(
        net2,
        data.X,
        data.y,
        learning_rate=0.5,
        epochs=60,
        seed=0,
        validation_fraction=0.2,
        callbacks=[rp.Recorder(data.X, data.y)],
    )
    report = rp.write_report(tmp / "report.html", net2, history, data.X, data.y)
    driver = browser()
    try:
        driver.get(page.as_uri())
        for _ in range(7):  # walk to the output layer's δ
            driver.find_element("id", "next").click()
        driver.save_screenshot(str(HERE / "step_page.png"))
        driver.find_element("id", "lang-es").click()
        driver.save_screenshot(str(HERE / "step_page_es.png"))
        driver.set_window_size(1300, 1100)
        driver.get(report.as_uri())
        driver.save_screenshot(str(HERE / "report.png"))
    finally:
        driver.quit()
    print("written to", HERE)


if __name__ == "__main__":
    main()
