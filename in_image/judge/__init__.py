"""The grading judge: runs in the grading container, apart from the student's kernel."""

import time

# When the process that imports this package started (the judge imports it first of all): the host
# measures a grading container's start-up up to here.
STARTED_AT = time.time()
