"""The survey: which topics on the broker no route takes, with message counts, for the engineer view.

An engineer plugging in a meter of a family nobody configured sees nothing
in the store; the first question is "what does it publish?". Ingest's own
session subscribes only to its routes, so every so often a second, clean,
QoS 0 session subscribes to ``#`` for a window (``SURVEY_FOR_S``) and counts
each topic that no route takes, with the start of its newest payload.

Bounded by design: the window ends early after ``SURVEY_MAX_MESSAGES``
messages (at a city's tens of thousands a second, a survey is a second's
sample, not a minute of a second consumer), at most ``SURVEY_MAX_TOPICS``
topics are listed (the rest counted together as ``SURVEY_OTHERS``), and the
subscription is dropped between windows. A broker whose ACL denies ``#``
is said once in the log; ingest itself is not affected.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from expo.addresses import BrokerAddress
from expo.mqtt import make_client
from expo.store import TopicSeen

log = logging.getLogger("expo.ingest")

SURVEY_FIRST_AFTER_S = 10.0  # after start: ingest's own session first (a restarted ingest has a backlog to take)
SURVEY_FOR_S = 60.0
SURVEY_MAX_MESSAGES = 20_000
SURVEY_MAX_TOPICS = 200
SAMPLE_BYTES = 200
SURVEY_OTHERS = "(other topics)"  # the topics beyond the first SURVEY_MAX_TOPICS, counted together


class Tally:
    """One window's counts; fed from paho's thread, read once the window is over. Pure: testable alone."""

    def __init__(self, takes: Callable[[str], bool], started_s: float):
        self.takes = takes
        self.started_s = started_s
        self.messages = 0  # every message seen, taken by a route or not
        self.counts: dict[str, int] = {}
        self.samples: dict[str, bytes] = {}
        self._judged: dict[str, bool] = {}

    def add(self, topic: str, payload: bytes) -> None:
        self.messages += 1
        taken = self._judged.get(topic)
        if taken is None:
            taken = self._judged[topic] = self.takes(topic)
        if taken:
            return
        if topic not in self.counts and len(self.counts) >= SURVEY_MAX_TOPICS:
            topic, payload = SURVEY_OTHERS, b""
        self.counts[topic] = self.counts.get(topic, 0) + 1
        self.samples[topic] = bytes(payload[:SAMPLE_BYTES])

    def full(self) -> bool:
        return self.messages >= SURVEY_MAX_MESSAGES

    def result(self, ended_s: float) -> list[TopicSeen]:
        window_s = max(ended_s - self.started_s, 0.0)
        return [TopicSeen(topic, n, window_s, ended_s, self.samples.get(topic, b""))
                for topic, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]


class TopicSurvey:
    """A window every ``every_s`` (the first ``SURVEY_FIRST_AFTER_S`` after start) in a thread of its own; ``take()`` hands over a finished
    survey once (the collector puts it into a batch). ``every_s`` 0: no survey."""

    def __init__(self, broker: BrokerAddress, client_id: str, takes: Callable[[str], bool], every_s: float,
                 protocol: str = "5", ca_file: str | None = None, clock: Callable[[], float] = time.time):
        self.broker = broker
        self.client_id = f"{client_id}-survey"[:64]
        self.takes = takes
        self.every_s = every_s
        self.protocol = protocol
        self.ca_file = ca_file
        self.surveys = 0
        self._clock = clock
        self._done: list[TopicSeen] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-survey", daemon=True)
        self._denied_said = False

    def start(self) -> None:
        if self.every_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def take(self) -> list[TopicSeen] | None:
        with self._lock:
            done, self._done = self._done, None
        return done

    def _run(self) -> None:
        self._stop.wait(min(SURVEY_FIRST_AFTER_S, self.every_s))
        while not self._stop.is_set():
            try:
                result = self._window()
            except Exception:  # a survey must never cost ingest anything: say it, try at the next window
                log.exception("topic survey failed")
                result = None
            if result is not None:
                with self._lock:
                    self._done = result
                self.surveys += 1
            self._stop.wait(self.every_s)

    def _window(self) -> list[TopicSeen] | None:
        """One window: subscribe to ``#``, count until the window is over or full, disconnect."""
        tally = Tally(self.takes, self._clock())
        over = threading.Event()
        granted = threading.Event()
        client = make_client(self.broker, self.client_id, self.ca_file, clean_session=True, protocol=self.protocol)

        def on_connect(c, userdata, flags, reason_code, properties):
            if not reason_code.is_failure:
                c.subscribe("#", qos=0)

        def on_subscribe(c, userdata, mid, reason_codes, properties):
            if all(getattr(rc, "is_failure", False) for rc in reason_codes):
                if not self._denied_said:
                    log.warning("the broker does not let ingest subscribe to # (its ACL): no survey of the topics "
                                "no route takes; grant 'topic read #' to ingest's user, or set survey_every_s = 0")
                    self._denied_said = True
                over.set()
            else:
                granted.set()

        def on_message(c, userdata, message):
            if not over.is_set():
                tally.add(message.topic, message.payload)
                if tally.full():
                    over.set()

        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        try:
            client.connect(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError):
            return None  # the broker is away: ingest's own session says so; the next window tries again
        client.loop_start()
        try:
            deadline = time.monotonic() + SURVEY_FOR_S
            while not over.is_set() and not self._stop.wait(0.2) and time.monotonic() < deadline:
                pass
            over.set()
            return tally.result(self._clock()) if granted.is_set() and not self._stop.is_set() else None
        finally:
            client.disconnect()
            client.loop_stop()
