"""A one-line, human summary of the site at a step, for the simulator's progress log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from expo.kinds import KINDS, Flow
from simulators.engine import Frame
from simulators.site import Site


def site_summary(site: Site, frame: Frame, step: int = -1) -> str:
    power = frame.metrics["power_w"][:, step]
    kinds = np.array([m.kind for m in site.metas])
    consumes = np.array([KINDS[k].flow is Flow.CONSUMES for k in kinds])
    town_grid = site.group("grid")
    building_grid = site.group("building_grid")
    battery = site.group("building_battery")
    local = datetime.fromtimestamp(float(frame.times_s[step]), timezone.utc) + timedelta(
        hours=site.scenario.climate.utc_offset_h
    )
    parts = [
        f"{local:%Y-%m-%d %H:%M} local",
        f"load {power[consumes].sum() / 1000:,.1f} kW",
        f"solar {power[kinds == 'pv'].sum() / 1000:,.1f} kW",
        f"wind {power[kinds == 'wind'].sum() / 1000:,.1f} kW",
    ]
    if len(town_grid):
        parts.append(f"grid import {power[town_grid].sum() / 1000:,.1f} kW")
    if len(building_grid):
        parts.append(f"building net {power[building_grid].sum() / 1000:,.1f} kW")
    if len(battery) and "soc_pct" in frame.metrics:
        parts.append(f"battery {frame.metrics['soc_pct'][battery[0], step]:.0f}%")
    return " | ".join(parts)
