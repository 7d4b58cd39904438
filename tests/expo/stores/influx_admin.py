"""Talking to a test's InfluxDB server the way an operator would: InfluxQL and line protocol over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode


def influxql(port: int, q: str, database: str | None = None) -> list[dict]:
    params = {"q": q, "epoch": "ms", **({"db": database} if database else {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/query", data=urlencode(params).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        results = json.loads(response.read())["results"]
    assert all("error" not in r for r in results), results
    return [series for r in results for series in r.get("series", [])]


def short_retention(port: int, database: str, duration: str = "1h") -> None:
    """A database whose default retention policy keeps ``duration`` (InfluxDB 1.x's shortest is 1h)."""
    influxql(port, f'CREATE DATABASE "{database}"')
    influxql(port, f'CREATE RETENTION POLICY "short" ON "{database}" DURATION {duration} REPLICATION 1 DEFAULT')


def raw_write(port: int, database: str, lines: list[str]) -> tuple[int, bytes]:
    """Line protocol (precision ms) as another writer would send it, e.g. Telegraf into the same database."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/write?db={database}&precision=ms",
                                     data="\n".join(lines).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
