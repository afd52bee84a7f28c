"""The README's own measurements: image figures, grading throughput, hub spawn times."""
