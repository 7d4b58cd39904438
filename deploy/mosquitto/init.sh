#!/bin/sh
# Write Mosquitto's password file from the environment into the secrets volume, and turn the TLS listener
# on when deploy/mosquitto/tls holds a certificate (make-certs.sh), off when it does not.
# Runs as the mqtt-init one-shot service before the broker starts.
set -eu
file=${PASSWD_FILE:-/mosquitto/secrets/passwd}
umask 077
: > "$file.new"
for role in simulator meters ingest healthcheck dashboard; do
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
echo "mqtt-init: wrote users simulator, meters, ingest, healthcheck, dashboard"

# TLS: the broker reads its certificate as user mosquitto (uid 1883), after dropping root; the files are
# copied into the secrets volume with that owner, the key readable by it alone.
source=${TLS_SOURCE:-/mosquitto/tls}
target=${TLS_TARGET:-/mosquitto/secrets/tls}
conf_d=${CONF_D:-/mosquitto/secrets/conf.d}
mkdir -p "$conf_d"
if [ -s "$source/server.crt" ] && [ -s "$source/server.key" ]; then
    mkdir -p "$target"
    cp "$source/server.crt" "$source/server.key" "$target/"
    [ -s "$source/ca.crt" ] && cp "$source/ca.crt" "$target/"
    chown -R 1883:1883 "$target" 2>/dev/null || true
    chmod 600 "$target/server.key"
    chmod 644 "$target/server.crt"
    {
        echo "# written by mqtt-init: TLS beside the plain listener, same users and ACL"
        echo "listener ${MQTT_TLS_PORT:-8883}${MQTT_TLS_HOST:+ $MQTT_TLS_HOST}"
        echo "certfile $target/server.crt"
        echo "keyfile $target/server.key"
        echo "tls_version tlsv1.2"
    } > "$conf_d/tls.conf.new"
    chmod 644 "$conf_d/tls.conf.new"
    mv "$conf_d/tls.conf.new" "$conf_d/tls.conf"
    echo "mqtt-init: TLS listener on ${MQTT_TLS_PORT:-8883} with $source/server.crt"
else
    rm -f "$conf_d/tls.conf"
    echo "mqtt-init: no certificate in deploy/mosquitto/tls (make one with deploy/mosquitto/make-certs.sh): plain listener only"
fi
