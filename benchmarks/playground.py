"""``retroprop playground`` while it trains: frames per second that reach the client, and training
throughput with the page open against ``fit`` alone on the same network and data.

    python benchmarks/playground.py                 # 2-8-8-1 tanh on the 2-D "sine" data
    python benchmarks/playground.py --seconds 10 --rounds 9
    python benchmarks/playground.py --browser       # the page in headless Chromium
    python benchmarks/playground.py --screenshots docs/images --rounds 0  # the README's pictures

The server runs as the real command (``python -m retroprop playground --no-browser``). Each
round plays the benchmark network for ``--seconds`` with a client on the socket and trains the
same network with ``fit`` alone for as long, one after the other (the order alternates between
rounds, so that a machine whose load changes treats both alike; a first round, not counted,
warms up). The client is a WebSocket client that parses every frame as the page does
(``--browser``: the page itself, in headless Chromium — Debian's chromium and chromium-driver
and selenium, as the browser tests need); the server's weight updates per second are read off
the frames (``updates`` and ``time``). ``fit`` trains the same network on the same 200 samples
(online SGD, η = 0.1, compiled engine). Issue 16's targets, at the median over the rounds:
≥ 20 frames/s and ≥ 50 % of ``fit``'s updates/s. The load average is printed with every round:
on a busy machine both numbers swing, compare them within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from functools import partial
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
WARM_UP = 1.0
"""Seconds of playing before a round starts counting."""


def socket_round(url: str, seconds: float) -> dict[str, float]:
    """Play the benchmark network for ``seconds`` (after :data:`WARM_UP`) with a WebSocket
    client that parses every frame: frames/s received and the server's weight updates/s."""
    from websockets.sync.client import connect

    base, token = url.split("/?token=")
    with connect(f"{base.replace('http', 'ws')}/ws?token={token}", origin=base,
                 max_size=None) as ws:  # fmt: skip
        ws.send(json.dumps({"cmd": "configure", "settings": SETTINGS}))
        _receive_until(ws, lambda f: f["type"] == "data" and f["sizes"] == [2, 8, 8, 1])
        ws.send(json.dumps({"cmd": "play"}))
        _receive_until(ws, lambda f: f["type"] == "frame" and f["running"] and f["epoch"] > 5)
        _receive_until(ws, lambda f: False, WARM_UP)
        first = _receive_until(ws, lambda f: f["type"] == "frame")
        started, frames, last = time.perf_counter(), 0, first
        while (now := time.perf_counter()) - started < seconds:
            frame = json.loads(ws.recv())
            if frame["type"] == "frame":
                frames, last = frames + 1, frame
        ws.send(json.dumps({"cmd": "pause"}))
        _receive_until(ws, lambda f: f["type"] == "frame" and not f["running"])
    return {
        "frames_per_s": frames / (now - started),
        "updates_per_s": (last["updates"] - first["updates"]) / (last["time"] - first["time"]),
    }


def _receive_until(ws: Any, done: Any, timeout: float = 120.0) -> Any:
    """Parse frames until ``done(frame)`` (that frame), or ``timeout`` seconds (None)."""
    deadline = time.perf_counter() + timeout
    while (left := deadline - time.perf_counter()) > 0:
        try:
            frame = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return None
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])
        if done(frame):
            return frame
    return None


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


def browser_round(driver: Any, url: str, seconds: float) -> dict[str, float]:
    """:func:`socket_round` with the page in the browser: frames/s the page received."""
    driver.get(url)
    wait(driver, "return window.playground.lastFrame")
    # through the page's own socket: the message its controls send
    driver.execute_script("window.playground.configure(arguments[0])", SETTINGS)
    wait(driver, "return window.playground.data.sizes.join('-') === '2-8-8-1'")
    driver.execute_script("document.getElementById('play').click()")
    wait(driver, "const f = window.playground.lastFrame; return f.running && f.epoch > 5")
    time.sleep(WARM_UP)
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
    """The README's pictures: three spirals after some training, a single-sample step walked
    back to the hidden layers in the glass box, EN and ES (a window tall enough for it all)."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1400, 1360)
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
    for _ in range(8):  # the first hidden δ: the output δs summed back along the weights
        driver.execute_script("document.getElementById('next').click()")
    time.sleep(0.5)
    driver.save_screenshot(str(folder / "playground-en.png"))
    driver.execute_script("document.getElementById('lang-es').click()")
    time.sleep(0.5)
    driver.save_screenshot(str(folder / "playground-es.png"))


def one_round(client: Any, seconds: float, page_first: bool) -> dict[str, float]:
    """The page's numbers and ``fit``'s, one after the other, with the load average."""
    if page_first:
        page = client(seconds)
    alone = fit_round(seconds)
    if not page_first:
        page = client(seconds)
    return {**page, "fit_updates_per_s": alone, "share_of_fit": page["updates_per_s"] / alone,
            "load_1min": os.getloadavg()[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="the page in headless Chromium")
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "retroprop", "playground", "--no-browser"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)  # type: ignore[union-attr]
    driver = browser() if args.browser or args.screenshots else None
    rows = []
    client = partial(browser_round, driver, url) if driver else partial(socket_round, url)
    try:
        client(WARM_UP)  # not counted: the first page load, the first compiled epochs
        for i in range(args.rounds):
            rows.append(one_round(client, args.seconds, page_first=i % 2 == 0))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if args.screenshots is not None:
            screenshots(driver, url, args.screenshots)
    finally:
        if driver is not None:
            driver.quit()
        proc.send_signal(2)
        proc.wait(timeout=30)
    if not rows:  # --rounds 0: the screenshots only
        return
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    client_name = "headless Chromium" if args.browser else "WebSocket client"
    print(json.dumps({"client": client_name, "rounds": rows, "median": median}, indent=2))


if __name__ == "__main__":
    main()
