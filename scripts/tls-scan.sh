#!/usr/bin/env bash
# Scans Heddle's TLS listeners with testssl.sh (Debian package `testssl.sh`): a gateway listener
# terminating TLS with an operator's certificate, and a sidecar's inbound listener (mutual
# TLS 1.3). Everything runs on 127.0.0.1 and is stopped at the end. Results: docs/security.md.
#
#   scripts/tls-scan.sh [path/to/heddle]      (default: .build/debug/heddle)
set -euo pipefail
heddle=$(realpath "${1:-.build/debug/heddle}")
command -v testssl >/dev/null || { echo "needs testssl.sh: apt-get install -y testssl.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

# An app, a CA and a certificate for the gateway.
python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1 & pids+=($!)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem \
  -subj "/CN=Scan CA" -days 2 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout edge-key.pem -subj /CN=edge.example -out edge.csr 2>/dev/null
echo "subjectAltName = DNS:edge.example" > edge.ext
openssl x509 -req -in edge.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile edge.ext -out edge.pem 2>/dev/null
cat > gateway.yaml <<YAML
apiVersion: heddle.dev/v1alpha1
kind: Proxy
metadata: {name: edge}
spec:
  outbound: {address: "127.0.0.1:18140"}
  admin: {address: "127.0.0.1:18191"}
  gateways:
    - name: edge
      address: 127.0.0.1:18443
      tls:
        certificates:
          - {hosts: [edge.example], certificate: $work/edge.pem, privateKey: $work/edge-key.pem}
---
apiVersion: heddle.dev/v1alpha1
kind: Service
metadata: {name: app}
spec: {endpoints: [{address: "127.0.0.1:18080"}]}
---
apiVersion: heddle.dev/v1alpha1
kind: HTTPRoute
metadata: {name: app}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: app}]}]
YAML
"$heddle" proxy --config gateway.yaml --log-level warning & pids+=($!)
"$heddle" control-plane --data-dir "$work/cp" --address 127.0.0.1:17470 --log-level warning & pids+=($!)
sleep 2
token=$("$heddle" token create --service app --control-plane http://127.0.0.1:17470)
"$heddle" proxy --control-plane http://127.0.0.1:17470 --service app --app-port 18080 --join-token "$token" \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:14143 --admin 127.0.0.1:0 --snapshot "$work/sidecar.yaml" --log-level warning & pids+=($!)
sleep 3

for target in ${TARGETS:-127.0.0.1:18443 127.0.0.1:14143}; do
  echo "=== testssl $target"
  testssl --quiet --color 0 --warnings off -p -S -P -h -U "$target" || true
done
