"""Across hosts: broker, InfluxDB and two site-partitioned ingest processes each on a test host of its own.

The hosts are network namespaces on a private subnet (testkit.netns). One
ingest host is unplugged mid-stream while the stream goes on, and plugged
back in: the broker keeps that ingest's persistent session and queues its
messages (``max_queued_messages`` far above the stream), the store's writes
spool on the host until InfluxDB can be reached again, and in the end every
reading is stored exactly once, with the energy derived from power and the
continued counters exactly the truth. The broker's ``max_keepalive`` of 10 s
(ingest asks for 30) makes both sides notice the cut in 15-20 s rather than
45, so the session really breaks and is resumed, not merely carried over by
TCP's retransmissions.

A file of its own: the fault tests run a file per worker (scripts/test.sh),
so this one never shares the machine's cores with test_faults.py's cases
in the same worker.
"""

from __future__ import annotations

import time

import pytest

from testkit import netns
from testkit.servers import InfluxDB, Mosquitto
from tests.ingest.harness import Ingest
from tests.ingest.site_stream import Stream, publish, stored

EAST, WEST = ("eco-city", "port"), ("airport",)
KEEPALIVE_S = 10  # the least Mosquitto allows: it notices a client gone after 15 s, paho after 20 s


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def test_an_ingest_host_cut_off_mid_stream_and_brought_back_stores_every_reading_once(tmp_path):
    reason = netns.unavailable()
    if reason:
        pytest.skip(f"no test hosts: {reason}")
    stream = Stream()
    thirds = [stream.messages[i * len(stream.messages) // 3:(i + 1) * len(stream.messages) // 3] for i in range(3)]
    with netns.TestNet(["broker", "db", "ingest-east", "ingest-west"]) as net:
        host = {name: net[name] for name in net.hosts}
        broker = Mosquitto(tmp_path / "mq", host=host["broker"].address, command=host["broker"].command(),
                           extra=f"max_keepalive {KEEPALIVE_S}\n")
        assert "max_queued_messages 1000000\n" in broker.config_text() and len(stream.messages) < 1_000_000
        db = InfluxDB(tmp_path / "influx", host=host["db"].address, command=host["db"].command())
        ingests = {
            side: Ingest(tmp_path, broker.url, side, "--sites", ",".join(sites), "--store-retry-max-s", "1",
                         store=db.url(), command=host[f"ingest-{side}"].command(),
                         health_host=host[f"ingest-{side}"].address)
            for side, sites in (("east", EAST), ("west", WEST))}
        cut = host["ingest-east"]
        try:
            broker.start()
            db.start()
            for ingest in ingests.values():
                ingest.start()
            publish(broker.host, broker.port, thirds[0], "meters-1")
            wait_until(lambda: (ingests["east"].health() or {}).get("readings_accepted", 0) > 0, 20,
                       "east took part of the first third")
            cut.cut()
            publish(broker.host, broker.port, thirds[1], "meters-2")  # the broker holds east's share
            wait_until(lambda: "Client east has exceeded timeout" in broker.log.read_text(), 1.5 * KEEPALIVE_S + 10,
                       "the broker noticed east was gone")
            publish(broker.host, broker.port, thirds[2], "meters-3")
            cut.plug_in()
            wait_until(lambda: broker.log.read_text().count("as east (") >= 2, 30, "east connected again")
            points = {}

            def complete() -> bool:
                points.update(stored(db.host, db.port, "expo"))
                return len(points) >= len(stream.expected)

            wait_until(complete, 40, f"every point stored ({len(points)} of {len(stream.expected)})")
            health = {side: ingest.health() for side, ingest in ingests.items()}
        finally:
            cut.plug_in()
            codes = [ingest.stop() if ingest.process else None for ingest in ingests.values()]
            db.stop()
            broker.stop()
    assert codes == [0, 0]
    assert "resumed persistent session" in ingests["east"].log.read_text()  # the broker kept what it missed
    assert points.keys() == stream.expected.keys()  # every reading, none twice (one point per series and time)
    assert all(points[k] == pytest.approx(v, rel=1e-12) for k, v in stream.expected.items())
    assert health["west"]["readings_accepted"] == stream.readings(WEST)
    assert health["east"]["readings_accepted"] >= stream.readings(EAST)  # a redelivery is taken again, harmlessly
    assert health["east"]["readings_written"] + health["east"]["readings_spooled"] >= stream.readings(EAST)
