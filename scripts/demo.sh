#!/usr/bin/env bash
# Set up (system packages, .venv) and run the live demo: a private Mosquitto broker on a free
# local port and the Tianjin demo town publishing to it, 60x faster than real time, with a
# one-line summary of the town every few seconds. Ctrl-C stops both.
# Extra arguments go to `energy-expo simulate`, e.g. ./scripts/demo.sh --scenario large
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
workdir=$(mktemp -d)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$workdir/mosquitto.conf"
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto_bin" -c "$workdir/mosquitto.conf" 2>"$workdir/mosquitto.log" &
broker_pid=$!
trap 'kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; rm -rf "$workdir"' EXIT

cat <<MSG
energy-expo demo: broker mqtt://127.0.0.1:$port (private, stops with the demo)
Watch the raw readings in another terminal:
  mosquitto_sub -h 127.0.0.1 -p $port -v -t 'expo/+/+/reading'
MSG
.venv/bin/energy-expo simulate --broker "mqtt://127.0.0.1:$port" --speed 60 --report-every 5s "$@"
