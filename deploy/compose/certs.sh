#!/usr/bin/env bash
# Makes the compose cluster's certificates with chainctl certs (run from
# the chain image, so only Docker is needed), in deploy/compose/pki: a CA,
# one certificate per master and node naming its address (and a master's
# raft address), an admin for chainctl and a client for benchit. Files
# that exist are kept, so running it again is harmless; delete pki/ for a
# new CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${IMAGE:-chain:latest}
mkdir -p "$here/pki"
certs() {
	docker run --rm --network none --user "$(id -u):$(id -g)" -v "$here/pki:/pki" "$image" chainctl certs "$@"
}
have() { [ -e "$here/pki/$1" ]; }

have ca.pem || certs init /pki
for m in m1 m2 m3; do
	have "master-$m.pem" || certs issue /pki master "$m" "$m:7000" "$m:7100"
done
for n in n1 n2 n3 n4; do
	have "node-$n.pem" || certs issue /pki node "$n" "$n:7001"
done
have admin-ops.pem || certs issue /pki admin ops
have client-app.pem || certs issue /pki client app
echo "certificates in $here/pki"
