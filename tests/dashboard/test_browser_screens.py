"""Several screens on one dashboard server in a real browser (headless Chromium): one show, the server's clock.

Apart from test_browser_kiosk.py so the run's workers take them in parallel (``--dist loadfile`` keeps a module
on one worker); the module has its own dashboard and Chromium.
"""

from __future__ import annotations

import pytest

from testkit.browser import available
from testkit.dashboard import active_scene_ready

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")


SHOWING = ("(() => { const k = window.expoKiosk; return [k.slot, JSON.parse(document.querySelector('.scene.active').id)"
           ".id, document.getElementById('root').className]; })()")
# the page shows the slot its (server-corrected) clock says is now: its rotation has caught up with its offset
SETTLED = "window.expoKiosk.slot === Math.floor(window.expoKiosk.showTime() / window.expoKiosk.cfg.rotate_ms)"


def test_screens_on_one_server_show_the_same_scene_at_the_same_moment(town, browser):
    """Two screens whose own clocks disagree by ten minutes, one a wall and one a touch kiosk opened on another
    scene, follow the server's clock: the same slot of the rotation, the same scene, the same language."""
    _, dash, _ = town
    driver = browser.driver
    browser.open(f"{dash.url}?role=wall&lang=en")
    active_scene_ready(browser)
    browser.js("window.expoKiosk.clock = function () { return Date.now() - 420000; };")  # 7 minutes slow
    # its offset to the server's clock is learnt again from the answers after the change (as on a screen whose
    # clock was set wrong while it ran): every read of the wall below waits for two of them
    wall_answers = browser.js("return window.expoKiosk.answers")
    wall = driver.current_window_handle
    driver.switch_to.new_window("window")
    try:
        browser.open(f"{dash.url}?role=touch&lang=en&scene=rank")
        active_scene_ready(browser)
        browser.js("window.expoKiosk.clock = function () { return Date.now() + 180000; };")  # 3 minutes fast
        touch_answers = browser.js("return window.expoKiosk.answers")
        touch = driver.current_window_handle
        seen = []
        for _ in range(3):  # a rotation boundary between the two reads shows as different slots: read again
            browser.wait_for(f"window.expoKiosk.answers >= {touch_answers + 2} && {SETTLED}", 15)
            on_touch = browser.wait_for(SHOWING, 5)
            driver.switch_to.window(wall)
            browser.wait_for(f"window.expoKiosk.answers >= {wall_answers + 2} && {SETTLED}", 15)
            on_wall = browser.wait_for(SHOWING, 5)
            driver.switch_to.window(touch)
            seen.append((on_wall, on_touch))
            if on_wall[0] == on_touch[0]:
                break
        on_wall, on_touch = next(((w, t) for w, t in seen if w[0] == t[0]), seen[-1])
        # the same slot of the show, though their clocks are 10 min apart (200 slots of 3 s). A page learns the
        # server's clock from answers that take their time to arrive: on a loaded machine two pages' clocks can
        # disagree by a second or two, and a 3 s slot boundary between them is then seen on every read
        assert abs(on_wall[0] - on_touch[0]) <= 1, seen
        if on_wall[0] == on_touch[0]:
            assert on_wall[1] == on_touch[1], seen  # so the same scene
        # a touch on the wall changes nothing; a touch on the kiosk pauses it
        browser.driver.find_element("css selector", ".title").click()
        assert browser.wait_for("document.body.classList.contains('paused')", 3)
        driver.switch_to.window(wall)
        browser.driver.find_element("css selector", ".title").click()
        assert not browser.js("return document.body.classList.contains('paused')")
    finally:
        for handle in driver.window_handles:
            if handle != wall:
                driver.switch_to.window(handle)
                driver.close()
        driver.switch_to.window(wall)
