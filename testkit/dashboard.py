"""The dashboard as the browser tests drive it: its own process on a free port, a store kept live, and the
page conditions they wait on (a scene ready, settled, its clocks stopped or sped up).

Shared by the browser test modules so that each can hold its own module-scoped server and Chromium, and the
run's workers can take those modules in parallel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from testkit.browser import Browser
from testkit.ports import free_port, wait_for_port

SCENES = ["city", "flow", "zeb", "load", "rank", "bigdata"]


class Dashboard:
    """``energy-expo dashboard`` as its own process on a free port, stopped by the PID we started."""

    def __init__(self, store_url: str, workdir: Path, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.args = [sys.executable, "-m", "energy_expo.cli", "dashboard", "--store", store_url, "--port", str(self.port),
                     *extra]
        self.env = {**os.environ, **(env or {})}
        self.log = workdir / f"dashboard-{self.port}.log"
        self.process = None

    def start(self) -> "Dashboard":
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
                                        env=self.env)
        wait_for_port(self.port, 30)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(15)
        self.process = None

    def errors(self) -> str:
        text = self.log.read_text() if self.log.exists() else ""
        return "\n".join(line for line in text.splitlines() if "Traceback" in line or "Exception on" in line)


class LiveWriter:
    """Keeps the store live: one step of every meter each second, stamped now (``filled.write_now()``)."""

    def __init__(self, filled):
        self.filled, self.stop_event = filled, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_event.is_set():
            self.filled.write_now()
            self.stop_event.wait(1.0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(10)


# Every line chart of the active scene whose data has points has drawn them: plotly draws after the data
# arrives (and again after a resize), so a screenshot taken on the data alone can show empty axes.
LINES_DRAWN = ("[...document.querySelectorAll('.scene.active .js-plotly-plot')].every(p => "
               "!(p.data || []).some(d => (d.type || 'scatter') === 'scatter' && (d.mode || '').includes('lines') "
               "&& (d.x || []).length > 1) || [...p.querySelectorAll('.scatterlayer path.js-line')]"
               ".some(path => (path.getAttribute('d') || '').length > 20)) && "
               # the town plan: its names drawn, which plotly does after the WebGL layer of its meters
               "(!document.querySelector('.scene.active #city-graph .js-plotly-plot') || "
               "document.querySelectorAll('.scene.active #city-graph .textpoint').length > 0)")


def scene_settled(browser: Browser) -> None:
    """The scene on screen has finished fading in and the others out (a 0.45 s CSS transition), and its line
    charts are drawn."""
    browser.wait_for("[...document.querySelectorAll('.scene')].every(s => s.getAnimations().length === 0) && "
                     "getComputedStyle(document.querySelector('.scene.active')).opacity === '1' && " + LINES_DRAWN,
                     5, 0.05)


def set_kiosk_clock(browser: Browser, ms: float) -> None:
    """Stop the page's kiosk clock (kiosk.js's injected clock) at ``ms``: rotation and pause see that time (the
    page's own clock becomes the show's, not the server's)."""
    browser.js("var at = arguments[0], k = window.expoKiosk; k.serverClock = false; "
               "k.clock = function () { return at; };", ms)


def run_page_faster(browser: Browser, factor: float) -> None:
    """The page's time runs ``factor`` times faster: the kiosk clock, and Dash's two intervals (the refresh
    and the clock tick) firing ``factor`` times as often, so rotation, refreshes and pauses all keep their
    proportions in less wall time."""
    browser.js("""
        var k = window.expoKiosk, factor = arguments[0], realStart = Date.now(), kioskStart = k.showTime();
        k.serverClock = false;  // the page's own, faster clock is the show's
        k.clock = function () { return kioskStart + (Date.now() - realStart) * factor; };
        ['tick', 'clock'].forEach(function (id) {
            window.dash_clientside.set_props(id, {interval: Math.round(1000 / factor)});
        });""", factor)


def active_scene_ready(browser: Browser, timeout_s: float = 20.0) -> None:
    browser.wait_for("document.querySelector('.scene.active .js-plotly-plot') && "
                     "document.querySelector('.scene.active .js-plotly-plot').data && "
                     "document.querySelector('.scene.active .js-plotly-plot').data.length > 0 && "
                     "document.querySelector('.scene.active .kpis').children.length > 0 && "
                     "document.querySelector('.scene.active .caption').textContent.length > 0", timeout_s)


# What a visitor would see wrong on the page's top bar and active scene (HTML text; the charts' own SVG text is
# plotly's, sized by the theme): words off the screen, words over other words, words under 20 px at 1080p (the
# screen against 1080p: its shorter side). A word's box is its glyphs' em box on each of its lines, not the
# element's box, whose leading and the font's extra ascent overlap the next line's without any glyph touching.
LAYOUT_PROBLEMS = """
const W = innerWidth, H = innerHeight, ref = Math.min(W, H) / 1080;
const shown = e => {
  const s = getComputedStyle(e);
  if (s.visibility === 'hidden' || s.display === 'none' || !e.getClientRects().length) { return false; }
  for (let p = e; p; p = p.parentElement) { if (getComputedStyle(p).opacity === '0') { return false; } }
  return true;
};
const words = [...document.querySelectorAll('.topbar *, .scene.active *')].filter(e => !(e instanceof SVGElement)
  && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && shown(e)).map(e => {
  const r = e.getBoundingClientRect(), k = r.height / (e.offsetHeight || r.height), style = getComputedStyle(e);
  const px = parseFloat(style.fontSize) * k;
  const lines = Math.max(1, Math.round(r.height / ((parseFloat(style.lineHeight) || px / k * 1.2) * k)));
  const pad = Math.max(0, (r.height - lines * px) / 2);
  return {text: e.innerText.slice(0, 40), l: r.left, t: r.top + pad, r: r.right, b: r.bottom - pad, px: px / ref, e};
});
const off = words.filter(w => w.l < -1 || w.t < -1 || w.r > W + 1 || w.b > H + 1).map(w => w.text);
const small = words.filter(w => w.px < 19.5).map(w => `${w.text} (${w.px.toFixed(1)} px at 1080p)`);
const over = [];
words.forEach((a, i) => words.slice(i + 1).forEach(c => {
  if (a.e.contains(c.e) || c.e.contains(a.e)) { return; }
  if (Math.min(a.r, c.r) - Math.max(a.l, c.l) > 1 && Math.min(a.b, c.b) - Math.max(a.t, c.t) > 1) {
    over.push(`${a.text} | ${c.text}`);
  }
}));
return {off, over, small};
"""


def layout_problems(browser: Browser) -> dict:
    """``LAYOUT_PROBLEMS`` on the page as it is now: {"off": [...], "over": [...], "small": [...]}, each empty when
    nothing is wrong."""
    return browser.js(LAYOUT_PROBLEMS)
