#!/usr/bin/env bash
# Set up everything energy-expo needs on a fresh Debian/Ubuntu machine: system packages, then a
# virtual environment in .venv with the project and its development tools. Safe to run again:
# it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium and chromium-driver are for the browser tests of the dashboard (headless); iproute2 (ip netns)
# makes the test hosts of tests/faults/test_across_hosts.py.
SYSTEM_PACKAGES=(mosquitto mosquitto-clients influxdb openssl chromium chromium-driver iproute2)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing system packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian may start system-wide services on the default ports; the demo and tests run their own
    # private servers on free loopback ports, so those are left alone.
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: energy-expo needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating virtual environment .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -e "$stamp" ]; then
    echo "setup: installing energy-expo and its dependencies into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi
