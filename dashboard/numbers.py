"""Numbers as a visitor reads them: always with a unit, rounded sensibly, in each language's habits.

English groups thousands with commas; Chinese counts in 万 (10^4) and 亿 (10^8),
so "123,456,789 readings" is "1.23 亿 条". Power is kW with one decimal below
100 and whole numbers above, MW from 10,000 kW; energy totals go to MWh.
"""

from __future__ import annotations

import math


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def power(w: float | None) -> dict[str, str]:
    if not _finite(w):
        return {"en": "—", "zh": "—"}
    kw = w / 1000.0
    if abs(kw) >= 10_000:
        s = f"{kw / 1000:,.1f} MW"
        return {"en": s, "zh": s}
    s = f"{kw:,.1f} kW" if abs(kw) < 100 else f"{kw:,.0f} kW"
    return {"en": s, "zh": s}


def energy(wh: float | None) -> dict[str, str]:
    if not _finite(wh):
        return {"en": "—", "zh": "—"}
    kwh = wh / 1000.0
    if abs(kwh) >= 1000:
        s = f"{kwh / 1000:,.1f} MWh" if abs(kwh) < 100_000 else f"{kwh / 1000:,.0f} MWh"
    else:
        s = f"{kwh:,.1f} kWh" if abs(kwh) < 100 else f"{kwh:,.0f} kWh"
    return {"en": s, "zh": s}


def percent(fraction: float | None) -> dict[str, str]:
    if not _finite(fraction):
        return {"en": "—", "zh": "—"}
    s = f"{fraction * 100:.0f}%"
    return {"en": s, "zh": s}


def mass_kg(kg: float | None) -> dict[str, str]:
    if not _finite(kg):
        return {"en": "—", "zh": "—"}
    if abs(kg) >= 1000:
        return {"en": f"{kg / 1000:,.1f} t", "zh": f"{kg / 1000:,.1f} 吨"}
    return {"en": f"{kg:,.0f} kg", "zh": f"{kg:,.0f} 千克"}


def count(n: float | None) -> dict[str, str]:
    """A count of things: 12,345,678 in English; 1234.6 万 / 1.23 亿 in Chinese."""
    if not _finite(n):
        return {"en": "—", "zh": "—"}
    n = int(n)
    if n >= 100_000_000:
        zh = f"{n / 1e8:.2f} 亿"
    elif n >= 10_000:
        zh = f"{n / 1e4:.1f} 万"
    else:
        zh = str(n)
    return {"en": f"{n:,}", "zh": zh}
