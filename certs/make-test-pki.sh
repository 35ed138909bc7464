#!/usr/bin/env bash
# make-test-pki.sh OUTDIR NAME...
#
# Makes a throw-away PKI for tests: a CA (ca.crt, ca.key) and one server certificate
# (server.crt, server.key) for the given DNS names plus localhost, 127.0.0.1 and ::1.
# EC P-256 keys, short validity, openssl only. Idempotent: files that already exist and still
# cover the requested names are kept, so parallel test files can share one directory.
# Never use this CA outside tests: its key sits unencrypted next to the certificate.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTDIR [NAME...]" >&2
  exit 2
fi
out=$1
shift
days=${FQDNGATE_TEST_PKI_DAYS:-7}

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"

# Serialise concurrent runs on the same directory (ctest -j runs test files in parallel).
exec 9>"$out/.lock"
flock -w 60 9

san="DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"
for name in "$@"; do
  san="$san,DNS:$name"
done

# A certificate is reusable when it verifies against our CA, is valid for at least another
# hour, and names every requested host.
server_is_current() {
  [[ -s server.crt && -s server.key ]] || return 1
  openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1 || return 1
  openssl x509 -in server.crt -noout -checkend 3600 >/dev/null 2>&1 || return 1
  local have
  have=$(openssl x509 -in server.crt -noout -ext subjectAltName 2>/dev/null | tr ', ' '\n\n')
  local name
  for name in "$@"; do
    grep -qFx "DNS:$name" <<<"$have" || return 1
  done
}

if [[ ! -s ca.crt || ! -s ca.key ]] ||
  ! openssl x509 -in ca.crt -noout -checkend 3600 >/dev/null 2>&1; then
  rm -f server.crt server.key
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout ca.key.tmp -out ca.crt.tmp -days "$days" -subj "/CN=fqdngate test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  mv ca.key.tmp ca.key
  mv ca.crt.tmp ca.crt
fi

if ! server_is_current "$@"; then
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout server.key.tmp -out server.csr.tmp -subj "/CN=fqdngate test server" 2>/dev/null
  cat >server.ext.tmp <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
  openssl x509 -req -in server.csr.tmp -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt.tmp -days "$days" -extfile server.ext.tmp 2>/dev/null
  mv server.key.tmp server.key
  mv server.crt.tmp server.crt
  rm -f server.csr.tmp server.ext.tmp
fi

chmod 600 ca.key server.key
