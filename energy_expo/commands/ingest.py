"""Ingest readings from MQTT into the store.

Subscribes (QoS 1, persistent session) to the native topics and to each meter
family's usual topics, decodes and checks every message, writes readings in
batches, and acknowledges a message to the broker only once it is stored or
spooled on disk. Bad messages are counted and kept in a quarantine, never
dropped silently and never allowed to stop the stream.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from expo import config as settings

NAME = "ingest"
HELP = "take readings from MQTT into the store (SQLite or InfluxDB), losing nothing"
log = logging.getLogger("expo.ingest")

_FLAGS = (
    "broker", *settings.MQTT_CREDENTIALS, "mqtt_client_id", "mqtt_protocol", "store", *settings.STORE_CREDENTIALS,
    "site", "sites", "meters", "survey_every_s",
    "state_dir", "spool_max_mb", "store_retry_max_s", "shared_group", "session_expiry_s", "max_payload_bytes", "max_future_s",
    "max_new_devices_per_minute", "batch_size", "flush_interval_ms", "health",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_flags(parser, _FLAGS)
    parser.add_argument("--duration", help="stop after this long, e.g. 10m (default: run until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    from expo.timeutil import parse_duration_s
    from ingest.service import IngestService

    cfg = settings.from_args(args)
    duration_s = parse_duration_s(args.duration, "--duration") if args.duration else None
    service = IngestService(cfg)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        stop.wait(duration_s)
    finally:
        h = service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped: received=%d written=%d spooled=%d (left in spool %d) rejected=%d",
             h["received"], h["readings_written"], h["readings_spooled"], h["spool_readings"], h["rejected"])
    return 0
