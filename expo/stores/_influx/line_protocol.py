"""Points as InfluxDB line protocol: the text of each measurement in docs/data-model.md.

Tags and strings are escaped whatever they hold (ids are restricted already,
names and details are not); floats are written with ``repr`` so a value
reads back bit for bit.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import Rejected


def escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def string_field(value: str) -> str:
    if '"' not in value and "\\" not in value:  # nearly every name and id: nothing to escape
        return '"' + value + '"'
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def float_field(value: float) -> str:
    return repr(float(value))


@lru_cache(maxsize=65_536)
def series_key(measurement: str, site: str, device: str) -> str:
    """A device's series key, escaped once rather than for every point."""
    return f"{measurement},site={escape_tag(site)},device={escape_tag(device)}"


META_FIELD = "description"  # the device measurement's one field (before: a field per part, still read)


def reading_line(r: Reading) -> str:
    """Precision ms. Metric values are floats already (the contract made them so): ``repr`` is exact."""
    fields = ",".join([f"{m}={v!r}" if v.__class__ is float else f"{m}={float_field(v)}"
                       for m, v in r.metrics.items()])
    return f"{series_key('reading', r.site, r.device)} {fields} {round(r.ts_s * 1000)}"


def meta_line(m: DeviceMeta, ts_ms: int) -> str:
    """Precision ms; ``ts_ms`` is when it is stored, so it lies inside any retention policy.

    The whole metadata is one string field, its contract JSON, as a site's description is: nine fields
    were nine more series per device for the server to create and index (at 10,197 meters 0.43 s of
    InfluxDB's CPU for a burst's metadata, one field 0.15 s), for something only ever read whole."""
    return (f"device,site={escape_tag(m.site)},device={escape_tag(m.device)} "
            f"{META_FIELD}={string_field(m.to_json())} {ts_ms}")


def rejected_line(q: Rejected, offset_us: int, at_s: float | None = None) -> str:
    """Precision ns. The instant is the key: ``offset_us`` keeps several rejections of one millisecond apart."""
    at_s = q.received_s if at_s is None else at_s
    fields = (f"topic={string_field(q.topic)},detail={string_field(q.detail)},"
              f"payload_b64={string_field(base64.b64encode(q.payload).decode())}")
    return f"rejected,reason={escape_tag(q.reason)} {fields} {round(at_s * 1e6) + offset_us}000"


def state_line(site: str, device: str, state: str, since_ms: int) -> str:
    """A meter's self-reported state (``expo.store.DeviceState``), at the time it changed to it."""
    return f"device_state,site={escape_tag(site)},device={escape_tag(device)} state={string_field(state)} {since_ms}"


def health_line(health: dict[str, float], ts_ms: int, process: str = "") -> str:
    """Ingest's counters, tagged with the process that wrote them (points of an older ingest have no tag)."""
    fields = ",".join(f"{k}={float_field(v)}" for k, v in health.items())
    tag = f",process={escape_tag(process)}" if process else ""
    return f"ingest_health{tag} {fields} {ts_ms}"


ROLLUP_STATS = ("n", "mean", "min", "max", "last")


def rollup_line(name: str, site: str, device: str, aggs: dict[str, list[float]], ts_ms: int) -> str:
    """One line per bucket, a field per metric and statistic (``power_w_n``, ``power_w_mean``, …): a
    line per metric made InfluxDB parse, index and cache five times the lines for the same values, and at
    10,000 meters the rollups cost it more than the readings. ``aggs``: metric -> [n, sum, min, max, last]."""
    fields = ",".join([f"{m}_n={int(n)}i,{m}_mean={float_field(total / n)},{m}_min={float_field(lo)},"
                       f"{m}_max={float_field(hi)},{m}_last={float_field(last)}"
                       for m, (n, total, lo, hi, last) in aggs.items() if n])
    return f"{series_key('rollup_' + name, site, device)} {fields} {ts_ms}"
