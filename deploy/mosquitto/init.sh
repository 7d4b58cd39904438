#!/bin/sh
# Write Mosquitto's password file from the environment, once, into the secrets volume.
# Runs as the mqtt-init one-shot service before the broker starts.
set -eu
file=${PASSWD_FILE:-/mosquitto/secrets/passwd}
umask 077
: > "$file.new"
for role in simulator meters ingest healthcheck; do
    var=$(echo "MQTT_${role}_PASSWORD" | tr '[:lower:]' '[:upper:]')
    eval "password=\${$var:-}"
    if [ -z "$password" ]; then
        echo "mqtt-init: $var is not set (put it in .env); refusing to create a user without a password" >&2
        exit 1
    fi
    mosquitto_passwd -b "$file.new" "$role" "$password"
done
chown 1883:1883 "$file.new" 2>/dev/null || true
mv "$file.new" "$file"
echo "mqtt-init: wrote users simulator, meters, ingest, healthcheck"
