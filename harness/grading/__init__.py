"""Running and grading the lab notebooks: the in-container runner, host orchestration, reports."""

import time

# When the process that imports this package started (the runner imports it first of all): the host
# measures a grading container's start-up up to here.
STARTED_AT = time.time()
