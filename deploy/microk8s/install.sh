#!/usr/bin/env bash
# Installs microk8s on the VMs create-vms.sh made, joins the two workers to the master, enables
# DNS, builds the kedge image and imports it on every node, then installs kedge with
# `kubectl apply -k deploy/`. No Istio, no Knative. Safe to run again.
#
#   MICROK8S_CHANNEL   snap channel (default 1.32/stable)
#   KEDGE_IMAGE        image name (default kedge.local/kedge:0.1.0; must match deploy/kustomization.yaml)
#   KEDGE_SKIP_BUILD=1 IMAGE_TAR=kedge.tar   import an image saved with `docker save` instead of building
#   KUBECONFIG_OUT     where to write a kubeconfig for the host (default ~/.kube/kedge-microk8s)
set -euo pipefail
# shellcheck source=deploy/microk8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need multipass "https://multipass.run/install"
CHANNEL=${MICROK8S_CHANNEL:-1.32/stable}
KUBECONFIG_OUT=${KUBECONFIG_OUT:-$HOME/.kube/kedge-microk8s}

for vm in "${NODES[@]}"; do
  multipass info "$vm" >/dev/null 2>&1 || die "VM $vm does not exist; run deploy/microk8s/create-vms.sh first"
done

# 1. microk8s on every node.
for vm in "${NODES[@]}"; do
  log "microk8s ($CHANNEL) on $vm"
  vm_exec "$vm" bash -c "snap list microk8s >/dev/null 2>&1 \
    || sudo snap install microk8s --classic --channel='$CHANNEL'"
  vm_exec "$vm" sudo usermod -a -G microk8s ubuntu
  vm_exec "$vm" sudo microk8s status --wait-ready >/dev/null
done

# 2. Join the workers (worker-only nodes: no control plane on them). A join token is good for one
# node, so each worker gets its own; the join line for the master's address is used.
master_ip=$(vm_ip "$MASTER")
[[ -n "$master_ip" ]] || die "no IPv4 address for $MASTER (multipass info $MASTER)"
for worker in "${WORKERS[@]}"; do
  if kubectl_m get node "$worker" >/dev/null 2>&1; then
    log "$worker has joined already"
    continue
  fi
  log "joining $worker to $MASTER ($master_ip)"
  join=$(vm_exec "$MASTER" sudo microk8s add-node --token-ttl 600 --format short \
    | grep -F "$master_ip:" | head -n 1 || true)
  [[ -n "$join" ]] || die "microk8s add-node printed no join command for $master_ip"
  # $join is "microk8s join IP:25000/TOKEN/HASH": split on purpose into command and arguments.
  # shellcheck disable=SC2086
  vm_exec "$worker" sudo $join --worker
done
log "waiting for the three nodes to be Ready"
kubectl_m wait --for=condition=Ready node --all --timeout=300s
kubectl_m get nodes -o wide

# 3. Cluster DNS: kedge's components find each other by Service name.
log "enabling dns"
vm_exec "$MASTER" sudo microk8s enable dns
kubectl_m -n kube-system rollout status deployment/coredns --timeout=180s

# 4. The kedge image on every node (no registry needed).
build_and_import "$KEDGE_IMAGE" "$REPO_ROOT"

# 5. kedge itself.
log "kubectl apply -k deploy/"
copy_to_master "$REPO_ROOT/deploy" /home/ubuntu/kedge-deploy
if [[ "$KEDGE_IMAGE" != "kedge.local/kedge:0.1.0" ]]; then
  # Point the kustomization at the image that was built.
  vm_exec "$MASTER" sed -i \
    -e "s|newName: kedge.local/kedge|newName: ${KEDGE_IMAGE%:*}|" \
    -e "s|newTag: \"0.1.0\"|newTag: \"${KEDGE_IMAGE##*:}\"|" \
    /home/ubuntu/kedge-deploy/kustomization.yaml
fi
kubectl_m apply -k /home/ubuntu/kedge-deploy
for component in controller autoscaler gateway; do
  kubectl_m -n kedge-system rollout status "deployment/kedge-$component" --timeout=180s
done
kubectl_m -n kedge-system get pods -o wide

# A kubeconfig for kubectl on the host (the API server listens on the master's :16443).
mkdir -p "$(dirname "$KUBECONFIG_OUT")"
vm_exec "$MASTER" sudo microk8s config >"$KUBECONFIG_OUT"
chmod 600 "$KUBECONFIG_OUT"

log "kedge is installed. The gateway answers on port $NODE_PORT of every node, e.g. http://$master_ip:$NODE_PORT/"
log "kubectl from the host: export KUBECONFIG=$KUBECONFIG_OUT"
log "next: deploy/microk8s/deploy-hello.sh"
