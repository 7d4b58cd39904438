#!/usr/bin/env bash
# Set up (system packages, .venv) and run the live demo: a private Mosquitto broker on a free
# local port, ingest storing everything into ./energy-expo-data/expo.db (SQLite), the kiosk
# dashboard on http://127.0.0.1:8050/ (EXPO_DASHBOARD_PORT to change), and the Tianjin demo town
# publishing 60x faster than real time, with a one-line summary of the town every few seconds.
# Ctrl-C stops all four; the history stays in ./energy-expo-data for the next run.
# Extra arguments go to `energy-expo simulate`, e.g. ./scripts/demo.sh --scenario large
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
health_port=$(free_port)
workdir=$(mktemp -d)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\n' "$port" \
    > "$workdir/mosquitto.conf"
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto_bin" -c "$workdir/mosquitto.conf" 2>"$workdir/mosquitto.log" &
broker_pid=$!
.venv/bin/energy-expo --log-level warning ingest --broker "mqtt://127.0.0.1:$port" \
    --store sqlite:///energy-expo-data/expo.db --state-dir energy-expo-data/ingest \
    --health "127.0.0.1:$health_port" &
ingest_pid=$!
dashboard_port=${EXPO_DASHBOARD_PORT:-8050}
.venv/bin/energy-expo --log-level warning dashboard --store sqlite:///energy-expo-data/expo.db \
    --port "$dashboard_port" --kiosk &
dashboard_pid=$!
cleanup() {
    kill -TERM "$dashboard_pid" 2>/dev/null && wait "$dashboard_pid" 2>/dev/null
    kill -TERM "$ingest_pid" 2>/dev/null && wait "$ingest_pid" 2>/dev/null
    kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

cat <<MSG
energy-expo demo
  broker  mqtt://127.0.0.1:$port (private, stops with the demo)
  store   energy-expo-data/expo.db (kept between runs)
  kiosk   http://127.0.0.1:$dashboard_port/   (engineer view: http://127.0.0.1:$dashboard_port/status)
  ingest  curl -s http://127.0.0.1:$health_port/health
  raw     mosquitto_sub -h 127.0.0.1 -p $port -v -t 'expo/+/+/reading'
MSG
.venv/bin/energy-expo simulate --broker "mqtt://127.0.0.1:$port" --speed 60 --report-every 5s "$@"
