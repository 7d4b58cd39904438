"""Check the broker and the store this configuration points at, and say what is there.

Connects to the MQTT broker (with the configured credentials and TLS) and to
the store, and prints one line per finding: server versions, the database,
how many devices and when the newest reading arrived. Each failure gets a
line saying what is wrong in plain words; the exit code is 1 if anything
failed, so a deployment script can run it before starting the services.
"""

from __future__ import annotations

import argparse
import threading
import time

from expo import config as settings
from expo.errors import UserError

NAME = "check"
HELP = "connect to the broker and the store and print what was found (versions, devices, newest reading)"
_FLAGS = ("broker", *settings.MQTT_CREDENTIALS, "store", *settings.STORE_CREDENTIALS, "site", "meters")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_flags(parser, _FLAGS)
    parser.add_argument("--no-broker", action="store_true", help="check the store only")
    parser.add_argument("--no-store", action="store_true", help="check the broker only")


def say(ok: bool, what: str, detail: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}", flush=True)
    return ok


def check_broker(cfg, timeout_s: float = 5.0) -> bool:
    import paho.mqtt.client as mqtt

    from expo.mqtt import diagnose, make_client

    broker = settings.broker_address(cfg)
    reason = diagnose(broker, cfg.mqtt_ca_file, timeout_s)
    if reason != "reachable":
        return say(False, f"broker {broker}", reason)
    connected, answered = threading.Event(), {}
    version, metas = [], set()
    client = make_client(broker, ca_file=cfg.mqtt_ca_file)

    def on_connect(c, userdata, flags, reason_code, properties):
        answered["code"] = reason_code
        connected.set()
        if not reason_code.is_failure:
            c.subscribe([("$SYS/broker/version", 0), ("expo/+/+/meta", 0)])

    def on_message(c, userdata, message: mqtt.MQTTMessage):
        if message.topic == "$SYS/broker/version":
            version.append(message.payload.decode("utf-8", "replace"))
        elif message.retain:
            metas.add(message.topic)

    client.on_connect, client.on_message = on_connect, on_message
    try:
        client.connect(broker.host, broker.port, keepalive=10)
    except OSError as exc:
        return say(False, f"broker {broker}", exc.strerror or str(exc))
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            return say(False, f"broker {broker}", f"no MQTT answer within {timeout_s:g} s (is it an MQTT port?)")
        code = answered["code"]
        if code.is_failure:
            hint = "; check the user name and password" if "authori" in str(code).lower() or "password" in \
                str(code).lower() else ""
            return say(False, f"broker {broker}", f"refused the connection: {code}{hint}")
        time.sleep(1.5)  # retained device metadata and $SYS arrive right after subscribing
    finally:
        client.disconnect()
        client.loop_stop()
    name = version[0] if version else "version not published ($SYS off, or not Mosquitto)"
    return say(True, f"broker {broker}", f"{name}; {len(metas)} devices have announced themselves (retained meta)")


def check_store(cfg) -> bool:
    from expo.store import StoreError, open_store
    from expo.reading import format_ts
    from expo.timeutil import format_age

    try:  # create=False: a check looks, it never creates; the store says when there is nothing there yet
        store = open_store(cfg.store, create=False, **settings.store_options(cfg))
        try:
            about = store.describe()
            devices = store.devices()
            latest = store.latest()
            ingest_health = getattr(store, "ingest_health", None)  # a backend of one's own may keep none
            processes = ingest_health() if ingest_health is not None else []
        finally:
            store.close()
    except (StoreError, UserError) as exc:
        return say(False, f"store {cfg.store}", str(exc))
    say(True, f"store {cfg.store}", "; ".join(f"{k} {v}" for k, v in about.items()))
    ok = check_ingest(processes, time.time())
    newest = max((r.ts_s for r in latest), default=None)
    if newest is None:
        return say(True, "data", f"{len(devices)} devices known, no readings yet") and ok
    return say(True, "data", f"{len(devices)} devices known, {len(latest)} with readings; newest reading "
               f"{format_ts(newest)} ({format_age(time.time() - newest)})") and ok


def check_registry(cfg) -> bool:
    """The meter registry ingest would read: how many meters it describes, or the one line that is wrong in it."""
    from ingest.meter_registry import RegistryFile, path_of

    try:
        meters = RegistryFile(path_of(cfg.meters, cfg.origins.get("meters", ""), cfg.file), cfg.site).load()
    except UserError as exc:
        return say(False, "meter registry", str(exc))
    sites = sorted({site for site, _ in meters.metas})
    count = f"{len(meters)} meter{'s' if len(meters) != 1 else ''}"
    return say(True, f"meter registry {cfg.meters}", f"{count} ({', '.join(sites) or 'no site'}), "
               f"{len(meters.routes)} with a route of their own")


def check_ingest(processes, now_s: float) -> bool:
    """A line per ingest process that wrote counters into the store: writing, or silent since when (a failure:
    its meters' readings are not being stored, or wait in its spool)."""
    from expo.store import INGEST_SILENT_S
    from expo.timeutil import format_age

    ok = True
    for p in processes:
        age_s = now_s - p.written_s
        figures = f"received {p.figures.get('received', 0):,.0f}, written {p.figures.get('readings_written', 0):,.0f}"
        if age_s > INGEST_SILENT_S:
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.written_s))
            ok &= say(False, f"ingest {p.process}", f"ingest silent since {since} ({format_age(age_s)}); {figures}")
        else:
            ok &= say(True, f"ingest {p.process}", f"writing, its counters {format_age(age_s)}; {figures}")
    return ok


def run(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("expo.store").setLevel(logging.ERROR)  # its "will keep trying" is for ingest, not a check
    cfg = settings.from_args(args)
    ok = True
    if cfg.meters:
        ok &= check_registry(cfg)
    if not args.no_broker:
        ok &= check_broker(cfg)
    if not args.no_store:
        ok &= check_store(cfg)
    return 0 if ok else 1
