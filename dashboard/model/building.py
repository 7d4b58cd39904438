"""The zero-energy building: which one it is, what it does now and today, and its year from its own counters.

Which one: the building whose retained description (``expo.places.BuildingMeta``)
gives it the role ``zero_energy``. Only when no description says so is it
guessed from the meters, as before descriptions existed: the building with
PV, a battery and the most meters of its own. A building is (site, building),
like a device: two districts may both have a ``zeb``.

"Zero-energy" is a claim about a year, so the year is read from the meters'
energy counters (newest less first), which is exact where averaged power is
not: an hour half-covered by data would count as a whole one. A counter is
monotonic (ingest continues it across meter resets), so its smallest value in
the year is its first. The year is re-read every few minutes, not every poll:
it is one hourly-rollup query over the building's dozen meters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.model.balance import balance
from dashboard.model.slots import slot_means
from dashboard.model.views import Building, DeviceNow
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta
from expo.store import Store

YEAR_EVERY_S = 300
ZERO_ENERGY = "zero_energy"

Key = tuple[str, str]  # (site, device) or (site, building)


def building_key(metas: dict[Key, DeviceMeta], described: list[BuildingMeta]) -> Key | None:
    """(site, building) of the zero-energy building: by its description, else guessed from the meters."""
    members: dict[Key, list[str]] = defaultdict(list)
    for m in metas.values():
        if m.building:
            members[(m.site, m.building)].append(m.kind)
    said = [(b.site, b.building) for b in described if b.role == ZERO_ENERGY]
    if said:  # several described as zero-energy (a city with two): the one with the most meters, then by id
        return min(said, key=lambda k: (-len(members.get(k, ())), k))
    candidates = [(len(kinds), k) for k, kinds in members.items() if "pv" in kinds and "battery" in kinds]
    return max(candidates)[1] if candidates else None


def year_start_s(t_s: float, timezone: str) -> float:
    """1 January of ``t_s``'s year in the hall's time zone (a younger store simply starts later)."""
    local = datetime.fromtimestamp(t_s, ZoneInfo(timezone))
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


class ZeroEnergyBuilding:
    """Builds the snapshot's ``Building``; holds the year's figures between their re-reads."""

    def __init__(self, timezone: str):
        self.timezone = timezone
        self._ytd: tuple[float, float] = (0.0, 0.0)
        self._ytd_at = -math.inf
        self._ytd_of: Key | None = None
        self._whatif_wh: dict[tuple, tuple[float, float]] = {}  # an ended what-if's (made, used) share, kept

    def now(self, store: Store, key: Key | None, devices: list[DeviceNow], metas: dict[Key, DeviceMeta],
            minutes: dict[int, tuple[float, float]], day_start: float, clock: float,
            description: BuildingMeta | None = None) -> Building | None:
        """``minutes``: minute bucket -> the building's (generation W, consumption W)."""
        if key is None:
            return None
        site, bid = key
        mine = [d for d in devices if d.site == site and d.building == bid]
        grid = next((d for d in mine if d.kind == "grid_connection"), None)
        battery = next((d for d in mine if d.kind == "battery"), None)
        gen_now = sum(d.power_w or 0.0 for d in mine if d.kind in KINDS and KINDS[d.kind].flow is Flow.PRODUCES)
        use_now = sum(d.power_w or 0.0 for d in mine if d.kind in KINDS and KINDS[d.kind].flow is Flow.CONSUMES)
        if clock - self._ytd_at >= YEAR_EVERY_S or self._ytd_of != key:
            self._ytd = self._year_to_date(store, site, [d.device for d in mine], metas, clock)
            self._ytd_at, self._ytd_of = clock, key
        today = [v for b, v in minutes.items() if b >= day_start]
        if description is not None:
            name_en, name_zh = description.name_en, description.name_zh
        elif grid is not None:  # no description: the name its grid meter's name starts with
            name_en, name_zh = grid.name_en.split(":")[0], grid.name_zh.split(" ")[0]
        else:
            name_en, name_zh = bid, bid
        return Building(
            bid, name_en, name_zh,
            slot_means(((b, v[0]) for b, v in minutes.items()), day_start),
            slot_means(((b, v[1]) for b, v in minutes.items()), day_start),
            gen_now, use_now, battery.metrics.get("soc_pct") if battery else None, self._ytd[0], self._ytd[1],
            sum(v[0] for v in today) / 60.0, sum(v[1] for v in today) / 60.0,
            site=site, described=description is not None and description.role == ZERO_ENERGY, balance=balance(mine),
        )

    def _year_to_date(self, store: Store, site: str, devices: list[str], metas: dict[Key, DeviceMeta],
                      clock: float) -> tuple[float, float]:
        """Energy made and used this year (Wh): each counter's newest value less its first."""
        if not devices:
            return 0.0, 0.0
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for row in store.rollups("1h", year_start_s(clock, self.timezone), clock + 3600, "energy_wh", devices,
                                 site=site):
            first[row.device] = min(first.get(row.device, math.inf), row.min)
            last[row.device] = max(last.get(row.device, -math.inf), row.last)
        produced, used = _by_flow({d: last[d] - first[d] for d in first}, site, metas)
        made_in_whatifs, used_in_whatifs = self._in_whatifs(store, site, devices, metas,
                                                            year_start_s(clock, self.timezone), clock)
        return max(produced - made_in_whatifs, 0.0), max(used - used_in_whatifs, 0.0)

    def _in_whatifs(self, store: Store, site: str, devices: list[str], metas: dict[Key, DeviceMeta],
                    since_s: float, clock: float) -> tuple[float, float]:
        """Energy made and used this year under visitors' what-ifs (Wh), to the minute: "made ÷ used" is the
        building's own year, not what a cloud or a heat wave someone asked for did to it. An ended span's share
        is computed once; one in force, every re-read."""
        spans = getattr(store, "whatifs", None)  # a backend of one's own may keep none
        if spans is None:
            return 0.0, 0.0
        made = used = 0.0
        for span in spans(site, since_s=since_s):
            key = (site, span.start_s, tuple(devices))
            share = self._whatif_wh.get(key)
            if share is None:
                end_s = span.end_s if span.end_s is not None else clock
                first: dict[str, float] = {}
                last: dict[str, float] = {}
                for row in store.rollups("1m", span.start_s - 60, end_s + 60, "energy_wh", devices, site=site):
                    first[row.device] = min(first.get(row.device, math.inf), row.min)
                    last[row.device] = max(last.get(row.device, -math.inf), row.last)
                share = _by_flow({d: last[d] - first[d] for d in first}, site, metas)
                if span.end_s is not None:
                    self._whatif_wh[key] = share
            made, used = made + share[0], used + share[1]
        return made, used


def _by_flow(delta_wh: dict[str, float], site: str, metas: dict[Key, DeviceMeta]) -> tuple[float, float]:
    """(made, used) Wh: each device's energy by its kind's direction."""
    produced = used = 0.0
    for device, wh in delta_wh.items():
        meta = metas.get((site, device))
        if meta is None or meta.kind not in KINDS:
            continue
        flow = KINDS[meta.kind].flow
        if flow is Flow.PRODUCES:
            produced += wh
        elif flow is Flow.CONSUMES:
            used += wh
    return produced, used
