#!/usr/bin/env bash
# Set up (system packages, .venv) and run the whole exhibit with `energy-expo up`: a private MQTT
# broker on a free local port, the Tianjin demo town simulated 60x faster than real time, ingest
# into ./energy-expo-data/expo.db (SQLite), and the kiosk dashboard on http://127.0.0.1:8050/
# (EXPO_DASHBOARD_PORT to change). Ctrl-C stops everything in order, losing nothing; run it again
# and the town carries on where it stopped. Extra arguments go to `energy-expo up`, e.g.
# ./scripts/demo.sh --scenario large --demo-speed 1
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/energy-expo up "$@"
