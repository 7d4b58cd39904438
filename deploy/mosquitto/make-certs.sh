#!/bin/sh
# Make the compose broker's TLS certificate: a certificate authority of the exhibit's own (kept, and reused
# on the next run, so meters that trust it go on trusting a renewed server certificate) and a server
# certificate for the names and addresses meters use to reach the broker.
#
#   ./deploy/mosquitto/make-certs.sh 192.168.10.2 expo-broker.local
#   docker compose up -d --force-recreate mqtt-init mosquitto     # the broker now also listens on 8883 (TLS)
#
# Give ca.crt to every meter that verifies the broker (Shelly Gen2+: "user CA"; energy-expo: --mqtt-ca-file).
# ca.key never leaves this machine. Output: $TLS_DIR (default: deploy/mosquitto/tls beside this script).
set -eu
if [ "$#" -eq 0 ]; then
    echo "usage: $0 NAME_OR_ADDRESS... (what meters type as the broker's host, e.g. 192.168.10.2)" >&2
    exit 2
fi
command -v openssl >/dev/null || { echo "make-certs: openssl is needed (apt-get install openssl)" >&2; exit 1; }
dir=${TLS_DIR:-$(dirname "$0")/tls}
days=${TLS_DAYS:-825}
mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.crt" ]; then
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=energy-expo broker CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    echo "make-certs: new certificate authority $dir/ca.crt"
else
    echo "make-certs: reusing the certificate authority $dir/ca.crt"
fi
san=""
for name in "$@"; do
    case "$name" in
        *[!0-9.]*) entry="DNS:$name" ;;  # anything but digits and dots: a host name
        *) entry="IP:$name" ;;
    esac
    san="${san:+$san,}$entry"
done
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$dir/server.ext"
openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" \
    -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
rm -f "$dir/server.csr" "$dir/server.ext"
chmod 644 "$dir/ca.crt" "$dir/server.crt"
echo "make-certs: server certificate for $san, valid $days days: $dir/server.crt"
echo "make-certs: now run: docker compose up -d --force-recreate mqtt-init mosquitto"
