#!/usr/bin/env bash
# Resolve the base image: pull the Debian-based Python image when a registry answers,
# else build the same Debian release from Debian's archive with debootstrap and
# `docker import` it. Either way the result is tagged $BASE_IMAGE_NAME:$DEBIAN_RELEASE-py$PYTHON_VERSION
# and holds python3 (with venv), tini and CA certificates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
tag="$BASE_IMAGE_NAME:$DEBIAN_RELEASE-py$PYTHON_VERSION"
log_dir="${BUILD_DIR:-$here/../build}/logs"
mkdir -p "$log_dir"
log="$log_dir/base.log"

if [ "${1:-}" != "--force" ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag present"
  exit 0
fi

fail() { echo "error: $1 (log: $log)" >&2; exit 1; }

echo "==> base image $tag: trying the registry ($REGISTRY_BASE_IMAGE)"
if timeout 120 docker pull "$REGISTRY_BASE_IMAGE" >"$log" 2>&1; then
  # tini comes from Debian's archive; this small step is the only one that uses the network.
  docker build -t "$tag" --label "$PROJECT_LABEL=base" \
    --build-arg "FROM_IMAGE=$REGISTRY_BASE_IMAGE" -f "$here/base.registry.Dockerfile" "$here" >>"$log" 2>&1 \
    || fail "building the base on $REGISTRY_BASE_IMAGE failed"
  echo "base image $tag built on $REGISTRY_BASE_IMAGE"
  exit 0
fi

echo "==> no registry answered; building $DEBIAN_RELEASE from Debian's archive with debootstrap (about a minute)"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing: apt-get install debootstrap (or run docker/ensure-engine.sh as root)"
[ "$(id -u)" = 0 ] || fail "debootstrap needs root: run 'sudo make base' once"
rootfs=$(mktemp -d /tmp/dl-lab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=python3,python3-venv,tini,ca-certificates \
  "$DEBIAN_RELEASE" "$rootfs" "$DEBIAN_MIRROR" >>"$log" 2>&1 || fail "debootstrap failed"
# Slim the root filesystem the way the official slim images do.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap $DEBIAN_RELEASE from $DEBIAN_MIRROR" \
  - "$tag" >>"$log" 2>&1 || fail "docker import failed"
echo "base image $tag built from Debian's archive"
