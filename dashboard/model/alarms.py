"""Alarms for the engineer, never the visitor: what needs a person, and since when.

Worked out after every poll from the snapshot, so they say what the screen
says: a meter offline, a feeder above its rating, the quarantine filling
faster than ``REJECTED_PER_MIN`` a minute, the store not answering, an ingest
process silent. Each keeps the moment it began: a meter's own word (its last
will) or its last reading where the data says it, else the first poll that
saw it. The engineer view lists them; the dashboard can also publish them,
retained, for other systems (``dashboard.control``, docs/dashboard.md). A
visitor sees at most the badge saying the data is not live.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from expo.store import INGEST_SILENT_S

REJECTED_PER_MIN = 60.0  # quarantined messages a minute above which something is sending garbage
RATE_WINDOW_S = 60.0
KINDS = ("store_down", "ingest_silent", "quarantine_rate", "feeder_over_rating", "meter_offline")  # most urgent first


@dataclass(frozen=True)
class Alarm:
    kind: str
    site: str  # "" for the exhibit's own parts (the store, an ingest process)
    subject: str  # the device, the process, or "store" / "quarantine"
    since_s: float
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.site, self.subject


class AlarmWatch:
    def __init__(self, rejected_per_min: float = REJECTED_PER_MIN):
        self.rejected_per_min = rejected_per_min
        self._since: dict[tuple[str, str, str], float] = {}
        self._rejected: deque[tuple[float, float]] = deque()  # (when, quarantined so far, all processes)

    def update(self, snapshot, now_s: float, offline_s: float) -> tuple[Alarm, ...]:
        found: list[tuple[str, str, str, float | None, str]] = []
        if not snapshot.store_ok:
            found.append(("store_down", "", "store", None, snapshot.store_error or "the store does not answer"))
        for p in snapshot.ingest:
            if now_s - p.written_s > INGEST_SILENT_S:
                found.append(("ingest_silent", "", p.process, p.written_s,
                              f"no counters from ingest process {p.process} for {now_s - p.written_s:.0f} s"))
        rate = self._rejected_rate(snapshot, now_s)
        if rate is not None and rate > self.rejected_per_min:
            found.append(("quarantine_rate", "", "quarantine", None,
                          f"{rate:.0f} messages a minute quarantined (limit {self.rejected_per_min:.0f})"))
        for d in snapshot.devices:
            if d.kind == "feeder" and d.rated_w and d.power_w is not None and abs(d.power_w) > d.rated_w:
                found.append(("feeder_over_rating", d.site, d.device, None,
                              f"{abs(d.power_w) / 1000:.1f} kW on a {d.rated_w / 1000:.0f} kW rating"))
            if d.state == "offline":
                since = d.offline_since_s or (d.ts_s + offline_s if d.ts_s is not None else None)
                found.append(("meter_offline", d.site, d.device, since,
                              "its own last will" if d.offline_since_s else "no reading"))
        alarms = []
        seen = set()
        for kind, site, subject, since, detail in found:
            key = (kind, site, subject)
            seen.add(key)
            first = self._since.setdefault(key, since if since is not None else now_s)
            alarms.append(Alarm(kind, site, subject, first, detail))
        for gone in set(self._since) - seen:
            del self._since[gone]
        return tuple(sorted(alarms, key=lambda a: (KINDS.index(a.kind), a.site, a.subject)))

    def _rejected_rate(self, snapshot, now_s: float) -> float | None:
        """Quarantined messages a minute over the last minute, from ingest's counters (None until a minute of
        them is known). A counter that fell (a process restarted) starts the window again."""
        if not snapshot.ingest:
            return None
        total = sum(p.figures.get("rejected", 0.0) for p in snapshot.ingest)
        samples = self._rejected
        if samples and total < samples[-1][1]:
            samples.clear()
        samples.append((now_s, total))
        while len(samples) > 1 and now_s - samples[1][0] >= RATE_WINDOW_S:
            samples.popleft()
        first_s, first = samples[0]
        if now_s - first_s < RATE_WINDOW_S / 2:
            return None
        return (total - first) / (now_s - first_s) * 60.0
