#!/usr/bin/env bash
# Make sure a Docker engine answers. On a fresh Debian machine where we are root, install
# Debian's docker.io (plus debootstrap, used to build the base image without a registry)
# and start the daemon in the background. Anywhere else, say how to get Docker and fail.
set -euo pipefail

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  echo "error: no Docker engine reachable. Install Docker (https://docs.docker.com/engine/install/) or Docker Desktop, start it, and make sure 'docker info' works for your user (add yourself to the 'docker' group)." >&2
  exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} from Debian's archive..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" iptables ca-certificates >/dev/null
fi

if ! engine_answers; then
  echo "Starting dockerd in the background (log: /var/log/dockerd.log)..." >&2
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_answers && exit 0
    sleep 1
  done
  echo "error: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
  exit 1
fi
