"""The subscriber's queue is bounded: a writer that falls behind stops paho's network thread, so TCP holds
the broker back, and memory stays bounded whatever the broker sends."""

from __future__ import annotations

import threading
from types import SimpleNamespace

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
