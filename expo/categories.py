"""Where each meter's power belongs in the exhibit's story: the sources and uses of a site's energy.

Why here, in the contract: ingest keeps each site's totals by these
categories (``ingest.site_totals``) and the dashboard draws them, so both must
classify a meter the same way; one table, read by both, cannot drift.

Only meters at the edge of the tree are counted: a feeder or a building's
grid meter equals the signed sum of the meters below it (``expo.kinds.Flow``),
so counting it too would count that energy twice. The exception is the top of
the tree — a grid connection with no parent — which is the site's exchange
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
    renewable: bool = False

    @property
    def metric(self) -> str:
        """The metric of a site's totals that carries this category's power."""
        return f"{self.key}_power_w"


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category("pv", "source", renewable=True),
        Category("wind", "source", renewable=True),
        Category("battery_discharge", "source"),
        Category("grid_import", "source"),
        Category("households", "use"),
        Category("commercial", "use"),
        Category("ev", "use"),
        Category("heat_pumps", "use"),
        Category("street_lights", "use"),
        Category("buildings", "use"),
        Category("other", "use"),
        Category("battery_charge", "use"),
        Category("grid_export", "use"),
    )
}
SOURCES = [c.key for c in CATEGORIES.values() if c.side == "source"]
USES = [c.key for c in CATEGORIES.values() if c.side == "use"]
LOADS = [k for k in USES if k not in ("battery_charge", "grid_export")]  # what the site consumes
RENEWABLE = [c.key for c in CATEGORIES.values() if c.renewable]
# The metrics of a site's totals (kind ``site_totals``): every category's power, then the counts.
COUNT_METRICS = ("meters_count", "meters_live_count", "readings_count")
TOTALS_METRICS = tuple(c.metric for c in CATEGORIES.values()) + COUNT_METRICS

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
    """Whether a device's power is part of the site's balance (see the module docstring)."""
    if kind not in KINDS or KINDS[kind].flow is Flow.NONE:
        return False
    if kind == "grid_connection":
        return not has_parent
    return not is_parent


def categories_of(kind: str) -> tuple[str, str | None]:
    """The category of a kind's power at or above zero, and below zero (None: a negative reading counts as 0).

    ``split`` in two lookups, for a caller summing thousands of meters (ingest's site totals)."""
    if kind in _SPLIT:
        return _SPLIT[kind]
    return _BY_KIND.get(kind, "other"), None


def split(kind: str, power_w: float) -> list[tuple[str, float]]:
    """(category, W >= 0) pairs for one counted meter's power in its own sign convention."""
    into, out_of = categories_of(kind)
    if power_w >= 0 or out_of is None:
        return [(into, max(power_w, 0.0))]
    return [(out_of, -power_w)]
