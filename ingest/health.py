"""Ingest's figures, and a small HTTP endpoint that serves them as JSON, for monitoring and the engineer view.

``figures`` gathers the counters of every part (subscriber, processor,
counters, writer, spool) in one flat table; the same table goes into the
store with each batch. ``GET /health`` answers 200 with it while ingest is
connected and the store is up, 503 with the same body otherwise, so a
container healthcheck or a load balancer can read the status code alone.
``GET /metrics`` serves the same figures in the Prometheus text format
(``ingest.prometheus``).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from expo.errors import UserError
from ingest import prometheus

log = logging.getLogger("expo.ingest.health")


def figures(subscriber, processor, writer, spool, now_s: float) -> dict[str, float]:
    """Every counter by name; ``rejected_<reason>`` for each reason seen."""
    w = writer.stats
    oldest = spool.oldest_reading_s()
    table = {
        "received": subscriber.received,
        "readings_accepted": processor.readings,
        "readings_written": w.readings_written,
        "totals_written": w.totals_written,  # site totals (ingest.site_totals): not readings taken in
        "readings_spooled": w.readings_spooled,
        "spool_batches": spool.batches,
        "spool_readings": spool.readings,
        "spool_bytes": spool.size_bytes,
        "spool_oldest_reading_age_s": (now_s - oldest) if oldest else 0.0,
        "batches_written": w.batches_written,
        "batches_spooled": w.batches_spooled,
        "batches_replayed": w.batches_replayed,
        "store_failures": w.store_failures,
        "store_busy": w.store_busy,
        "store_down": float(writer.store_down),
        "spool_full_waits": w.spool_full_waits,
        "store_refused": w.store_refused,
        "batch_ms_last": round(w.last_batch_ms, 2),
        "batch_ms_max": round(w.max_batch_ms, 2),
        "queue_length": subscriber.queue.qsize(),
        "queue_full_waits": subscriber.queue_full_waits,
        "counter_resets": processor.counters.resets,
        "counter_replacements": processor.counters.replacements,
        "connected": float(subscriber.connected.is_set()),
        "rejected": sum(processor.rejected_by_reason.values()) + w.store_refused,
        "decoded_nothing": processor.decoded_nothing,  # valid messages with nothing to store (a thermometer's)
    }
    table.update({f"rejected_{reason}": n for reason, n in processor.rejected_by_reason.items()})
    table["rejected_store_refused"] = w.store_refused  # refused for good by the store, kept in its quarantine
    return table


class HealthServer:
    def __init__(self, address: str, figures: Callable[[], dict], process: str = "ingest"):
        host, _, port = address.rpartition(":")
        try:
            self.address = (host or "127.0.0.1", int(port))
        except ValueError:
            raise UserError(f"health address {address!r} must be host:port, e.g. 127.0.0.1:9108") from None
        self.figures = figures
        self.process = process  # the label that tells replicas apart in /metrics (the MQTT client id)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        figures, process = self.figures, self.process

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                path = self.path.split("?")[0]
                if path == "/metrics":  # the same figures for a Prometheus scrape
                    data = prometheus.text(figures(), process).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", prometheus.CONTENT_TYPE)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if path not in ("/health", "/"):
                    self.send_error(404)
                    return
                body = figures()
                healthy = body.get("connected") == 1.0 and body.get("store_down") == 0.0
                data = json.dumps(body, sort_keys=True).encode()
                self.send_response(200 if healthy else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        try:
            self._server = ThreadingHTTPServer(self.address, Handler)
        except OSError as exc:
            raise UserError(f"cannot serve health on {self.address[0]}:{self.address[1]}: {exc.strerror}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="ingest-health", daemon=True)
        self._thread.start()
        log.info("health on http://%s:%d/health", *self._server.server_address)

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def read_health(address: str, timeout_s: float = 1.0) -> dict | None:
    """What a running ingest's endpoint at ``host:port`` says (healthy or not), or None when nothing answers.

    ``energy-expo up`` and the tests both wait on it to learn when ingest is connected and has caught up.
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{address}/health", timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503: the same figures, with the store down or the broker away
        return json.loads(exc.read())
    except (OSError, ValueError):
        return None
