#!/usr/bin/env bash
# Makes a throw-away PKI for the TLS tests in DIR (created if missing) with
# the `openssl` command; nothing is downloaded. Usage: make-pki.sh DIR
#
#   ca.pem                  the test CA (ca.key: its key)
#   cache.pem, cache.key    a node certificate from the CA (CN=cache-node)
#   producer.pem, .key      another one (CN=producer-node)
#   producer-enc.key        producer.key encrypted with the passphrase "secret"
#   stranger-ca.pem         a second CA nobody trusts
#   stranger.pem, .key      a certificate from the stranger CA (CN=stranger)
#
# EC P-256 keys: generating the whole set takes well under a second.
set -euo pipefail
dir=${1:?usage: make-pki.sh DIR}
mkdir -p "$dir"
cd "$dir"

ext_leaf="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"

key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" \
    2>/dev/null
}

# ca NAME CN: a self-signed CA certificate NAME.pem with key NAME.key.
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

# leaf NAME CN CA: NAME.pem with key NAME.key, signed by CA.pem.
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "$ext_leaf" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "supercache test CA"
leaf cache cache-node ca
leaf producer producer-node ca
openssl pkey -in producer.key -aes256 -passout pass:secret \
  -out producer-enc.key
ca stranger-ca "stranger CA"
leaf stranger stranger stranger-ca
openssl verify -CAfile ca.pem cache.pem producer.pem >/dev/null
