"""What the exhibit shows, computed once per second from the store, for every screen at once.

One poller thread reads the store and publishes an immutable ``Snapshot``;
the page's callbacks only read the newest snapshot and send what changed.
So a refresh costs the server almost nothing however many screens watch, a
slow or unreachable store never blocks a page (it keeps the last snapshot,
marked with the error), and the store sees one reader, not one per tab.

Query cost stays flat as history grows: the poller reads the newest values
(bounded to the last day), then 1-minute rollups for a few minutes' window
(the last hour once a minute, today and yesterday only at start, at
midnight and after an outage, which fills the gap), and hourly rollups of
the zero-energy building for the year once every few minutes. Never raw
readings.

Query cost stays flat as the city grows too: the meters read are the home
site's (the town of the story building -> town -> city, whose figures are the
snapshot's town-level fields) and those of sites a page watches
(``ExhibitModel.watch``, a district tapped on the map); every district's
figures come from its one ``site-totals`` device, kept by ingest, or from
its own meters where it keeps none (an older ingest).

One module per job:

- ``views``: the snapshot and its parts (``Snapshot``, ``DeviceNow``,
  ``Building``, ``SiteNow``, ``CityNow``, ``ModelSettings``) and the KPIs
  derived from them;
- ``poller``: ``ExhibitModel``, the one thread that reads the store and
  publishes snapshots (its wall clock injected);
- ``latest``: each meter's newest values between polls, device states, and
  replay detection;
- ``minutes``: today's and yesterday's 1-minute rollups, kept in step, with
  the chunked catch-up;
- ``slots``: the hall's day in 5-minute slots, the one slot aggregation;
- ``building``: which building is the zero-energy one (by its description), and its year;
- ``sites``: the city's districts (``CityNow``) and which site is home;
- ``totals``: each district's figures from its site-totals device.

A device is (site, device) everywhere here: two sites may both have a ``home-01``.

The public names are importable from ``dashboard.model`` itself.
"""

from dashboard.model.latest import LATEST_FULL_EVERY_S, LATEST_OVERLAP_S, LATEST_WINDOW_S
from dashboard.model.poller import ENGINEER_EVERY_S, WATCH_S, ExhibitModel
from dashboard.model.slots import SLOT_S, SLOTS, slot_times
from dashboard.model.views import Building, CityNow, DeviceNow, ModelSettings, SiteNow, Snapshot, empty_snapshot

__all__ = [
    "Building", "CityNow", "DeviceNow", "ENGINEER_EVERY_S", "ExhibitModel", "LATEST_FULL_EVERY_S", "LATEST_OVERLAP_S",
    "LATEST_WINDOW_S", "ModelSettings", "SLOTS", "SLOT_S", "SiteNow", "Snapshot", "WATCH_S", "empty_snapshot",
    "slot_times",
]
