"""The dashboard's one MQTT job: sending a visitor's what-if to the simulator of the town on screen.

Everything else the dashboard shows it reads from the store; a what-if is the
exception because it is a request, not data. Its effect comes back the long
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

from expo import topics
from expo.addresses import BrokerAddress
from expo.mqtt import make_client
from expo.topics import MessageType
from expo.whatif import ACTIONS, STOP

log = logging.getLogger("expo.dashboard")


class Commander:
    def __init__(self, broker: BrokerAddress | None, client_id: str = "", ca_file: str | None = None,
                 duration_s: float | None = None):
        self.broker = broker
        self.client_id = client_id
        self.ca_file = ca_file
        self.duration_s = duration_s  # how long a what-if lasts (the whatif_s setting); None: the simulator's default
        self.sent = 0
        self._client = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.broker is not None

    def send(self, site: str, action: str, duration_s: float | None = None) -> bool:
        """Publish the command; False when there is no broker to send it to (nothing is offered then)."""
        if self.broker is None or (action not in ACTIONS and action != STOP):
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

    def _connected(self):
        with self._lock:
            if self._client is None:
                client = make_client(self.broker, self.client_id or None, self.ca_file)
                client.reconnect_delay_set(min_delay=1, max_delay=30)
                client.connect_async(self.broker.host, self.broker.port, keepalive=30)
                client.loop_start()
                self._client = client
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None
