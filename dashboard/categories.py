"""The categories of a site's energy as the dashboard shows them: the contract's, each with its colour.

Where each meter's power belongs (the categories, counted meters, the split of
a bidirectional meter by its sign) is ``expo.categories``, shared with ingest's
site totals so the two never classify a meter differently; only the colours
are the dashboard's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from expo import categories as contract
from expo.categories import LOADS, RENEWABLE, SOURCES, USES, counted_kind, split

__all__ = ["CATEGORIES", "Category", "LOADS", "RENEWABLE", "SOURCES", "USES", "counted_kind", "split"]

# Okabe-Ito colours (safe for the common colour-blindnesses), one meaning on every scene (docs: EXHIBIT.md).
COLOURS = {
    "pv": "#E69F00",
    "wind": "#56B4E9",
    "battery_discharge": "#009E73",
    "grid_import": "#D55E00",
    "households": "#0072B2",
    "commercial": "#9AA8FF",
    "ev": "#CC79A7",
    "heat_pumps": "#F0E442",
    "street_lights": "#BBBBBB",
    "buildings": "#7FC8B8",
    "other": "#888888",
    "battery_charge": "#009E73",
    "grid_export": "#D55E00",
}


@dataclass(frozen=True)
class Category:
    key: str
    side: str  # "source" or "use"
    colour: str
    renewable: bool = False


CATEGORIES: dict[str, Category] = {
    key: Category(key, c.side, COLOURS[key], c.renewable) for key, c in contract.CATEGORIES.items()
}
