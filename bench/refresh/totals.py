"""A store that takes each batch with the site totals ingest would add to it, made by ingest's own ``SiteTotals``.

Why: the bench fills its stores through the store interface, not through
ingest, for speed; but the dashboard reads a district from its site-totals
device (one series a site) and only the home site's meters, falling back to
every meter of a site that keeps no totals (an older ingest). History filled
without the totals would measure that fallback, 20,000 meters' minutes on a
city, not the path the exhibit takes. One ``WithTotals`` per forward run of
time: the totals follow each site's newest timestamp, and the bench fills its
history newest segment first.
"""

from __future__ import annotations

from dataclasses import replace

from expo.store import Batch
from ingest.site_totals import SiteTotals, totals_meta


class WithTotals:
    def __init__(self, store, metas=()):
        self._store = store
        self.totals = SiteTotals()
        self._described: set[str] = set()
        self.made = 0
        for meta in metas:  # a simulation whose metadata is in the store already
            self.totals.meta(meta)

    def write(self, batch: Batch):
        for meta in batch.metas:
            self.totals.meta(meta)
        made = [t for t in map(self.totals.observe, batch.readings) if t is not None]
        if not made:
            return self._store.write(batch)
        new = sorted({t.site for t in made} - self._described)
        self._described.update(new)
        self.made += len(made)
        return self._store.write(replace(batch, readings=batch.readings + made,
                                          metas=batch.metas + [totals_meta(site) for site in new]))

    def __getattr__(self, name):
        return getattr(self._store, name)
