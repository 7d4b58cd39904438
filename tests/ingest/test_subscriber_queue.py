"""The subscriber's queue is bounded: a writer that falls behind stops paho's network thread, so TCP holds
the broker back, and memory stays bounded whatever the broker sends."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from expo.addresses import BrokerAddress
from ingest import subscriber as subscriber_module
from ingest.subscriber import Subscriber


def message(i: int) -> SimpleNamespace:
    return SimpleNamespace(topic=f"expo/binhai/d{i}/reading", payload=b"{}", mid=i, qos=1)


def test_a_full_queue_holds_the_network_thread_until_the_writer_takes_one(monkeypatch):
    monkeypatch.setattr(subscriber_module, "QUEUE_MAX_MESSAGES", 3)
    sub = Subscriber(BrokerAddress("127.0.0.1", 1), "test", ["expo/#"], clock=lambda: 1.0)
    for i in range(3):
        sub._on_message(None, None, message(i))
    fourth = threading.Thread(target=sub._on_message, args=(None, None, message(3)))
    fourth.start()
    fourth.join(0.2)
    assert fourth.is_alive() and sub.queue.qsize() == 3 and sub.queue_full_waits > 0  # held back, not dropped
    assert sub.queue.get().mid == 0
    fourth.join(5)
    assert not fourth.is_alive()
    assert [sub.queue.get().mid for _ in range(3)] == [1, 2, 3] and sub.received == 4


def test_stopping_releases_a_waiting_network_thread_without_queueing_its_message(monkeypatch):
    monkeypatch.setattr(subscriber_module, "QUEUE_MAX_MESSAGES", 1)
    sub = Subscriber(BrokerAddress("127.0.0.1", 1), "test", ["expo/#"], clock=lambda: 1.0)
    sub._on_message(None, None, message(0))
    waiting = threading.Thread(target=sub._on_message, args=(None, None, message(1)))
    waiting.start()
    sub.stop_taking()
    waiting.join(5)
    assert not waiting.is_alive() and sub.queue.qsize() == 1  # never acknowledged: the broker sends it again


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_batch_acknowledged_at_once_reaches_the_broker(mosquitto, protocol):
    """2,000 messages, acknowledged a batch at a time in one write each, except the last batch: a new
    connection of the same session is sent exactly that last batch again, nothing else."""
    import queue
    import threading
    import time

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = BrokerAddress("127.0.0.1", mosquitto.port)

    def connect() -> Subscriber:
        sub = Subscriber(broker, f"ack-test-{protocol}", ["acks/#"], protocol=protocol)
        sub.start()
        assert sub.connected.wait(10)
        time.sleep(0.3)  # subscribed before anything is published
        return sub

    def drain(sub: Subscriber, wait_s: float) -> list:
        batch = []
        try:
            batch.append(sub.queue.get(timeout=wait_s))
            while True:
                batch.append(sub.queue.get_nowait())
        except queue.Empty:
            return batch

    first = connect()
    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="ack-test-pub")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    sending = threading.Thread(target=lambda: [publisher.publish(f"acks/{i % 50}", b"x", qos=1).wait_for_publish(10)
                                               for i in range(2000)])
    sending.start()
    taken, last = 0, []
    deadline = time.monotonic() + 60
    while taken < 2000 and time.monotonic() < deadline:
        batch = drain(first, 2.0)
        taken += len(batch)
        if taken < 2000:
            first.ack(batch)  # the broker (3.1.1: 20 in flight) sends more only once these arrive
        else:
            last = batch
    sending.join(30)
    publisher.disconnect()
    publisher.loop_stop()
    assert taken == 2000 and last
    time.sleep(0.5)  # the acknowledgements sent reach the broker before the connection closes
    first.close()
    second = connect()
    again = drain(second, 3.0)
    second.close()
    assert sorted(m.mid for m in again) == sorted(m.mid for m in last)
