#!/usr/bin/env bash
# Load on the hello world Service with wrk from the host, through the gateway's NodePort. Warms
# the revision up first (a cold start is not what this measures), then runs wrk and prints its
# latency distribution. Watch the autoscaler add replicas meanwhile with
#   kubectl get pods -l serving.knative.dev/service=helloworld-nodejs -w
#
#   KEDGE_NODE_IP   the node to call (default: the master's address)
#   HELLO_HOST      Host header (default helloworld-nodejs.default.example.com)
#   THREADS, CONNECTIONS, DURATION   wrk settings (default 2, 50, 30s)
set -euo pipefail
# shellcheck source=deploy/microk8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need wrk "apt-get install wrk, or brew install wrk"
need curl "apt-get install curl"
if [[ -z "${KEDGE_NODE_IP:-}" ]]; then
  need multipass "https://multipass.run/install (or set KEDGE_NODE_IP)"
  KEDGE_NODE_IP=$(vm_ip "$MASTER")
fi
url="http://$KEDGE_NODE_IP:$NODE_PORT/"
threads=${THREADS:-2}
connections=${CONNECTIONS:-50}
duration=${DURATION:-30s}

log "warming up $HELLO_HOST (waits for a replica if it scaled to zero)"
curl -sS --fail --max-time 330 -o /dev/null -H "Host: $HELLO_HOST" "$url"

log "wrk -t$threads -c$connections -d$duration --latency -H 'Host: $HELLO_HOST' $url"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "Host: $HELLO_HOST" "$url"
