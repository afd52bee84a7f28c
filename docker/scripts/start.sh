#!/bin/bash
# Entry point of the lab image (after tini), in the manner of the Jupyter Docker Stacks:
# - started as root: remap the user to NB_UID/NB_GID, chown the home with CHOWN_HOME=yes,
#   then drop to that user and run the command (Jupyter never runs as root);
# - started as a user: run the command as that user.
# Either way the course notebooks are copied into the work folder on first start, without
# ever overwriting a file the student already has.
set -euo pipefail

log() { echo "[start.sh] $*" >&2; }
die() { echo "[start.sh] error: $*" >&2; exit 1; }

NB_USER="${NB_USER:-jovyan}"
NB_UID="${NB_UID:-1000}"
NB_GID="${NB_GID:-100}"
LABS_DIR="${LABS_DIR:-/opt/labs}"
WORK_DIR="${WORK_DIR:-/home/${NB_USER}/work}"

[ $# -gt 0 ] || set -- start-notebook.py

copy_course_notebooks() {
  [ -d "$LABS_DIR" ] || return 0
  if ! mkdir -p "$WORK_DIR" 2>/dev/null || [ ! -w "$WORK_DIR" ]; then
    log "warning: $WORK_DIR is not writable; course notebooks stay read-only in $LABS_DIR"
    return 0
  fi
  # -n: never overwrite; a student's edited notebook always wins over a newer image's copy.
  local copied
  copied=$(cd "$LABS_DIR" && find . -type f | while read -r file; do
    if [ ! -e "$WORK_DIR/$file" ]; then
      mkdir -p "$WORK_DIR/$(dirname "$file")" && cp -n "$file" "$WORK_DIR/$file" && chmod u+w "$WORK_DIR/$file" && echo "$file"
    fi
  done | wc -l)
  [ "$copied" -eq 0 ] || log "copied $copied course file(s) from $LABS_DIR to $WORK_DIR"
}

if [ "$(id -u)" = 0 ]; then
  [ "$NB_UID" != 0 ] || die "NB_UID=0 is refused: Jupyter never runs as root. Use a regular uid."
  # Group: reuse one that has NB_GID, else create it.
  if ! getent group "$NB_GID" >/dev/null; then
    groupadd --gid "$NB_GID" "${NB_GROUP:-$NB_USER}"
  fi
  if [ "$(id -u "$NB_USER")" != "$NB_UID" ] || [ "$(id -g "$NB_USER")" != "$NB_GID" ]; then
    log "remapping $NB_USER to uid $NB_UID, gid $NB_GID"
    usermod --uid "$NB_UID" --gid "$NB_GID" --non-unique "$NB_USER" >/dev/null 2>&1 || die "could not remap $NB_USER to $NB_UID:$NB_GID"
  fi
  if [ "${CHOWN_HOME:-no}" = yes ] || [ "${CHOWN_HOME:-no}" = 1 ]; then
    log "chown -R $NB_UID:$NB_GID /home/$NB_USER"
    chown ${CHOWN_HOME_OPTS:-} -R "$NB_UID:$NB_GID" "/home/$NB_USER"
  fi
  chown "$NB_UID:$NB_GID" "/home/$NB_USER" "$WORK_DIR" 2>/dev/null || true
  export HOME="/home/$NB_USER" USER="$NB_USER" LOGNAME="$NB_USER"
  # Re-enter this script as the user (setpriv from util-linux: no sudo in the image).
  exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$0" "$@"
fi

if [ "$(id -u)" != "$NB_UID" ] && ! getent passwd "$(id -u)" >/dev/null; then
  log "warning: running as uid $(id -u), which has no passwd entry; start as root with NB_UID=$(id -u) for a named user"
fi
copy_course_notebooks
exec "$@"
