#!/usr/bin/env bash
# Set up (system packages, .venv) and run the whole test suite. Extra arguments go to pytest,
# e.g. ./scripts/test.sh --slow for the long checks, or ./scripts/test.sh -k publish.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Three workers on two cores (EXPO_TEST_WORKERS to change; 0 runs in this process): the suite spends most of its time waiting
# on real servers and browsers, not computing. A file's tests stay on one worker, in order, so the fault and soak
# tests of one file never run against each other.
exec .venv/bin/python -m pytest -n "${EXPO_TEST_WORKERS:-3}" --dist loadfile "$@"
