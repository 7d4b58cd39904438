"""The town plan's wiring and its turbines, as plotly layout parts: pure functions of the plan's devices.

Each feeder is a line from the grid connection, drawn the way its power goes,
dashed, under the meters (a layout shape, layer "below"); ``assets/kiosk.js``
moves the dashes along each line's own direction by the clock (plotly redraws
its shapes every tick, which would restart a CSS animation). Each wind turbine
gets a rotor (a layout image) that ``kiosk.js`` turns at ``rotor_rpm``.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from dashboard.scenes._parts import metres

TRUNK_IN, TRUNK_OUT = "#D55E00", "#E69F00"  # a feeder the grid feeds; a feeder sending the sun's power up
TRUNK_DASH = "14px,10px"  # its period (24 px) is what kiosk.js moves the dashes by


def feeders_up(devices) -> tuple[list, list]:
    """(feeders the grid feeds, feeders sending power up to it: rooftop PV outdoing their street's use)."""
    feeders = [d for d in devices if d.kind == "feeder" and d.state != "offline"]
    return ([d for d in feeders if (d.load_w or 0.0) >= 0], [d for d in feeders if (d.load_w or 0.0) < 0])


def trunk_shapes(devices) -> list[dict]:
    """The town's feeders as lines from the grid connection to their streets, under the meters (layout shapes,
    layer "below"), dashed, each drawn the way its power goes: from the grid to a feeder it feeds, from a feeder
    to the grid while its rooftop PV sends power up. ``assets/expo.css`` moves the dashes along the line's own
    direction, so the motion shows the way, and it reverses when the sun outdoes a street's use. The width
    follows the feeder's power (4 to 12 px at 1080p, in 2 px steps: a new width is sent only when it steps)."""
    top = next((d for d in devices if d.kind == "grid_connection" and d.counted), None)
    if top is None:
        return []
    shapes = []
    for feeders, colour in zip(feeders_up(devices), (TRUNK_IN, TRUNK_OUT)):
        for f in feeders:
            share = min(1.0, abs(f.load_w or 0.0) / f.rated_w) if f.rated_w else 0.0
            ends = ((top, f) if colour == TRUNK_IN else (f, top))
            shapes.append(dict(type="line", layer="below", x0=metres(ends[0].x_m), y0=metres(ends[0].y_m),
                               x1=metres(ends[1].x_m), y1=metres(ends[1].y_m),
                               line=dict(color=colour, width=4 + 2 * round(4 * share ** 0.5),
                                         dash=TRUNK_DASH)))
    return shapes


ROTOR_M = 60.0  # a rotor's drawn diameter on the plan, in the plan's metres (a town's plan is ~600 m across)
TURNS_PER_MIN = (4.0, 24.0)  # at a breath of power and at the turbine's rating: a visible, calm turn


@functools.cache
def rotor_source() -> str:
    """``assets/rotor.svg`` as a data address: plotly draws a data address as it is, where it would load any other
    into a canvas and convert it to PNG on every redraw of the plan (every tick)."""
    svg = (Path(__file__).parents[1] / "assets" / "rotor.svg").read_bytes()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


MAX_ROTORS = 12  # a town's turbine or two turn on its plan; a wind farm's hundred stay marks (each rotor ~1 KB a draw)


def rotor_images(devices) -> list[dict]:
    """A rotor on each wind turbine (``assets/rotor.svg``), above its mark; ``assets/kiosk.js`` turns it. None on a
    plan of more than ``MAX_ROTORS`` turbines."""
    turbines = [d for d in devices if d.kind == "wind"]
    if len(turbines) > MAX_ROTORS:
        return []
    return [dict(source=rotor_source(), xref="x", yref="y", x=metres(d.x_m), y=metres(d.y_m + ROTOR_M / 2),
                 sizex=ROTOR_M, sizey=ROTOR_M, xanchor="center", yanchor="middle", layer="above")
            for d in turbines]


def rotor_rpm(devices) -> float:
    """How fast the plan's rotors turn, turns a minute: none while the turbines make nothing, faster with their
    share of rated power (one speed for the town's turbines: the plan has room for a few)."""
    wind = [d for d in devices if d.kind == "wind" and d.state != "offline" and d.power_w]
    rated = sum(d.rated_w for d in wind)
    if not wind or rated <= 0:
        return 0.0
    share = min(1.0, max(0.0, sum(d.power_w for d in wind) / rated))
    low, high = TURNS_PER_MIN
    return round(low + (high - low) * share ** 0.5, 1) if share > 0.001 else 0.0
