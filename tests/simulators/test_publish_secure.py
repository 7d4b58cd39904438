"""The simulator against a broker that demands a password, and one that speaks only TLS."""

from __future__ import annotations

import subprocess

from testkit.ports import free_port, wait_for_port
from testkit.servers import Mosquitto
from testkit.tls import make_tls_files
from tests.cli import energy_expo
from tests.mqtt_client import Recorder

RUN = ["--start", "2026-07-01T12:00", "--duration", "30s", "--step", "10s", "--speed", "3000"]
READINGS = 320 * 3


def test_username_and_password_are_used_and_a_wrong_password_is_reported(tmp_path):
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "sim", "s3cret"], check=True)
    secured_port = free_port()
    broker = Mosquitto(
        tmp_path,
        extra=f"listener {secured_port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n",
    ).start()
    wait_for_port(secured_port)
    try:
        recorder = Recorder(broker.port, "expo/+/+/reading").start()  # the open listener, for the test only
        ok = energy_expo("simulate", "--broker", f"mqtt://sim@127.0.0.1:{secured_port}", *RUN,
                         env={**__import__("os").environ, "EXPO_MQTT_PASSWORD": "s3cret"})
        assert ok.returncode == 0, ok.stderr
        assert recorder.wait_for(READINGS) == READINGS

        wrong = energy_expo("simulate", "--broker", f"mqtt://sim:guess@127.0.0.1:{secured_port}", "--drain", "2s", *RUN)
        assert wrong.returncode == 1
        assert "refused the connection: Not authorized" in wrong.stderr
        assert "were not delivered" in wrong.stderr and "Traceback" not in wrong.stderr
        assert "guess" not in wrong.stderr  # the password never reaches a log
        recorder.stop()
    finally:
        broker.stop()


def test_tls_with_a_ca_file(tmp_path):
    tls = make_tls_files(tmp_path)
    tls_port = free_port()
    broker = Mosquitto(
        tmp_path,
        extra=(f"listener {tls_port} 127.0.0.1\nallow_anonymous true\n"
               f"cafile {tls['ca']}\ncertfile {tls['server']}\nkeyfile {tls['server-key']}\n"),
    ).start()
    wait_for_port(tls_port)
    try:
        recorder = Recorder(broker.port, "expo/+/+/reading").start()
        result = energy_expo("simulate", "--broker", f"mqtts://127.0.0.1:{tls_port}", "--mqtt-ca-file",
                             str(tls["ca"]), *RUN)
        assert result.returncode == 0, result.stderr
        assert recorder.wait_for(READINGS) == READINGS
        recorder.stop()

        # Without our CA the certificate cannot be trusted: nothing is sent, and the run says so.
        untrusted = energy_expo("simulate", "--broker", f"mqtts://127.0.0.1:{tls_port}", "--drain", "2s", *RUN)
        assert untrusted.returncode == 1
        assert "TLS certificate not trusted" in untrusted.stderr and "Traceback" not in untrusted.stderr
    finally:
        broker.stop()


def test_a_missing_ca_file_is_a_clear_error(tmp_path):
    result = energy_expo("simulate", "--broker", "mqtts://127.0.0.1:1", "--mqtt-ca-file", str(tmp_path / "nope.pem"),
                         *RUN)
    assert result.returncode == 2
    assert "cannot use CA file" in result.stderr and "Traceback" not in result.stderr
