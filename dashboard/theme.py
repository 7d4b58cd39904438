"""The exhibit's look in one place: dark, high contrast, big type, and one colour per meaning.

Sizes follow the design brief for a 1920x1080 screen seen from 3 m: KPI
numerals 72 px and up, labels 28 px, nothing on a visitor scene below 20 px
(axis ticks included). The CSS in ``assets/expo.css`` uses the same values.
"""

from __future__ import annotations

import math

from dashboard.model.slots import SLOT_S

BACKGROUND = "#0B1020"
GRID = "#2A3350"
TEXT = "#F2F4F8"
MUTED = "#B8C2D6"
IDLE = "#3A4560"
GENERATION = "#E69F00"  # a meter making power (solar's colour: most generation in town is solar)
LAMP = "#FFE9A8"  # a street light that is on: warm light, paler than generation's amber
FORECAST = "#FF7EB6"  # the rest of today as forecast: dotted, and a colour no category has
CONSUMPTION = "#4DA3FF"  # a meter using power: Okabe-Ito blue #0072B2, lightened to read on the dark ground
FONT = '"Expo Sans SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif'

TICK_PX = 22
LABEL_PX = 28
TRANSITION_MS = 400


def layout(**overrides) -> dict:
    """Plotly layout every scene starts from."""
    axis = dict(gridcolor=GRID, zerolinecolor=GRID, tickfont=dict(size=TICK_PX, color=MUTED),
                title=dict(font=dict(size=LABEL_PX - 4, color=MUTED)), automargin=True,
                # plotly's default ("hide past div") measures every tick label again after placing each one, a
                # forced layout of the whole page each time: 20 s of a kiosk's main thread on the city's first
                # draw when its margins settled slowly. The margins make room for the labels (automargin) instead.
                ticklabeloverflow="allow")
    base = dict(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(family=FONT, size=TICK_PX, color=TEXT),
        margin=dict(l=20, r=20, t=20, b=20),
        xaxis=dict(axis),
        yaxis=dict(axis),
        legend=dict(font=dict(size=TICK_PX + 2), bgcolor="rgba(0,0,0,0)", orientation="h", y=1.02, yanchor="bottom",
                    x=0, xanchor="left"),
        hoverlabel=dict(font=dict(size=TICK_PX, family=FONT)),
        transition=dict(duration=TRANSITION_MS, easing="cubic-in-out"),
        uirevision="keep",  # updates never reset a visitor's zoom or hidden traces
    )
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}  # None: leave it out (transition=None: none at all)


# Instead of plotly's own template (7 KB in every first draw; the layout above sets every colour) for the figures
# that must fit a tick's 30 KB at city scale. Not an empty template: with "none" or {} a tap on the town plan fired
# no click event in Chromium (tests/dashboard/test_district_browser.py at 4K); one that sets the plot's background
# keeps it.
LEAN_TEMPLATE = {"layout": {"plot_bgcolor": "rgba(0,0,0,0)"}}

GRAPH_CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False, "doubleClick": False}


def placeholder() -> dict:
    """A graph's figure until its scene first draws: nothing to see, and no axes for the browser to lay out on
    the scenes a page load does not show."""
    return {"data": [], "layout": layout(template=LEAN_TEMPLATE, xaxis=dict(visible=False), yaxis=dict(visible=False))}


def day_axis(x: list, every_h: int) -> dict:
    """A day's time axis over its slots ``x``: a tick every ``every_h`` hours from the first after midnight, so
    no tick (00:00) sits in the corner on the power axis's 0."""
    step = every_h * 3600 // SLOT_S
    return dict(layout()["xaxis"], type="date", tickformat="%H:%M", range=[x[0], x[-1]], tickvals=x[step::step])


# The power axis's top: a round number at or above the highest value shown, so the axis stands still while the
# curves move under it. Left to plotly's autorange the top followed every new slot: the tick labels slid a pixel
# at a time and were measured again at each new place, and plotly keeps every measurement (10,000 before it
# starts over), so a kiosk's heap grew by megabytes between its resets. A still axis is also calmer to watch.
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_top_of(*lines) -> float | None:
    """The nice top of everything in ``lines`` (sequences of values, None where there is none)."""
    return nice_top(max((v for line in lines for v in line if v is not None), default=None))


def nice_top(highest: float | None) -> float | None:
    """The smallest of NICE_STEPS x 10^k at or above ``highest`` (None for nothing to show: plotly's own)."""
    if highest is None or not highest > 0 or highest == float("inf"):
        return None
    scale = 10.0 ** math.floor(math.log10(highest))
    for step in NICE_STEPS:
        top = float(f"{step * scale:.12g}")  # 1.2 x 0.1 is 0.12, not 0.12000000000000001
        if top >= highest:
            return top
    return float(f"{10 * scale:.12g}")


def power_axis(top: float | None, title: str, **more) -> dict:
    """A power axis from 0 to ``top`` (``nice_top``'s), or plotly's own from 0 when there is nothing to show."""
    axis = dict(layout()["yaxis"], title=dict(text=title), **more)
    return dict(axis, range=[0, top], autorange=False) if top else dict(axis, rangemode="tozero")
