# Shared settings and helpers for the microk8s scripts; sourced, not run.
# Every setting can be overridden from the environment.
# shellcheck shell=bash disable=SC2034  # settings used by the scripts that source this file

KEDGE_VM_PREFIX=${KEDGE_VM_PREFIX:-kedge}
MASTER="${KEDGE_VM_PREFIX}-master"
WORKERS=("${KEDGE_VM_PREFIX}-worker-1" "${KEDGE_VM_PREFIX}-worker-2")
NODES=("$MASTER" "${WORKERS[@]}")

KEDGE_IMAGE=${KEDGE_IMAGE:-kedge.local/kedge:0.1.0}
HELLO_IMAGE=${HELLO_IMAGE:-kedge.local/helloworld-nodejs:0.1.0}
NODE_PORT=${KEDGE_NODE_PORT:-31080}
HELLO_HOST=${HELLO_HOST:-helloworld-nodejs.default.example.com}

# The repository root, wherever the script is called from.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { printf '\n==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

vm_exec() {
  local vm=$1
  shift
  multipass exec "$vm" -- "$@"
}

# kubectl on the master, as microk8s ships it.
kubectl_m() {
  multipass exec "$MASTER" -- sudo microk8s kubectl "$@"
}

# The first IPv4 address of a VM (multipass info lists it on the "IPv4:" line).
vm_ip() {
  multipass info "$1" | awk '/^IPv4:/ { print $2; exit }'
}

# build_and_import IMAGE CONTEXT_DIR: builds IMAGE from CONTEXT_DIR and imports it into the
# containerd of every node, so that pods find it without a registry. Builds with the host's
# docker when there is one, else with docker inside the master VM. KEDGE_SKIP_BUILD=1 with
# IMAGE_TAR=path imports an image saved earlier (`docker save -o path IMAGE`).
build_and_import() {
  local image=$1 context=$2
  local tar
  tar="$(mktemp -d)/image.tar"
  if [[ -n "${IMAGE_TAR:-}" && "${KEDGE_SKIP_BUILD:-0}" == 1 ]]; then
    cp "$IMAGE_TAR" "$tar"
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    log "building $image with the host's docker"
    docker build -t "$image" "$context"
    docker save -o "$tar" "$image"
  else
    log "no docker on this host: building $image inside $MASTER"
    # Ubuntu's docker.io, not the docker snap: the snap's confinement keeps root from reading a
    # build context in /home/ubuntu.
    vm_exec "$MASTER" bash -c 'command -v docker >/dev/null \
      || { sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io; }'
    local src
    src="$(mktemp -d)/context.tar.gz"
    tar -C "$context" --exclude=node_modules --exclude=dist --exclude=.git --exclude=.kedge \
      -czf "$src" .
    multipass transfer "$src" "$MASTER:/home/ubuntu/context.tar.gz"
    vm_exec "$MASTER" bash -c "rm -rf /home/ubuntu/build && mkdir -p /home/ubuntu/build \
      && tar -C /home/ubuntu/build -xzf /home/ubuntu/context.tar.gz \
      && sudo docker build -t '$image' /home/ubuntu/build \
      && sudo docker save -o /home/ubuntu/image.tar '$image' && sudo chmod a+r /home/ubuntu/image.tar"
    multipass transfer "$MASTER:/home/ubuntu/image.tar" "$tar"
  fi
  local vm
  for vm in "${NODES[@]}"; do
    log "importing $image on $vm"
    multipass transfer "$tar" "$vm:/home/ubuntu/image.tar"
    vm_exec "$vm" sudo microk8s ctr image import /home/ubuntu/image.tar
    vm_exec "$vm" rm -f /home/ubuntu/image.tar
  done
  rm -f "$tar"
}

# copy_to_master SRC_DIR DEST: copies a folder of the repository into the master VM.
copy_to_master() {
  local src=$1 dest=$2
  local tgz
  tgz="$(mktemp -d)/copy.tar.gz"
  tar -C "$src" -czf "$tgz" .
  multipass transfer "$tgz" "$MASTER:/home/ubuntu/copy.tar.gz"
  vm_exec "$MASTER" bash -c "rm -rf '$dest' && mkdir -p '$dest' && tar -C '$dest' -xzf /home/ubuntu/copy.tar.gz \
    && rm -f /home/ubuntu/copy.tar.gz"
  rm -f "$tgz"
}
