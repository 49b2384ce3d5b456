#!/usr/bin/env bash
# Calls the hello world Service through the gateway's NodePort from the host, by Host header,
# and prints the answer with its timing. The first call after a scale to zero waits for a pod to
# start (a cold start) and is answered, not dropped.
#
#   KEDGE_NODE_IP   the node to call (default: the master's address; any node works)
#   HELLO_HOST      Host header (default helloworld-nodejs.default.example.com)
#   COUNT           number of requests (default 3)
set -euo pipefail
# shellcheck source=deploy/microk8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need curl "apt-get install curl"
if [[ -z "${KEDGE_NODE_IP:-}" ]]; then
  need multipass "https://multipass.run/install (or set KEDGE_NODE_IP)"
  KEDGE_NODE_IP=$(vm_ip "$MASTER")
fi
url="http://$KEDGE_NODE_IP:$NODE_PORT/"

for i in $(seq 1 "${COUNT:-3}"); do
  log "request $i: curl -H 'Host: $HELLO_HOST' $url"
  curl -sS --max-time 330 -H "Host: $HELLO_HOST" \
    -w '  -> HTTP %{http_code} in %{time_total}s (first byte after %{time_starttransfer}s)\n' "$url"
done
