#!/usr/bin/env bash
# Check the pinned runtime set (requirements.lock) against the Python Packaging Advisory Database
# with pip-audit. It needs the vulnerability service on the internet; without it, it says so and
# exits 2 rather than passing. Exit 1: a known vulnerability is listed above.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check pip-audit
set +e
out=$(.venv/bin/python -m pip_audit -r requirements.lock --no-deps --disable-pip --progress-spinner off 2>&1)
code=$?
set -e
echo "$out"
if grep -qiE "could not be audited|ConnectionError|Failed to resolve" <<<"$out"; then
    echo "audit: the vulnerability service could not be reached for every package; not a pass" >&2
    exit 2
fi
exit $code
