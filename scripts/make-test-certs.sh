#!/usr/bin/env bash
# Makes a throw-away test PKI with `openssl` into OUTDIR (default
# build/test-certs): for the TLS tests and the README's examples, never for
# production. Files (PEM):
#   ca.pem ca.key             the test CA
#   server.pem server.key     CN=localhost, SAN DNS:localhost + IP:127.0.0.1 + IP:::1, signed by the CA
#   client.pem client.key     CN=iocpnet test client, a client certificate signed by the CA
#   expired.pem expired.key   like server.pem but valid only in January 2020
#   other-ca.pem              an unrelated CA (a client trusting only it must refuse server.pem)
#   other-server.pem/.key     CN=localhost signed by other-ca (a client certificate the server must refuse)
# Idempotent: does nothing when OUTDIR/stamp is newer than this script.
set -euo pipefail
out=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/test-certs}
mkdir -p "$out"
cd "$out"
[ -f stamp ] && [ stamp -nt "${BASH_SOURCE[0]}" ] && exit 0
export OPENSSL_CONF=/dev/null # the host's openssl.cnf must not change what is made
days=3650
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mkca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days $days -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
leaf() { # name subject ca extfile-lines
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -sha256 -days $days \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
server_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'
client_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'
mkca ca "/O=iocpnet test/CN=iocpnet test CA"
mkca other-ca "/O=somebody else/CN=unrelated test CA"
leaf server "/O=iocpnet test/CN=localhost" ca "$server_ext"
leaf client "/O=iocpnet test/CN=iocpnet test client" ca "$client_ext"
leaf other-server "/O=somebody else/CN=localhost" other-ca "$client_ext"

# An expired certificate: `openssl ca` is the one tool of OpenSSL 3.0 that
# takes explicit validity dates.
key expired.key
openssl req -new -key expired.key -subj "/O=iocpnet test/CN=localhost" -out expired.csr
rm -rf ca-db && mkdir ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = $out/ca-db/index.txt
serial = $out/ca-db/serial
new_certs_dir = $out/ca-db
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = ext
[any]
O = optional
CN = supplied
[ext]
$server_ext
CNF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200131000000Z -notext 2>/dev/null
rm -rf ca-db expired.csr ca.srl other-ca.srl
touch stamp
