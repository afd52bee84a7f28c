"""Grading on the host: jobs, executors (a locked-down container per notebook, or a local process), reports."""
