"""How a meter is marked on the town plan: its colour on one scale, its shape by kind and state.

A colour runs from amber (making power) through dark (idle) to blue (using
power), scaled by the meter's rating; a lit street light is warm, beyond the
flows. The shape says the kind (a town reads as a town) and the state (an
offline meter is a cross, a light that is off an outline), so colour is never
the only sign.
"""

from __future__ import annotations

from dashboard import theme

# -1 making power .. 0 idle .. +1 using power; LIT (beyond the flows) a street light that is on: at dusk the
# town's lights come on warm, not in the blue of every other load
LIT = 2.0
COLOURSCALE = [[0.0, theme.GENERATION], [1 / 3, theme.IDLE], [2 / 3, theme.CONSUMPTION], [1.0, theme.LAMP]]
CMIN, CMAX = -1.0, LIT
LIT_FRACTION = 0.05  # of its rated power: a circuit drawing more is on (a dimmed lamp at night is still lit)
# a shape a kind, so a town reads as a town and colour is never the only sign: homes square, shops and offices
# pentagons, rooftop PV a diamond-tall panel, the wind turbine a triangle, street lights stars, chargers bowties
SYMBOLS = {"feeder": "hexagram", "grid_connection": "diamond", "wind": "triangle-up", "battery": "hexagon",
           "weather_station": "star", "household": "square", "commercial": "pentagon", "pv": "diamond-tall",
           "street_light": "star", "ev_charger": "bowtie", "heat_pump": "circle-cross"}


def colour_value(device) -> float:
    """-1 (making its rated power) .. 0 (idle) .. +1 (using its rated power); ``LIT`` for a lit street light."""
    if device.load_w is None or device.state == "offline":
        return 0.0
    if device.kind == "street_light":
        return LIT if lit(device) else 0.0
    rated = device.rated_w or max(abs(device.load_w), 1.0)
    return max(-1.0, min(1.0, device.load_w / rated))


def lit(device) -> bool:
    """A street light circuit is on: it draws more than ``LIT_FRACTION`` of its rating (or 10 W, unrated)."""
    threshold_w = LIT_FRACTION * device.rated_w if device.rated_w else 10.0
    return device.state != "offline" and device.load_w is not None and device.load_w > threshold_w


def symbol(device) -> str:
    if device.state == "offline":
        return "x"
    if device.kind == "street_light" and not lit(device):
        return "star-open"  # a light that is off is an outline: its shape says it, not the colour alone
    return SYMBOLS.get(device.kind, "circle")
