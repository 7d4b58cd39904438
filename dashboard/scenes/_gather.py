"""The town plan at district scale: meters gathered into marks a visitor can read and tap.

A district of the city holds thousands of meters (the eco-city 4,215): drawn
one dot each they are an unreadable carpet from 3 m, and half a megabyte each
time the plan is drawn. Above ``MAX_METERS`` the plan draws marks instead:

- the grid connections, the feeders and the wind turbines stay their own marks
  (few, the network's landmarks, and their power is not a sum of homes);
- the zero-energy building, and any building metered by at least
  ``BUILDING_METERS`` meters, is one mark of all its meters;
- every other meter goes into a cell of a square grid laid over the site
  (about ``CELLS`` cells along its longer side, a round size in metres), with
  its building's other meters, so a building is never split between marks.

A gathered mark sits at the mean position of its meters, its size follows the
rated power it holds and its colour what it does now (its meters' net power
against their rating, as a single meter's). Every counted meter is in exactly
one mark, so the marks add up to the site's metered power.

Why 350: a tap target needs 48 design px (EXHIBIT.md); the plan is about
1,400 x 640 px at 1080p, which holds about 29 x 13 = 390 targets 48 px apart.
A site of up to 350 meters (the 320-meter town of ``tianjin-demo``, the wind
farm) is drawn as today, one mark per meter; the grid of a bigger one has
cells about 90 px apart.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from expo.kinds import KINDS

MAX_METERS = 350  # a plan with more meters than this is drawn gathered
CELLS = 16  # cells along the site's longer side
BUILDING_METERS = 5  # a building with this many meters is its own mark
OWN_KINDS = ("grid_connection", "feeder", "wind")  # kept as their own marks...
MAX_OWN = 60  # ...unless there are more of them than a plan shows (then only the grid connections)
STEPS_M = (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000)


@dataclass(frozen=True)
class Mark:
    """A gathered mark: its id is ``site/@...`` (never a device's, which has no ``@``)."""

    id: str
    x_m: float
    y_m: float
    meters: tuple  # its DeviceNow
    building: str | None = None  # the building it is, for a building's mark

    @property
    def power_w(self) -> float:
        """What its counted meters draw now (load convention: making power is negative)."""
        return sum(d.load_w for d in self.meters if _summed(d) and d.load_w is not None and d.state != "offline")

    @property
    def rated_w(self) -> float:
        return sum(d.rated_w or 0.0 for d in self.meters if _summed(d))


def _summed(device) -> bool:
    """A meter whose power is its own (a leaf): a grid connection or a feeder measures others'."""
    return device.counted and device.kind != "grid_connection"


def gathered(devices) -> bool:
    return len(devices) > MAX_METERS


def cell_m(devices) -> float:
    """The grid's cell: the first round size that puts at most ``CELLS`` cells along the longer side."""
    xs, ys = [d.x_m for d in devices], [d.y_m for d in devices]
    extent = max(max(xs) - min(xs), max(ys) - min(ys), 1.0) if devices else 1.0
    return float(next((s for s in STEPS_M if extent / s <= CELLS), math.ceil(extent / CELLS)))


def split(devices, zero_energy: str | None = None) -> tuple[list[Mark], list]:
    """(gathered marks, meters kept as their own marks) of a site's ``devices``."""
    own = [d for d in devices if d.kind in OWN_KINDS and not (d.building and d.building == zero_energy)]
    if len(own) > MAX_OWN:
        own = [d for d in own if d.kind == "grid_connection"]
    kept = {d.key for d in own}
    rest = [d for d in devices if d.key not in kept]
    by_building: dict[str, list] = {}
    for d in rest:
        if d.building:
            by_building.setdefault(d.building, []).append(d)
    marks, loose = [], []
    for building, members in sorted(by_building.items()):
        if building == zero_energy or len(members) >= BUILDING_METERS:
            marks.append(_mark(f"{members[0].site}/@b:{building}", members, building))
    big = {m.building for m in marks}
    units = [members for b, members in sorted(by_building.items()) if b not in big]
    units += [[d] for d in rest if not d.building]
    size = cell_m(devices)
    cells: dict[tuple[int, int], list] = {}
    for unit in units:
        x, y = _mean(unit)
        cells.setdefault((math.floor(x / size), math.floor(y / size)), []).extend(unit)
    for (i, j), members in sorted(cells.items()):
        loose.append(_mark(f"{members[0].site}/@{i}_{j}", members))
    return marks + loose, own


def _mean(devices) -> tuple[float, float]:
    return sum(d.x_m for d in devices) / len(devices), sum(d.y_m for d in devices) / len(devices)


def _mark(mark_id: str, members: list, building: str | None = None) -> Mark:
    x, y = _mean(members)
    return Mark(mark_id, round(x, 1), round(y, 1), tuple(members), building)


def colour_value(mark: Mark) -> float:
    """-1 (its meters make their rated power) .. 0 (idle, or all offline) .. +1 (they use it)."""
    rated = mark.rated_w
    power = mark.power_w
    if not rated:
        return 0.0 if not power else math.copysign(1.0, power)
    return max(-1.0, min(1.0, power / rated))


def sizes(marks, zero_energy: str | None = None) -> list[float]:
    """12..34 px at 1080p by the square root of the rated power held, against the biggest mark's: the cells are
    about 50 px apart on the design canvas, so neighbours do not run into each other. The zero-energy building is
    at least 36 px, findable."""
    top = max((m.rated_w for m in marks), default=0.0) or 1.0
    return [round(max(12 + 22 * math.sqrt(max(m.rated_w, 0.0) / top),
                      36 if zero_energy and m.building == zero_energy else 0)) for m in marks]


def symbol(mark: Mark, zero_energy: str | None) -> str:
    if all(d.state == "offline" for d in mark.meters):
        return "x"
    if mark.building is not None:
        return "star" if mark.building == zero_energy else "pentagon"
    return "circle"


def kinds(mark: Mark, lang: str, top: int = 3) -> str:
    """What a mark holds, the most common kinds first: "Household 24 · Solar PV 12 · …"."""
    counts = Counter(d.kind for d in mark.meters).most_common()
    parts = [f"{_kind(k, lang)} {n:,}" for k, n in counts[:top]]
    return " · ".join(parts + (["…"] if len(counts) > top else []))


def _kind(kind: str, lang: str) -> str:
    k = KINDS.get(kind)
    return kind if k is None else (k.label_zh if lang == "zh" else k.label_en)


def biggest(mark: Mark, n: int = 3) -> list:
    """The ``n`` meters of a mark doing the most now (making or using), biggest first."""
    live = [d for d in mark.meters if d.power_w is not None and d.state != "offline"]
    return sorted(live, key=lambda d: (-abs(d.load_w or 0.0), d.key))[:n]


def find(marks, mark_id: str) -> Mark | None:
    return next((m for m in marks if m.id == mark_id), None)
