#!/bin/bash
# The Docker Stacks' older name for start-notebook.py (admins' commands and Helm values use both).
exec /usr/local/bin/start-notebook.py "$@"
