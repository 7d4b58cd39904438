"""Device kinds of the telemetry contract: the one table every package reads.

A kind fixes three things a consumer must know without asking the device:
which way its power flows (so a feeder can be checked against its children
and a Sankey knows sources from uses), which metrics it reports, and what a
visitor should read as its name in either language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Flow(str, Enum):
    """Sign convention of ``power_w`` for a kind.

    CONSUMES and PRODUCES devices report ``power_w >= 0`` and one ``energy_wh``
    counter. BIDIRECTIONAL devices follow the load convention (positive =
    import or charge, negative = export or discharge) and report two counters,
    ``energy_import_wh`` and ``energy_export_wh``, each monotonic. A meter with
    no power at all (a weather station) is NONE.
    """

    CONSUMES = "consumes"
    PRODUCES = "produces"
    BIDIRECTIONAL = "bidirectional"
    NONE = "none"

    @property
    def load_sign(self) -> int:
        """Factor turning this kind's ``power_w`` into load convention."""
        return {"consumes": 1, "produces": -1, "bidirectional": 1, "none": 0}[self.value]


@dataclass(frozen=True)
class Kind:
    name: str
    flow: Flow
    metrics: tuple[str, ...]
    label_en: str
    label_zh: str


_UNI_CONSUMER = ("power_w", "energy_wh")
_UNI_PRODUCER = ("power_w", "energy_wh")
_BIDIR = ("power_w", "energy_import_wh", "energy_export_wh")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("pv", Flow.PRODUCES, _UNI_PRODUCER + ("irradiance_wm2",), "Solar PV", "光伏发电"),
        Kind("wind", Flow.PRODUCES, _UNI_PRODUCER + ("wind_speed_mps",), "Wind turbine", "风力发电"),
        Kind("battery", Flow.BIDIRECTIONAL, _BIDIR + ("soc_pct",), "Battery storage", "储能电池"),
        Kind("heat_pump", Flow.CONSUMES, _UNI_CONSUMER + ("heat_w", "cop"), "Heat pump", "热泵"),
        Kind("ev_charger", Flow.CONSUMES, _UNI_CONSUMER, "EV charger", "电动汽车充电桩"),
        Kind("household", Flow.CONSUMES, _UNI_CONSUMER + ("voltage_v", "current_a"), "Household", "居民用户"),
        Kind("commercial", Flow.CONSUMES, _UNI_CONSUMER, "Shop or office", "商业用户"),
        Kind("meter", Flow.CONSUMES, _UNI_CONSUMER + ("voltage_v", "current_a"), "Energy meter", "电能表"),
        Kind("lighting", Flow.CONSUMES, _UNI_CONSUMER, "Lighting", "照明"),
        Kind("plug_load", Flow.CONSUMES, _UNI_CONSUMER, "Plug loads", "插座负荷"),
        Kind("street_light", Flow.CONSUMES, _UNI_CONSUMER, "Street lights", "路灯"),
        Kind("shore_power", Flow.CONSUMES, _UNI_CONSUMER, "Shore power", "岸电"),
        Kind("crane", Flow.CONSUMES, _UNI_CONSUMER, "Quay crane", "岸桥起重机"),
        Kind("process_load", Flow.CONSUMES, _UNI_CONSUMER, "Industrial process load", "工业生产负荷"),
        Kind("feeder", Flow.BIDIRECTIONAL, _BIDIR + ("voltage_v", "current_a"), "Feeder transformer", "配电变压器"),
        Kind("grid_connection", Flow.BIDIRECTIONAL, _BIDIR, "Grid connection", "电网关口"),
        Kind(
            "weather_station",
            Flow.NONE,
            ("temperature_c", "irradiance_wm2", "wind_speed_mps", "cloud_cover_pct"),
            "Weather station",
            "气象站",
        ),
        # A site's totals, kept by ingest (``ingest.site_totals``) as the readings of one derived device per
        # site: NONE, so no sum ever counts it again. Its metrics are ``expo.categories.TOTALS_METRICS``,
        # named there beside the categories they follow (this table is below that one).
        Kind("site_totals", Flow.NONE, (), "Site totals", "站点合计"),
    )
}

ENERGY_COUNTERS = ("energy_wh", "energy_import_wh", "energy_export_wh")


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown device kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None
