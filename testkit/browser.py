"""Headless Chromium for the dashboard's browser tests (Debian's chromium and chromium-driver).

``Browser`` opens pages at a window size, reads the browser console and the
JS heap, and saves screenshots into the run's folder (``screenshot_dir``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException as ScriptTimeoutException
from selenium.webdriver.chrome.service import Service

# A kiosk's page is always in front; a test that opens two screens as two windows must not have Chromium slow
# the one behind (its timers throttled, its rotation a slot late: seen on a loaded machine).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows")


SCRIPT_TIMEOUT_S = 5


def available() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        return "chromium and chromium-driver are not installed (scripts/setup.sh installs them)"
    return None


class Browser:
    def __init__(self, width: int = 1920, height: int = 1080):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        self.driver.set_page_load_timeout(30)
        # a script the page has not run within this is asked again by ``wait_for`` (within its own deadline),
        # not a failure of its own: selenium's default is 30 s, longer than most waits
        self.driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        # the window size includes no browser chrome in headless mode; set the viewport exactly
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, url: str) -> None:
        """Navigate; what the previous page logged (a test that stopped its server on purpose) is let go of, so
        ``console_errors`` speaks of this page only. The previous page is unloaded first (about:blank), so none of
        its requests still in flight logs into the new one after the log was emptied."""
        self.driver.get("about:blank")
        self.driver.get_log("browser")
        self.driver.get(url)

    def js(self, script: str, *args, patience_s: float = 30.0):
        """Run a script; a page too busy to run it within ``SCRIPT_TIMEOUT_S`` is asked again until
        ``patience_s`` (selenium's own default) has passed."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                return self.driver.execute_script(script, *args)
            except ScriptTimeoutException:
                if time.monotonic() >= deadline:
                    raise

    def _js_once(self, script: str):
        return self.driver.execute_script(script)

    def wait_for(self, script: str, timeout_s: float = 20.0, interval_s: float = 0.2):
        """Poll a JS expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout_s
        value = None
        busy = 0
        while time.monotonic() < deadline:
            try:
                value = self._js_once("return " + script)
            except ScriptTimeoutException:  # the page's main thread did not answer in SCRIPT_TIMEOUT_S: ask again
                busy += 1
                continue
            if value:
                return value
            time.sleep(interval_s)
        said = f"; the page did not answer {busy} time(s) within {SCRIPT_TIMEOUT_S} s" if busy else ""
        raise AssertionError(f"timed out after {timeout_s} s waiting for: {script} (last value {value!r}{said})")

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def heap_mb(self) -> float:
        self.driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
        return self.js("return performance.memory.usedJSHeapSize") / 2**20

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()


# A developer's checkout collected a folder of screenshots per run, some 5 MB each, 435 MB after a few days. Older
# runs' folders go when a new run starts: the newest KEEP_RUNS stay, and none younger than an hour (a run's
# workers each name a folder, seconds apart, and the run still writes into them).
KEEP_RUNS = 8
KEEP_YOUNGER_THAN_S = 3600


def screenshot_dir() -> Path:
    """Where this test run saves its screenshots: ``$EXPO_SCREENSHOTS`` or test-output/screenshots-<time>."""
    named = os.environ.get("EXPO_SCREENSHOTS")
    if named:
        return Path(named)
    root = Path("test-output")
    prune_runs(root, time.time())
    return root / time.strftime("screenshots-%Y%m%d-%H%M%S")


def prune_runs(root: Path, now_s: float, keep: int = KEEP_RUNS, younger_than_s: float = KEEP_YOUNGER_THAN_S) -> list[Path]:
    """Remove the screenshot folders of older runs under ``root``; the ones removed."""
    runs = sorted((p for p in root.glob("screenshots-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    gone = [p for p in runs[keep:] if now_s - p.stat().st_mtime >= younger_than_s]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)  # a folder another run is emptying at the same moment
    return gone
