#!/bin/bash
# The Docker Stacks' older name for start-singleuser.py.
exec /usr/local/bin/start-singleuser.py "$@"
