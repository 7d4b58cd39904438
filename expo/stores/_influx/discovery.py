"""What the engineer sees before placing a meter, in InfluxDB: announcements and the survey of undecoded topics.

An announcement is a point of ``discovered`` tagged (site, family, key) with
only the fields it said: ``last()`` per field then merges its parts the way
the SQLite store's upsert does (Tasmota's ``config`` names a meter, its
``sensors`` says what it measures). A survey is a point of ``topic_seen``
per topic, all at the survey's own instant, so the newest survey is the
points at the newest instant.
"""

from __future__ import annotations

import base64
from typing import Callable

from expo.store import Discovered, TopicSeen
from expo.stores._influx.line_protocol import escape_tag, string_field
from expo.stores._influx.reads import quote_literal

Query = Callable[[str], list[dict]]

ANNOUNCED = ("device", "name", "model", "address", "measures")


def discovered_line(d: Discovered) -> str:
    said = "".join(f",{name}={string_field(getattr(d, name))}" for name in ANNOUNCED if getattr(d, name))
    ms = round(d.seen_s * 1000)
    return (f"discovered,site={escape_tag(d.site)},family={escape_tag(d.family)},key={escape_tag(d.key)} "
            f"seen_ms={ms}i{said} {ms}")


NOTHING = "-"  # the tag of a survey that found nothing; read back as none by its 0 messages, which no topic has


def topic_lines(topics: list[TopicSeen] | None, now_s: float) -> list[str]:
    """A survey's points at its instant; one that found nothing is a point of its own (``NOTHING``), so it
    still replaces the survey before."""
    if topics is None:
        return []
    if not topics:
        return [f"topic_seen,topic={NOTHING} messages=0i,window_ms=0i {round(now_s * 1000)}"]
    return [f"topic_seen,topic={escape_tag(t.topic)} messages={t.messages}i,window_ms={round(t.window_s * 1000)}i,"
            f"sample_b64={string_field(base64.b64encode(t.sample).decode())} {round(t.seen_s * 1000)}"
            for t in topics]


def discovered(query: Query, site: str | None) -> list[Discovered]:
    where = f' WHERE "site" = {quote_literal(site)}' if site is not None else ""
    found = []
    for series in query(f'SELECT last(*) FROM "discovered"{where} GROUP BY "site", "family", "key"'):
        tags = series.get("tags") or {}
        row = dict(zip(series["columns"], series["values"][0]))
        said = {name: row.get(f"last_{name}") or "" for name in ANNOUNCED}
        found.append(Discovered(tags.get("site", ""), tags.get("family", ""), tags.get("key", ""), **said,
                                seen_s=(row.get("last_seen_ms") or 0) / 1000.0))
    return sorted(found, key=lambda d: (d.site, d.family, d.key))


def topics_seen(query: Query) -> list[TopicSeen]:
    newest = query('SELECT last("messages") FROM "topic_seen"')
    if not newest or not newest[0].get("values"):
        return []
    at_ms = newest[0]["values"][0][0]
    found = []
    for series in query(f'SELECT "messages", "window_ms", "sample_b64" FROM "topic_seen" WHERE time = {at_ms}ms '
                        'GROUP BY "topic"'):
        row = dict(zip(series["columns"], series["values"][0]))
        if not row["messages"]:
            continue
        found.append(TopicSeen((series.get("tags") or {}).get("topic", ""), int(row["messages"]),
                               row["window_ms"] / 1000.0, at_ms / 1000.0,
                               base64.b64decode(row.get("sample_b64") or "")))
    return sorted(found, key=lambda t: (-t.messages, t.topic))
