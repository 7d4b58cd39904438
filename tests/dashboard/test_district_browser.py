"""A district tapped on the big-data map, in headless Chromium: its own town plan, its name, the way home.

Split from ``test_bigdata_browser`` so the two browser files run on two workers; the served app and the
browser are the same fixtures (one of each per file).
"""

from __future__ import annotations

import pytest

from testkit.browser import Browser, available
from testkit.dashboard import layout_problems
from tests.dashboard.test_bigdata import binhai, snapshot_of
from tests.dashboard.test_bigdata_browser import (  # noqa: F401
    BOXES,
    SHOTS,
    SCREENS,
    browser,
    drawn,
    overlaps,
    served,
)

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")

# a tap opens the district's own town plan ----------------------------------------------------------------------

PLAN_KEYS = "return document.querySelector('#city-graph .js-plotly-plot').data[0].customdata.slice().sort()"
SUBTITLE = "return document.getElementById('subtitle').innerText"


@pytest.fixture
def districts(served):
    """The served model holding the eco-city (the home town) and the port, each with a street of homes."""
    from tests.dashboard.test_scenes import district_snapshot

    model, url = served
    model.snapshot = district_snapshot(homes=36)
    yield model, url
    model.snapshot = snapshot_of(binhai())


def until(browser: Browser, condition: str, timeout_s: float = 15.0):
    """``browser.wait_for`` for a condition that throws while the page is still being drawn (false until then)."""
    return browser.wait_for(f"(() => {{ try {{ return {condition}; }} catch (e) {{ return false; }} }})()", timeout_s)


def plan_of(browser: Browser, site: str) -> list:
    until(browser, "document.querySelector('.scene.active').id.includes('\"city\"') && "
                   f"document.querySelector('#city-graph .js-plotly-plot').data[0].customdata[0].startsWith('{site}/')"
                   " && getComputedStyle(document.querySelector('.scene.active')).opacity === '1'")
    return browser.js(PLAN_KEYS)


def test_a_tapped_district_shows_its_own_plan_and_name_and_the_back_button_returns_home(districts, browser):
    model, url = districts
    browser.resize(1920, 1080)
    browser.open(f"{url}?scene=bigdata&lang=en")
    drawn(browser)
    assert browser.js(SUBTITLE) == "Binhai New Area"
    browser.driver.find_element("css selector", '.bd-label[id*="port"]').click()  # a real pointer tap
    keys = plan_of(browser, "port")
    assert keys and all(k.startswith("port/") for k in keys) and len(keys) == 39  # its meters, none of the home's
    browser.wait_for("document.getElementById('subtitle').innerText === 'Tianjin Port'", 5)
    assert "Tianjin Port" in browser.js("return document.querySelector('.scene.active .caption').innerText")
    assert "Binhai Smart Energy Town" not in browser.js("return document.body.innerText")
    back = browser.driver.find_element("css selector", "#city-back")
    assert back.is_displayed() and "Sino-Singapore Tianjin Eco-City" in back.text
    box = back.rect
    assert box["width"] >= 48 and box["height"] >= 48  # a tap target
    back.click()
    keys = plan_of(browser, "eco-city")
    assert all(k.startswith("eco-city/") for k in keys) and len(keys) == 39
    browser.wait_for("document.getElementById('subtitle').innerText === 'Sino-Singapore Tianjin Eco-City' && "
                     "getComputedStyle(document.getElementById('city-back')).display === 'none'", 5)
    assert browser.console_errors() == []


def test_a_district_on_its_way_says_loading_then_shows_its_plan(served, browser):
    from tests.dashboard.test_scenes import district_snapshot

    model, url = served
    model.snapshot = district_snapshot(port_devices=False, homes=36)
    try:
        browser.resize(1920, 1080)
        browser.open(f"{url}?scene=bigdata&lang=zh")
        drawn(browser)
        browser.driver.find_element("css selector", '.bd-label[id*="port"]').click()
        until(browser, "document.querySelector('.scene.active').id.includes('\"city\"') && "
                       "document.querySelector('#city-note').innerText === '正在载入天津港…'", 10)
        assert browser.js("return document.querySelector('#city-graph .js-plotly-plot').data.length") == 0
        assert browser.js(SUBTITLE) == "天津港"
        browser.screenshot(SHOTS / "city-district-loading-zh-1920x1080.png")
        model.snapshot = district_snapshot(homes=36)  # the port's meters arrive with the next poll
        assert all(k.startswith("port/") for k in plan_of(browser, "port"))
        browser.wait_for("document.querySelector('#city-note').innerText === ''", 5)
        assert browser.console_errors() == []
    finally:
        model.snapshot = snapshot_of(binhai())


def test_left_alone_the_plan_returns_to_the_home_town(districts, browser):
    _, url = districts
    browser.resize(1920, 1080)
    browser.open(f"{url}?scene=bigdata&lang=en")
    drawn(browser)
    browser.driver.find_element("css selector", '.bd-label[id*="port"]').click()
    plan_of(browser, "port")
    later = browser.js("return window.expoKiosk.clock()") + 61_000  # past the idle time (60 s)
    browser.js("var at = arguments[0]; window.expoKiosk.clock = function () { return at; };", later)
    assert all(k.startswith("eco-city/") for k in plan_of(browser, "eco-city"))
    browser.wait_for("document.getElementById('subtitle').innerText === 'Sino-Singapore Tianjin Eco-City'", 5)


@pytest.mark.parametrize("scene, place", [("zeb", "Eco-City Zero-Energy Hall"), ("city", "Sino-Singapore Tianjin "
                                          "Eco-City"), ("flow", "Sino-Singapore Tianjin Eco-City"),
                                          ("load", "Sino-Singapore Tianjin Eco-City"), ("bigdata", "Binhai New Area")])
def test_the_subtitle_names_the_building_the_town_or_the_city(districts, browser, scene, place):
    _, url = districts
    browser.resize(1920, 1080)
    browser.open(f"{url}?scene={scene}&lang=en")
    until(browser, f"document.querySelector('.scene.active').id.includes('\"{scene}\"') && "
                   f"document.getElementById('subtitle').innerText === {place!r}")
    scale = {"zeb": "The building: ", "bigdata": "The whole city: "}.get(scene, "The town: ")
    until(browser, f"document.querySelector('.scene.active .caption .t-en').innerText.startsWith({scale!r})", 10)
    assert browser.console_errors() == []


@pytest.mark.parametrize("width, height, lang", SCREENS)
def test_a_districts_plan_fits_every_screen_in_both_languages(districts, browser, width, height, lang):
    _, url = districts
    browser.resize(width, height)
    browser.open(f"{url}?scene=bigdata&lang={lang}")
    drawn(browser)
    browser.driver.find_element("css selector", '.bd-label[id*="port"]').click()
    plan_of(browser, "port")
    browser.wait_for("document.fonts.status === 'loaded' && "
                     "document.querySelector('.scene.active .kpis').children.length === 5", 10)
    path = browser.screenshot(SHOTS / f"city-port-{lang}-{width}x{height}.png")
    assert path.stat().st_size > 10_000
    assert layout_problems(browser) == {"off": [], "over": [], "small": []}
    parts = browser.js(BOXES, ".scene.active .kpi-value, .scene.active .kpi-label, .scene.active .caption, "
                              ".scene.active .scene-title, .scene.active .legend, #city-back, #badge, .title, "
                              "#subtitle, .nav-dot, .lang-toggle, .clock")
    off = [b for b in parts if b[1] < -1 or b[2] < -1 or b[3] > width + 1 or b[4] > height + 1]
    assert not off, off
    assert not overlaps([b for b in parts if b[0] in ("city-back", "legend")] +
                        [b for b in parts if b[0].startswith("t kpi")]), "the back button lies on something"
    assert not overlaps([b for b in parts if b[0].startswith("t kpi-value")]), "big numbers run into each other"
    dot = browser.js("return document.querySelector('.nav-dot').offsetHeight")  # design px: the canvas scales it
    inner = browser.js("return parseFloat(getComputedStyle(document.querySelector('.nav-dot'), '::after').width)")
    assert dot >= 48 and inner >= 16
    text = browser.js("return document.querySelector('.scene.active').innerText + document.body.innerText")
    assert browser.js("return document.fonts.check('700 24px \"Expo Sans SC\"', arguments[0])", text)
    assert browser.console_errors() == []


def test_at_4k_the_canvas_draws_the_plan_twice_as_large_and_a_tap_on_a_meter_still_opens_it(districts, browser):
    """The page is one 1920x1080 canvas scaled to the screen: at 2160p the plan's meters and names are drawn at
    twice their design size, and a tap lands on the meter under the finger (plotly maps it through the scale)."""
    from selenium.webdriver.common.action_chains import ActionChains

    _, url = districts
    browser.resize(3840, 2160)
    try:
        browser.open(f"{url}?scene=city&lang=en")
        plan_of(browser, "eco-city")
        k = browser.js("const p = document.querySelector('#city-graph .js-plotly-plot');"
                       "return p.getBoundingClientRect().width / p.offsetWidth")
        assert k == pytest.approx((2160 - 2 * 8) / 1080, abs=0.01)  # the screen, less the orbit's margin (8 px)
        name = browser.js("return document.querySelector('#city-graph .textpoint text').getBoundingClientRect().height")
        assert name >= 1.98 * 24  # a landmark's name: 26 design px, drawn twice as tall
        x, y, key = browser.js("""const p = document.querySelector('#city-graph .js-plotly-plot'), f = p._fullLayout;
            const i = p.data[0].customdata.indexOf('eco-city/home-04'), box = p.getBoundingClientRect();
            const k = box.width / p.offsetWidth;
            return [box.left + k * (f.xaxis._offset + f.xaxis.l2p(p.data[0].x[i])),
                    box.top + k * (f.yaxis._offset + f.yaxis.l2p(p.data[0].y[i])), p.data[0].customdata[i]];""")
        ActionChains(browser.driver).move_to_element_with_offset(
            browser.driver.find_element("tag name", "body"), 0, 0).perform()  # from the page's centre
        ActionChains(browser.driver).move_by_offset(round(x - 1920), round(y - 1080)).click().perform()
        until(browser, "document.getElementById('city-detail').innerText.includes('eco-city home-04')", 10)
        browser.screenshot(SHOTS / "city-en-3840x2160-detail.png")
        assert key == "eco-city/home-04" and browser.console_errors() == []
    finally:
        browser.resize(1920, 1080)
