#!/bin/bash
# Entry point of the lab image (after tini), with the runtime conventions of the Jupyter Docker Stacks.
#
# Started as root (docker run --user root, JupyterHub, Kubernetes), it prepares the user, then runs
# the command as that user (Jupyter never runs as root):
#   NB_USER      rename jovyan (its home becomes /home/$NB_USER)
#   NB_UID, NB_GID, NB_GROUP    the user's uid, primary gid and that group's name
#   CHOWN_HOME=yes [CHOWN_HOME_OPTS=-R], CHOWN_EXTRA=/a,/b [CHOWN_EXTRA_OPTS=-R]   chown to NB_UID:NB_GID
#   GRANT_SUDO=yes               passwordless sudo for the user
# Either way:
#   /usr/local/bin/start-notebook.d/   hooks run first, as the user the container started as
#   /usr/local/bin/before-notebook.d/  hooks run last before the command (as root when started as root)
#     (*.sh files are sourced, other executables run)
#   NB_UMASK=002                 the umask of the server, its kernels and terminals
#   the course notebooks are copied into the work folder on first start, never over a student's file.
# Every step and the command it executes are logged (JUPYTER_DOCKER_STACKS_QUIET=1: warnings only).
set -euo pipefail

log() { [ -n "${JUPYTER_DOCKER_STACKS_QUIET:-}" ] || echo "[start.sh] $*" >&2; return 0; }
warn() { echo "[start.sh] warning: $*" >&2; }
die() { echo "[start.sh] error: $*" >&2; exit 1; }
is_yes() { [ "${1:-}" = yes ] || [ "${1:-}" = 1 ]; }

NB_USER="${NB_USER:-jovyan}"
NB_UID="${NB_UID:-1000}"
NB_GID="${NB_GID:-100}"
LABS_DIR="${LABS_DIR:-/opt/labs}"
HOOKS_DIR=/usr/local/bin
# Set when start.sh re-enters itself as the user after the root part.
PHASE="${DL_LAB_START_PHASE:-}"
unset DL_LAB_START_PHASE

[ $# -gt 0 ] || set -- start-notebook.py

# The command as the log shows it: tokens and passwords given as arguments stay secret.
shown() {
  local arg out=()
  for arg in "$@"; do
    case "$arg" in
      *token=* | *password=* | *Token=* | *Password=*) out+=("${arg%%=*}=***") ;;
      *) out+=("$arg") ;;
    esac
  done
  echo "${out[*]}"
}

validate() {
  [ "$NB_UID" != 0 ] || die "NB_UID=0 is refused: Jupyter never runs as root. Use a regular uid."
  [[ "$NB_UID" =~ ^[0-9]+$ && "$NB_GID" =~ ^[0-9]+$ ]] || die "NB_UID and NB_GID must be numbers (got '$NB_UID', '$NB_GID')"
  [[ "$NB_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] \
    || die "NB_USER='$NB_USER' is not a user name: lower-case letters, digits, '_' or '-', starting with a letter"
  [ -z "${NB_UMASK:-}" ] || [[ "$NB_UMASK" =~ ^0?[0-7]{3}$ ]] || die "NB_UMASK='$NB_UMASK' is not an octal umask like 002 or 022"
}

run_hooks() {
  # shellcheck source=run-hooks.sh
  source "$HOOKS_DIR/run-hooks.sh" "$1"
}

# ---- started as root: prepare the user ----------------------------------------------------------
mounted_below() {
  # Whether something (a volume, a bind mount) is mounted at or below the folder $1.
  awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

rename_user() {
  [ "$NB_USER" != jovyan ] || return 0
  if id jovyan >/dev/null 2>&1; then
    ! id "$NB_USER" >/dev/null 2>&1 || die "NB_USER=$NB_USER is already an account of the image: choose another name"
    usermod --login "$NB_USER" --home "/home/$NB_USER" jovyan
    log "renamed the user jovyan to $NB_USER"
  elif ! id "$NB_USER" >/dev/null 2>&1; then
    die "neither jovyan nor $NB_USER is a user of this container (was it started before with another NB_USER?)"
  fi
  local home="/home/$NB_USER"
  if [ ! -e "$home" ] && [ -d /home/jovyan ]; then
    if mounted_below /home/jovyan; then
      # A volume under /home/jovyan stays the user's: the new home points there.
      ln -s /home/jovyan "$home" && log "$home is a link to /home/jovyan, where a volume is mounted"
    else
      cp -a /home/jovyan "$home" && log "copied /home/jovyan to $home"
    fi
  elif [ -d "$home" ] && [ ! -L "$home" ] && [ -d /home/jovyan ]; then
    # A volume mounted at /home/$NB_USER/...: give the new home the image's dotfiles, never overwriting.
    cp -an /home/jovyan/. "$home/" 2>/dev/null || true
  fi
}

ensure_group() {
  local name
  name=$(getent group "$NB_GID" | cut -d: -f1 || true)
  if [ -z "$name" ]; then
    groupadd --gid "$NB_GID" "${NB_GROUP:-$NB_USER}" || die "could not create group ${NB_GROUP:-$NB_USER} with gid $NB_GID"
    log "created group ${NB_GROUP:-$NB_USER} (gid $NB_GID)"
  elif [ -n "${NB_GROUP:-}" ] && [ "$name" != "$NB_GROUP" ]; then
    groupmod --new-name "$NB_GROUP" "$name" 2>/dev/null \
      || die "could not name group $NB_GID '$NB_GROUP' (is that name taken by another group?)"
    log "group $NB_GID is now named $NB_GROUP"
  fi
}

remap_ids() {
  if [ "$(id -u "$NB_USER")" != "$NB_UID" ] || [ "$(id -g "$NB_USER")" != "$NB_GID" ]; then
    log "remapping $NB_USER to uid $NB_UID, gid $NB_GID"
    usermod --uid "$NB_UID" --gid "$NB_GID" --non-unique "$NB_USER" >/dev/null 2>&1 \
      || die "could not remap $NB_USER to $NB_UID:$NB_GID"
  fi
  # Keep the image's group (users, 100) as a supplementary group, as the Docker Stacks do.
  [ "$NB_GID" = 100 ] || usermod --append --groups 100 "$NB_USER" 2>/dev/null || true
}

chown_paths() {
  local home="/home/$NB_USER" path
  if is_yes "${CHOWN_HOME:-}"; then
    log "chown ${CHOWN_HOME_OPTS:-} $NB_UID:$NB_GID $home"
    # shellcheck disable=SC2086  # the options are words
    chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" "$home" || die "CHOWN_HOME: could not chown $home"
  fi
  if [ -n "${CHOWN_EXTRA:-}" ]; then
    for path in ${CHOWN_EXTRA//,/ }; do
      log "chown ${CHOWN_EXTRA_OPTS:-} $NB_UID:$NB_GID $path"
      # shellcheck disable=SC2086
      chown ${CHOWN_EXTRA_OPTS:-} "$NB_UID:$NB_GID" "$path" || die "CHOWN_EXTRA: could not chown $path"
    done
  fi
  chown "$NB_UID:$NB_GID" "$home" "$home/work" 2>/dev/null || true
}

grant_sudo() {
  local rule=/etc/sudoers.d/dl-lab-grant-sudo
  if is_yes "${GRANT_SUDO:-}"; then
    command -v sudo >/dev/null || die "GRANT_SUDO=yes, but this image has no sudo"
    echo "$NB_USER ALL=(ALL) NOPASSWD:ALL" > "$rule"
    chmod 0440 "$rule"
    log "granted $NB_USER passwordless sudo (GRANT_SUDO=yes)"
  else
    rm -f "$rule"  # a restarted container keeps only what this start asks for
  fi
}

as_root() {
  run_hooks "$HOOKS_DIR/start-notebook.d"
  rename_user
  ensure_group
  remap_ids
  chown_paths
  grant_sudo
  run_hooks "$HOOKS_DIR/before-notebook.d"
  local home="/home/$NB_USER"
  export HOME="$home" USER="$NB_USER" LOGNAME="$NB_USER" NB_USER NB_UID NB_GID DL_LAB_START_PHASE=user
  [[ "$PWD" != /home/jovyan* ]] || cd "$home${PWD#/home/jovyan}" 2>/dev/null || cd "$home"
  log "dropping to $NB_USER (uid $NB_UID, gid $NB_GID)"
  # Re-enter this script as the user (setpriv from util-linux keeps the environment).
  exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$0" "$@"
}

# ---- as the user --------------------------------------------------------------------------------
started_as_user() {
  run_hooks "$HOOKS_DIR/start-notebook.d"
  ! is_yes "${GRANT_SUDO:-}" || warn "GRANT_SUDO=yes needs the container started as root (--user root); no sudo granted"
  local me
  me=$(id -un 2>/dev/null || true)
  if [ -z "$me" ]; then
    warn "running as uid $(id -u), which has no passwd entry; start as root with NB_UID=$(id -u) for a named user"
  elif [ "$NB_USER" != "$me" ]; then
    [ "$NB_USER" = jovyan ] || warn "NB_USER=$NB_USER needs the container started as root to rename the user; running as $me"
    export NB_USER="$me"
  fi
  [ "$NB_UID" = "$(id -u)" ] || [ "$NB_UID" = 1000 ] \
    || warn "NB_UID=$NB_UID needs the container started as root; running as uid $(id -u)"
  run_hooks "$HOOKS_DIR/before-notebook.d"
}

repair_work() {
  # A student who ran `chmod 000 ~/work` (or a restored volume with odd modes) gets a server whose file
  # browser fails: give the owner back read, write and search on the folder and on what they own in it.
  local work="$1" me
  [ -e "$work" ] || return 0
  me=$(id -u)
  if [ "$me" = 0 ]; then
    chown "$NB_UID:$NB_GID" "$work" 2>/dev/null || true
    find "$work" -xdev \( -type d ! -perm -u=rwx -o ! -type d ! -perm -u=rw \) -user "$NB_UID" \
      -exec chmod u+rwX {} + 2>/dev/null || true
    chmod u+rwx "$work" 2>/dev/null || true
  elif [ "$(stat -c %u "$work")" = "$me" ]; then
    chmod u+rwx "$work" 2>/dev/null || true
    find "$work" -xdev \( -type d ! -perm -u=rwx -o ! -type d ! -perm -u=rw \) -user "$me" \
      -exec chmod u+rwX {} + 2>/dev/null || true
  fi
  if [ "$me" != 0 ] && { [ ! -r "$work" ] || [ ! -w "$work" ] || [ ! -x "$work" ]; }; then
    die "$work is not readable and writable by $(id -un 2>/dev/null || echo "uid $me") (mode $(stat -c %A "$work"), owner uid $(stat -c %u "$work")): ask your instructor to repair it; nothing in it was changed"
  fi
  log "$work is readable and writable by its owner"
}

copy_course_notebooks() {
  local work="$1" copied
  [ -d "$LABS_DIR" ] || return 0
  if ! mkdir -p "$work" 2>/dev/null || [ ! -w "$work" ]; then
    warn "$work is not writable; course notebooks stay read-only in $LABS_DIR"
    return 0
  fi
  # -n: never overwrite; a student's edited notebook always wins over a newer image's copy.
  # A link of that name (even a dangling one) is the student's file too: never written through. A file that
  # cannot be copied is a warning: the server starts anyway.
  copied=$(cd "$LABS_DIR" && find . -type f | while read -r file; do
    if [ -e "$work/$file" ] || [ -L "$work/$file" ]; then
      continue
    fi
    if mkdir -p "$work/$(dirname "$file")" 2>/dev/null && cp -n "$file" "$work/$file" 2>/dev/null \
        && chmod u+w "$work/$file"; then
      echo "$file"
    else
      warn "could not copy the course file $file to $work (a link or folder in the way?); it stays in $LABS_DIR"
    fi
  done | wc -l)
  [ "$copied" -eq 0 ] || log "copied $copied course file(s) from $LABS_DIR to $work"
}

validate
if [ "$(id -u)" = 0 ]; then
  repair_work "${WORK_DIR:-/home/$NB_USER/work}"
  as_root "$@"
fi
[ "$PHASE" = user ] || started_as_user
repair_work "${WORK_DIR:-/home/$NB_USER/work}"
[ -z "${NB_UMASK:-}" ] || umask "$NB_UMASK"
copy_course_notebooks "${WORK_DIR:-/home/$NB_USER/work}"
log "executing: $(shown "$@")"
exec "$@"
