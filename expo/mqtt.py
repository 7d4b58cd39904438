"""MQTT client set-up shared by everything that talks to the broker: auth, TLS and a plain-words diagnosis.

paho retries a failed connection in its network thread and swallows the
reason. ``diagnose`` repeats the TCP and TLS handshake itself, once, so the
user reads "certificate verify failed" or "connection refused" rather than
nothing.
"""

from __future__ import annotations

import logging
import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from expo.addresses import BrokerAddress
from expo.errors import UserError
from expo.logthrottle import LogThrottle


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"cannot use CA file {ca_file!r}: {getattr(exc, 'strerror', None) or exc}") from None


PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


def make_client(
    broker: BrokerAddress,
    client_id: str | None = None,
    ca_file: str | None = None,
    clean_session: bool = True,
    protocol: str = "3.1.1",
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    if protocol not in PROTOCOLS:
        raise UserError(f"MQTT protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    client = client_class(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or "",
        protocol=PROTOCOLS[protocol],
        clean_session=clean_session if protocol != "5" else None,  # MQTT 5 sets clean start at connect
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set_context(tls_context(ca_file))
    return client


def diagnose(broker: BrokerAddress, ca_file: str | None = None, timeout_s: float = 3.0) -> str:
    """Why the broker cannot be reached, in one phrase; "reachable" if TCP and TLS both succeed."""
    try:
        with socket.create_connection((broker.host, broker.port), timeout=timeout_s) as sock:
            if broker.tls:
                with tls_context(ca_file).wrap_socket(sock, server_hostname=broker.host):
                    pass
    except ssl.SSLCertVerificationError as exc:
        return f"TLS certificate not trusted ({exc.verify_message}); give the broker's CA with --mqtt-ca-file"
    except ssl.SSLError as exc:
        return f"TLS handshake failed ({exc.reason or exc})"
    except socket.gaierror:
        return f"unknown host {broker.host!r}"
    except ConnectionRefusedError:
        return "connection refused: nothing listens on that port"
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)
    return "reachable"


_CONNECT_FAILURES = LogThrottle(marks=(1, 3, 10), every=30)  # the rule only: the caller keeps the count


def report_connect_failure(log: logging.Logger, broker: BrokerAddress, attempt: int, ca_file: str | None,
                           consequence: str) -> None:
    """Warn on the 1st, 3rd, 10th and every 30th failed attempt, with the reason in plain words."""
    if _CONNECT_FAILURES.due(attempt):
        log.warning("cannot reach broker %s (attempt %d): %s; retrying with backoff up to 60 s%s",
                    broker, attempt, diagnose(broker, ca_file), consequence)
