"""``retroprop playground`` while it trains: frames per second that reach the browser, and training
throughput with the page open against ``fit`` alone on the same network and data.

    python benchmarks/playground.py                 # 2-8-8-1 tanh on the 2-D "sine" data
    python benchmarks/playground.py --seconds 20 --rounds 3
    python benchmarks/playground.py --screenshots docs/   # also the README's two screenshots

Needs Debian's chromium and chromium-driver (and selenium), as the browser tests do. The
server runs as the real command (``python -m retroprop playground --no-browser``); the page is
opened in headless Chromium, set to the benchmark's network and played for ``--seconds``;
the page counts the frames it receives and the last frame says how many weight updates the
server made. ``fit`` then trains the same network on the same 200 samples (online SGD, η = 0.1,
compiled engine) for as long. Issue 16's targets: ≥ 20 frames/s, ≥ 50 % of ``fit``'s updates/s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # run from a clone without installing, too
sys.path.insert(0, str(HERE.parent / "tests"))  # the browser tests' helpers

from helpers import wait_for  # noqa: E402

SETTINGS = {
    "data": "sine", "n_samples": 200, "noise": 0.05, "test_fraction": 0.0, "hidden": [8, 8],
    "activations": ["tanh", "tanh"], "solver": "sgd", "learning_rate": 0.1, "batch_size": 1,
    "seed": 0,
}  # fmt: skip


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"]:  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver: Any, script: str) -> Any:
    """The value of ``script`` once it is truthy (within two minutes)."""
    return wait_for(driver, script, timeout=120.0, poll=0.05)


def page_round(driver: Any, url: str, seconds: float) -> dict[str, float]:
    """Play the benchmark network for ``seconds`` (after a warm-up second): frames/s received
    and the server's weight updates per second."""
    driver.get(url)
    wait(driver, "return window.playground.lastFrame")
    # through the page's own socket: the message its controls send
    driver.execute_script("window.playground.configure(arguments[0])", SETTINGS)
    wait(driver, "return window.playground.data.sizes.join('-') === '2-8-8-1'")
    driver.execute_script("document.getElementById('play').click()")
    wait(driver, "const f = window.playground.lastFrame; return f.running && f.epoch > 5")
    time.sleep(1.0)
    start = driver.execute_script(
        "const f = window.playground.lastFrame; return [window.playground.frames, f.updates, "
        "f.time, performance.now()]"
    )
    time.sleep(seconds)
    end = driver.execute_script(
        "const f = window.playground.lastFrame; return [window.playground.frames, f.updates, "
        "f.time, performance.now()]"
    )
    driver.execute_script("document.getElementById('pause').click()")
    return {
        "frames_per_s": (end[0] - start[0]) / ((end[3] - start[3]) / 1000),
        "updates_per_s": (end[1] - start[1]) / (end[2] - start[2]),
    }


def fit_round(seconds: float) -> float:
    """Weight updates per second of ``fit`` alone on the benchmark network and data."""
    from retroprop.apps.playground.session import Session
    from retroprop.apps.playground.settings import settings_from_json
    from retroprop.train.loop import fit

    s = Session.start(settings_from_json(SETTINGS))
    d = s.data
    fit(s.network.copy(), d.X, d.Y, optimizer="sgd", learning_rate=0.1, epochs=200, seed=0)
    epochs, elapsed = 500, 0.0
    while elapsed < seconds / 2:
        epochs *= 2
        net = s.network.copy()
        started = time.perf_counter()
        fit(net, d.X, d.Y, optimizer="sgd", learning_rate=0.1, epochs=epochs, seed=0,
            engine="auto")  # fmt: skip
        elapsed = time.perf_counter() - started
    return epochs * len(d.X) / elapsed


def screenshots(driver: Any, url: str, folder: Path) -> None:
    """The README's pictures: circles after some training, a step in the glass box, EN and ES."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1400, 1500)
    driver.get(url)
    wait(driver, "return window.playground.lastFrame")
    driver.execute_script(
        "window.playground.configure(arguments[0])",
        {"data": "spirals", "n_samples": 300, "hidden": [8, 8], "activations": ["tanh", "tanh"],
         "solver": "adam", "learning_rate": 0.02, "batch_size": 10, "test_fraction": 0.2},
    )  # fmt: skip
    wait(driver, "return window.playground.data.source === 'spirals'")
    driver.execute_script("document.getElementById('play').click()")
    wait(driver, "const f = window.playground.lastFrame; return f.epoch > 150")
    driver.execute_script("document.getElementById('pause').click()")
    wait(driver, "return !window.playground.lastFrame.running")
    driver.execute_script("document.getElementById('step-sample').click()")
    wait(driver, "return window.playground.lastStep")
    for _ in range(4):
        driver.execute_script("document.getElementById('next').click()")
    time.sleep(0.5)
    driver.save_screenshot(str(folder / "playground-en.png"))
    driver.execute_script("document.getElementById('lang-es').click()")
    time.sleep(0.5)
    driver.save_screenshot(str(folder / "playground-es.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "retroprop", "playground", "--no-browser"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)  # type: ignore[union-attr]
    driver = browser()
    rows = []
    try:
        for _ in range(args.rounds):
            page = page_round(driver, url, args.seconds)
            alone = fit_round(args.seconds)
            rows.append({**page, "fit_updates_per_s": alone,
                         "share_of_fit": page["updates_per_s"] / alone})  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if args.screenshots is not None:
            screenshots(driver, url, args.screenshots)
    finally:
        driver.quit()
        proc.send_signal(2)
        proc.wait(timeout=30)
    best = {k: max(r[k] for r in rows) for k in rows[0]}
    print(json.dumps({"rounds": rows, "best": best}, indent=2))


if __name__ == "__main__":
    main()
