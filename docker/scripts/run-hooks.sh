#!/bin/bash
# Run the start hooks of one folder, as the Jupyter Docker Stacks do: `source` every *.sh (so it
# can export variables for the server), run every other executable file, skip the rest; in name
# order. A failing hook is logged and the start goes on. Sourced by start.sh with the folder as $1.

run_hooks() {
  local folder="$1" hook status
  # Nothing to say about an empty folder (the usual case).
  [ -n "$(ls -A "$folder" 2>/dev/null)" ] || return 0
  # Hooks are written for a plain shell: without start.sh's errexit/nounset, restored afterwards.
  local restore=""
  [[ $- != *e* ]] || restore+="e"
  [[ $- != *u* ]] || restore+="u"
  set +eu
  hook_log "running hooks in $folder as uid $(id -u), gid $(id -g)"
  for hook in "$folder"/*; do
    [ -e "$hook" ] || continue
    case "$hook" in
      *.sh)
        hook_log "sourcing $hook"
        # shellcheck disable=SC1090
        source "$hook"
        status=$?
        set +eu
        ;;
      *)
        if [ ! -x "$hook" ]; then
          hook_log "ignoring $hook (neither *.sh nor executable)"
          continue
        fi
        hook_log "running $hook"
        "$hook"
        status=$?
        ;;
    esac
    [ "$status" -eq 0 ] || hook_log "warning: $hook failed with status $status; continuing"
  done
  [ -z "$restore" ] || set "-$restore"
}

hook_log() {
  if declare -F log >/dev/null; then log "$@"; else echo "[run-hooks] $*" >&2; fi
}

run_hooks "$1"
