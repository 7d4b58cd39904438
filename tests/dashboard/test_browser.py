"""The dashboard in a real browser (headless Chromium): every scene, the engineer view, live data.

The kiosk's rotation, its memory and the outages are in test_browser_kiosk.py (a module of its own, so the
run's workers take the two halves in parallel).

Screenshots of every scene go to the run's folder (``$EXPO_SCREENSHOTS`` or
``test-output/screenshots-<time>``), to be looked at, not just generated.
"""

from __future__ import annotations

import json
import time

import pytest

from testkit.browser import available, screenshot_dir
from testkit.dashboard import SCENES, active_scene_ready, layout_problems, scene_settled, set_kiosk_clock

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")
SHOTS = screenshot_dir()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_scene_renders_live_with_no_errors(town, browser, lang):
    _, dash, _ = town
    browser.resize(1920, 1080)
    for scene in SCENES:
        browser.open(f"{dash.url}?scene={scene}&lang={lang}")
        active_scene_ready(browser)
        assert browser.js("return document.querySelector('.scene.active').id") == json.dumps(
            {"id": scene, "type": "scene"}, separators=(",", ":"))
        browser.wait_for("document.getElementById('badge').className.includes('badge-live')", 15)
        # simulated data says so beside the badge, in both languages, on every scene
        browser.wait_for("document.getElementById('provenance').innerText.includes('模拟数据')"
                         " && document.getElementById('provenance').innerText.includes('simulated')", 5)
        scene_settled(browser)
        # the motion's timer runs while a scene with motion is shown, and stops on a scene without
        moving = json.dumps(scene in ("zeb", "city", "bigdata"))
        browser.wait_for(f"expoKiosk.motionRunning() === {moving}", 5)
        assert f"scene-{scene}" in browser.js("return document.getElementById('root').className").split()
        browser.screenshot(SHOTS / f"{scene}-{lang}-1920x1080.png")
        assert layout_problems(browser) == {"off": [], "over": [], "small": []}, scene
        if scene == "zeb":
            assert_building_whole_and_moving(browser, 1920, 1080)
        if scene == "city":  # each feeder a dashed line from the grid, its dashes moving along it
            offsets = "return [...document.querySelectorAll('#city-graph .shapelayer path')]" \
                      ".map(p => getComputedStyle(p).strokeDashoffset)"
            rotor = "return [...document.querySelectorAll('#city-graph .imagelayer image')].map(i => i.style.transform)"
            before, turned = browser.js(offsets), browser.js(rotor)
            time.sleep(0.3)
            assert len(before) == 2 and browser.js(offsets) != before  # the test town's two feeders
            spins = float(browser.js("return document.getElementById('city-rotor').textContent") or 0)
            assert len(turned) == 1 and (browser.js(rotor) != turned) == (spins > 0)  # its one turbine's rotor
        assert browser.console_errors() == []
    # the caption in both languages at once: the page's first, the other beneath it, smaller
    first, second = browser.js("return [...document.querySelectorAll('.scene.active .caption .t > span')]"
                               ".filter(e => e.offsetHeight > 0).sort((a, b) => a.getBoundingClientRect().top - "
                               "b.getBoundingClientRect().top).map(e => [e.innerText, "
                               "parseFloat(getComputedStyle(e).fontSize)])")
    chinese = [any("\u4e00" <= ch <= "\u9fff" for ch in text) for text, _ in (first, second)]
    assert chinese == ([True, False] if lang == "zh" else [False, True]), (first, second)
    assert second[1] < first[1]
    assert dash.errors() == ""


def test_chinese_uses_the_served_font_and_nothing_comes_from_elsewhere(town, browser):
    _, dash, _ = town
    browser.open(f"{dash.url}?lang=zh")
    active_scene_ready(browser)
    browser.wait_for("document.fonts.status === 'loaded'")
    loaded = browser.js("return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("Expo Sans SC" in family for family in loaded)
    assert browser.js("return document.fonts.check('700 30px \"Expo Sans SC\"', '城市能源大数据中心')")
    resources = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(name.startswith(dash.url.rstrip("/")) for name in resources), resources
    assert any(name.endswith(".woff2") for name in resources)


def test_a_reading_published_over_mqtt_is_on_screen_within_3_s(town, browser, mosquitto, tmp_path):
    from tests.ingest.harness import Ingest
    from tests.mqtt_client import publish_one

    filled, dash, _ = town
    ingest = Ingest(tmp_path, mosquitto.url, "browser-ingest", store=filled.url).start()
    try:
        browser.open(f"{dash.url}?scene=rank&lang=en")
        active_scene_ready(browser)
        home = next(m for m in filled.sim.site.metas if m.kind == "household")
        payload = json.dumps({"v": 1, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5)),
                              "metrics": {"power_w": 987_654.0}})
        published = time.monotonic()
        publish_one(mosquitto.port, f"expo/{home.site}/{home.device}/reading", payload.encode())
        browser.wait_for("document.querySelector('#rank-consumers').innerText.includes('988 kW')", 10, 0.05)
        elapsed = time.monotonic() - published
        browser.screenshot(SHOTS / "rank-live-reading.png")
        assert elapsed <= 3.0, f"{elapsed:.2f} s from publish to screen"
    finally:
        ingest.stop()


# the page's parts in design px: where each lies on the canvas (#root) and its size, the screen's scale taken out
COMPOSITION = """
const page = document.getElementById('root'), box = page.getBoundingClientRect(), k = box.width / page.offsetWidth;
return {k: k, page: [box.left, box.top, box.right, box.bottom],
        scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
        parts: [...document.querySelectorAll(arguments[0])].filter(e => e.getClientRects().length).map(e => {
          const r = e.getBoundingClientRect();
          return [e.id || e.className.split(' ')[0], (r.left - box.left) / k, (r.top - box.top) / k, r.width / k, r.height / k]; })};
"""
PARTS = (".topbar, .title, .nav-dot, .lang-toggle, .scene.active .scene-title, .scene.active .visual, "
         ".scene.active .kpis, .scene.active .caption, .scene.active .js-plotly-plot, .scene.active .fit")


def page_placed(browser, width: int, height: int, step: tuple[int, int]) -> tuple[float, list]:
    """The canvas's scale on a ``width`` x ``height`` screen, and where the page lies once it has glided to the
    orbit's ``step``: contain, leaving the orbit's margin (4 px at 1080p) on every side, centred, moved by the step."""
    px = 4 * min(width, height) / 1080
    k = min((width - 2 * px) / 1920, (height - 2 * px) / 1080)
    left, top = (width - 1920 * k) / 2 + step[0] * px, (height - 1080 * k) / 2 + step[1] * px
    browser.wait_for(f"(r => Math.abs(r.width - {1920 * k}) < 1 && Math.abs(r.left - {left}) < 1 && "
                     f"Math.abs(r.top - {top}) < 1)(document.getElementById('root').getBoundingClientRect())", 6)
    return k, [left, top, left + 1920 * k, top + 1080 * k]


def test_every_screen_shows_the_same_composition(town, browser):
    """One 1920x1080 design canvas scaled to the screen, contain: at 720p and 4K every part lies where it lies at
    1080p, to the design px; a screen of another shape (5:4) gets the same page, centred, with bars; nothing is
    cropped and nothing scrolls. The page orbits a few px a minute against burn-in, by the show's clock, and never
    leaves the screen."""
    _, dash, _ = town
    orbit = "return [1, 2].map(i => getComputedStyle(document.documentElement).getPropertyValue(['', '--orbit-x', " \
            "'--orbit-y'][i]).trim())"
    for scene in SCENES:
        browser.resize(1920, 1080)
        browser.open(f"{dash.url}?scene={scene}&lang=zh")
        active_scene_ready(browser)
        scene_settled(browser)
        # a word's width is its font's, and the top bar's parts share its width: the badge says what it will say
        browser.wait_for("document.fonts.status === 'loaded' && "
                         "document.getElementById('badge').className.includes('badge-live')", 15)
        set_kiosk_clock(browser, 2 * 60_000 + 5_000)  # the orbit's third step: right and down
        browser.js("document.getElementById('root').style.transition = 'none'; window.expoKiosk.fitPage()")
        page_placed(browser, 1920, 1080, (1, 1))
        design = browser.js(COMPOSITION, PARTS)
        assert len(design["parts"]) >= 8, scene
        for width, height in [(1280, 720), (3840, 2160), (1280, 1024)]:
            browser.resize(width, height)
            k, placed = page_placed(browser, width, height, (1, 1))
            seen = browser.js(COMPOSITION, PARTS)
            assert seen["k"] == pytest.approx(k, abs=0.001)
            assert seen["page"] == pytest.approx(placed, abs=1)
            assert 0 <= placed[0] and 0 <= placed[1] and placed[2] <= width and placed[3] <= height
            assert seen["scroll"][0] <= width and seen["scroll"][1] <= height, (scene, width, height)
            assert [p[0] for p in seen["parts"]] == [p[0] for p in design["parts"]], scene
            moved = [(a, b) for a, b in zip(design["parts"], seen["parts"])
                     if any(abs(x - y) > 1.5 for x, y in zip(a[1:], b[1:]))]
            assert not moved, (scene, width, height, moved[:3])
            if (width, height) == (3840, 2160):
                browser.screenshot(SHOTS / f"{scene}-zh-3840x2160.png")
    browser.resize(1920, 1080)
    steps = []
    for minute in range(9):  # once round the square and back to the start, a step a minute
        set_kiosk_clock(browser, minute * 60_000 + 30_000)
        browser.js("window.expoKiosk.fitPage()")
        steps.append(tuple(browser.js(orbit)))
    assert [tuple(float(v.removesuffix("px")) for v in step) for step in steps] == [
        (0, 0), (4, 0), (4, 4), (0, 4), (-4, 4), (-4, 0), (-4, -4), (0, -4), (0, 0)]


def test_a_portrait_screen_keeps_every_part(town, browser):
    """The portrait canvas (1080x1920) is a composition of its own: the same parts, stacked."""
    _, dash, _ = town
    width, height = 1080, 1920
    browser.resize(width, height)
    try:
        for scene in SCENES:
            browser.open(f"{dash.url}?scene={scene}&lang=zh")
            active_scene_ready(browser)
            scene_settled(browser)
            assert browser.js("return document.documentElement.scrollWidth") <= width
            boxes = browser.js("return [...document.querySelectorAll('.scene.active .kpi-value, .scene.active "
                               ".caption, #badge, .title')].map(e => e.getBoundingClientRect())"
                               ".map(r => [r.left, r.top, r.right, r.bottom])")
            assert boxes and all(0 <= l and 0 <= t and r <= width + 1 and b <= height + 1 for l, t, r, b in boxes), boxes
            kpis = browser.js("return [...document.querySelectorAll('.scene.active .kpi-value')]"
                              ".map(e => e.getBoundingClientRect()).map(r => [r.left, r.top, r.right, r.bottom])")
            for i, a in enumerate(kpis):  # big numbers never run into each other
                for b in kpis[i + 1:]:
                    assert a[2] <= b[0] + 1 or b[2] <= a[0] + 1 or a[3] <= b[1] + 1 or b[3] <= a[1] + 1, (a, b)
            browser.screenshot(SHOTS / f"{scene}-zh-{width}x{height}.png")
            assert layout_problems(browser) == {"off": [], "over": [], "small": []}, scene
            if scene == "zeb":
                assert_building_whole_and_moving(browser, width, height)
    finally:
        browser.resize(1920, 1080)


def test_engineer_view_in_the_browser(town, browser):
    _, dash, _ = town
    browser.open(f"{dash.url}status?lang=en")
    assert "Engineer view" in browser.js("return document.querySelector('h1').innerText")
    rows = browser.js("return document.querySelectorAll('table.devices tr').length")
    assert rows > 40
    browser.screenshot(SHOTS / "status-1920x1080.png")
    assert browser.console_errors() == []


# the words a visitor reads on the building's drawing, their boxes, and whether its dots move: at every screen size
ZEB_LOOK = """
const ref = Math.min(innerWidth, innerHeight) / 1080;  // the screen against 1080p (portrait: its width)
const labels = [...document.querySelectorAll('.scene.active .zb-label')].map(e => {
  const r = e.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom];
});
const small = [...document.querySelectorAll('.scene.active .zb-label span, .scene.active .zb-hero span')]
  .filter(e => e.children.length === 0 && e.offsetHeight > 0).map(e => {
    const shown = parseFloat(getComputedStyle(e).fontSize) * e.getBoundingClientRect().height / e.offsetHeight;
    return [e.innerText, shown / ref];
  }).filter(([_, px]) => px < 19.5);
const dots = [...document.querySelectorAll('.scene.active .zb-wires .on i')].map(e => getComputedStyle(e, '::before').transform);
return {labels, small, dots};
"""


def assert_building_whole_and_moving(browser, width: int, height: int) -> None:
    """The building's labels all on screen, none over another, no word under 20 px at 1080p, and the dots on
    its wires running (something in the building always uses power). Called on every size the tests open."""
    browser.wait_for("document.querySelectorAll('.scene.active .zb-label').length >= 8", 15)
    look = browser.js(ZEB_LOOK)
    boxes = look["labels"]
    assert all(0 <= l and 0 <= t and r <= width + 1 and b <= height + 1 for l, t, r, b in boxes), boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] + 1 or b[2] <= a[0] + 1 or a[3] <= b[1] + 1 or b[3] <= a[1] + 1, (a, b)
    assert look["small"] == [], look["small"]
    # Two looks three of kiosk.js's steps apart must find the same wires with their dots moved. A live update
    # may switch a wire on or off between the two (its new dots start at rest), so a pair whose wires differ
    # is looked at again, a few times; a building whose dots stand still fails every pair.
    pairs = []
    for _ in range(6):
        before = browser.js(ZEB_LOOK)["dots"]
        time.sleep(0.25)
        after = browser.js(ZEB_LOOK)["dots"]
        pairs.append((len(before), len(after), before != after))
        if before and len(after) == len(before):
            break
    assert before and len(after) == len(before) and after != before, pairs


def test_the_building_at_4k_in_both_languages(town, browser):
    """1280x720, 1080p and portrait are checked with every scene above; 4K here, both languages."""
    _, dash, _ = town
    browser.resize(3840, 2160)
    try:
        browser.open(f"{dash.url}?scene=zeb&lang=zh")
        active_scene_ready(browser)
        for lang in ("zh", "en"):
            if lang == "en":
                browser.js("document.getElementById('lang-toggle').click()")
                browser.wait_for("document.getElementById('root').className.includes('lang-en')", 5)
            scene_settled(browser)
            assert_building_whole_and_moving(browser, 3840, 2160)
            browser.screenshot(SHOTS / f"zeb-{lang}-3840x2160.png")
    finally:
        browser.resize(1920, 1080)
