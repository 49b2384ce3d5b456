#!/usr/bin/env bash
# Creates the three Ubuntu VMs of the test cluster with multipass: one microk8s master and two
# workers. VMs that already exist are kept. Then run install.sh.
#
#   KEDGE_VM_PREFIX   VM name prefix (default kedge: kedge-master, kedge-worker-1, kedge-worker-2)
#   KEDGE_UBUNTU      Ubuntu release (default 24.04)
#   MASTER_CPUS/MASTER_MEMORY, WORKER_CPUS/WORKER_MEMORY, VM_DISK   sizes (default 2/4G, 2/2G, 20G)
set -euo pipefail
# shellcheck source=deploy/microk8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need multipass "https://multipass.run/install (snap install multipass, brew install multipass, ...)"

UBUNTU=${KEDGE_UBUNTU:-24.04}
DISK=${VM_DISK:-20G}

launch() {
  local name=$1 cpus=$2 memory=$3
  if multipass info "$name" >/dev/null 2>&1; then
    log "$name exists, keeping it"
    multipass start "$name" >/dev/null 2>&1 || true
    return
  fi
  log "launching $name ($cpus CPUs, $memory memory, $DISK disk, Ubuntu $UBUNTU)"
  multipass launch "$UBUNTU" --name "$name" --cpus "$cpus" --memory "$memory" --disk "$DISK"
}

# The master runs the platform (kedge, dns, the API server): the 2-core/4 GB size kedge targets.
launch "$MASTER" "${MASTER_CPUS:-2}" "${MASTER_MEMORY:-4G}"
for worker in "${WORKERS[@]}"; do
  launch "$worker" "${WORKER_CPUS:-2}" "${WORKER_MEMORY:-2G}"
done

multipass list
log "next: deploy/microk8s/install.sh"
