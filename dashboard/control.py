"""The dashboard on the broker: a visitor's what-if to the simulator of the town on screen, and the alarms.

Everything else the dashboard shows it reads from the store; a what-if is the
exception because it is a request, not data, and the alarms
(``dashboard.model.alarms``) go out retained for other systems to pick up. Its effect comes back the long
way, as readings (simulator -> MQTT -> ingest -> store -> screen), and the
screen says "what-if" only once the simulator's span has come back too.

One client, connected at the first press and kept (paho reconnects by
itself). QoS 1, never retained: a command that cannot reach the broker now
is not a command a visitor will still want in an hour.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from expo import topics
from expo.addresses import BrokerAddress
from expo.mqtt import make_client
from expo.reading import format_ts
from expo.topics import MessageType
from expo.whatif import ACTIONS, STOP

log = logging.getLogger("expo.dashboard")

FIRST_CONNECT_WAIT_S = 3.0


class Commander:
    def __init__(self, broker: BrokerAddress | None, client_id: str = "", ca_file: str | None = None,
                 duration_s: float | None = None, offer_whatifs: bool = True):
        self.broker = broker
        self.offer_whatifs = offer_whatifs
        self.client_id = client_id
        self.ca_file = ca_file
        self.duration_s = duration_s  # how long a what-if lasts (the whatif_s setting); None: the simulator's default
        self.sent = 0
        self._alarm_sites: set[str] = set()  # sites whose retained alarms are not empty
        self._client = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether what-ifs can be offered: a broker, and the ``whatif`` setting."""
        return self.broker is not None and self.offer_whatifs

    def send(self, site: str, action: str, duration_s: float | None = None) -> bool:
        """Publish the command; False when there is no broker to send it to (nothing is offered then)."""
        if not self.available or (action not in ACTIONS and action != STOP):
            return False
        body = {"v": 1, "action": action}
        duration_s = self.duration_s if duration_s is None else duration_s
        if duration_s is not None and action != STOP:
            body["duration_s"] = duration_s
        client = self._connected()
        info = client.publish(topics.site_topic(site, MessageType.CONTROL), json.dumps(body), qos=1)
        self.sent += 1
        log.info("what-if %s sent to %s (mid %s)", action, site, info.mid)
        return True

    def publish_alarms(self, alarms, home_site: str | None = None) -> list:
        """Every site's alarms as one retained message on ``expo/<site>/alarms`` (the exhibit's own, the store and
        ingest, under the home site; ``expo/exhibit/alarms`` before there is one): a monitoring system that subscribes learns the present at once. A site whose
        alarms all cleared gets an empty list, so a retained alarm never outlives its cause."""
        if self.broker is None:
            return []
        now = time.time()
        by_site: dict[str, list] = {site: [] for site in self._alarm_sites}
        for a in alarms:
            by_site.setdefault(a.site or home_site or "exhibit", []).append(
                {"kind": a.kind, "subject": a.subject, "since": format_ts(a.since_s), "detail": a.detail})
        client = self._connected()
        sent = []
        for site, listed in by_site.items():
            body = {"v": 1, "ts": format_ts(now), "alarms": listed}
            sent.append(client.publish(f"expo/{site}/alarms", json.dumps(body, ensure_ascii=False), qos=1,
                                       retain=True))
        self._alarm_sites = {site for site, listed in by_site.items() if listed}
        return sent  # paho's MessageInfo of each: a caller may wait for them

    def _connected(self):
        with self._lock:
            if self._client is None:
                client = make_client(self.broker, self.client_id or None, self.ca_file)
                client.reconnect_delay_set(min_delay=1, max_delay=30)
                up = threading.Event()
                client.on_connect = lambda c, u, flags, rc, p: up.set() if not rc.is_failure else None
                client.connect_async(self.broker.host, self.broker.port, keepalive=30)
                client.loop_start()
                # the first message waits for the session a moment (paho queues it either way, but reports a
                # message published before the connection as failed)
                up.wait(FIRST_CONNECT_WAIT_S)
                self._client = client
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None
