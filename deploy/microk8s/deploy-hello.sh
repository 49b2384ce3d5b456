#!/usr/bin/env bash
# Builds Knative's hello world image from examples/helloworld-nodejs, imports it on every node
# and applies the hello world Service (deploy/microk8s/helloworld.yaml), then waits until the
# Service is Ready.
#
#   HELLO_IMAGE   image name (default kedge.local/helloworld-nodejs:0.1.0; must match helloworld.yaml)
#   KEDGE_SKIP_BUILD=1 IMAGE_TAR=hello.tar   import a saved image instead of building
set -euo pipefail
# shellcheck source=deploy/microk8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need multipass "https://multipass.run/install"

build_and_import "$HELLO_IMAGE" "$REPO_ROOT/examples/helloworld-nodejs"

log "applying the hello world Service"
copy_to_master "$REPO_ROOT/deploy/microk8s" /home/ubuntu/kedge-hello
vm_exec "$MASTER" sed -i "s|image: kedge.local/helloworld-nodejs:0.1.0|image: $HELLO_IMAGE|" \
  /home/ubuntu/kedge-hello/helloworld.yaml
kubectl_m apply -f /home/ubuntu/kedge-hello/helloworld.yaml

log "waiting for ksvc/helloworld-nodejs to be Ready"
kubectl_m wait ksvc/helloworld-nodejs --for=condition=Ready --timeout=180s
kubectl_m get ksvc helloworld-nodejs
kubectl_m get deployments,pods -l serving.knative.dev/service=helloworld-nodejs -o wide || true

log "next: deploy/microk8s/curl-hello.sh"
