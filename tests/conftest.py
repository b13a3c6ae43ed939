"""Shared fixtures: a headless Chromium for the browser tests of the HTML pages; the command
line run for real in a subprocess; in-process training that waits for the generated kernels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The suite checks English output: a Spanish locale (or RETROPROP_LANG) on the machine that
# runs it must not change what the commands print. tests/test_lang.py sets its own.
os.environ["RETROPROP_LANG"] = "en"


@pytest.fixture(autouse=True)
def generated_kernels_in_the_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run waits for the kernel generated for its architecture (compiled by a worker process)
    instead of training on the generic kernels meanwhile, so that the tests comparing engines
    check the generated kernels even on a cold cache. ``tests/test_background_compile.py``
    turns this off to check the path users take (no waiting, bit-identical numbers)."""
    from retroprop._fast import background

    monkeypatch.setattr(background, "WAIT", True)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        # CI installs the browser and sets RETROPROP_REQUIRE_BROWSER, so there a skip is a failure
        if os.environ.get("RETROPROP_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromium-driver are required but not installed")
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--window-size=1300,900",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


RunCli = Callable[..., "subprocess.CompletedProcess[str]"]
"""``run_cli(*args, cwd=None)``: the completed ``python -m retroprop ARGS…`` (text output)."""


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """Run the real command line, ``python -m retroprop ARGS…``, in a subprocess.

    Output is captured as text; a command that hangs fails the test after three minutes.
    """

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "retroprop", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=180,
        )

    return run
