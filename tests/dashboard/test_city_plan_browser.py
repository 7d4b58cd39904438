"""The eco-city's town plan at district scale (4,215 meters, gathered), in headless Chromium on four screens in both
languages, screenshots to be looked at; a tap on a gathered mark opens what it holds."""

from __future__ import annotations

import pytest

from testkit.browser import available
from tests.dashboard.test_bigdata import binhai, snapshot_of
from tests.dashboard.test_bigdata_browser import SCREENS, SHOTS, browser, served  # noqa: F401
from tests.dashboard.test_city_plan import city_devices, city_snapshot  # noqa: F401
from tests.dashboard.test_district_browser import until

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")

PLOT = "document.querySelector('#city-graph .js-plotly-plot')"


@pytest.fixture
def eco_city(served, city_snapshot):  # noqa: F811
    model, url = served
    model.snapshot = city_snapshot
    yield model, url
    model.snapshot = snapshot_of(binhai())


def plan_drawn(browser):  # noqa: F811
    until(browser, "document.querySelector('.scene.active').id.includes('\"city\"') && "
                   f"{PLOT}.data.length === 3 && {PLOT}.data[0].customdata[0][0].startsWith('eco-city/@') && "
                   "[...document.querySelectorAll('.scene.active #city-graph .textpoint')].filter(t => t.textContent).length === 3 && "
                   "getComputedStyle(document.querySelector('.scene.active')).opacity === '1' && "
                   "document.fonts.status === 'loaded'", 20)


@pytest.mark.parametrize("width, height, lang", SCREENS)
def test_the_eco_citys_plan_is_gathered_on_every_screen(eco_city, browser, width, height, lang):  # noqa: F811
    _, url = eco_city
    browser.resize(width, height)
    browser.open(f"{url}?scene=city&lang={lang}")
    plan_drawn(browser)
    path = browser.screenshot(SHOTS / f"city-eco-city-{lang}-{width}x{height}.png")
    assert path.stat().st_size > 10_000
    marks = browser.js(f"return {PLOT}.data[0].x.length + {PLOT}.data[2].x.length")
    assert 20 <= marks <= 300
    box = browser.js(f"const r = {PLOT}.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]")
    assert box[0] >= -1 and box[1] >= -1 and box[2] <= width + 1 and box[3] <= height + 1
    assert browser.console_errors() == []


def test_a_tap_on_a_gathered_mark_opens_what_it_holds(eco_city, browser):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    _, url = eco_city
    browser.resize(1920, 1080)
    browser.open(f"{url}?scene=city&lang=en")
    plan_drawn(browser)
    x, y, n = browser.js(f"""const p = {PLOT}, f = p._fullLayout, d = p.data[0];
        let i = 0; d.customdata.forEach((c, k) => {{ if (c[1] > d.customdata[i][1]) i = k; }});
        const box = p.getBoundingClientRect();
        return [box.left + f.xaxis._offset + f.xaxis.l2p(d.x[i]), box.top + f.yaxis._offset + f.yaxis.l2p(d.y[i]),
                d.customdata[i][1]];""")
    ActionChains(browser.driver).move_to_element_with_offset(
        browser.driver.find_element("tag name", "body"), 0, 0).perform()  # from the page's centre
    ActionChains(browser.driver).move_by_offset(round(x - 960), round(y - 540)).click().perform()
    until(browser, f"document.getElementById('city-detail').innerText.includes('{n:,} meters')", 10)
    browser.screenshot(SHOTS / "city-eco-city-en-1920x1080-detail.png")
    assert browser.console_errors() == []
