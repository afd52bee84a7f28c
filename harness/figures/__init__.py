"""The measurements of docs/measurements.md: image figures, grading throughput, hub spawn times."""
