"""The building scene's drawing: where each part's wire runs, where its label sits, how fast its power moves.

Pure functions of a ``model.balance.Balance`` (no Dash here), in the design px
of the cross-section (``assets/zeb-building.svg``, 1220x640): the scene scales
the drawing and these together, so a wire always ends on its part.

Every wire runs from its part to the switchboard, in straight horizontal and
vertical runs (a one-line diagram over the cross-section, the way an
electrician draws it), each run a box whose dots move by a CSS animation. The
dots run towards the switchboard for a source and away from it for a use, so
a direction on screen is a sign in a meter. Their speed follows power on a
log scale — the same watts move at the same speed on every tick and in every
building — and a part that carries nothing keeps its wire, dim and still.
"""

from __future__ import annotations

import math

WIDTH_PX, HEIGHT_PX = 1220, 640

# slot -> the wire's corners, from the part to the switchboard (x 420-540, y 470-546)
WIRES: dict[str, tuple] = {
    "pv_roof": ((464, 150), (464, 470)),
    "pv_facade": ((298, 404), (436, 404), (436, 470)),
    "grid": ((90, 245), (262, 245), (262, 506), (420, 506)),
    "battery": ((760, 536), (540, 536)),
    "lighting": ((715, 205), (715, 240), (492, 240), (492, 470)),
    "plugs": ((660, 392), (520, 392), (520, 470)),
    "heat_pump": ((923, 584), (923, 602), (510, 602), (510, 546)),
    "ev": ((1032, 584), (1032, 622), (450, 622), (450, 546)),
}
# slot -> the label's box (left, top, width), design px: beside its part, clear of every wire
LABELS: dict[str, tuple] = {
    "pv_roof": (470, 4, 210),
    "pv_facade": (92, 286, 164),
    "grid": (4, 116, 200),
    "battery": (558, 432, 194),
    "lighting": (878, 168, 200),
    "plugs": (878, 296, 200),
    "heat_pump": (868, 404, 140),
    "ev": (1040, 384, 170),
}
COLOURS = {"pv_roof": "#E69F00", "pv_facade": "#E69F00", "grid": "#D55E00", "battery": "#009E73",
           "lighting": "#4DA3FF", "plugs": "#4DA3FF", "heat_pump": "#4DA3FF", "ev": "#CC79A7"}
SUN = (300, 66)  # the sun's (or the moon's) centre

MIN_FLOW_W = 50.0  # below this nothing moves: a standby reading is not a flow
DOT_PERIOD_PX = 32  # one dot every this many px; CSS's ``zb-dots`` keyframes move one period
SLOWEST_S, FASTEST_S = 2.4, 0.4  # seconds per period at 50 W and at 200 kW and above


def seconds_per_dot(power_w: float) -> float:
    """Seconds for a dot to move one period: 2.4 s at 50 W to 0.4 s at 200 kW, on a log scale, in 0.1 s
    steps (a new duration restarts nothing, but is sent only when the step changes)."""
    if power_w <= MIN_FLOW_W:
        return SLOWEST_S
    share = min(1.0, math.log10(power_w / MIN_FLOW_W) / math.log10(200_000 / MIN_FLOW_W))
    return round(SLOWEST_S - (SLOWEST_S - FASTEST_S) * share, 1)


def width_px(power_w: float) -> int:
    """A wire's width: 6 px idle to 14 px at 100 kW, by the square root, in 2 px steps."""
    share = min(1.0, max(0.0, power_w) / 100_000) ** 0.5
    return 6 + 2 * round(4 * share)


def runs(points) -> list[tuple]:
    """A wire's straight runs: (x, y, length, vertical, forward) with (x, y) the run's top or left end and
    ``forward`` whether the wire's own direction (part -> switchboard) is down or right along it."""
    out = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        vertical = x0 == x1
        if vertical:
            out.append((x0, min(y0, y1), abs(y1 - y0), True, y1 > y0))
        else:
            out.append((min(x0, x1), y0, abs(x1 - x0), False, x1 > x0))
    return out


def wire_styles(slot: str, part) -> list[dict]:
    """The styles of one slot's runs: position, colour, and — when power flows — the dots' speed and
    direction (towards the switchboard for a source, away from it for a use). ``part``: a ``balance.Part``."""
    flowing = part is not None and not part.dark and part.power_w >= MIN_FLOW_W
    width = width_px(part.power_w) if flowing else 6
    styles = []
    for x, y, length, vertical, forward in runs(WIRES[slot]):
        pad = width / 2
        style = ({"left": f"{x - pad:g}px", "top": f"{y - pad:g}px", "width": f"{width}px",
                  "height": f"{length + width}px"} if vertical else
                 {"left": f"{x - pad:g}px", "top": f"{y - pad:g}px", "width": f"{length + width}px",
                  "height": f"{width}px"})
        style["--c"] = COLOURS[slot]
        if flowing:
            right_or_down = forward == part.into_bus  # a source's dots run to the switchboard, a use's away
            style["--dur"] = f"{seconds_per_dot(part.power_w)}s"
            if not right_or_down:
                style["--dir"] = "reverse"
        styles.append(style)
    return styles


def is_vertical(slot: str) -> list[bool]:
    return [run[3] for run in runs(WIRES[slot])]
