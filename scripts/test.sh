#!/usr/bin/env bash
# Set up (system packages, .venv) and run the whole test suite. Extra arguments go to pytest,
# e.g. ./scripts/test.sh --slow for the long checks, or ./scripts/test.sh -k publish.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
