"""Where each meter's power belongs in the exhibit's story: the sources and uses of the town's energy.

Only meters at the edge of the tree are counted: a feeder or a building's
grid meter equals the signed sum of the meters below it (``expo.kinds.Flow``),
so counting it too would count that energy twice. The exception is the top of
the tree — a grid connection with no parent — which is the town's exchange
with the outside grid: its import is a source, its export a use.

Bidirectional meters follow the load convention, so their sign picks the
category: a battery charging is a use, discharging a source.
"""

from __future__ import annotations

from dataclasses import dataclass

from expo.kinds import KINDS, Flow


@dataclass(frozen=True)
class Category:
    key: str
    side: str  # "source" or "use"
    colour: str
    renewable: bool = False


# Okabe-Ito colours (safe for the common colour-blindnesses), one meaning on every scene (docs: EXHIBIT.md).
CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category("pv", "source", "#E69F00", renewable=True),
        Category("wind", "source", "#56B4E9", renewable=True),
        Category("battery_discharge", "source", "#009E73"),
        Category("grid_import", "source", "#D55E00"),
        Category("households", "use", "#0072B2"),
        Category("commercial", "use", "#9AA8FF"),
        Category("ev", "use", "#CC79A7"),
        Category("heat_pumps", "use", "#F0E442"),
        Category("street_lights", "use", "#BBBBBB"),
        Category("buildings", "use", "#7FC8B8"),
        Category("other", "use", "#888888"),
        Category("battery_charge", "use", "#009E73"),
        Category("grid_export", "use", "#D55E00"),
    )
}
SOURCES = [c.key for c in CATEGORIES.values() if c.side == "source"]
USES = [c.key for c in CATEGORIES.values() if c.side == "use"]
LOADS = [k for k in USES if k not in ("battery_charge", "grid_export")]  # what the town consumes
RENEWABLE = [c.key for c in CATEGORIES.values() if c.renewable]

_BY_KIND = {
    "pv": "pv",
    "wind": "wind",
    "household": "households",
    "commercial": "commercial",
    "ev_charger": "ev",
    "heat_pump": "heat_pumps",
    "street_light": "street_lights",
    "lighting": "buildings",
    "plug_load": "buildings",
    "meter": "other",
}
_SPLIT = {"battery": ("battery_charge", "battery_discharge"), "grid_connection": ("grid_import", "grid_export")}


def counted_kind(kind: str, is_parent: bool, has_parent: bool) -> bool:
    """Whether a device's power is part of the town's balance (see the module docstring)."""
    if kind not in KINDS or KINDS[kind].flow is Flow.NONE:
        return False
    if kind == "grid_connection":
        return not has_parent
    return not is_parent


def split(kind: str, power_w: float) -> list[tuple[str, float]]:
    """(category, W >= 0) pairs for one counted meter's power in its own sign convention."""
    if kind in _SPLIT:
        into, out_of = _SPLIT[kind]
        return [(into, power_w)] if power_w >= 0 else [(out_of, -power_w)]
    category = _BY_KIND.get(kind, "other")
    return [(category, max(power_w, 0.0))]
