"""A store that takes each batch with the site totals ingest would have added to it.

Why: history written straight into a store (``energy-expo backfill``, for a
new exhibit's "yesterday") skips ingest, and with it the site totals a reader
of a city takes instead of every meter's. Written through this, it has them
as if ingest had taken it: the same ``SiteTotals``, the totals device's meta
once per site. Time must run forward through one of these, as it does for
ingest: the totals follow each site's newest timestamp.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE
from expo.store import Batch, Rejected, Store
from ingest.site_totals import SiteTotals, totals_meta


class TotalsStore:
    """``store`` with ``write`` adding the totals; everything else is the store's own."""

    def __init__(self, store: Store, metas: Iterable[DeviceMeta] = ()):
        self.store = store
        self.totals = SiteTotals()
        self.made = 0
        self._described: set[str] = set()
        for meta in metas:  # devices whose metadata the store holds already
            self.totals.meta(meta)

    def write(self, batch: Batch) -> list[Rejected]:
        for meta in batch.metas:
            self.totals.meta(meta)
        observe = self.totals.observe
        made = [t for r in batch.readings if r.device != TOTALS_DEVICE and (t := observe(r)) is not None]
        if not made:
            return self.store.write(batch)
        new = sorted({t.site for t in made} - self._described)
        self._described.update(new)
        self.made += len(made)
        metas = [m for m in batch.metas if m.device != TOTALS_DEVICE] + [totals_meta(site) for site in new]
        return self.store.write(replace(batch, readings=batch.readings + made, metas=metas))

    def __getattr__(self, name: str):
        return getattr(self.store, name)
