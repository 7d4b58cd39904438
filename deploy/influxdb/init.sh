#!/bin/bash
# One-shot setup of InfluxDB 2.x for energy-expo, run by the influx-init service once the server
# (initialised by its image from DOCKER_INFLUXDB_INIT_*: org, bucket, retention, admin) is healthy:
#  - a DBRP mapping, so the bucket answers InfluxQL on the v1 API under the database name (what
#    energy-expo queries on every InfluxDB generation);
#  - a token for ingest that can read and write this one bucket (it writes readings and recomputes
#    rollups from them, which needs read), and a read-only token for the dashboard,
#    written to the secrets volume, which only the services that use them mount.
# Safe to run again: it does nothing that is already done. No token is ever in the repository.
set -euo pipefail
: "${INFLUX_HOST:?}" "${INFLUX_TOKEN:?}" "${INFLUX_ORG:?}" "${INFLUX_BUCKET:?}"
export INFLUX_HOST INFLUX_TOKEN INFLUX_ORG
bucket_id=$(influx bucket list --name "$INFLUX_BUCKET" --hide-headers | cut -f1)
if [ -z "$bucket_id" ]; then
    echo "influx-init: bucket $INFLUX_BUCKET not found in org $INFLUX_ORG" >&2
    exit 1
fi
if ! influx v1 dbrp list --bucket-id "$bucket_id" --hide-headers | grep -q .; then
    influx v1 dbrp create --db "$INFLUX_BUCKET" --rp autogen --bucket-id "$bucket_id" --default
fi
umask 077
if [ ! -s /secrets/ingest.token ]; then
    influx auth create --description "energy-expo ingest" --read-bucket "$bucket_id" --write-bucket "$bucket_id" \
        --hide-headers | cut -f3 > /secrets/ingest.token
fi
if [ ! -s /secrets/dashboard.token ]; then
    influx auth create --description "energy-expo dashboard" --read-bucket "$bucket_id" --hide-headers \
        | cut -f3 > /secrets/dashboard.token
fi
chmod 0444 /secrets/ingest.token /secrets/dashboard.token
echo "influx-init: DBRP mapping, ingest token (read/write bucket $INFLUX_BUCKET), dashboard token (read) ready"
