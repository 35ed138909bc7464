#!/usr/bin/env bash
# make-client-cert.sh [--other-ca] OUTDIR NAME
#
# Makes a client certificate for tests: NAME.crt and NAME.key in OUTDIR, CN=NAME,
# extendedKeyUsage=clientAuth, EC P-256, signed by the test CA that make-test-pki.sh leaves in
# OUTDIR (ca.crt, ca.key). With --other-ca it is signed instead by a second, unrelated CA
# (other-ca.crt, other-ca.key in OUTDIR, made on first use), for tests where the proxy must
# refuse a certificate it does not trust.
# Idempotent like make-test-pki.sh: an existing certificate that still verifies against its CA,
# carries CN=NAME and is valid for at least another hour is kept. Runs on one OUTDIR are
# serialised with flock (the same lock file as make-test-pki.sh).
# Never use these files outside tests: the keys sit unencrypted next to the certificates.
set -euo pipefail

usage() {
  echo "usage: $0 [--other-ca] OUTDIR NAME" >&2
  exit 2
}

other=0
if [[ ${1:-} == --other-ca ]]; then
  other=1
  shift
fi
[[ $# -eq 2 ]] || usage
out=$1
name=$2
# NAME becomes a file name and the subject CN: keep it to a safe alphabet.
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || {
  echo "$0: NAME must be 1-64 characters of A-Z a-z 0-9 . _ - (not starting with . _ -)" >&2
  exit 2
}
[[ $name != ca && $name != other-ca && $name != server ]] || {
  echo "$0: NAME '$name' would overwrite the CA or server files" >&2
  exit 2
}
days=${FQDNGATE_TEST_PKI_DAYS:-7}

mkdir -p "$out"
cd "$out"

exec 9>.lock
flock -w 60 9

if ((other)); then
  ca="other-ca"
  if [[ ! -s other-ca.crt || ! -s other-ca.key ]] ||
    ! openssl x509 -in other-ca.crt -noout -checkend 3600 >/dev/null 2>&1; then
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout other-ca.key.tmp -out other-ca.crt.tmp -days "$days" \
      -subj "/CN=fqdngate unrelated test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    mv other-ca.key.tmp other-ca.key
    mv other-ca.crt.tmp other-ca.crt
    chmod 600 other-ca.key
  fi
else
  ca="ca"
  if [[ ! -s ca.crt || ! -s ca.key ]]; then
    echo "$0: $out has no ca.crt/ca.key; run make-test-pki.sh $out first" >&2
    exit 1
  fi
fi

# Reusable when it verifies against its CA, still has an hour to live and names NAME.
client_is_current() {
  [[ -s $name.crt && -s $name.key ]] || return 1
  openssl verify -CAfile "$ca.crt" -purpose sslclient "$name.crt" >/dev/null 2>&1 || return 1
  openssl x509 -in "$name.crt" -noout -checkend 3600 >/dev/null 2>&1 || return 1
  local subject
  subject=$(openssl x509 -in "$name.crt" -noout -subject -nameopt RFC2253 2>/dev/null)
  [[ $subject == "subject=CN=$name" ]]
}

if ! client_is_current; then
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$name.key.tmp" -out "$name.csr.tmp" -subj "/CN=$name" 2>/dev/null
  cat >"$name.ext.tmp" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EOF
  openssl x509 -req -in "$name.csr.tmp" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -out "$name.crt.tmp" -days "$days" -extfile "$name.ext.tmp" 2>/dev/null
  chmod 600 "$name.key.tmp"
  mv "$name.key.tmp" "$name.key"
  mv "$name.crt.tmp" "$name.crt"
  rm -f "$name.csr.tmp" "$name.ext.tmp"
fi
