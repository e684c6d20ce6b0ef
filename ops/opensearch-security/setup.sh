#!/bin/sh
# One-shot (docker-compose service opensearch-security-setup, run in the OpenSearch image):
# a private CA, the node's TLS certificate, an admin certificate for securityadmin.sh, a client
# certificate for LogHarbor (CN=logharbor), and the security configuration with hashed passwords.
# Idempotent: existing certificates are kept, so restarts do not rotate them.
set -eu
OUT=${OUT:-/opensearch-security}
SRC=${SRC:-/setup}
mkdir -p "$OUT/certs"
cd "$OUT/certs"
: "${LOGHARBOR_OPENSEARCH_PASSWORD:?set LOGHARBOR_OPENSEARCH_PASSWORD (see docs/OPERATIONS.md)}"
: "${OPENSEARCH_ADMIN_PASSWORD:?set OPENSEARCH_ADMIN_PASSWORD}"
: "${OPENSEARCH_DASHBOARDS_PASSWORD:?set OPENSEARCH_DASHBOARDS_PASSWORD}"
if [ ! -f root-ca.pem ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/O=LogHarbor/CN=LogHarbor CA" \
    -keyout root-ca-key.pem -out root-ca.pem
  issue() {  # issue NAME SUBJECT [SAN]
    openssl req -newkey rsa:3072 -nodes -subj "$2" -keyout "$1-key.tmp" -out "$1.csr"
    openssl pkcs8 -topk8 -nocrypt -in "$1-key.tmp" -out "$1-key.pem" && rm "$1-key.tmp"
    if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" > "$1.ext"; else : > "$1.ext"; fi
    openssl x509 -req -in "$1.csr" -CA root-ca.pem -CAkey root-ca-key.pem -CAcreateserial -days 825 \
      -extfile "$1.ext" -out "$1.pem"
    rm -f "$1.csr" "$1.ext"
  }
  issue node "/O=LogHarbor/CN=opensearch" "DNS:opensearch,DNS:localhost,IP:127.0.0.1"
  issue admin "/O=LogHarbor/CN=admin"
  issue logharbor "/O=LogHarbor/CN=logharbor"
fi
chmod 0644 ./*.pem
chmod 0600 root-ca-key.pem ./*-key.pem
chmod 0640 node-key.pem logharbor-key.pem
HASH=${HASH:-/usr/share/opensearch/plugins/opensearch-security/tools/hash.sh}
hash() { OPENSEARCH_JAVA_HOME=/usr/share/opensearch/jdk sh "$HASH" -p "$1" | tail -n 1; }
sed -e "s|@ADMIN_HASH@|$(hash "$OPENSEARCH_ADMIN_PASSWORD")|" \
    -e "s|@LOGHARBOR_HASH@|$(hash "$LOGHARBOR_OPENSEARCH_PASSWORD")|" \
    -e "s|@DASHBOARDS_HASH@|$(hash "$OPENSEARCH_DASHBOARDS_PASSWORD")|" \
    "$SRC/internal_users.yml.template" > "$OUT/internal_users.yml"
for f in config.yml roles.yml roles_mapping.yml action_groups.yml tenants.yml nodes_dn.yml allowlist.yml; do
  cp "$SRC/$f" "$OUT/$f"
done
chown -R 1000:1000 "$OUT" 2>/dev/null || true
echo "opensearch security material ready in $OUT"
