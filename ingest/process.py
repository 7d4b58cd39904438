"""From one MQTT message to what goes into a batch: route, decode, check, continue counters, or quarantine.

Nothing here raises for bad input: every message ends up as readings, as
metadata, or as a ``Rejected`` with a countable reason and its raw bytes.
Every refusal is an ``expo.errors.Refused`` carrying its reason, whether the
contract, a decoder, a check or the counters raised it; any other exception
is a decoder bug, which costs that one message (``decoder_error``), never the
stream. A meter replacement the counters accept is kept beside the
quarantine too (reason ``counter_replaced``), as a record for the engineer of
a reading that was stored with a new offset; so is a message that decoded to
nothing at all (``decoded_nothing``: counted, its first and then one an hour
per topic kept), so nothing arrives without a trace.

Each accepted reading also goes to the site's totals (``ingest.site_totals``),
whose readings join the same batch. Their device id is reserved: a message
from outside for it (a reading, a meta, a status) is refused as
``reserved_device``, so nobody can forge a site's totals.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace

from expo.errors import Refused
from expo.logthrottle import LogThrottle
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE, BuildingMeta, SiteMeta
from expo.store import Batch, DeviceState, Discovered, Rejected
from ingest.checks import Checks
from ingest.counters import CounterState
from ingest.decoders import DecodeContext, Decoded, registry
from ingest.meter_registry import Registry
from ingest.routes import Route, route_for
from ingest.site_totals import SiteTotals, totals_meta

log = logging.getLogger("expo.ingest")

KEEP_PAYLOAD_BYTES = 4096  # of an oversized payload, the start is kept for the engineer to read
ROUTE_CACHE_SIZE = 100_000
REPLACED = "counter_replaced"  # the reason of an inspection record: a reading stored, on a replaced meter
DECODED_NOTHING = "decoded_nothing"  # the reason of an inspection record: a message valid for its family, nothing for us
NOTHING_KEPT_EVERY_S = 3600.0


@dataclass(slots=True)  # made for every message on paho's thread: not frozen, which would cost twice as much
class Incoming:
    topic: str
    payload: bytes
    received_s: float
    mid: int = 0
    qos: int = 0


class Processor:
    def __init__(self, routes: list[Route], site: str, checks: Checks, counters: CounterState,
                 max_payload_bytes: int = 65_536):
        self.routes = routes
        self.site = site
        self.checks = checks
        self.counters = counters
        self.max_payload_bytes = max_payload_bytes
        self.metas: dict[tuple[str, str], DeviceMeta] = {}
        # Devices whose metadata was told (a native meta message, or a stored one that says more than a guess):
        # the kind, place and parent a decoder guesses from a Tasmota or Shelly reading never overwrite theirs.
        self.told: set[tuple[str, str]] = set()
        # Devices the meter registry describes (ingest.meter_registry): its word outranks a native meta too.
        self.registered: set[tuple[str, str]] = set()
        # A family meter's messages carry no site: those the registry places in another site are moved there.
        self._placed: dict[str, str] = {}
        self._announced: dict[tuple[str, str, str], tuple[tuple, float]] = {}
        self._under_index: dict[tuple[str, str], list[str]] | None = None
        self._under_size = 0
        self._base_routes = routes
        # Descriptions as stored: a retained one delivered again (each reconnect) is not written again.
        self.sites: dict[str, SiteMeta] = {}
        self.buildings: dict[tuple[str, str], BuildingMeta] = {}
        self.rejected_by_reason: Counter[str] = Counter()
        self.decoded_nothing = 0  # messages that decoded to nothing at all (not refusals: counted apart)
        self._nothing_kept: dict[str, float] = {}  # topic -> when one of its nothing-messages was last kept
        self.readings = 0
        self.totals = SiteTotals()
        self.totals_made = 0
        self.status: dict[tuple[str, str], str] = {}
        self._decoders = registry()
        self._throttle = LogThrottle()
        self._route_cache: dict[str, Route | None] = {}

    def add(self, message: Incoming, batch: Batch) -> None:
        try:
            self._add(message, batch)
        except Refused as exc:
            self._reject(message, exc.reason, exc.detail, batch)
        except Exception as exc:  # a decoder bug must cost one message, never the stream
            log.exception("decoder failed on %s", message.topic)
            self._reject(message, "decoder_error", f"{type(exc).__name__}: {exc}", batch)
        if not self.counters.notes:  # nearly always: no list made for every message
            return
        for site, device, metric, detail in self.counters.take_notes():
            batch.rejected.append(Rejected(message.received_s, message.topic, REPLACED, detail,
                                           message.payload[:KEEP_PAYLOAD_BYTES]))
            if n := self._throttle.count(REPLACED):
                log.warning("[%s x%d] %s", REPLACED, n, detail[:300])

    def _add(self, message: Incoming, batch: Batch) -> None:
        if len(message.payload) > self.max_payload_bytes:
            raise Refused("too_large", f"{len(message.payload):,} bytes; the limit is {self.max_payload_bytes:,}")
        route = self._route(message.topic)
        if route is None:
            raise Refused("unknown_topic", "no route takes this topic")
        decoder = self._decoders[route.decoder]
        decoded = decoder.decode(message.topic, message.payload, DecodeContext(self.site, message.received_s,
                                                                               route.options))
        if not (decoded.readings or decoded.metas or decoded.status or decoded.sites or decoded.buildings
                or decoded.replaced or decoded.discovered or decoded.whatifs):
            self._decoded_nothing(message, route, batch)
            return
        if self._placed and route.decoder != "native":  # native topics name their site themselves
            decoded = self._place(decoded)
        if _claims_totals(decoded):
            raise Refused("reserved_device", f"device id {TOTALS_DEVICE!r} is reserved for the site totals ingest "
                                             "keeps; a meter must have another id")
        for meta in decoded.metas:
            key = (meta.site, meta.device)
            if key in self.registered:
                if decoded.announced:
                    self.checks.known.add(key)
                continue  # the engineer's registry is the last word on who a meter is
            if decoded.announced:
                self.checks.known.add(key)
                self.told.add(key)
            elif key in self.told:
                continue  # a decoder's guess from a reading never overwrites what the meter's own meta said
            if self.metas.get(key) != meta:
                self.metas[key] = meta
                batch.metas.append(meta)
                self.totals.meta(meta)
        for site in decoded.sites:
            if self.sites.get(site.site) != site:
                self.sites[site.site] = site
                batch.sites.append(site)
        for building in decoded.buildings:
            if self.buildings.get((building.site, building.building)) != building:
                self.buildings[(building.site, building.building)] = building
                batch.buildings.append(building)
        for device, state in decoded.status.items():  # a change is stored, with when: a retained will said again is not
            site = self._placed.get(device, self.site)
            # a family device's will speaks for each meter in it too (a Shelly's channels, a Tasmota's SML meter)
            under = self._under(site, device) if route.decoder != "native" else ()
            for key in ((site, device), *((site, d) for d in under)):
                if self.status.get(key) != state:
                    self.status[key] = state
                    batch.states.append(DeviceState(key[0], key[1], state, message.received_s))
        for found in decoded.discovered:
            self._announce(found, batch)
        if decoded.whatifs:  # rare (a visitor's press), and stored as said: no memory kept
            batch.whatifs.extend(decoded.whatifs)
        for device, replaced_s in decoded.replaced.items():
            site = next((m.site for m in decoded.metas if m.device == device), self._placed.get(device, self.site))
            self.counters.declare_replaced(site, device, replaced_s)
        accepted = []
        for reading in decoded.readings:
            meta = self.metas.get((reading.site, reading.device))
            kind = meta.kind if meta else None
            self.checks.check(reading, kind, message.received_s)
            accepted.append(self.counters.apply(reading, kind, meta.rated_power_w if meta else 0.0))
        batch.readings.extend(accepted)  # all of a message's readings, or none of them
        self.readings += len(accepted)
        for reading in accepted:
            totals = self.totals.observe(reading)
            if totals is not None:
                self._add_totals(totals, batch)

    def use_registry(self, meters: Registry, batch: Batch) -> None:
        """The registry's meters as told metadata (into ``batch`` where it changes what is stored), and its
        routes ahead of the configured ones. A meter taken out of the file keeps its stored metadata, which a
        native meta may change from then on."""
        self.registered = set(meters.metas)
        self._placed = {device: site for site, device in meters.metas
                        if site != self.site and (self.site, device) not in meters.metas}
        for key, meta in meters.metas.items():
            self.checks.known.add(key)  # described by the engineer: never a flood
            self.told.add(key)
            if self.metas.get(key) != meta:
                self.metas[key] = meta
                batch.metas.append(meta)
                self.totals.meta(meta)
        routes = [*meters.routes, *self._base_routes]
        if routes != self.routes:
            self.routes = routes
            self._route_cache.clear()

    def _under(self, site: str, device: str) -> list[str]:
        """The known devices whose ids extend ``device`` by ``-...`` in ``site``: the meters inside a device
        whose will or ``online`` names the hardware. The index is rebuilt only when devices were added."""
        if self._under_index is None or self._under_size != len(self.metas):
            index: dict[tuple[str, str], list[str]] = {}
            for s, d in self.metas:
                for i, c in enumerate(d):
                    if c == "-":
                        index.setdefault((s, d[:i]), []).append(d)
            self._under_index, self._under_size = index, len(self.metas)
        return self._under_index.get((site, device), [])

    def _announce(self, found: Discovered, batch: Batch) -> None:
        """An announcement is written when it says something new, else once an hour (when it was last seen):
        a Shelly repeating its full status on every change does not rewrite it each time."""
        key = (found.site, found.family, found.key)
        said = (found.device, found.name, found.model, found.address, found.measures)
        last = self._announced.get(key)
        if last is not None and last[0] == said and found.seen_s - last[1] < NOTHING_KEPT_EVERY_S:
            return
        if len(self._announced) >= ROUTE_CACHE_SIZE:
            self._announced.clear()
        self._announced[key] = (said, found.seen_s)
        batch.discovered.append(found)

    def _place(self, decoded: Decoded) -> Decoded:
        """The decoded message with each registry-placed device in the registry's site instead of the default."""
        placed, default = self._placed, self.site

        def moved(item):
            site = placed.get(item.device) if item.site == default else None
            return replace(item, site=site) if site else item

        return replace(decoded, readings=[moved(r) for r in decoded.readings], metas=[moved(m) for m in decoded.metas])

    def _add_totals(self, totals, batch: Batch) -> None:
        """A site's totals reading into the batch, and its device's meta the first time (once per site)."""
        key = (totals.site, TOTALS_DEVICE)
        if key not in self.metas:
            meta = self.metas[key] = totals_meta(totals.site)
            batch.metas.append(meta)
        batch.readings.append(totals)
        self.totals_made += 1

    def _decoded_nothing(self, message: Incoming, route: Route, batch: Batch) -> None:
        """Valid for its family, nothing for us (a thermometer's Tasmota SENSOR, a Shelly's status/sys): counted,
        and its first message (then one an hour) per topic kept beside the quarantine, so an engineer can see
        what arrives and why nothing of it is stored, without a chatty sensor filling the quarantine."""
        self.decoded_nothing += 1
        last = self._nothing_kept.get(message.topic)
        if last is not None and message.received_s - last < NOTHING_KEPT_EVERY_S:
            return
        if len(self._nothing_kept) >= ROUTE_CACHE_SIZE:
            self._nothing_kept.clear()
        self._nothing_kept[message.topic] = message.received_s
        batch.rejected.append(Rejected(message.received_s, message.topic, DECODED_NOTHING,
                                       f"the {route.decoder} decoder found no reading, metadata or status in it "
                                       f"(kept once an hour per topic; every one is counted as decoded_nothing)",
                                       message.payload[:KEEP_PAYLOAD_BYTES]))

    def _route(self, topic: str) -> Route | None:
        """Route lookup, remembered per topic; the memory is bounded so a flood of topics cannot grow it."""
        try:
            return self._route_cache[topic]
        except KeyError:
            if len(self._route_cache) >= ROUTE_CACHE_SIZE:
                self._route_cache.clear()
            route = self._route_cache[topic] = route_for(topic, self.routes)
            return route

    def _reject(self, message: Incoming, reason: str, detail: str, batch: Batch) -> None:
        self.rejected_by_reason[reason] += 1
        payload = message.payload if reason != "too_large" else message.payload[:KEEP_PAYLOAD_BYTES]
        batch.rejected.append(Rejected(message.received_s, message.topic, reason, detail, payload))
        if n := self._throttle.count(reason):
            log.warning("[%s x%d] quarantined %s: %s", reason, n, message.topic[:200], detail[:300])


def _claims_totals(decoded) -> bool:
    """Whether a decoded message speaks for a site's totals device (``expo.places.TOTALS_DEVICE``)."""
    for reading in decoded.readings:  # loops, not any(): this runs for every message
        if reading.device == TOTALS_DEVICE:
            return True
    for meta in decoded.metas:
        if meta.device == TOTALS_DEVICE:
            return True
    return TOTALS_DEVICE in decoded.status or TOTALS_DEVICE in decoded.replaced
