"""The city plan's geometry and its flows, as pure functions of the districts (``SiteNow``): no Dash here.

The plan is drawn in HTML and CSS, not in a chart: each district is a box the
size of the whole plan clipped to its outline (``clip-path: polygon``, which
also clips where a tap lands, so a tap hits exactly the district under the
finger), and each flow is a thin box from one place to another whose dashes
move by a CSS animation. So every position here is a percentage of the plan,
and the plan keeps the city's own aspect ratio (``aspect``).

Flows are pooled, as the Sankey of the town is: meters tell how much each
district draws from or sends to the grid, not which electron went where, so
each district that draws is drawn as fed by every supplier (the districts
sending power out — the wind farm, a sunny district — and the outside grid)
in proportion to their share. What is drawn adds up: the lines into a
district carry what it draws, the lines out of one what it sends.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

GRID = "grid"  # the outside grid's node on the plan (the city's connection to the provincial grid)
PAD = 0.08  # room around the districts, as a share of the city's extent
MIN_FLOW_W = 1_000.0  # flows under a kilowatt are not drawn: at city scale they are noise


# The plan's box on the design canvas, in design px: the same shape in landscape (938x582) and portrait
# (1000x620), so one layout serves both. Its outer columns (GUTTER wide) hold the districts' labels, each
# joined to its district by a thin line: labels beside the map never cover it or each other.
CELL = (938.0, 582.0)
GUTTER = 212.0


@dataclass(frozen=True)
class Plan:
    """Where things are: percentages of the plan's box, x of its width, y of its height, y down."""

    aspect: float  # width / height of the box
    places: dict  # site id -> (x_pct, y_pct) of its centre
    outlines: dict  # site id -> ((x_pct, y_pct), ...); a square around the centre when none was described
    grid: tuple  # (x_pct, y_pct) of the outside grid's node, at the map's west edge
    city: tuple = ()  # the city's own shape, faint behind the districts: the hull around them, a little wider


def _outline(site) -> tuple:
    if len(site.outline_km) >= 3:
        return tuple((float(x), float(y)) for x, y in site.outline_km)
    r = 1.5  # km: a district with no outline is a small square on its place
    return ((site.x_km - r, site.y_km - r), (site.x_km + r, site.y_km - r), (site.x_km + r, site.y_km + r),
            (site.x_km - r, site.y_km + r))


def plan(sites) -> Plan:
    """The plan of ``sites``: their outlines fitted (north up, same scale both ways) between the label columns,
    padded, with room on the west for the grid's node."""
    width, height = CELL
    aspect = round(width / height, 4)
    if not sites:
        return Plan(aspect, {}, {}, (GUTTER / width * 100 + 4.0, 50.0))
    corners = {s.site: _outline(s) for s in sites}
    xs = [x for pts in corners.values() for x, _ in pts] + [s.x_km for s in sites]
    ys = [y for pts in corners.values() for _, y in pts] + [s.y_km for s in sites]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    x0, x1 = min(xs) - PAD * span, max(xs) + PAD * span
    y0, y1 = min(ys) - PAD * span, max(ys) + PAD * span
    x0 -= 0.12 * span  # the grid's node stands west of the city, where the provincial lines come in
    region = width - 2 * GUTTER
    px_per_km = min(region / (x1 - x0), height / (y1 - y0))
    ox = GUTTER + (region - (x1 - x0) * px_per_km) / 2
    oy = (height - (y1 - y0) * px_per_km) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return (round((ox + (x - x0) * px_per_km) / width * 100, 2), round((oy + (y1 - y) * px_per_km) / height * 100, 2))

    return Plan(
        aspect=aspect,
        places={s.site: at(s.x_km, s.y_km) for s in sites},
        outlines={k: tuple(at(x, y) for x, y in _inset(pts)) for k, pts in corners.items()},
        grid=at(x0 + 0.07 * span, (y0 + y1) / 2),
        city=tuple(at(x, y) for x, y in hull([(x + dx, y + dy) for pts in corners.values() for x, y in pts
                                               for dx in (-0.04 * span, 0.04 * span) for dy in (-0.04 * span, 0.04 * span)])),
    )


def hull(points) -> list:
    """The convex hull of ``points`` (Andrew's monotone chain), counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def turn(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and turn(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and turn(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _inset(points, keep: float = 0.96) -> tuple:
    """The outline drawn a little inside itself, so two districts that share a border show a gap between them."""
    cx = sum(x for x, _ in points) / len(points)
    cy = sum(y for _, y in points) / len(points)
    return tuple((cx + keep * (x - cx), cy + keep * (y - cy)) for x, y in points)


def polygon(points) -> str:
    return "polygon(" + ", ".join(f"{x}% {y}%" for x, y in points) + ")"


def segment(a: tuple, b: tuple, aspect: float) -> dict:
    """A box from ``a`` to ``b`` (percent positions), as left/top/width and a rotation.

    Widths in CSS percentages are of the plan's width, heights of its height, so
    the vertical part is scaled by the aspect ratio before the length and angle
    are taken.
    """
    dx, dy = b[0] - a[0], (b[1] - a[1]) / aspect
    return {"left": f"{a[0]}%", "top": f"{a[1]}%", "width": f"{math.hypot(dx, dy):.2f}%",
            "transform": f"rotate({math.degrees(math.atan2(dy, dx)):.1f}deg)"}


def flows(sites) -> dict[tuple[str, str], float]:
    """(from, to) -> W of every pooled flow: suppliers (sending districts and the outside grid) to takers.

    A district with ``grid_import_now_w`` > 0 takes; < 0 sends. When the city as a
    whole sends power out, the outside grid is a taker too.
    """
    takes = {s.site: s.grid_import_now_w for s in sites if s.grid_import_now_w > 0}
    sends = {s.site: -s.grid_import_now_w for s in sites if s.grid_import_now_w < 0}
    outside = sum(takes.values()) - sum(sends.values())  # what the city draws from the outside grid
    if outside > 0:
        sends[GRID] = outside
    elif outside < 0:
        takes[GRID] = -outside
    supply = sum(sends.values())
    if supply <= 0:
        return {}
    out = {}
    for source, sent_w in sends.items():
        for sink, taken_w in takes.items():
            if source != sink:
                out[(source, sink)] = sent_w * taken_w / supply
    return out


def pairs(site_ids) -> list[tuple[str, str]]:
    """Every line the plan can show for these districts, one per pair of places, in a fixed order: the DOM
    is built once per city and a line that stops is hidden, never removed. One line serves both directions
    (pooled flows never run both ways between two places: a district either sends or draws)."""
    nodes = [GRID, *site_ids]
    return [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]


RAMP_LOW, RAMP_HIGH = (52, 72, 112), (230, 159, 0)


def clean_colour(share: float | None) -> str:
    """Slate blue (no clean energy) to solar amber (all clean): the town plan's "makes power" colour.

    On a square-root scale: most districts' shares are small (a port, a factory
    park), and 5 % against 15 % should differ as visibly as 50 % against 80 %.
    """
    if share is None:
        return "rgb(42,51,80)"
    t = max(0.0, min(1.0, share)) ** 0.5
    return "rgb({},{},{})".format(*(round(lo + (hi - lo) * t) for lo, hi in zip(RAMP_LOW, RAMP_HIGH)))


# The labels' type, in design px.
NAME_PX, SHARE_PX, LINE = 24.0, 22.0, 1.12
LABEL_MAX_PX, LABEL_PAD_PX, LABEL_MIN_PX, LABEL_GAP_PX = 200.0, 24.0, 48.0, 6.0


def text_px(s: str, size: float) -> float:
    """About how wide ``s`` is set in the exhibit's font: a hanzi is one em, Latin a little over half."""
    return sum(size if ord(c) >= 0x2E80 else 0.27 * size if c == " " else 0.6 * size for c in s)


def label_size(name: str, share: str) -> tuple[float, float]:
    """(width, height) in design px of a district's label: its name, wrapped where the browser may break it
    (after a space or a hyphen, between hanzi) to ``LABEL_MAX_PX``, above its share."""
    words = re.findall(r"[^\s-]*-|[^\s-]+|\s+", name) if " " in name or "-" in name else list(name)
    lines, line = [], ""
    for word in (w for w in words if not w.isspace()):
        joiner = "" if not line or line.endswith("-") or ord(word[0]) >= 0x2E80 else " "
        trial = f"{line}{joiner}{word}"
        if line and text_px(trial, NAME_PX) > LABEL_MAX_PX - LABEL_PAD_PX:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    width = max([text_px(x, NAME_PX) for x in lines] + [text_px(share, SHARE_PX)]) + LABEL_PAD_PX
    height = len(lines) * NAME_PX * LINE + SHARE_PX * LINE + 10
    return min(width, LABEL_MAX_PX), max(height, LABEL_MIN_PX)


@dataclass(frozen=True)
class Callout:
    x_pct: float  # the label's centre
    y_pct: float
    anchor_x_pct: float  # where its line meets the label's edge facing the map
    side: str  # "left" | "right"


def place_labels(plan: Plan, sizes: dict) -> dict:
    """site -> ``Callout``: districts west of the map's middle labelled in the left column, the others in the
    right (evened out when one side has two more), each column in north-to-south order, as near its
    district's height as the labels above it allow, and pushed up from the bottom if it runs off."""
    width, height = CELL
    if not plan.places:
        return {}
    middle = (min(x for x, _ in plan.places.values()) + max(x for x, _ in plan.places.values())) / 2
    by_x = sorted(plan.places, key=lambda k: (plan.places[k][0], k))
    left = [k for k in by_x if plan.places[k][0] < middle]
    right = [k for k in by_x if k not in left]
    while len(left) > len(right) + 1:
        right.insert(0, left.pop())
    while len(right) > len(left) + 1:
        left.append(right.pop(0))
    out = {}
    for side, column in (("left", left), ("right", right)):
        order = sorted(column, key=lambda k: (plan.places[k][1], k))
        ys, bottom = [], 0.0
        for k in order:
            h = sizes[k][1]
            y = max(plan.places[k][1] / 100 * height, bottom + h / 2 + LABEL_GAP_PX)
            ys.append(y)
            bottom = y + h / 2
        overflow = bottom - height
        if overflow > 0:  # push the column up from the bottom, never above the top
            for i in range(len(order) - 1, -1, -1):
                h = sizes[order[i]][1]
                limit = height - h / 2 if i == len(order) - 1 else ys[i + 1] - sizes[order[i + 1]][1] / 2 - LABEL_GAP_PX - h / 2
                ys[i] = max(min(ys[i], limit), h / 2)
        centre_x = GUTTER / 2 if side == "left" else width - GUTTER / 2
        for k, y in zip(order, ys):
            w = sizes[k][0]
            edge = centre_x + w / 2 if side == "left" else centre_x - w / 2
            out[k] = Callout(round(centre_x / width * 100, 2), round(y / height * 100, 2), round(edge / width * 100, 2),
                             side)
    return out
